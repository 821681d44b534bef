"""`labeling suggest`'s table of where the LFs are weakest, on a k-class task: a label
the label model over-predicts (uncovered rows default to it) is weak by precision,
which recall alone (and one 'errors' count) hid."""

from types import SimpleNamespace

import numpy as np

from labeling.suggest.engine import weakness


def test_weakness_splits_errors_and_ranks_an_over_predicted_label_weak():
    # gold: 4 x A, 4 x B, 4 x C; the label model says A for every uncovered row
    y = np.array([0] * 4 + [1] * 4 + [2] * 4)
    pred = np.array([0, 0, 0, 0, 0, 1, 1, 1, 0, 2, 2, 2])
    L = np.where(pred[:, None] == y[:, None], y[:, None], -1)
    ctx = SimpleNamespace(gold_rows=np.arange(12), y_dev=y, L={"dev": L},
                          labels=["A", "B", "C"])
    rows = {r["label"]: r for r in weakness(ctx, pred)}
    a = rows["A"]
    assert a["recall"] == 1.0 and a["precision"] == 4 / 6
    assert (a["missed"], a["wrongly_given"], a["errors"]) == (0, 2, 2)
    assert (rows["B"]["missed"], rows["B"]["wrongly_given"]) == (1, 0)
    # A (recall 1.0, a third of its rows other labels') is weakest: F1 0.80 < 0.86
    assert [r["label"] for r in weakness(ctx, pred)][0] == "A"


def test_a_label_with_no_dev_row_that_the_label_model_gives_is_weakest():
    # before: its F1 was NaN (no gold row) and it sorted last, "strongest", though every
    # row given it was wrong (found in review)
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])  # C: no dev row of its own, given once, wrongly
    L = np.full((4, 1), -1)
    ctx = SimpleNamespace(gold_rows=np.arange(4), y_dev=y, L={"dev": L},
                          labels=["A", "B", "C"])
    ranked = weakness(ctx, pred)
    assert ranked[0]["label"] == "C" and ranked[0]["f1"] == 0.0
    assert ranked[0]["wrongly_given"] == 1
