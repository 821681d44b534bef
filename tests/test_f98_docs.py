"""docs/cli.md and docs/lf_cache.md say what the code does (found by a code review, f98)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def test_the_compare_example_holds_only_lines_compare_prints():
    # before: a "(between them: train.csv refreshed, ...)" line compare never prints,
    # and a "..." standing for rows
    block = CLI_MD.split("$ labeling compare runs/youtube-2026-11-30 runs/youtube\n")[1]
    block = block.split("```")[0]
    shapes = [r"scores \(\* in-sample\) +A +B +B-A",
              r"\w+ (dev|test) \w+ +(\d\.\d{4}\*?|-) +(\d\.\d{4}\*?|-) +([+-]\d\.\d{4})?",
              r"data, LF modules and config \(sha256\):", r"runs:",
              r"  [^:]+: (same|changed|only in A|only in B)",
              r"LFs: \d+ unchanged(; (changed|added|removed): [\w, ]+)*",
              r"  \(their LF modules are the same: .*\)", r"  [\w ]+: \S.*", r"note: [AB]: .*",
              r"  labeling build \((apply|export)\): \S.*"]  # as compare_commands.py prints
    lines = block.splitlines()
    assert len(lines) > 20
    for line in lines:
        assert any(re.fullmatch(shape, line) for shape in shapes), line


def test_every_command_holding_the_run_folder_lock_is_listed():
    # before: `cache --prune` takes the lock (not beside an apply) but was not listed
    sentence = CLI_MD.split("One command at a time writes a run folder:")[1].split("hold it")[0]
    for path in (ROOT / "labeling" / "cli").glob("*.py"):
        for command in re.findall(r'holding\(task, "(\w+)"\)', path.read_text()):
            shown = "cache --prune" if command == "cache" else command
            assert f"`{shown}`" in sentence, (path.name, command)


def test_lf_cache_doc_says_the_row_hash_leaves_out_the_gold_label():
    # before: "every column of the row, the id and gold label too": false since apply
    # drops the gold column before keying rows (labeling.apply.as_lfs_see_it)
    import pandas as pd

    from labeling.apply import as_lfs_see_it
    from labeling.apply.cache import row_hashes

    doc = " ".join((ROOT / "docs" / "lf_cache.md").read_text(encoding="utf-8").split())
    assert "gold label too" not in doc
    assert "not the gold label" in doc and "recomputes those splits' LF columns once" in doc
    df = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "label": [0, 1]})
    assert (row_hashes(as_lfs_see_it(df)) ==
            row_hashes(as_lfs_see_it(df.assign(label=[1, 0])))).all()
