"""k-class tasks with rare classes (h102): a class with no gold row in a split, a positive
label with no dev gold row, and a learning curve whose rest of dev would lose a rare class.

- Per-class tables (`run`/`fit`, report.md) show `-` for a class with no gold row in the
  split (its recall and F1 are undefined, not 0), the gold rows per class, and say that
  macro-F1 leaves such classes out (and, on dev, that dev CV cannot see them).
- `auto` choosing by F1 of a class dev has no row of refuses (every candidate scores 0).
- The learning curve's rest of dev keeps a row of every class with two or more dev rows;
  a curve of F1 0 everywhere says it cannot measure, not "worth about 0 hand labels".
"""

from __future__ import annotations

import numpy as np
import pytest

from labeling.distill_output import per_class_lines
from labeling.metrics import per_class_scores, score_predictions
from labeling.models.auto import AutoLabelModel
from labeling.report import console, print_per_class
from labeling.train.learning_curve import fraction_sizes, labels_worth, nested_subsamples

LABELS = ["DESC", "place name", "1", "never seen"]
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2])   # no row of "never seen" (class 3)
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 0])


def metrics_for(split: str) -> dict:
    per = per_class_scores(Y_TRUE, Y_PRED, len(LABELS))
    return {"labels": LABELS, "label_model": {split: {"per_class": per}},
            "end_model": {split: {"per_class": per}}}


def printed(fn, *args) -> str:
    with console().capture() as capture:
        fn(*args)
    return capture.get()


def test_per_class_table_shows_no_zeros_for_a_class_without_gold_rows():
    out = printed(print_per_class, metrics_for("test"), "test")
    row = next(line for line in out.splitlines() if "never seen" in line and "│" in line)
    cells = [c.strip() for c in row.strip().strip("│").split("│")]
    assert cells == ["never seen", "0", "-", "-"]  # gold rows 0; no 0.00 / 0.00 / 0.00
    row = next(line for line in out.splitlines() if line.startswith("│ place name"))
    assert [c.strip() for c in row.strip("│").split("│")][1] == "2"  # gold rows column
    assert "gold rows" in out
    note = " ".join(out.split())
    assert "no test gold row of 'never seen'" in note
    assert "macro-F1 is the mean of the other 3 classes" in note
    assert "dev CV" not in note  # only said of dev


def test_per_class_note_on_dev_says_dev_cv_cannot_see_the_class():
    note = " ".join(printed(print_per_class, metrics_for("dev"), "dev").split())
    assert "no dev gold row of 'never seen'" in note and "dev CV" in note


def test_macro_f1_is_the_mean_of_the_classes_with_gold_rows():
    per = per_class_scores(Y_TRUE, Y_PRED, len(LABELS))
    present = [c["f1"] for c in per if c["support"]]
    assert score_predictions(Y_TRUE, Y_PRED, "macro_f1") == pytest.approx(np.mean(present))


def test_report_md_per_class_table_marks_a_class_without_gold_rows():
    per = per_class_scores(Y_TRUE, Y_PRED, len(LABELS))
    lines = per_class_lines({"labels": LABELS, "rows": [{"name": "end model",
                                                         "per_class": per}]})
    assert "| test gold rows | 3 | 2 | 2 | 0 |" in lines
    end = next(line for line in lines if line.startswith("| end model"))
    assert end.rstrip().endswith("| - |") and "0.00 / 0.00 / 0.00" not in end


def test_auto_refuses_to_choose_by_f1_of_a_class_dev_has_no_row_of():
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 4, size=(200, 5))
    L_dev, y_dev = L[:30], np.array([0, 1, 2] * 10)  # no row of class 3
    with pytest.raises(ValueError) as err:
        AutoLabelModel(cardinality=4, metric="f1", pos_label=3).fit(L, y_dev=y_dev,
                                                                    L_dev=L_dev)
    message = str(err.value)
    assert "\n" not in message and "class 3" in message and "accuracy" in message
    # a dev row of it is enough to choose; accuracy needs none
    y_dev[0] = 3
    AutoLabelModel(cardinality=4, metric="f1", pos_label=3).fit(L, y_dev=y_dev, L_dev=L_dev)
    AutoLabelModel(cardinality=4).fit(L, y_dev=np.array([0, 1, 2] * 10), L_dev=L_dev)


