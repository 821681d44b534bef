"""The label-model fit cache returns exactly what a refit gives: a hit is the same model
bit for bit, and a fit cached by other label-model code (an upgrade, an edit in a
checkout) is a miss, not the old code's model."""

from __future__ import annotations

import json

import numpy as np

from labeling.models import fit_cache, make
from labeling.models.fit_cache import fit_cached


def _votes(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    L = np.where(rng.random((300, 6)) < 0.4, -1,
                 np.where(rng.random((300, 6)) < 0.8, y[:, None], 1 - y[:, None]))
    return L[:200], L[200:], y[200:]


def test_a_hit_is_the_refit_bit_for_bit(tmp_path):
    L, L_dev, y_dev = _votes()
    fresh = make("auto", cardinality=2).fit(L, y_dev=y_dev, L_dev=L_dev)
    fit_cached(make("auto", cardinality=2), L, y_dev, L_dev, tmp_path)
    hit = fit_cached(make("auto", cardinality=2), L, y_dev, L_dev, tmp_path)
    assert hit.chosen_ == fresh.chosen_ and hit.cv_scores_ == fresh.cv_scores_
    assert np.array_equal(hit.predict_proba(L), fresh.predict_proba(L))


def test_a_fit_cached_by_other_model_code_is_a_miss(tmp_path, monkeypatch):
    L, _, _ = _votes()
    fit_cached(make("mv", cardinality=2), L, None, None, tmp_path)
    [path] = tmp_path.glob("*.json")
    saved = json.loads(path.read_text())  # as an older version's mv would have fit it
    saved["state"]["class_balance_"]["__ndarray__"] = [0.9, 0.1]
    path.write_text(json.dumps(saved))
    old = fit_cached(make("mv", cardinality=2), L, None, None, tmp_path)
    assert old.class_balance_.tolist() == [0.9, 0.1]  # same code: the cache is trusted
    monkeypatch.setattr(fit_cache, "code_digest", lambda: "the label models, edited")
    new = fit_cached(make("mv", cardinality=2), L, None, None, tmp_path)
    refit = make("mv", cardinality=2).fit(L)
    assert new.class_balance_.tolist() == refit.class_balance_.tolist() != [0.9, 0.1]


def test_the_code_digest_covers_the_models_and_metrics(monkeypatch):
    """Every label-model module, labeling.metrics and the libraries' versions change it
    (before: a length check, which passed with any constant digest)."""
    from pathlib import Path

    import labeling.metrics
    import labeling.models

    digest = fit_cache.code_digest()
    assert len(digest) == 64 and digest == fit_cache.code_digest()
    read = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.resolve())
                        or real(self))
    fit_cache.code_digest.cache_clear()
    assert fit_cache.code_digest() == digest
    models = Path(labeling.models.__file__).parent
    assert set(models.glob("*.py")) | {Path(labeling.metrics.__file__)} <= set(read)
    monkeypatch.setattr(fit_cache.importlib.metadata, "version", lambda dist: "99.0")
    fit_cache.code_digest.cache_clear()
    assert fit_cache.code_digest() != digest  # an upgraded library: another key
    fit_cache.code_digest.cache_clear()
