"""The command line the WRENCH benchmark scripts share: ``--json PATH`` and ``--datasets``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(doc: str, datasets: list[str], run, print_table, argv=None) -> int:
    """Parse the arguments, ``results, extra = run(datasets)``, print, write JSON if asked."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=datasets, choices=datasets)
    args = parser.parse_args(argv)
    results, extra = run(args.datasets)
    print_table(results, extra)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0
