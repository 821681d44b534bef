"""What a suggester sees of a task: train and dev only, never test.

Why a context object with no test split in it: proposals are scored on dev, and the
only sure way to keep test out of that is for the suggester never to be handed it.
The pipeline builds one from a fitted run (:func:`labeling.suggest.task.context_for`),
the benchmark from WRENCH's label matrices; both give the same fields.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from labeling.llm.local import LocalBackend
from labeling.metrics import fit_decision_bias, score_predictions, shifted
from labeling.models import make_for_task
from labeling.models.auto import AutoLabelModel, fit_candidate

SPLITS = ("train", "dev")


@dataclass
class Context:
    """Train and dev of a task with its current LFs' votes.

    ``texts``/``ids``/``L``: per split (``train``, ``dev``). ``y_dev``: dev gold (-1 for a
    row without one). ``label_model``: the config's label model (name, params);
    ``chosen``: the candidate ``auto`` chose on these LFs at the last fit (None: chosen
    again here);
    ``metric``/``pos_label``: the task's score (``f1`` of ``pos_label``, or accuracy).
    ``lfs``: the LF objects, when known (their patterns are compared with proposals).
    ``embed_dir``: where MiniLM vectors are kept (the run's embedding cache); the offline
    MiniLM backend embeds texts there for cluster proposals and votes prompt proposals.
    ``use_embeddings=False`` leaves cluster proposals out.
    """

    labels: list[str]
    texts: dict[str, list[str]]
    L: dict[str, np.ndarray]
    y_dev: np.ndarray
    lf_names: list[str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    label_model: tuple[str, dict] = ("auto", {})
    chosen: str | None = None    # the candidate `auto` chose on these LFs, if known
    metric: str = "accuracy"
    pos_label: int | None = None
    lfs: list | None = None
    embed_dir: object = None
    use_embeddings: bool = True

    def __post_init__(self):
        unknown = set(self.texts) - set(SPLITS)
        if unknown:  # the guard of this module's docstring, enforced
            raise ValueError(f"a suggester sees train and dev only, not {sorted(unknown)}")
        self.y_dev = np.asarray(self.y_dev, dtype=np.int64)
        for split in SPLITS:
            if len(self.texts[split]) != len(self.L[split]):
                raise ValueError(f"{split}: {len(self.texts[split])} texts, "
                                 f"{len(self.L[split])} label-matrix rows")
            self.ids.setdefault(split, [f"{split}-{i}" for i in range(len(self.texts[split]))])
        if len(self.y_dev) != len(self.texts["dev"]):
            raise ValueError("y_dev must hold one entry per dev row")

    @property
    def k(self) -> int:
        return len(self.labels)

    @functools.cached_property
    def backend(self) -> LocalBackend:
        """The offline MiniLM backend: embeddings (cached in ``embed_dir``), prompt votes."""
        return LocalBackend(cache_dir=self.embed_dir)

    @property
    def gold_rows(self) -> np.ndarray:
        return np.flatnonzero(self.y_dev >= 0)


class LabelModelRefit:
    """Refits the task's label model on a label matrix and scores it on dev, as
    ``labeling fit`` would report it (the dev rows the model may train on included).

    For ``auto`` the candidate it chose on the current LFs is refit (re-running the
    whole choice per proposal would cost minutes, and one LF rarely changes it), with
    the F1 decision bias fit on dev like ``auto``'s.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        name, params = ctx.label_model
        self.name, self.params = name, dict(params)
        self.chosen_ = None
        if name == AutoLabelModel.name:
            self.chosen_ = ctx.chosen or self._make().fit(
                ctx.L["train"], *self._dev(ctx.L["dev"])).chosen_
        # the baseline is refit exactly as every proposal's model is, so the difference
        # is the proposal's and nothing else's
        model, self.pred_dev_ = self.fit_predict(ctx.L["train"], ctx.L["dev"])
        self.proba_ = {s: model.predict_proba(ctx.L[s]) for s in SPLITS}
        self.before_ = self.score(self.pred_dev_)

    def _make(self):
        f1 = self.ctx.pos_label if self.ctx.metric == "f1" else None
        return make_for_task(self.name, self.ctx.k, self.params, f1_pos_label=f1)

    def _dev(self, L_dev):
        rows = self.ctx.gold_rows
        return self.ctx.y_dev[rows], L_dev[rows]

    def fit_predict(self, L_train, L_dev):
        """(fitted model, its dev predictions) on these label matrices."""
        y, Ld = self._dev(L_dev)
        if self.chosen_ is None:
            model = self._make().fit(L_train, y, Ld)
            return model, model.decide(model.predict_proba(L_dev))
        model = fit_candidate(self.chosen_, self.ctx.k, L_train, y, Ld,
                              seed=self.params.get("seed", 123))
        proba = model.predict_proba(L_dev)
        if self.ctx.metric == "f1" and self.ctx.pos_label is not None:
            bias = fit_decision_bias(proba[self.ctx.gold_rows], y, "f1", self.ctx.pos_label)
            proba = shifted(proba, bias)
        return model, model.decide(proba)

    def score(self, pred_dev) -> float:
        rows = self.ctx.gold_rows
        return float(score_predictions(self.ctx.y_dev[rows], np.asarray(pred_dev)[rows],
                                       self.ctx.metric, self.ctx.pos_label or 0))

    def refit_with(self, votes) -> tuple[float, np.ndarray, np.ndarray]:
        """(dev score, dev predictions, train probabilities) with more LFs voting ``votes``
        (one ``{split: column}`` or a list of them)."""
        columns = [votes] if isinstance(votes, dict) else list(votes)
        if not columns:
            return self.before_, self.pred_dev_, self.proba_["train"]
        L = {s: np.column_stack([self.ctx.L[s], *(c[s] for c in columns)]) for s in SPLITS}
        model, pred = self.fit_predict(L["train"], L["dev"])
        return self.score(pred), pred, model.predict_proba(L["train"])

    def score_with(self, votes) -> float:
        """The dev score with more LFs voting ``votes``."""
        return self.refit_with(votes)[0]
