"""Label-model fits kept on disk, keyed by everything a fit depends on.

Why: ``labeling run`` after ``labeling fit``, or a ``labeling dev`` save that changed no
vote, would refit the same model on the same votes (label-model ``auto`` cross-validates
three models, 5-10 s). A fit is a pure function of the model's class and parameters, the
train label matrix and the dev gold (matrix and labels): those are hashed, with the
code that fits (:func:`code_digest`), so a changed vote, label, parameter or model code
is a miss, never a stale model. Saved as the model's own JSON
(``model.save``), no pickle; a file that does not load is a miss.

>>> import numpy as np, tempfile
>>> from labeling.models import make
>>> L = np.array([[1, 1], [0, -1], [1, 0]])
>>> cache = tempfile.mkdtemp()
>>> first = fit_cached(make("mv", cardinality=2), L, None, None, cache)
>>> again = fit_cached(make("mv", cardinality=2), L, None, None, cache)
>>> again.class_balance_.tolist() == first.class_balance_.tolist()
True
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from labeling import metrics
from labeling.errors import LabelingError
from labeling.models.base import REGISTRY, LabelModel
from labeling.models.persist import load_model

FORMAT = 1  # bump when what a fit depends on changes


def fit_key(model: LabelModel, L, y_dev, L_dev) -> str:
    """SHA-256 of the model's class and parameters and of every array its fit reads."""
    params = json.dumps(model.get_params(), sort_keys=True, default=repr)
    return array_key(f"{type(model).__module__}.{type(model).__name__}\0{params}",
                     (L, y_dev, L_dev))


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of the code a fit runs: the label models' modules and labeling.metrics
    (folds, scores, decision bias), with the versions of the libraries they call. In
    the key, so a changed model (an upgrade, an edit in a checkout) is a miss: FORMAT
    alone relied on every such change remembering to bump it."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")) + [Path(metrics.__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for dist in ("numpy", "scipy", "scikit-learn", "snorkel", "torch"):
        try:
            digest.update(f"\0{dist} {importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"\0{dist} -".encode())
    return digest.hexdigest()


def array_key(header: str, arrays) -> str:
    """SHA-256 of ``header`` (what the fit is: class, parameters), of the code that fits
    it (:func:`code_digest`) and of ``arrays`` (what it reads: shapes and values;
    ``None`` counts as its own value)."""
    digest = hashlib.sha256()
    digest.update(f"{FORMAT}\0{code_digest()}\0{header}".encode())
    for array in arrays:
        if array is None:
            digest.update(b"\0none")
            continue
        array = np.ascontiguousarray(np.asarray(array, dtype=np.int64))
        digest.update(f"\0{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def fit_cached(model: LabelModel, L, y_dev, L_dev, cache_dir) -> LabelModel:
    """``model`` fit on ``(L, y_dev, L_dev)``, or the same fit read from ``cache_dir``.
    A label model of yours (a class outside labeling.models) is always fit: its code is
    not in :func:`code_digest`, so an edit to its ``fit`` would get the old fit back."""
    if not type(model).__module__.startswith("labeling.models."):
        with threadpool_limits(limits=1, user_api="blas"):
            return model.fit(L, y_dev=y_dev, L_dev=L_dev)
    path = Path(cache_dir) / f"{fit_key(model, L, y_dev, L_dev)}.json"
    if path.is_file():
        try:
            cached = load_model(path, REGISTRY)
        except (OSError, ValueError):  # unreadable or tampered: refit and overwrite
            cached = None
        if type(cached) is type(model):
            return cached
    # One BLAS thread: a label model's linear algebra is on matrices of a few dozen
    # columns (L-BFGS-B over m x k weights, EM over m LFs), where extra BLAS threads only
    # spin. On 2 busy cores a weighted_vote fit took 1.0 s with OpenBLAS's 2 threads and
    # 0.064 s with one; label-model `auto` makes 16 of them per fit (issue 14).
    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(L, y_dev=y_dev, L_dev=L_dev)
    try:  # a cache that cannot be written costs a refit next time, not this fit
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
    except (OSError, LabelingError):
        pass
    return model
