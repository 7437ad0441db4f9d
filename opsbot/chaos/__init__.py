"""The chaos run: a salon played against the emulators while the real `opsbot run` is killed
with SIGKILL again and again and X fails now and then; then six figures that must all be 0.

`python -m opsbot.chaos [--short] [--seed S] [--postgres URL]`. See `run.py` for the course of
a run, `figures.py` for what each figure counts, and the README's "Reliability" section.
"""
