"""Compile the gettext catalogs (.po -> .mo) whenever the package is built or installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        # Load the module by path: the package's own dependencies are not installed yet.
        spec = importlib.util.spec_from_file_location("_catalogs", root / "opsbot" / "catalogs.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for path in module.compile_all(root / "locales"):
            build_data.setdefault("artifacts", []).append(str(path.relative_to(root)))
