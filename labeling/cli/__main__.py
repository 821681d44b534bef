"""``python -m labeling.cli``: the ``labeling`` command (tests and benchmarks start it so)."""

from labeling.cli import main

main()
