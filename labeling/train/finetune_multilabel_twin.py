"""The gold-only twin of a multi-label ``minilm_finetune`` (docs/finetune.md, "The
gold-only twin in every run"): the end model's estimator, with the same params and seed,
trained on the dev gold rows alone (no weak row is passed in), holding out **exactly the
end model's held-out dev rows** (the mask is passed to ``fit``, not drawn again),
early-stopped on them and each label's threshold tuned on them by the same rule.

Neither model trained on those rows and both chose their epoch and cuts there the same
way, so their per-label F1 there (``dev_cv_f1``, each label at its best cut: a little
optimistic for both alike) and its macro compare on dev: the twin gets a verdict, unlike
the single-label twin (whose end model's early-stopping rows mix weak and gold rows and
whose gold stage trains on every dev row). Test is only scored, never chosen on.

No torch import here (the estimator comes in fitted; :func:`sklearn.base.clone` copies it).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone

FIT_KIND = "once, on the dev gold alone, holding out the end model's held-out dev rows"
LOUD = ("tie", "gold_only_ahead")  # the card's rule: loud when the dev gold alone does as well
VERDICT_TEXT = {
    "pipeline_ahead": "the LFs and prompts add {gap:+.3f}",
    "tie": "the LFs and prompts add nothing measurable to the {n_dev} dev label sets",
    "gold_only_ahead": "the end model LOSES to the dev gold alone ({gap:+.3f}): fix the LFs "
                       "or lighten the weak rows (weak_weight)",
}


def _macro(values) -> float:
    return round(float(np.mean(values)), 4)


def fit_twin(model, dev_texts, Y_dev, held_dev: np.ndarray, gold_weight: float):
    """The fitted end ``model``'s twin on the dev rows alone: ``(twin, seconds)``.
    ``held_dev``: the end model's held-out rows as a boolean mask over the dev rows."""
    n = len(Y_dev)
    twin = clone(model)
    start = time.perf_counter()
    twin.fit(np.asarray([str(t) for t in dev_texts], dtype=object), np.asarray(Y_dev, float),
             np.full(n, float(gold_weight)), gold=np.ones(n, bool), held=held_dev)
    return twin, round(time.perf_counter() - start, 2)


def twin_fields(model, twin, seconds: float, labels: list[str], params: dict,
                gold_weight: float, n_dev: int) -> dict:
    """metrics.json ``multi_label.gold_only`` for ``twin``, with the end ``model``
    compared to it on their common held-out dev rows (``verdict``, ``loud``, ``text``)."""
    n_held, n_trained = len(twin.held_out_rows_), len(twin.trained_rows_)
    end, gold = _macro(model.dev_heldout_f1_), _macro(twin.dev_heldout_f1_)
    code = ("pipeline_ahead" if end > gold else "tie" if end == gold else "gold_only_ahead")
    text = (f"held-out dev macro F1 on the same {n_held} dev rows (trained on by neither; "
            f"each label at its best cut there): end model {end:.3f}, its gold-only twin "
            f"(minilm_finetune, same params and seed, trained on {n_trained} dev label sets "
            f"alone, no weak row) {gold:.3f}: "
            + VERDICT_TEXT[code].format(gap=end - gold, n_dev=n_dev))
    return {"name": "minilm_finetune", "fit": FIT_KIND, "params": dict(params),
            "seed": int(twin.seed), "n_dev": int(n_dev), "gold_weight": float(gold_weight),
            "weak_rows": 0, "trained_rows": n_trained, "held_out_rows": n_held,
            "thresholds": dict(zip(labels, np.round(twin.thresholds_, 4).tolist())),
            "dev_cv_f1": dict(zip(labels, np.round(twin.dev_heldout_f1_, 4).tolist())),
            "dev_cv_macro_f1": gold, "end_model_dev_cv_macro_f1": end,
            "dev_protocol": f"held_out: the end model's {n_held} held-out dev rows, not "
                            "trained on; each label's F1 at its best cut on them",
            "fit_seconds": seconds, "best_epoch": int(twin.best_epoch_),
            "history": twin.history_, "verdict": code, "loud": code in LOUD, "text": text}
