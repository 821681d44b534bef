"""``python -m labeling``: the ``labeling`` command, as installed (``python -m labeling.cli``
too)."""

from labeling.cli import main

main()
