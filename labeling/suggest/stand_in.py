"""Which model stands in for the end model when a proposal is scored (``stand_in``).

``weak`` (:class:`labeling.suggest.proxy.WeakLabelProxy`, the default): trained on the
weak rows alone. ``crossfit`` (:class:`CrossFitProxy`): trained as the end model is, on
the weak rows plus dev gold rows, cross-fitted so that no dev row's own gold is in the
model that predicts it.

Why: the end model trains on the dev gold rows too (:mod:`labeling.train.auto`, at the
weak weight its dev CV chooses), and the weak-label model does not. On WRENCH sms,
``\\d{5,}`` raised the weak-label model and the label model on held-out dev rows, and
lowered the end model on them in 3 of 3 splits (docs/suggest.md, "Checked on dev
alone"): with the gold rows in training, weak spam labels on texts with long numbers
can teach a shortcut the gold rows alone would not.

How (:class:`CrossFitProxy`): the dev gold rows are dealt into :data:`FOLDS` stratified
folds; each fold's rows are predicted by a soft-label logistic regression on the
weak-label model's features, fit on the covered train rows' label-model probabilities
plus the other folds' gold rows (``dev_weight`` copies each), exactly the per-fold fit of
the end model's CV (:func:`labeling.train.cross_validation.cross_fit_proba`). The weak rows' total
weight against the gold rows is chosen once, on the current LFs before any proposal,
among the end model's non-zero weak weights by this model's pooled out-of-fold score
(the gold-only weight, 0, would make every proposal score nothing); every proposal is
then scored at that weight, so a before/after difference is the proposal's alone.

Left as it is: the weak rows' targets come from the label model fit on all of dev (as
the ``weak`` stand-in's do); refitting it per fold would cost five label-model fits per
proposal.
"""

from __future__ import annotations

import numpy as np

from labeling.metrics import stratified_folds
from labeling.suggest.context import Context
from labeling.suggest.proposal import InvalidProposal
from labeling.suggest.proxy import WeakLabelProxy
from labeling.train.auto import DEFAULT_WEAK_WEIGHTS
from labeling.train.cross_validation import DEFAULT_DEV_WEIGHT, cross_fit_proba, oof_score
from labeling.train.soft_logreg import SoftLogisticRegression

STAND_INS = ("weak", "crossfit")
DEFAULT_STAND_IN = "weak"
FOLDS = 5
# the end model's weak weights but gold-only (0): None is every weak row at weight 1
WEAK_WEIGHTS = tuple(w for w in DEFAULT_WEAK_WEIGHTS if w is None or w > 0)


def check_stand_in(name) -> str:
    """``name`` if it is one of :data:`STAND_INS`, else a one-line error."""
    if name not in STAND_INS:
        raise InvalidProposal(f"stand_in must be one of {', '.join(STAND_INS)}, got {name!r}")
    return name


def make_stand_in(name: str, ctx: Context) -> WeakLabelProxy:
    """The stand-in called ``name`` (:data:`STAND_INS`) for ``ctx``."""
    return CrossFitProxy(ctx) if check_stand_in(name) == "crossfit" else WeakLabelProxy(ctx)


class CrossFitProxy(WeakLabelProxy):
    """The weak-label model's features, trained on the weak rows + the other folds' dev
    gold per fold (module docstring). ``weak_weight_`` (after the first
    :meth:`predict`): the weak weight chosen; ``weight_scores_``: each one's score."""

    def __init__(self, ctx: Context, C: float = 1.0, n_folds: int = FOLDS,
                 dev_weight: float = DEFAULT_DEV_WEIGHT, weak_weights=WEAK_WEIGHTS,
                 seed: int = 0):
        super().__init__(ctx, C)
        if not weak_weights or any(w is not None and w <= 0 for w in weak_weights):
            raise ValueError(f"weak_weights must be positive weights or None, got "
                             f"{list(weak_weights)}")
        self.folds = stratified_folds(self.y_dev, n_folds, seed)
        self.dev_weight, self.weak_weights = float(dev_weight), tuple(weak_weights)
        self.classifier = SoftLogisticRegression(C=self.C, max_iter=500)

    def proba(self, proba_train: np.ndarray, covered: np.ndarray,
              weak_weight: float | None) -> np.ndarray:
        """Out-of-fold class probabilities of the dev gold rows (``n_dev x k``)."""
        covered = np.asarray(covered, dtype=bool)
        return cross_fit_proba(self.classifier, self.X_train[covered],
                               np.asarray(proba_train)[covered], self.X_dev, self.y_dev,
                               self.folds, self.dev_weight, weak_weight, self.ctx.k)

    def choose_weight(self, proba_train: np.ndarray, covered: np.ndarray) -> None:
        """The weak weight of the best pooled out-of-fold score (ties: the lighter)."""
        metric, pos = self.ctx.metric, self.ctx.pos_label or 0
        self.weight_scores_ = {w: oof_score([self.proba(proba_train, covered, w)],
                                            [self.folds], self.y_dev, metric, pos)
                               for w in self.weak_weights}
        self.weak_weight_ = max(self.weight_scores_, key=self.weight_scores_.get)

    def predict(self, proba_train: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """The dev gold rows' out-of-fold predictions; the first call (the current LFs)
        chooses the weak weight."""
        if not hasattr(self, "weak_weight_"):
            self.choose_weight(proba_train, covered)
        return self.proba(proba_train, covered, self.weak_weight_).argmax(axis=1)
