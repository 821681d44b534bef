"""A label_model.json saved by an older version loads as the model it was (found by the
upgrade walkthrough: an auto model fit before 2026-12-05 has no decision_bias_, and
loading it raised 'missing learned attributes', so `labeling train` after an older
version's fit lost the per-fold label-model refits of its dev CV without a word)."""

import json

import numpy as np

from labeling import models

L = np.array([[1, 1, -1], [0, -1, 0], [1, 0, 1], [0, 0, -1], [1, -1, 1], [0, 0, 0]] * 5)
Y = np.array([1, 0, 1, 0, 1, 0] * 5)


def test_an_auto_model_saved_before_decision_bias_loads_and_decides_as_before(tmp_path):
    model = models.make("auto", cardinality=2).fit(L, y_dev=Y, L_dev=L)
    path = model.save(tmp_path / "label_model.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    del saved["state"]["decision_bias_"]  # as the version of 2026-11-24 wrote it
    path.write_text(json.dumps(saved), encoding="utf-8")
    old = models.load(path)
    assert old.decision_bias_.tolist() == [0.0, 0.0]
    assert np.array_equal(old.predict_proba(L), model.predict_proba(L))
    # it decided unshifted: the chosen model's own decision
    assert np.array_equal(old.predict(L), old.model_.predict(L))


def test_a_file_missing_another_attribute_is_still_refused(tmp_path):
    import pytest

    model = models.make("auto", cardinality=2).fit(L, y_dev=Y, L_dev=L)
    path = model.save(tmp_path / "label_model.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    del saved["state"]["chosen_"]
    path.write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(ValueError, match="missing learned attributes"):
        models.load(path)
