"""`opsbot rotate-secrets`: every partner's tokens sealed again with the newest key.

Run after prepending a new key to OPSBOT_SECRET_KEY; once it is done, the old key can be
dropped. One transaction: a key that opens nothing stops it with nothing changed.
"""

from __future__ import annotations

from opsbot.db.engine import create_engine, create_sessionmaker
from opsbot.db.migrate import upgrade
from opsbot.services import partners
from opsbot.services.sealed import Sealer


async def rotate(database_url: str, keys: str) -> int:
    """How many partners' tokens were sealed again."""
    sealer = Sealer(keys)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine).begin() as session:
            return await partners.reseal_all(session, sealer.reseal)
    finally:
        await engine.dispose()
