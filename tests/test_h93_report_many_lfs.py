"""`labeling apply`/`report` with a few hundred generated LFs: copies of one LF and LFs
that never fire are one warning line each group, not one per LF; LF names and messages
are printed as written (rich took kw[spam] for a style tag)."""

import json

import numpy as np

from labeling import report
from labeling.analysis import lf_summary, lf_warnings


def _run(tmp_path, L, names, faults=None):
    summary = lf_summary(L, names, ["ham", "spam"], L[:20], np.zeros(20, int))
    summary.to_csv(tmp_path / "lf_summary.csv")
    lfs = {"warnings": lf_warnings(L, names, 2)}
    if faults:
        lfs.update(fault_counts={n: 3 for n in faults}, first_faults=faults)
    (tmp_path / "metrics.json").write_text(json.dumps({"lfs": lfs}), encoding="utf-8")
    return tmp_path


def _printed(capsys, run_dir):
    report.console.cache_clear()
    try:
        report.print_lf_summary(run_dir)
    finally:
        report.console.cache_clear()
    return capsys.readouterr().out


def test_generated_copies_and_silent_lfs_are_one_line_per_group(tmp_path, capsys):
    rng = np.random.default_rng(0)
    base = np.where(rng.random(200) < 0.3, 1, -1)
    other = np.where(rng.random(200) < 0.3, 0, -1)
    columns = [base] * 40 + [other] * 30 + [np.full(200, -1)] * 25
    names = [f"kw_spam_{i}" for i in range(40)] + [f"kw_ham_{i}" for i in range(30)] + \
        [f"never_{i}" for i in range(25)]
    out = _printed(capsys, _run(tmp_path, np.stack(columns, axis=1).astype(np.int8), names))
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith("warning: 25 LFs vote on no training example (zero "
                                  "coverage): never_0, never_1,")
    assert ("warning: 39 LFs give the same votes as 'kw_spam_0' on every training example: "
            "kw_spam_1, kw_spam_2,") in out
    assert "29 LFs give the same votes as 'kw_ham_0'" in out and "kw_ham_29" in out


def test_names_and_messages_are_not_markup(tmp_path, capsys):
    L = np.array([[1, 1, -1], [-1, -1, -1], [0, 0, -1]] * 10, dtype=np.int8)
    names = ["kw[spam]", "kw[ham]", "[bold]never"]
    out = _printed(capsys, _run(tmp_path, L, names,
                                faults={"kw[spam]": "KeyError: '[red]x'"}))
    assert "kw[spam]" in out and "kw[ham]" in out and "[bold]never" in out
    assert "LF 'kw[ham]' gives the same votes as 'kw[spam]'" in out
    assert "LF '[bold]never' votes on no training example" in out
    assert "faults: LF 'kw[spam]' raised on 3 rows; first: KeyError: '[red]x'" in out


def test_lfs_worse_than_chance_are_one_line(tmp_path, capsys):
    y = np.zeros(40, int)
    wrong = np.where(np.arange(40) < 30, 1, -1)           # 0/30 correct on dev
    columns = [wrong] * 12 + [np.where(np.arange(40) < 20, 0, -1)]
    names = [f"kw_bad_{i}" for i in range(12)] + ["ok"]
    L = np.stack(columns, axis=1).astype(np.int8)
    from labeling.analysis import grouped_warnings
    lines = grouped_warnings(lf_warnings(L, names, 2, L, y))
    assert lines[0] == ("12 LFs are worse than chance on dev (correct of their dev votes): "
                        + ", ".join(f"kw_bad_{i} (0/30)" for i in range(12)))
    one = grouped_warnings(lf_warnings(L[:, [0, 12]], ["kw_bad_0", "ok"], 2, L[:, [0, 12]], y))
    assert one == ["LF 'kw_bad_0' is worse than chance on dev (0/30 correct)"]
