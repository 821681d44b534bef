"""The answer of a request from its probability rows: the top label (the first on a tie,
as `labeling predict` and NumPy's argmax) and the refusal of a non-finite probability
(a 500), for one row (a server's usual request) as for many."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.serve.app import finite
from labeling.serve.protocol import (Limits, infer_request, infer_response, predict_response,
                                     top_labels)

LABELS = ["a", "b", "c"]


@pytest.mark.parametrize("rows", [1, 2, 16, 17, 300])
def test_top_label_is_argmax_first_on_ties(rows):
    rng = np.random.default_rng(rows)
    proba = rng.integers(0, 3, size=(rows, 3)).astype(float) / 4  # many ties, 0.0 rows
    proba[0] = [0.25, 0.25, 0.0]  # a tie: the first wins
    if rows > 1:
        proba[1] = [-0.0, 0.0, 0.0]  # -0.0 == 0.0: still the first
    want = [LABELS[k] for k in proba.argmax(axis=1)]
    assert top_labels(proba, LABELS) == want
    assert top_labels(proba.astype(np.float32), LABELS) == want
    assert predict_response(proba, LABELS)["labels"] == want


@pytest.mark.parametrize("rows", [1, 16, 17, 64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_probability_is_refused_in_small_and_large_answers(rows, bad):
    proba = np.full((rows, 2), 0.5)
    assert finite(proba) is proba
    proba[rows - 1, 1] = bad
    with pytest.raises(ValueError, match="not a finite number"):
        finite(proba)
    with pytest.raises(ValueError, match="not a finite number"):
        finite(proba.astype(np.float32))


def test_empty_answers():
    assert finite(np.zeros((0, 0))).shape == (0, 0)
    assert top_labels(np.zeros((0, 2)), LABELS[:2]) == []
    request = infer_request({"inputs": [{"name": "text", "shape": [0], "datatype": "BYTES",
                                         "data": []}]}, Limits())
    out = infer_response(request, np.zeros((0, 2)), LABELS[:2], "m", "1")
    assert out["outputs"][0]["data"] == [] and out["outputs"][1]["data"] == []
