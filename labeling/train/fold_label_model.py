"""The label model refit per CV fold, so the end model's weak-weight CV does not leak.

Why: the weak rows' soft targets come from a label model fit once with all of dev's
gold (weighted vote's weights, ``dawid_skene+dev``'s dev rows, a class prior). In the
end model's dev CV (:mod:`labeling.train.cross_validation`), a held-out fold's gold has
then already shaped the weak targets of the candidates with weak rows, and not the
gold-only candidate's: their CV is optimistic, which can only tilt the choice away from
gold-only. :class:`FoldLabelModel` refits the label model behind the targets on each
fold's training part of dev only, and the fold's weak rows get that refit's
probabilities. The final model is still trained on the label model fit on all of dev.

What is refit: the **same kind and settings** as the fit on all of dev. For label-model
``auto`` that is the candidate it chose on all of dev (``chosen_``), fit with dev as
``auto`` fits it (:func:`labeling.models.auto.fit_candidate`); the *choice* itself is
not re-made per fold (it would cost ``auto``'s own repeated CV per fold; the choice
among three models is a much smaller use of the held-out labels than their weights).

Refits are cheap (a weighted vote fits in ~0.1 s) and are shared: one per distinct set
of dev rows (so every candidate, label mode and end model of one fold uses one refit),
kept in memory for the object's life and, with ``cache_dir``, on disk by
:func:`labeling.models.fit_cache.fit_cached` (keyed by the rows a fit reads), so a
second ``labeling train`` on the same votes refits nothing.

Multi-label tasks (:class:`MultiLabelFoldModel`): per label, the model chosen for that
label on all of dev, refit on the fold's training dev rows; its per-label threshold
does not matter (the weak targets are probabilities). No disk cache: one binary fit
per label and fold.
"""

from __future__ import annotations

import numpy as np

from labeling import models
from labeling.artifacts import LABEL_MODEL_FILE, read_label_matrices
from labeling.models.auto import CANDIDATES, AutoLabelModel
from labeling.models.base import LabelModel
from labeling.models.fit_cache import fit_cached
from labeling.models.multilabel import PerLabelModel


def refit_spec(fitted: LabelModel) -> tuple[LabelModel, str]:
    """``(an unfitted copy of the model to refit, how its fit uses dev)``: dev use is
    ``"none"`` (``fit(L)``), ``"prior"`` (``fit(L, y_dev)``) or ``"rows"``
    (``fit(L, y_dev, L_dev)``, how the pipeline fits a named label model). For ``auto``,
    its chosen candidate with ``auto``'s seed and snorkel epochs, dev used as ``auto``
    uses it."""
    if isinstance(fitted, AutoLabelModel):
        factory, uses = CANDIDATES[fitted.chosen_]
        return factory(fitted.cardinality, fitted.seed, fitted.snorkel_epochs), uses
    return type(fitted)(**fitted.get_params()), "rows"


class FoldLabelModel:
    """Train-row probabilities of the label model refit on a subset of dev's gold rows.

    ``label_model``: the label model as fit on all of dev (fitted; only its kind and
    settings are used); ``L_train``: the train label matrix the end model's weak rows
    come from; ``L_dev``/``y_dev``: the dev gold rows, **in the order the end model's
    CV indexes them** (the rows it trains and scores on). :meth:`probs` ``(dev_rows)``
    is what the label model, fit on ``L_train`` + those dev rows alone, gives the train
    rows. ``refits_`` lists the dev rows of every refit asked for (once per distinct set;
    a disk-cache hit counts too), for tests and reports."""

    def __init__(self, label_model: LabelModel, L_train, L_dev, y_dev, cache_dir=None):
        self.label_model = label_model
        self.L_train = np.asarray(L_train)
        self.L_dev = np.asarray(L_dev)
        self.y_dev = np.asarray(y_dev, dtype=int)
        self.cache_dir = cache_dir
        if len(self.L_dev) != len(self.y_dev):
            raise ValueError(f"L_dev has {len(self.L_dev)} rows, y_dev {len(self.y_dev)}")
        self._memo: dict[bytes, np.ndarray] = {}
        self.refits_: list[np.ndarray] = []

    @property
    def uses_dev(self) -> bool:
        """False if the model's fit never reads dev (e.g. ``auto`` chose plain
        ``dawid_skene``): then every fold's probabilities are the all-dev ones."""
        return refit_spec(self.label_model)[1] != "none"

    def probs(self, dev_rows) -> np.ndarray:
        """``n_train x k`` probabilities of the model refit on the dev rows ``dev_rows``."""
        dev_rows = np.sort(np.asarray(dev_rows, dtype=int))
        key = dev_rows.tobytes()
        if key not in self._memo:
            model, uses = refit_spec(self.label_model)
            y, L_dev = self.y_dev[dev_rows], self.L_dev[dev_rows]
            y = y if uses != "none" and len(y) else None
            L_dev = L_dev if uses == "rows" and y is not None else None
            if self.cache_dir is None:
                model = model.fit(self.L_train, y_dev=y, L_dev=L_dev)
            else:
                model = fit_cached(model, self.L_train, y, L_dev, self.cache_dir)
            self.refits_.append(dev_rows)
            self._memo[key] = model.predict_proba(self.L_train)
        return self._memo[key]