def test_learning_curve_rest_of_dev_keeps_every_class_with_two_rows():
    y = np.array([0] * 60 + [1] * 30 + [2] * 2 + [3])  # class 2: 2 rows; class 3: one
    sizes = fraction_sizes(len(y))
    for per_seed in nested_subsamples(y, sizes, n_seeds=20, seed=0):
        for idx in per_seed:
            rest = np.setdiff1d(np.arange(len(y)), idx)
            assert {0, 1, 2} <= set(y[rest].tolist())  # the rare class is scored on
            assert set(y[idx].tolist()) == {0, 1, 2, 3}  # and trained on
        for small, large in zip(per_seed, per_seed[1:]):
            assert set(small) <= set(large)


def test_learning_curve_of_f1_zero_everywhere_is_not_worth_zero_labels():
    curve = {"sizes": [10, 20, 30], "metric": "f1", "pipeline": [[0.0, 0.0, 0.0]] * 3,
             "gold_only": [[0.0, 0.0, 0.0]] * 3,
             "pipeline_first_budget": [[0.0, 0.0, 0.0]] * 3}
    worth = labels_worth(curve)
    assert worth["labels"] is None and "worth about" not in worth["text"]
    assert "cannot say" in worth["text"]
    # a curve with one non-zero F1 is read as before
    curve["gold_only"] = [[0.0, 0.5, 0.5]] * 3
    assert labels_worth(curve)["labels"] is not None


def test_auto_fits_no_decision_bias_on_fewer_rows_of_the_positive_label_than_folds():
    """Two dev rows of a rare positive class, neither with a vote: a bias fit on them calls
    the class on every row no LF voted on (dev F1 0.07 beats 0). Before: decision_bias_
    of the class 3.2, and all 53 uncovered dev rows predicted as it."""
    rng = np.random.default_rng(1)

    def votes(y):
        L = np.full((len(y), 3), -1)
        for c in (0, 1):
            fire = (y == c) & (rng.random(len(y)) < 0.5)
            L[fire, c] = c
        return L

    y_train = rng.choice(3, size=600, p=[0.6, 0.37, 0.03])
    L = votes(y_train)
    L[(y_train == 2) & (rng.random(600) < 0.6), 2] = 2
    y_dev = np.array([0] * 60 + [1] * 38 + [2, 2])
    L_dev = votes(y_dev)  # the two class-2 rows have no vote
    auto = AutoLabelModel(cardinality=3, metric="f1", pos_label=2).fit(L, y_dev=y_dev,
                                                                       L_dev=L_dev)
    assert not auto.decision_bias_.any()
    uncovered = (L_dev < 0).all(axis=1)
    assert not (auto.predict(L_dev)[uncovered] == 2).any()
    # with a dev row of it in every fold, the bias is fit as before
    y_dev5 = np.array([0] * 55 + [1] * 38 + [2] * 7)
    L_dev5 = votes(y_dev5)
    L_dev5[y_dev5 == 2, 2] = 2
    L_dev5[y_dev5 == 2, 0] = 0  # a tie with class 0 on each of its rows: a bias breaks it
    auto5 = AutoLabelModel(cardinality=3, metric="f1", pos_label=2).fit(L, y_dev=y_dev5,
                                                                        L_dev=L_dev5)
    assert auto5.decision_bias_[2] > 0 and not auto5.decision_bias_[:2].any()


