"""`labeling apply` and `labeling run` on a multi-label task warn of what makes a label
unlearnable (h143): a label no LF targets (before: silent; the label model gave every row
its dev prevalence, e.g. a `none` label predicted on every row at F1 0.18), a label no dev
gold set names (before: silent; dev CV gave it the gold-only head, which never predicted
it: test F1 0.00 on 205 rows), and dev gold sets that all name one label (a single-label
task declared `multi_label = true`)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_export import _cli, _project  # noqa: E402

from labeling.multilabel_steps.apply import label_warnings  # noqa: E402

LABELS = ["joy", "anger", "neutral"]


def test_no_warning_when_every_label_is_targeted_and_in_dev():
    Y = np.array([[1, 1, 0], [0, 0, 1]] * 15)
    assert label_warnings([0, 1, 2], Y, LABELS, "dev.csv") == []


def test_a_label_no_lf_targets_is_named():
    Y = np.array([[1, 1, 0], [0, 0, 1]] * 15)
    (line,) = label_warnings([0, 0, 1], Y, LABELS, "dev.csv")
    assert line.startswith("no LF targets 'neutral': the label model gives every row its "
                           "dev prevalence") and "for_label('neutral', ...)" in line


def test_a_label_without_dev_positives_names_the_file_and_label():
    Y = np.array([[1, 0, 0], [1, 0, 1]] * 15)
    (line,) = label_warnings([0, 1, 2], Y, LABELS, "dev.csv")
    assert line.startswith("dev.csv: no dev gold label set names 'anger'")


def test_single_label_dev_sets_suggest_dropping_multi_label():
    Y = np.eye(3, dtype=int)[np.arange(30) % 3]
    (line,) = label_warnings([0, 1, 2], Y, LABELS, "dev.csv")
    assert "every one of the 30 dev gold label sets names exactly one label" in line
    assert label_warnings([0, 1, 2], Y[:10], LABELS, "dev.csv") == []  # too few to say


def test_apply_and_run_print_the_warnings(tmp_path):
    config = _project(tmp_path / "t")
    lfs = config.parent / "lfs.py"  # drop the neutral LF: no LF targets 'neutral'
    lfs.write_text(lfs.read_text().split("@labeling_function()")[0], encoding="utf-8")
    dev = config.parent / "dev.csv"  # no dev row carries 'anger'
    text = dev.read_text().replace("anger;joy", "joy").replace(",anger\n", ",neutral\n")
    dev.write_text(text, encoding="utf-8")
    assert "anger" not in text.split("\n", 1)[1].replace("so angry", "")
    applied = _cli("apply", config)
    assert applied.exit_code == 0, applied.output
    out = " ".join(applied.output.split())
    assert "warning: no LF targets 'neutral'" in out
    assert "no dev gold label set names 'anger'" in out
    ran = _cli("run", config, "--no-progress")
    assert ran.exit_code == 0, ran.output
    assert "no LF targets 'neutral'" in " ".join(ran.output.split())
