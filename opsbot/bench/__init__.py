"""The benchmark: the real `opsbot run` against the emulators with Telegram's and X's real
limits, in real seconds, measured against the goals for a busy salon.

`python -m opsbot.bench [--runs N] [--short]` (see `cli.py`). `scenarios.py` says what is
played, `measures.py` how each figure is read from what the emulators saw, `plan.py` the goals
and floors, `table.py` how the runs are summed up; docs/performance.md has the latest table.
"""
