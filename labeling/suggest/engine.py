"""From a context to ranked, scored proposals: which labels are weak, the evidence to mine,
the sources, the scoring.

    ctx = Context(...)                       # train + dev only (labeling.suggest.context)
    result = suggest(ctx, n=10)              # offline sources
    result.rows[0]["proposal"].describe(), result.rows[0]["score"]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labeling.analysis import wilson_interval
from labeling.metrics import stratified_folds
from labeling.suggest.clusters import cluster_proposals
from labeling.suggest.context import Context, LabelModelRefit
from labeling.suggest.mine import NgramMiner
from labeling.suggest.proposal import InvalidProposal, Proposal, validate
from labeling.suggest.score import NOT_SCORED
from labeling.suggest.select import score_all
from labeling.suggest.stand_in import DEFAULT_STAND_IN, check_stand_in

CONFIDENT = 0.9   # label-model probability above which a train row counts as evidence
CALIBRATED = 0.8  # ... if the label model's confident dev predictions of its label are right
FOLDS = 5         # held-out mining runs (cross_fit)


@dataclass
class Result:
    """Ranked proposals (``rows``: dicts from :func:`labeling.suggest.select.score_all`),
    the per-label weakness table, what was left out and why, and notes (problems of a
    source, e.g. an LLM reply that was not JSON)."""

    rows: list[dict]
    weakness: list[dict]
    dropped: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lm_dev_before: float = float("nan")
    label_model: str = ""
    llm: dict = field(default_factory=dict)


def weakness(ctx: Context, pred_dev: np.ndarray) -> list[dict]:
    """Per label, on dev gold: rows, how many no LF votes that label on (``unvoted``), the
    label model's recall and precision, its errors (``missed``: gold rows given another
    label; ``wrongly_given``: rows of other labels given this one); weakest (lowest F1)
    first. Recall alone hid a label the label model over-predicts: on 6 classes, the
    class uncovered rows default to had recall 0.95 and precision 0.52."""
    rows = ctx.gold_rows
    y, pred, L = ctx.y_dev[rows], np.asarray(pred_dev)[rows], ctx.L["dev"][rows]
    out = []
    for c, name in enumerate(ctx.labels):
        gold, given = y == c, pred == c
        hits = int((gold & given).sum())
        missed, wrong = int(gold.sum()) - hits, int((~gold & given).sum())
        recall = hits / gold.sum() if gold.any() else float("nan")
        precision = hits / given.sum() if given.any() else float("nan")
        # 0 for a label with no dev row the label model still gives (every one wrong)
        f1 = 2 * hits / (gold.sum() + given.sum()) if gold.any() or given.any() else float("nan")
        out.append({"label": name, "dev_rows": int(gold.sum()),
                    "unvoted": int((gold & ~(L == c).any(axis=1)).sum()),
                    "recall": float(recall), "precision": float(precision), "f1": float(f1),
                    "missed": missed, "wrongly_given": wrong, "errors": missed + wrong})
    return sorted(out, key=lambda r: (r["f1"] if r["f1"] == r["f1"] else 2.0))


def evidence(ctx: Context, refit: LabelModelRefit
             ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, labels, missed, gold) to mine: dev gold rows, and train rows the label
    model gives a label with probability >= CONFIDENT, for the labels whose confident dev
    predictions are right at least CALIBRATED of the time (lower Wilson bound): where the
    label model is confidently wrong (WRENCH trec's catch-all DESC rule) its labels would
    support the current LFs' mistakes. ``missed[i, c]``: the current LFs miss class c on
    row i (no LF votes it, or the label model decides another class)."""
    proba_train, proba_dev = refit.proba_["train"], refit.proba_["dev"]
    rows = ctx.gold_rows
    trusted = []
    for c in range(ctx.k):
        sure = rows[(proba_dev[rows].argmax(axis=1) == c)
                    & (proba_dev[rows].max(axis=1) >= CONFIDENT)]
        right = int((ctx.y_dev[sure] == c).sum())
        if len(sure) and wilson_interval(right, len(sure))[0] >= CALIBRATED:
            trusted.append(c)
    covered = (ctx.L["train"] != -1).any(axis=1)
    predicted = proba_train.argmax(axis=1)
    confident = (covered & (proba_train.max(axis=1) >= CONFIDENT)
                 & np.isin(predicted, trusted))
    y_train = np.where(confident, predicted, -1)
    texts = list(ctx.texts["dev"]) + list(ctx.texts["train"])
    labels = np.concatenate([ctx.y_dev, y_train])
    L = np.vstack([ctx.L["dev"], ctx.L["train"]])
    pred = np.concatenate([refit.pred_dev_, predicted])
    missed = np.stack([~(L == c).any(axis=1) | (pred != c) for c in range(ctx.k)], axis=1)
    gold = np.arange(len(texts)) < len(ctx.texts["dev"])
    return texts, labels, missed, gold


