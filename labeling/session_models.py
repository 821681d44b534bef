"""Models of your own in a notebook: ``Session.fit(label_model=...)`` and
``Session.train(end_model=...)`` (docs/label_models.md and docs/end_models.md, "Your
own models").

Each runs the step exactly as the config would with ``[label_model]`` /
``[end_model]`` naming that model, for that call only: the task's config is swapped
for the step and restored after it, so the CV, the gold-only baseline (the same
end-model family on the dev gold alone), metrics.json, the model card, export and
predict are the built-in models' own.
"""

from __future__ import annotations

import contextlib
import inspect
import json

import numpy as np

from labeling.config import ModelChoice
from labeling.errors import LabelingError
from labeling.models import BUILT_IN, LabelModel
from labeling.models.base import REGISTRY
from labeling.train.user_model import register


@contextlib.contextmanager
def configured(task, key: str, choice: ModelChoice | None):
    """``task.config``'s ``key`` (label_model, end_model) set to ``choice`` for the block."""
    if choice is None:
        yield
        return
    config = task.config
    task.config = config.model_copy(update={key: choice})
    try:
        yield
    finally:
        task.config = config


def _single_label(multi_label: bool, what: str, model) -> None:
    """A multi-label task takes a built-in model's name (as its config would), not a
    model of yours: an instance, a function, a ``file.py:function``."""
    if multi_label and (not isinstance(model, str) or ":" in model):
        raise LabelingError(f"{what}= is for single-label tasks when it is a model of "
                            "yours; a multi-label task takes a built-in model's name, as "
                            "its config does (docs/multilabel.md)")


def end_model_choice(end_model, params: dict | None,
                     multi_label: bool = False) -> ModelChoice | None:
    """``[end_model]`` for ``Session.train(end_model=, params=)``: a name as the config
    takes it (``"tfidf_logreg"``, ``"my_models.py:make_svm"``, relative to the config's
    folder), a function returning an unfitted estimator, or an unfitted estimator."""
    if end_model is None:
        if params is not None:
            raise LabelingError("params= goes with end_model=; the config's [end_model] "
                                "params are used otherwise")
        return None
    _single_label(multi_label, "end_model", end_model)
    try:
        name = end_model if isinstance(end_model, str) else register(end_model)
    except ValueError as exc:
        raise LabelingError(str(exc)) from None
    return ModelChoice(name=name, params=dict(params or {}))


def label_model_choice(label_model, cardinality: int,
                       multi_label: bool = False) -> ModelChoice | None:
    """``[label_model]`` for ``Session.fit(label_model=...)``: an unfitted instance of a
    :class:`labeling.models.LabelModel` subclass with a ``name`` of its own (how
    label_model.json names it), rebuilt from its ``get_params()`` for the fit."""
    if label_model is None:
        return None
    _single_label(multi_label, "label_model", label_model)
    if isinstance(label_model, str):
        return ModelChoice(name=label_model)
    kind = type(label_model)
    if not isinstance(label_model, LabelModel):
        raise LabelingError(f"label_model={kind.__name__}: expected an instance of a "
                            "labeling.models.LabelModel subclass (labeling/models/base.py: "
                            "fit(L, y_dev, L_dev), predict_proba(L))")
    if "name" not in vars(kind) and REGISTRY.get(label_model.name) is not kind:
        raise LabelingError(f"label_model={kind.__name__}(...): give the class a name of "
                            f"its own (name = \"my_vote\"), how label_model.json names it")
    if label_model.name in BUILT_IN and not kind.__module__.startswith("labeling."):
        raise LabelingError(f"label_model={kind.__name__}(...): its name "
                            f"{label_model.name!r} is a built-in label model's; choose "
                            "another")
    registered = REGISTRY.get(label_model.name)
    if registered is not kind and not _same_class(registered, kind):
        raise LabelingError(f"label_model={kind.__name__}(...): its name "
                            f"{label_model.name!r} is taken by another class "
                            f"({registered.__module__}.{registered.__qualname__}); "
                            "choose another")
    params = label_model.get_params()
    if params.pop("cardinality", cardinality) != cardinality:
        raise LabelingError(f"label_model={label_model!r}: cardinality "
                            f"{label_model.cardinality}, the task has {cardinality} labels")
    for key, value in params.items():  # label_model.json and metrics.json hold them
        params[key] = _plain(value)
        try:
            json.dumps(params[key])
        except (TypeError, ValueError):
            raise LabelingError(f"label_model={kind.__name__}(...): parameter {key} is a "
                                f"{type(value).__name__}, which label_model.json cannot "
                                "hold; pass numbers, strings, lists or dicts") from None
    return ModelChoice(name=label_model.name, params=params)


def _same_class(a, b) -> bool:
    """One class of one file imported twice (an LF module loads the file under a name of
    its own; a notebook's ``from functions.my_lfs import HandVote`` under another): the
    fit rebuilds the model from the registered one and the parameters."""
    return a.__qualname__ == b.__qualname__ and _file(a) == _file(b) is not None


def _file(cls) -> str | None:
    """The file ``cls`` is defined in (None in a notebook cell)."""
    try:
        return inspect.getsourcefile(cls)
    except TypeError:  # its module is not in sys.modules: its methods know the file
        return next((v.__code__.co_filename for v in vars(cls).values()
                     if hasattr(v, "__code__")), None)


def _plain(value):
    """NumPy arrays and scalars as lists and numbers, inside lists and dicts too."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
