"""`labeling compare` (found by a code review, f98): a run folder never exported against
a kept model folder, and a handed-over card holding terminal escape sequences."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from test_h95_compare import two_runs  # noqa: E402,F401  (the module-scoped fixture)


def test_a_run_folder_without_card_against_a_model_folder_stops(two_runs):  # noqa: F811
    # before: both sides switched to their model cards; the run folder has none, so it
    # showed as empty (every score `-`, "only in B", "LFs: 0 unchanged; added: ..."),
    # exit 0, its metrics.json silently ignored
    root, old, new, _ = two_runs
    kept, bare = root / "f98_kept", root / "f98_bare"
    shutil.copytree(old / "model", kept)
    shutil.copytree(new, bare, ignore=shutil.ignore_patterns("model"))
    assert (bare / "metrics.json").is_file() and not (bare / "model").exists()
    for a, b, name in ((kept, bare, "B"), (bare, kept, "A")):
        result = cli("compare", a, b)
        one_error_line(result, f"{name} ({bare}) has no model card (model_card.json)")
        assert "run `labeling export`" in result.output
        assert "or compare two run folders" in result.output


def test_card_strings_never_reach_the_terminal_as_escape_sequences(two_runs, tmp_path):  # noqa: F811
    root, old, new, _ = two_runs
    evil = "x\u001b]0;title\u0007"
    bidi = "kw\u202egnp"
    kept = tmp_path / "kept"
    shutil.copytree(old / "model", kept)
    card = json.loads((kept / "model_card.json").read_text(encoding="utf-8"))
    card["label_model"] = evil
    card["lfs"][0]["name"] = bidi
    card["training_files"][evil] = {"sha256": "0" * 64}
    card["end_model"]["name"] = "tfidf\r"
    card["versions"]["labeling"] = "0.1\u001b[2J"
    card["metrics"][evil] = {"test": {"accuracy": 0.5, "f1": 0.5}}
    (kept / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    result = cli("compare", kept, new)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\u001b" not in out and "\u0007" not in out and "\u202e" not in out
    assert "\r" not in out
    assert ascii(evil) in out and ascii(bidi) in out and ascii("tfidf\r") in out
    assert f"  {ascii(evil)}: only in A" in out


def test_multi_label_metric_names_are_shown_safely():
    from labeling.cli.compare_commands import compare_lines

    def side(score):
        scores = {"end_model": {"test": {"macro_f1\u001b[31m": score, "n": 3}}}
        return {"metrics": {"multi_label": {"scores": scores}}, "card": None,
                "folder": Path("/nonexistent")}

    lines = compare_lines(side(0.5), side(0.75))
    assert not any("\u001b" in line for line in lines)
    assert any(ascii("macro_f1\u001b[31m") in line and "+0.2500" in line for line in lines)