def fold_label_model_for(label_model: LabelModel, L_train, L_dev, y_dev, probs,
                         cache_dir=None) -> FoldLabelModel | None:
    """A :class:`FoldLabelModel` for the end model's CV, or None where there is nothing
    to refit or it would refit the wrong model: no dev gold, a model whose fit never
    reads dev, or ``label_model`` not the one behind ``probs`` (its train probabilities
    differ: e.g. a stale ``label_model.json``), in which case the CV keeps the all-dev
    targets as before."""
    if label_model is None or y_dev is None or len(y_dev) == 0 or L_dev is None:
        return None
    refit = FoldLabelModel(label_model, L_train, L_dev, y_dev, cache_dir)
    if not refit.uses_dev:
        return None
    if not np.allclose(label_model.predict_proba(refit.L_train), probs, atol=1e-9):
        return None
    return refit


class MultiLabelFoldModel:
    """:class:`FoldLabelModel` for a fitted
    :class:`~labeling.models.multilabel.PerLabelModel`: ``probs(dev rows)`` is the
    ``n_train x k`` probability of each label, each label's chosen model (``chosen_``)
    refit on train + those dev rows' gold (``Y_dev``: ``n_dev x k`` 0/1)."""

    def __init__(self, label_model: PerLabelModel, L_train, L_dev, Y_dev):
        self.label_model = label_model
        self.L_train, self.L_dev = np.asarray(L_train), np.asarray(L_dev)
        self.Y_dev = np.asarray(Y_dev)
        self._memo: dict[bytes, np.ndarray] = {}
        self.refits_: list[np.ndarray] = []

    def probs(self, dev_rows) -> np.ndarray:
        dev_rows = np.sort(np.asarray(dev_rows, dtype=int))
        key = dev_rows.tobytes()
        if key not in self._memo:
            lm, L, L_dev = self.label_model, self.L_train, self.L_dev[dev_rows]
            # the per-label fit PerLabelModel itself makes (its columns, its dev use)
            self._memo[key] = np.column_stack([
                lm._fit_one(name, c, L, self.Y_dev[dev_rows, c], L_dev)
                .predict_proba(L[:, lm._columns(c)])[:, 1]
                for c, name in enumerate(lm.chosen_)])
            self.refits_.append(dev_rows)
        return self._memo[key]


def multilabel_fold_model_for(label_model: PerLabelModel, L_train, L_dev, Y_dev,
                              P_weak) -> MultiLabelFoldModel | None:
    """A :class:`MultiLabelFoldModel`, or None without dev gold or if ``label_model``
    does not give ``P_weak`` (then the CV keeps the all-dev targets)."""
    if Y_dev is None or len(Y_dev) == 0 or L_dev is None:
        return None
    if not np.allclose(label_model.predict_proba(L_train), P_weak, atol=1e-9):
        return None
    return MultiLabelFoldModel(label_model, L_train, L_dev, Y_dev)


def saved_fold_label_model(task, proba, gold, y_dev) -> FoldLabelModel | None:
    """The fit step's label model (the run folder's ``label_model.json``), refit per fold
    of the end model's dev CV so no held-out fold's gold shapes its weak targets
    (docs/gold_budget.md); None if the saved model is missing, unreadable or not the one
    behind ``proba``. ``gold``: which dev rows have gold (``y_dev``'s rows)."""
    try:
        fitted = models.load(task.run_dir / LABEL_MODEL_FILE)
    except (OSError, ValueError):
        return None
    L = read_label_matrices(task)
    return fold_label_model_for(fitted, L["train"], L["dev"][gold], y_dev, proba,
                                task.run_dir / "cache" / "label_models")
