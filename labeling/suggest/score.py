"""Scoring proposals on dev (never test), the duplicate guards, and the ranking.

Per proposal, on dev gold: rows it fires on, correct votes, precision with its 95%
Wilson interval (on 8 rows, 8 correct is anywhere from 0.68 to 1: the interval is the
dev-overfitting risk made visible), coverage, conflicts with the current LFs, rows no
LF covered, rows the label model gets wrong that it votes right (``fixes``) and right
that it votes wrong (``harms``); on train: coverage, uncovered rows it covers,
conflicts. Then the label model refit with it, scored on dev as ``labeling fit``
reports it (:class:`~labeling.suggest.context.LabelModelRefit`).

The rank (the suggester's own score, :func:`rank_score`) is the label model's dev gain
plus the net of the dev rows the LF would fix or harm, shrunk where they are few. Why
not the label model's gain alone: on a few hundred dev rows one LF moves it by 0 to 2
rows, so it ties most proposals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.analysis import wilson_interval
from labeling.lf.core import PatternLF, TextColumn
from labeling.suggest.context import SPLITS, Context, LabelModelRefit
from labeling.suggest.proposal import Proposal

NEAR_DUPLICATE = 0.8     # Jaccard of fire sets (same label) above which two LFs are one


def votes_of(p: Proposal, ctx: Context, columns: dict | None = None) -> dict[str, np.ndarray]:
    """{split: the proposal's votes}: exactly what the LF built from it returns."""
    lf = p.to_lf()
    if isinstance(lf, PatternLF):
        columns = columns or {s: TextColumn(ctx.texts[s]) for s in SPLITS}
        return {s: lf.apply_column(columns[s]).astype(np.int16) for s in SPLITS}
    return prompt_votes(lf, ctx)


def prompt_votes(lf, ctx: Context) -> dict[str, np.ndarray]:
    """A prompt proposal's votes by the offline MiniLM backend (the one that is free)."""
    return {s: ctx.backend.answer(lf, pd.DataFrame({"text": ctx.texts[s]}), ctx.labels)[1]
            for s in SPLITS}


def dev_stats(votes: dict[str, np.ndarray], label: int, ctx: Context,
              lm_pred_dev: np.ndarray) -> dict:
    """The numbers of the module docstring (dev gold and train coverage)."""
    rows = ctx.gold_rows
    v, y, L = votes["dev"][rows], ctx.y_dev[rows], ctx.L["dev"][rows]
    fires = v == label
    correct = int((fires & (y == label)).sum())
    n = int(fires.sum())
    lo, hi = wilson_interval(correct, n)
    if n:  # rounding: 10 of 10 gives an upper bound of 0.9999999999999999
        lo, hi = max(0.0, min(lo, correct / n)), min(1.0, max(hi, correct / n))
    others = (L != -1) & (L != label)
    pred = np.asarray(lm_pred_dev)[rows]
    Lt, vt = ctx.L["train"], votes["train"] == label
    return {
        "dev_fires": n, "dev_correct": correct,
        "dev_precision": correct / n if n else float("nan"),
        "dev_precision_low": lo, "dev_precision_high": hi,
        "dev_coverage": n / max(1, len(rows)),
        "dev_conflicts": int((fires & others.any(axis=1)).sum()),
        "dev_new": int((fires & (L == -1).all(axis=1)).sum()),
        "dev_fixes": int((fires & (pred != y) & (y == label)).sum()),
        "dev_harms": int((fires & (pred == y) & (y != label)).sum()),
        "train_coverage": float(vt.mean()) if len(vt) else 0.0,
        "train_new": int((vt & (Lt == -1).all(axis=1)).sum()),
        "train_conflicts": int((vt & ((Lt != -1) & (Lt != label)).any(axis=1)).sum()),
    }


def rank_score(stats: dict, lm_gain: float, n_dev: int) -> float:
    """The suggester's own dev-based score (module docstring): the label model's dev gain
    plus the net of the dev rows the LF would change, per dev row. The net is shrunk
    towards 0 where those rows are few (``(fixes - harms) * m / (m + 2)`` for ``m``
    changed rows: the mean of a Beta(1, 1) posterior on "a change is a fix"), so one lucky
    row does not outrank twenty."""
    changed = stats["dev_fixes"] + stats["dev_harms"]
    net = (stats["dev_fixes"] - stats["dev_harms"]) * changed / (changed + 2)
    return float(lm_gain + net / max(1, n_dev))


def near_duplicate(votes: dict[str, np.ndarray], label: int, columns: list[tuple[str, dict]]
                   ) -> tuple[str, float] | None:
    """(name, Jaccard) of the first LF in ``columns`` ((name, {split: votes})) whose rows
    voting ``label`` are near-identical to the proposal's, else None."""
    fires = np.concatenate([votes[s] == label for s in SPLITS])
    if not fires.any():
        return None
    for name, other in columns:
        theirs = np.concatenate([other[s] == label for s in SPLITS])
        inter = int((fires & theirs).sum())
        union = int((fires | theirs).sum())
        if union and inter / union >= NEAR_DUPLICATE:
            return name, inter / union
    return None


def same_pattern(p: Proposal, lfs) -> str | None:
    """The name of an existing LF with the same pattern or keywords and label, if any."""
    if p.kind == "prompt" or not lfs:
        return None
    mine = p.to_lf().pattern.pattern
    for lf in lfs:
        if isinstance(lf, PatternLF) and lf.label == p.label and lf.pattern.pattern == mine:
            return lf.name
    return None


def examples(votes: dict[str, np.ndarray], label: int, ctx: Context,
             lm_pred_train: np.ndarray, n: int = 3) -> dict[str, list[dict]]:
    """A few dev rows (with gold) and train rows (with the label model's label) it fires on;
    dev rows it gets wrong first, since those are what to look at."""
    rows = ctx.gold_rows
    dev_fire = rows[votes["dev"][rows] == label]
    wrong = dev_fire[ctx.y_dev[dev_fire] != label]
    right = dev_fire[ctx.y_dev[dev_fire] == label]
    dev = [{"id": ctx.ids["dev"][i], "text": ctx.texts["dev"][i][:300],
            "gold": ctx.labels[ctx.y_dev[i]], "correct": bool(ctx.y_dev[i] == label)}
           for i in [*wrong[:1], *right[:n - min(1, len(wrong))], *wrong[1:]][:n]]
    train_fire = np.flatnonzero(votes["train"] == label)[:n]
    train = [{"id": ctx.ids["train"][i], "text": ctx.texts["train"][i][:300],
              "label_model": ctx.labels[int(lm_pred_train[i])]} for i in train_fire]
    return {"dev": dev, "train": train}


def score_all(proposals: list[Proposal], ctx: Context, refit: LabelModelRefit,
              n: int, existing_votes: list[tuple[str, dict]] | None = None,
              lm_budget: int | None = None) -> list[dict]:
    """Score every proposal, drop duplicates, rank; returns the best ``n`` as dicts
    (``proposal``, ``votes``, stats, ``lm_dev_before``/``lm_dev_after``, ``score``,
    ``examples``) and, under ``dropped``, why the others were left out."""
    columns = {s: TextColumn(ctx.texts[s]) for s in SPLITS}
    existing = existing_votes if existing_votes is not None else [
        (name, {s: ctx.L[s][:, j] for s in SPLITS}) for j, name in enumerate(ctx.lf_names)]
    lm_pred_train = refit.proba_["train"].argmax(axis=1)
    n_dev = len(ctx.gold_rows)
    scored, dropped = [], []
    for p in proposals:
        votes = votes_of(p, ctx, columns)
        same = same_pattern(p, ctx.lfs)
        dup = (same, 1.0) if same else near_duplicate(votes, p.label, existing)
        if dup:
            dropped.append({"id": p.id, "what": p.describe(),
                            "why": f"near-duplicate of LF {dup[0]} (overlap {dup[1]:.2f})"})
            continue
        stats = dev_stats(votes, p.label, ctx, refit.pred_dev_)
        if stats["dev_fires"] == 0 and stats["train_coverage"] == 0:
            dropped.append({"id": p.id, "what": p.describe(), "why": "fires on no row"})
            continue
        scored.append({"proposal": p, "votes": votes, **stats,
                       "prescore": rank_score(stats, 0.0, n_dev)})
    scored.sort(key=lambda r: -r["prescore"])
    # the label model is refit for the best candidates only (a refit costs up to seconds)
    budget = lm_budget if lm_budget is not None else max(3 * n, 10)
    kept: list[dict] = []
    for row in scored[:budget]:
        dup = near_duplicate(row["votes"], row["proposal"].label,
                             [(r["proposal"].id, r["votes"]) for r in kept])
        if dup:
            dropped.append({"id": row["proposal"].id, "what": row["proposal"].describe(),
                            "why": f"near-duplicate of proposal {dup[0]}"})
            continue
        after = refit.score_with(row["votes"])
        row.update(lm_dev_before=refit.before_, lm_dev_after=after,
                   score=rank_score(row, after - refit.before_, n_dev),
                   examples=examples(row["votes"], row["proposal"].label, ctx, lm_pred_train))
        if row["score"] < 0:
            dropped.append({"id": row["proposal"].id, "what": row["proposal"].describe(),
                            "why": f"would lower the dev score (score {row['score']:.4f})"})
            continue
        kept.append(row)
    # ties (often 0: no dev decision changes) go to the surer LF covering more train rows
    # no LF covers, which the end model then trains on
    kept.sort(key=lambda r: (-r["score"],
                             -np.nan_to_num(r["dev_precision_low"]) * r["train_new"]))
    return kept[:n], dropped