def cross_fit(miner: NgramMiner, ctx: Context, texts, labels, missed, gold, targets,
              n_folds: int = FOLDS, seed: int = 0) -> dict[str, np.ndarray]:
    """Per mined proposal id, the dev rows it could be judged on fairly: those of the
    folds whose held-out run (mined without that fold's gold rows) found it too.

    Why: a feature mined from dev gold is right on the dev rows it was found on by
    construction, so its fixes there say little; on rows it was not mined from, they are
    evidence. A feature that only the rows of one fold made (a lucky word) is found in
    few held-out runs and earns little.
    """
    rows = ctx.gold_rows
    if len(rows) < 2 * n_folds:
        return {}
    folds = stratified_folds(ctx.y_dev[rows], n_folds, seed)
    out: dict[str, np.ndarray] = {}
    for f in range(n_folds):
        held = rows[folds == f]
        fold_labels = labels.copy()
        fold_labels[held] = -1  # dev rows come first in the evidence
        found = set(NgramMiner(**miner.get_params()).fit(texts, fold_labels, missed, gold,
                                                          targets).stats_)
        # a list or prefix regex counts as found when each word it joins is
        found |= {pid for pid, parts in miner.parts_.items() if set(parts) <= found}
        mask = np.zeros(len(ctx.y_dev), dtype=bool)
        mask[held] = True
        for pid in found:
            out[pid] = out[pid] | mask if pid in out else mask.copy()
    return out


def suggest(ctx: Context, n: int = 10, label: str | None = None, sources=("offline",),
            exclude: set[str] = frozenset(), llm_source=None, clusters: bool = True,
            stand_in: str = DEFAULT_STAND_IN) -> Result:
    """The ``n`` best proposals (for ``label`` only, if given) from ``sources``
    (``offline``, ``llm``: ``llm_source`` answers), scored on dev; ids in ``exclude``
    (rejected or accepted before) are never proposed. ``stand_in``: the model standing in
    for the end model (:data:`labeling.suggest.stand_in.STAND_INS`)."""
    check_stand_in(stand_in)  # before any work
    if label is not None and label not in ctx.labels:
        raise InvalidProposal(f"--label {label!r} is not one of the task's labels {ctx.labels}")
    targets = None if label is None else [ctx.labels.index(label)]
    refit = LabelModelRefit(ctx)
    result = Result([], weakness(ctx, refit.pred_dev_), lm_dev_before=refit.before_,
                    label_model=refit.chosen_ or refit.name)
    proposals: list[Proposal] = []
    held_out: dict[str, np.ndarray] = {}
    if "offline" in sources:
        texts, labels, missed, gold = evidence(ctx, refit)
        prior = np.bincount(ctx.y_dev[ctx.gold_rows], minlength=ctx.k) / len(ctx.gold_rows)
        miner = NgramMiner(ctx.k, prior=prior)
        proposals += miner.fit(texts, labels, missed, gold, targets).proposals_
        held_out = cross_fit(miner, ctx, texts, labels, missed, gold, targets)
        if clusters and ctx.use_embeddings:
            proposals += cluster_proposals(ctx, refit.proba_["train"], targets)
    if "llm" in sources and llm_source is not None:
        got, notes = llm_source(ctx, refit.pred_dev_, targets)
        proposals += got
        result.notes += notes
        result.llm = getattr(llm_source, "report", {})
    valid = []
    for p in proposals:
        if p.id in exclude:
            result.dropped.append({"id": p.id, "what": p.describe(),
                                   "why": "rejected or accepted before"})
            continue
        try:
            valid.append(validate(p, ctx.labels))
        except InvalidProposal as exc:
            result.dropped.append({"id": p.id, "what": p.describe(), "why": str(exc)})
    valid = list({p.id: p for p in valid}.values())
    # an LLM's prompt proposals are answered by the endpoint, through the source's runtime
    runtime = getattr(llm_source, "runtime", None)
    result.rows, dropped = score_all(valid, ctx, refit, n, held_out=held_out, runtime=runtime,
                                    stand_in=stand_in)
    result.dropped += dropped
    result.notes += [f"proposal {d['id']} ({d['what'][:60]}) {d['why']}" for d in dropped
                     if d["why"].startswith(NOT_SCORED)]  # e.g. the budget: say so
    if runtime is not None and runtime.stats:  # what answering prompt proposals cost
        stats = list(runtime.stats.values())
        costs = [s.cost for s in stats]
        result.llm["prompt_scoring"] = {
            "prompts": len(stats), "calls": sum(s.calls for s in stats),
            "cached": sum(s.cache_hits for s in stats),
            "requests": sum(s.requests for s in stats),
            "cost": None if None in costs else sum(costs), "spent": runtime.spent}
    return result