def test_fit_refuses_a_positive_label_the_dev_gold_has_no_row_of(make_task):
    """Before: `labeling run` went on, every label model and end model scored dev CV F1 0,
    the tie rule chose, and the gold-only model (which never predicts the label) became
    the end model with 'dev CV found the weak labels made it worse'."""
    from typer.testing import CliRunner

    from labeling.cli import app

    frames = make_task.frames()
    dev = frames["dev"][frames["dev"]["label"] == "ham"]  # no spam row
    config = make_task(dev=dev, config={"label_model": {"name": "mv",
                                                        "params": make_task.DELETE}})
    assert CliRunner().invoke(app, ["apply", str(config)]).exit_code == 0
    result = CliRunner().invoke(app, ["fit", str(config)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert "\n" not in message and "positive_label" in message and "'spam'" in message
    assert "no dev gold row" in message and "Traceback" not in message


def test_model_card_per_class_table_marks_a_class_without_gold_rows():
    from labeling.export.card import _metrics_lines

    per = per_class_scores(Y_TRUE, Y_PRED, len(LABELS))
    lines = _metrics_lines({"labels": LABELS, "metrics": {"end_model": {"test": {
        "accuracy": 0.7, "macro_f1": 0.6, "per_class": per}}}})
    assert "| test gold rows | 3 | 2 | 2 | 0 |" in lines
    end = [line for line in lines if line.startswith("| end_model |")][-1]
    assert end.rstrip().endswith("| - |") and "0.00 / 0.00 / 0.00" not in end



def test_gold_only_chosen_on_a_tie_does_not_say_the_weak_labels_made_it_worse():
    """Two dev rows of a rare positive label that no candidate calls right: every one
    scores dev CV F1 0 and the tie rule takes the gold-only model. Before: 'dev CV found
    the weak labels made it worse (0.000 f1 ...)'."""
    from labeling.train.gold_budget import verdict

    choice = {"label_mode": "gold_only", "cv": 0.0, "metric": "f1",
              "cv_scores": {"avg/gold_only": 0.0, "avg/soft/w0.1": 0.0, "avg/soft": 0.0}}
    out = verdict(choice, 0.0, 305)
    assert out["verdict"] == "gold_only_chosen" and out["loud"]
    assert "made it worse" not in out["text"] and "tie" in out["text"]
    choice["cv_scores"] = {"avg/gold_only": 0.2, "avg/soft": 0.1}  # a real loss keeps its words
    assert "made it worse" in verdict(choice, 0.2, 305)["text"]


def test_lf_table_warns_of_a_class_no_lf_votes_for(tmp_path):
    """An 8-class intent task where no LF votes 'never seen': before, `apply`/`run`
    said nothing (the per-class tables showed its zeros only after training)."""
    import json

    import pandas as pd

    from labeling.analysis import unvoted_classes
    from labeling.report import print_lf_summary

    pd.DataFrame({"lf": ["kw_place", "re_when"], "j": [0, 1], "polarity": ["place name", "1"],
                  "coverage": [0.1, 0.2]}).to_csv(tmp_path / "lf_summary.csv", index=False)
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"labels": LABELS, "lfs": {"unvoted": ["DESC", "never seen"]}}))
    out = " ".join(printed(print_lf_summary, tmp_path).split())
    assert "no LF votes for 'DESC', 'never seen'" in out
    L = np.array([[1, -1], [-1, 2], [0, 2]])  # place name; 1; DESC and 1
    assert unvoted_classes(L, LABELS) == ["never seen"]
    # one voted class: lf_warnings says 'every LF votes class ...' already
    assert unvoted_classes(np.array([[1, -1], [1, 1]]), LABELS) == []


def test_a_label_holding_a_comma_is_not_taken_for_two_voted_labels(make_task):
    """Labels "ham", "ham, spam", "spam" with LFs voting the last two: before, the LF
    summary's polarity cell "ham, spam" counted "ham" as voted, and no warning came."""
    from labeling import pipeline
    from labeling.report import print_lf_summary

    config = make_task(config={"labels": ["ham", "ham, spam", "spam"],
                               "positive_label": make_task.DELETE},
                       lf_source="from labeling import keyword_lf\n"
                                 "a = keyword_lf(['subscribe'], label=2, name='kw_spam')\n"
                                 "b = keyword_lf(['song'], label=1, name='kw_both')\n")
    task = pipeline.load_task(config)
    pipeline.step_apply(task)
    out = " ".join(printed(print_lf_summary, task.run_dir).split())
    assert "no LF votes for 'ham': the label model" in out
