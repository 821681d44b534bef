"""The notebook's arrays for snorkel code downstream: L, the label model's probabilities
and the fitted model, read back in a new kernel (docs/from_snorkel.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from snorkel.labeling import PandasLFApplier, filter_unlabeled_dataframe
from snorkel.labeling.model import LabelModel as SnorkelLM

from labeling.errors import LabelingError
from labeling.session import Session


def test_a_new_session_reads_l_and_probs_that_match_snorkel(make_task):
    path = make_task()  # label model: snorkel, 50 epochs, seed 1
    first = Session(path)
    applied = first.apply()
    first.fit()

    session = Session(path)  # a new kernel: no apply, no fit
    L_train, L_dev = session.label_matrix("train"), session.label_matrix("dev")
    np.testing.assert_array_equal(L_train, applied["train"])
    df_train = session.task.splits["train"]
    np.testing.assert_array_equal(
        L_train, PandasLFApplier(session.task.lfs).apply(df_train, progress_bar=False))

    probs = session.probs("train")
    assert probs.shape == (len(df_train), 2)
    np.testing.assert_allclose(session.label_model().predict_proba(L_train), probs)
    theirs = SnorkelLM(cardinality=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(L_train, Y_dev=session.task.gold("dev"), n_epochs=50, seed=1,
                   progress_bar=False)
    np.testing.assert_allclose(probs, theirs.predict_proba(L_train), rtol=1e-5, atol=1e-6)
    kept, kept_probs = filter_unlabeled_dataframe(df_train, probs, L_train)
    assert len(kept) == len(kept_probs) == int((L_train != -1).any(axis=1).sum())
    assert session.label_matrix("dev").shape == (len(session.task.splits["dev"]), 3)
    assert L_dev.dtype.kind == "i"


def test_arrays_before_their_step_or_after_an_lf_edit_name_the_call_to_make(make_task):
    session = Session(make_task())
    with pytest.raises(LabelingError, match=r"call apply\(\) before label_matrix\(\)"):
        session.label_matrix()
    session.apply()
    assert session.label_matrix().shape[1] == 3
    with pytest.raises(LabelingError, match=r"call fit\(\) before probs\(\)"):
        session.probs()
    with pytest.raises(LabelingError, match=r"call fit\(\) before label_model\(\)"):
        session.label_model()
    session.fit()
    lfs = session.task.config.base_dir / "lfs.py"
    lfs.write_text(lfs.read_text().replace('"free"', '"gift"'))
    with pytest.raises(LabelingError, match=r"changed: kw_spam.*call apply\(\)"):
        session.label_matrix("dev")
    with pytest.raises(LabelingError, match=r"no 'valid' split \(splits: train, dev, test\)"):
        session.probs("valid")


def test_a_multi_label_session_reads_l_and_each_labels_probability(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_multilabel_loop import write_project

    session = Session(write_project(tmp_path))
    applied = session.apply()
    session.fit()
    np.testing.assert_array_equal(session.label_matrix("dev"), applied["dev"])
    probs = session.probs("dev")
    labels = session.task.config.labels
    assert probs.shape == (len(session.task.splits["dev"]), len(labels))
    assert ((probs >= 0) & (probs <= 1)).all()
    with pytest.raises(LabelingError, match="one label model per label"):
        session.label_model()
