"""Label models behind one contract: ``fit(L, y_dev=None, L_dev=None) -> self``,
``predict_proba(L)``, ``predict(L)``, ``score(L, y)``.

>>> from labeling import models
>>> "mv" in models.available()
True
>>> lm = models.make("mv", cardinality=2)
>>> auto = models.make("auto", cardinality=2, metric="f1", pos_label=1)
"""

from __future__ import annotations

import difflib
import inspect

from labeling.models.auto import CANDIDATES as AUTO_CANDIDATES
from labeling.models.auto import AutoLabelModel
from labeling.models.base import ABSTAIN, REGISTRY, LabelModel
from labeling.models.dawid_skene import DawidSkene
from labeling.models.majority import MajorityVote
from labeling.models.persist import load_model
from labeling.models.snorkel_lm import SnorkelLabelModel
from labeling.models.stacker import VoteStacker
from labeling.models.weighted_vote import WeightedVote

# The built-in label models' names: a class of yours may not take one (docs/label_models.md,
# "Your own label model"); a subclass with a name of its own is registered under it.
BUILT_IN = frozenset(REGISTRY)

# Label models whose fit reads the dev gold (the pipeline passes it to every fit): their
# dev scores are in-sample. weighted_vote learns its weights on dev, stacker is a
# classifier on dev, Dawid-Skene adds the dev rows to its M-step.
DEV_FITTED_LABEL_MODELS = ("weighted_vote", "stacker", "dawid_skene")


def fit_on_dev(section: dict) -> bool:
    """Whether the label model of a metrics.json ``label_model`` section (its ``name``,
    or for ``auto`` the one it ``chosen``) learnt from the dev gold. A model of yours
    may have (its ``fit`` is given ``y_dev``): yes, unless its class says
    ``reads_dev_gold = False``, so its dev scores are not shown as held-out ones."""
    name = section.get("chosen") or section.get("name")
    if section.get("name") == "auto" and name in AUTO_CANDIDATES:
        # auto refits its choice as its CV scored it: on the dev rows only where the
        # candidate says "rows" (weighted_vote, stacker, dawid_skene+dev); its plain
        # dawid_skene is fit on the train votes alone, mv and snorkel take dev's class mix
        return AUTO_CANDIDATES[name][1] == "rows"
    if name in BUILT_IN:
        return name in DEV_FITTED_LABEL_MODELS
    return bool(getattr(REGISTRY.get(name), "reads_dev_gold", True))


def available() -> list[str]:
    """Names accepted by :func:`make`."""
    return sorted(REGISTRY)


def make(name: str, cardinality: int, **params) -> LabelModel:
    """Build the label model called ``name`` (see :func:`available`)."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown label model {name!r}; available: {', '.join(available())}"
                         " (a class of yours: define or import it in an LF module, with "
                         "name = ...; docs/label_models.md)") from None
    valid = [p for p in inspect.signature(cls.__init__).parameters
             if p not in ("self", "cardinality")]
    for param in params:
        if param not in valid:
            raise ValueError(_unknown_parameter(name, param, valid))
    return cls(cardinality=cardinality, **params)


# snorkel's names for parameters ours call otherwise (LabelModel.fit(n_epochs=...))
SNORKEL_NAMES = {"n_epochs": "epochs"}


def _unknown_parameter(name: str, param: str, valid: list[str]) -> str:
    if param in SNORKEL_NAMES:
        hint = f" (snorkel's {param} is {SNORKEL_NAMES[param]} here)"
    else:
        close = difflib.get_close_matches(param, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"label model {name!r} has no parameter {param!r}{hint}; its parameters: "
            f"{', '.join(valid)}")


def make_for_task(name: str, cardinality: int, params: dict,
                  f1_pos_label: int | None = None) -> LabelModel:
    """:func:`make` for a task: ``auto`` chooses by the metric the task reports, F1 of
    class ``f1_pos_label`` (a task with a positive label) or else accuracy. Choosing
    by accuracy on an F1 task picks the model that best calls the majority class.
    ``params`` (the config's) win over these defaults."""
    if name == AutoLabelModel.name and f1_pos_label is not None:
        params = {"metric": "f1", "pos_label": f1_pos_label, **params}
    return make(name, cardinality, **params)


def load(path) -> LabelModel:
    """Read a model saved with ``model.save(path)`` (JSON, no pickle).

    >>> import numpy as np, tempfile, os
    >>> mv = make("mv", cardinality=2).fit(np.array([[1, 0], [1, 1]]))
    >>> path = os.path.join(tempfile.mkdtemp(), "lm.json")
    >>> _ = mv.save(path)
    >>> load(path).class_balance_.tolist() == mv.class_balance_.tolist()
    True
    """
    return load_model(path, REGISTRY)


__all__ = ["ABSTAIN", "AutoLabelModel", "DawidSkene", "LabelModel", "MajorityVote",
           "SnorkelLabelModel", "VoteStacker", "WeightedVote", "available", "load", "make",
           "make_for_task"]
