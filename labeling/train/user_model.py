"""End models of your own: a factory returning an unfitted scikit-learn estimator.

``[end_model] name = "my_models.py:make_svm"`` (a file, relative to labeling.toml's
folder, as ``lfs`` are) or ``"package.module:make_svm"`` (an importable module) names a
function that returns an unfitted estimator taking a list of texts: a ``Pipeline`` of a
vectorizer and a classifier, say. ``params`` are passed to it as keyword arguments (and
the task's ``seed`` as ``seed=`` when the function takes one). In a notebook,
``Session.train(end_model=make_svm)`` takes the function itself, or an unfitted estimator.

The estimator is wrapped in :class:`UserEndModel`, which gives it the end models'
contract: ``fit(texts, targets)`` with an ``n x k`` soft-target matrix is turned into
one copy of each row per class of positive weight, with that weight as
``sample_weight`` (routed to a Pipeline's last step), so soft labels, the weak rows'
weight and the dev gold rows' weight all reach it. Each CV fold fits a fresh
``sklearn.base.clone`` of it (:mod:`labeling.train.user_cv`), and the gold-only
baseline is the same factory fit on the dev gold alone.

What is checked when the factory is read, each a one-line ``ValueError``: the file and
function exist, the result is an unfitted estimator with ``fit`` and
``predict_proba``, ``clone`` can copy it and its (last step's) ``fit`` takes
``sample_weight``. After ``fit``: ``classes_`` must be the class indices trained on and
``predict_proba`` one column per class. Saving it
(:func:`labeling.export.skops_io.save_model`) refuses a type a saved model may not
hold (skops' trusted scikit-learn types and labeling's): a model folder never runs code
of yours when it is loaded, so a class defined in your file cannot be saved.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from labeling.metrics import shifted
from labeling.train.ensemble import text_list

NOTEBOOK = "notebook:"  # names of end models handed to Session.train(end_model=...)
_NOTEBOOK_MODELS: dict[str, object] = {}  # such names -> the function or estimator


def is_user_model(name) -> bool:
    """Whether an ``[end_model] name`` names a factory of yours (``file.py:function``,
    ``module:function`` or a notebook one), not a built-in end model."""
    return isinstance(name, str) and ":" in name


_RESOLVED: dict[str, str] = {}  # a file.py:function as written -> its absolute form


def resolve_reference(name: str, base_dir) -> str:
    """Record that ``name``'s relative ``file.py`` lies in ``base_dir`` (the config's
    folder), so it means that file from any working folder, and return ``name`` as
    written (metrics.json and the model card show it so). Later resolutions of
    ``name`` in this process use the last folder recorded; without one, the working
    folder."""
    if not is_user_model(name) or name.startswith(NOTEBOOK):
        return name
    target, _, function = name.rpartition(":")
    if target.endswith(".py") and base_dir is not None and not Path(target).is_absolute():
        _RESOLVED[name] = f"{(Path(base_dir) / target).resolve()}:{function}"
    elif base_dir is not None and str(base_dir) not in sys.path:  # a module of the task's
        sys.path.append(str(base_dir))  # folder, as an LF module is (appended: no shadowing)
    return name


def register(model) -> str:
    """A name for ``model`` (a factory function, or an unfitted estimator) that
    :func:`make_user_model` resolves in this process: ``notebook:<its name>``."""
    if inspect.isclass(model):
        raise ValueError(f"end_model={model.__name__}: pass a function returning an "
                         f"estimator, or an estimator ({model.__name__}()), not the class")
    label = getattr(model, "__qualname__", None) or type(model).__name__
    name = f"{NOTEBOOK}{label}"
    _NOTEBOOK_MODELS[name] = model
    return name


def _load_function(name: str):
    """The callable ``name`` refers to (or a notebook estimator)."""
    if name.startswith(NOTEBOOK):
        if name not in _NOTEBOOK_MODELS:
            raise ValueError(f"end model {name!r} was given to Session.train(end_model=...) "
                             "in another process: pass it again, or name a file.py:function")
        return _NOTEBOOK_MODELS[name]
    target, _, function = _RESOLVED.get(name, name).rpartition(":")
    if not target or not function.isidentifier():
        raise ValueError(f"end model {name!r}: expected file.py:function or module:function")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ValueError(f"end model {name!r}: {path} not found (a relative path is "
                             "relative to labeling.toml's folder)")
        module = _import_file(path, name)
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:  # noqa: BLE001 - anything the user's import raises
            raise ValueError(f"end model {name!r}: importing {target} raised "
                             f"{type(exc).__name__}: {exc}") from None
    if not hasattr(module, function):
        defined = sorted(n for n, v in vars(module).items()
                         if inspect.isfunction(v) and not n.startswith("_"))
        raise ValueError(f"end model {name!r}: {target} has no {function!r} (its "
                         f"functions: {', '.join(defined) or 'none'})")
    return getattr(module, function)


_FILES: dict[str, tuple] = {}  # path -> (modification stamp, module): read once per edit


def _import_file(path: Path, name: str):
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = str(path.resolve())
    if key in _FILES and _FILES[key][0] == stamp:
        return _FILES[key][1]
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # its helpers beside it import, as an LF module's do
        sys.path.append(folder)
    # a name of its own (as the LF loader's): my_models.py must not replace a module
    # called my_models, nor json.py the standard library's json
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    spec = importlib.util.spec_from_file_location(f"end_model_{path.stem}_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - anything the user's module raises
        del sys.modules[spec.name]
        raise ValueError(f"end model {name!r}: importing {path} raised "
                         f"{type(exc).__name__}: {exc}") from None
    _FILES[key] = (stamp, module)
    return module


def make_user_model(name: str, seed: int = 0, **params) -> "UserEndModel":
    """The unfitted :class:`UserEndModel` of factory ``name`` called with ``params``
    (and ``seed=seed`` if it takes a ``seed``), checked as the module doc says."""
    factory = _load_function(name)
    if inspect.isclass(factory):  # as register() refuses it
        raise ValueError(f"end model {name!r}: pass a function returning an estimator "
                         f"(def make(): return {factory.__name__}()), not the class")
    if callable(factory) and not hasattr(factory, "fit"):
        takes = inspect.signature(factory).parameters
        if "seed" in takes and "seed" not in params:
            params = {**params, "seed": seed}
        try:
            estimator = factory(**params)
        except Exception as exc:  # noqa: BLE001 - anything the user's factory raises
            raise ValueError(f"end model {name!r}: calling it with {params or 'no params'} "
                             f"raised {type(exc).__name__}: {exc}") from None
    elif params:
        raise ValueError(f"end model {name!r} is an estimator, not a function: it takes no "
                         f"params (got {', '.join(params)}); set them on the estimator")
    else:
        estimator = factory
    check_estimator_parts(estimator, name)
    return UserEndModel(estimator=estimator, factory=name)


def check_estimator_parts(estimator, name: str) -> None:
    """One-line errors for an estimator the pipeline cannot use (module doc)."""
    what = f"end model {name!r} gave {type(estimator).__name__}"
    for method in ("fit", "predict_proba"):
        if not hasattr(estimator, method):
            hint = (": wrap it, e.g. CalibratedClassifierCV(LinearSVC())"
                    if method == "predict_proba" else "")
            raise ValueError(f"{what}, which has no {method}{hint}")
    try:
        clone(estimator)
    except Exception as exc:  # noqa: BLE001 - clone's own errors, whatever they are
        raise ValueError(f"{what}, which sklearn.base.clone cannot copy ({exc}); every CV "
                         "fold fits a fresh copy: follow scikit-learn's get_params contract"
                         ) from None
    last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if not has_fit_parameter(last, "sample_weight"):
        raise ValueError(f"{what}, whose {type(last).__name__}.fit takes no sample_weight: "
                         "it carries the soft labels and the weak and gold rows' weights")


class UserEndModel(ClassifierMixin, BaseEstimator):
    """An estimator of yours behind the end models' contract (module doc).

    ``estimator``: unfitted, taking a list of texts; ``factory``: the name it was made
    by (shown in metrics.json and the model card). Fitted: ``estimator_``,
    ``classes_`` and ``decision_bias_`` (a prior correction, as
    :class:`labeling.train.ensemble.ProbabilityAverage`'s)."""

    def __init__(self, estimator=None, factory: str = ""):
        self.estimator = estimator
        self.factory = factory

    def fit(self, X, y, sample_weight=None):
        """``y``: an ``n x k`` target matrix (row ``i``'s weight on each class), or class
        indices with ``sample_weight``."""
        X = np.asarray(text_list(X), dtype=object)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            rows, labels = np.nonzero(y > 0)
            X, weights, y = X[rows], y[rows, labels].astype(float), labels
        else:
            y = y.ravel().astype(int)
            weights = (np.ones(len(y)) if sample_weight is None
                       else np.asarray(sample_weight, float))
        fitted = clone(self.estimator)
        key = (f"{fitted.steps[-1][0]}__sample_weight" if isinstance(fitted, Pipeline)
               else "sample_weight")
        try:
            fitted.fit(list(X), y, **{key: weights})
        except Exception as exc:  # noqa: BLE001 - whatever the estimator raises, named
            hint = (" (it is given a list of texts: start it with a vectorizer)"
                    if "string" in str(exc) and "float" in str(exc) else "")
            raise ValueError(f"end model {self.factory!r}: fit on {len(X)} rows raised "
                             f"{type(exc).__name__}: {exc}{hint}") from exc
        trained = np.unique(y)
        classes = np.asarray(getattr(fitted, "classes_", []))
        if classes.tolist() != trained.tolist():
            raise ValueError(f"end model {self.factory!r}: classes_ after fit is "
                             f"{classes.tolist()}, expected the class indices it was fit on, "
                             f"{trained.tolist()}, in order")
        width = np.asarray(fitted.predict_proba(list(X[:1]))).shape[1]
        if width != len(classes):
            raise ValueError(f"end model {self.factory!r}: predict_proba gives {width} "
                             f"columns for {len(classes)} classes_")
        self.estimator_, self.classes_ = fitted, trained
        self.decision_bias_ = np.zeros(len(trained))
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        proba = np.asarray(self.estimator_.predict_proba(text_list(X)), float)
        return shifted(proba, self.decision_bias_)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
