"""The chaos run: a salon played against the emulators while the real `opsbot run` is killed
with SIGKILL again and again and X fails now and then; then six figures that must all be 0.

`python -m opsbot.chaos [--short] [--seed S] [--postgres URL]` (see `cli.py`). `run.py` tells
the course of a run, `figures.py` what each figure counts; the README's "Reliability" section
says how to read them.
"""
