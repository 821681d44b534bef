"""Scoring proposals on dev (never test): each proposal's own numbers and the duplicate
guards. Which are shown, in which order, is :mod:`labeling.suggest.select`'s.

Per proposal, on dev gold: rows it fires on, correct votes, precision with its 95%
Wilson interval (on 8 rows, 8 correct is anywhere from 0.68 to 1: the interval is the
dev-overfitting risk made visible), coverage, conflicts with the current LFs, rows no
LF covered, rows the label model gets wrong that it votes right (``dev_fixes``) and
right that it votes wrong (``dev_harms``); on train: coverage, uncovered rows it
covers, conflicts. Left out here, before anything is refit: a proposal with an existing
LF's pattern, or voting its label on nearly the same rows (Jaccard >= 0.8); one firing
on no row; one whose dev precision is below 0.6 or below its label's share of dev.

Prompt proposals: a cluster's is answered by the offline MiniLM backend (it carries the
descriptions that backend compares rows with). An LLM's (a free-form yes/no template,
no descriptions) is answered by the endpoint through the task's LLM runtime -- its
response cache and budget -- on every train and dev row, as ``labeling apply`` will
answer it once accepted: the offline backend would compare rows with the bare question
(``"<question>"`` against ``"not: <question>"``), which says little of what the
endpoint answers. Its cost is planned before its first call (cached answers are free);
over the budget, it is left out with a note and no call, and what was scored before it
stays. Without an ``[llm] budget``, a prompt proposal whose answers are not all cached
is left out with a note saying how many calls it would take: asking for suggestions is
not agreeing to label the whole data set. One whose template is nearly an existing prompt
LF's (same label, text similarity >= 0.9), or nearly an earlier prompt of the same reply,
is left out before any call.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from labeling.analysis import wilson_interval
from labeling.errors import LabelingError
from labeling.lf.core import PatternLF, TextColumn
from labeling.llm.errors import LLMError
from labeling.llm.prompt import PromptLF
from labeling.suggest.context import SPLITS, Context, LabelModelRefit
from labeling.suggest.proposal import InvalidProposal, Proposal

NEAR_DUPLICATE = 0.8     # Jaccard of fire sets (same label) above which two LFs are one
SIMILAR_PROMPT = 0.9     # text similarity of two prompt templates (same label): one LF
MIN_PRECISION = 0.6      # on dev; and at least the label's share of dev (the mining floor)
NOT_SCORED = "not scored"  # the start of a drop reason the engine also shows as a note


def votes_of(p: Proposal, ctx: Context, columns: dict | None = None,
             runtime=None) -> dict[str, np.ndarray]:
    """{split: the proposal's votes}: exactly what the LF built from it returns. An LLM's
    prompt proposal is answered by ``runtime`` (module docstring); without an endpoint it
    cannot be scored (:class:`InvalidProposal`)."""
    lf = p.to_lf()
    if isinstance(lf, PatternLF):
        columns = columns or {s: TextColumn(ctx.texts[s]) for s in SPLITS}
        return {s: lf.apply_column(columns[s]).astype(np.int16) for s in SPLITS}
    if p.needs_endpoint:
        return endpoint_votes(lf, ctx, runtime)
    return prompt_votes(lf, ctx)


def endpoint_votes(lf, ctx: Context, runtime) -> dict[str, np.ndarray]:
    """An LLM prompt proposal's votes from the endpoint, through ``runtime`` (its cache and
    budget). The calls on both splits are planned first: over the budget,
    :class:`labeling.llm.BudgetExceeded` before any call, so a proposal is scored whole
    or not at all (a run stopped mid-way by the per-call check keeps its answers in the
    cache, and spends nothing on them again)."""
    if runtime is None or runtime.backend != "openai":
        raise InvalidProposal("an LLM's prompt proposal is scored by the endpoint's answers, "
                              "and no endpoint is configured")
    frames = {s: pd.DataFrame({"text": ctx.texts[s]}) for s in SPLITS}
    plans = runtime.plan([lf], frames)
    to_call = sum(plan["to_call"] for plan in plans)
    if runtime.settings.budget is None and to_call:
        # Asked for suggestions, a user has not agreed to label the data set: scoring one
        # prompt costs a call per train and dev row (3 per reply: ~48k calls on GoEmotions)
        raise InvalidProposal(f"answering it would take {to_call} endpoint "
                              "calls (a call per train and dev row) and [llm] budget is not "
                              "set; set it to let suggest spend on scoring prompts")
    runtime.check_budget(plans)
    # dev first: the smaller split, and the one every number shown is measured on
    return {s: np.asarray(runtime.label(lf, frames[s]), dtype=np.int16)
            for s in ("dev", "train")}


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


def _words(template: str) -> str:
    return " ".join(re.findall(r"\w+", template.lower()))


def similar_proposal(p: Proposal, earlier: list[Proposal]) -> tuple[str, float] | None:
    """(id, similarity) of an ``earlier`` prompt proposal of this call voting ``p``'s label
    whose template is nearly ``p``'s (as :func:`similar_prompt`): an LLM that words one
    question twice in a reply pays for one pass over the rows, not two."""
    if p.kind != "prompt":
        return None
    mine = _words(p.template())
    for other in earlier:
        if other.kind == "prompt" and other.label == p.label:
            ratio = difflib.SequenceMatcher(None, mine, _words(other.template())).ratio()
            if ratio >= SIMILAR_PROMPT:
                return other.id, ratio
    return None


def similar_prompt(p: Proposal, lfs, labels: list[str]) -> tuple[str, float] | None:
    """(name, similarity) of an existing yes/no prompt LF voting ``p``'s label whose
    template is nearly ``p``'s (words compared, case and punctuation aside: difflib ratio
    >= SIMILAR_PROMPT), if any. Found before any call, so a reworded copy costs nothing."""
    if p.kind != "prompt" or not lfs:
        return None
    mine = _words(p.template())
    for lf in lfs:
        if not isinstance(lf, PromptLF) or lf.multiclass:
            continue
        try:
            votes = set(lf.resolve(labels).values())
        except LabelingError:
            continue
        if p.label not in votes:
            continue
        ratio = difflib.SequenceMatcher(None, mine, _words(lf.template)).ratio()
        if ratio >= SIMILAR_PROMPT:
            return lf.name, ratio
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


MINED = ("offline:ngram", "offline:regex", "offline:keyword")  # cross-fitted sources


def prescore(held_fixes: int, held_harms: int) -> float:
    """A cheap first order (no refit): the label model's dev decisions it would fix minus
    those it would break where it fires, on its held-out rows, shrunk towards 0 where
    few rows are involved. Only which proposals are scored in full depends on it."""
    m = held_fixes + held_harms
    return (held_fixes - held_harms) * m / (m + 2)


def score_each(proposals: list[Proposal], ctx: Context, refit: LabelModelRefit,
               existing_votes: list[tuple[str, dict]] | None = None,
               held_out: dict | None = None, runtime=None) -> tuple[list[dict], list[dict]]:
    """Per proposal, its votes and dev statistics, best :func:`prescore` first; and, under
    ``dropped``, the proposals left out before any refit: duplicates of an existing LF,
    those firing on no row or below the precision floor, LLM prompts the endpoint could
    not answer within the budget (``runtime``: the task's LLM runtime). ``held_out``: per
    mined proposal id, the dev rows it may be judged on
    (:func:`labeling.suggest.engine.cross_fit`); ``held_mask`` in each row."""
    held_out = held_out or {}
    columns = {s: TextColumn(ctx.texts[s]) for s in SPLITS}
    existing = existing_votes if existing_votes is not None else [
        (name, {s: ctx.L[s][:, j] for s in SPLITS}) for j, name in enumerate(ctx.lf_names)]
    n_dev = len(ctx.gold_rows)
    prior = np.bincount(ctx.y_dev[ctx.gold_rows], minlength=ctx.k) / max(1, n_dev)
    nobody = np.zeros(len(ctx.y_dev), dtype=bool)
    scored, dropped, asked = [], [], []
    for p in proposals:
        same = same_pattern(p, ctx.lfs)
        similar = None if same else similar_prompt(p, ctx.lfs, ctx.labels)
        twin = None if same or similar else similar_proposal(p, asked)
        if similar or twin:  # before any call: a reworded copy costs nothing
            what = f"LF {similar[0]}" if similar else f"proposal {twin[0]}"
            dropped.append({"id": p.id, "what": p.describe(),
                            "why": f"near-duplicate of {what} (prompt text "
                                   f"similarity {(similar or twin)[1]:.2f})"})
            continue
        try:
            votes = votes_of(p, ctx, columns, runtime)
        except (LLMError, InvalidProposal) as exc:  # the budget, no endpoint: the rest goes on
            dropped.append({"id": p.id, "what": p.describe(), "why": f"{NOT_SCORED}: {exc}"})
            continue
        asked.append(p)
        dup = (same, 1.0) if same else near_duplicate(votes, p.label, existing)
        if dup:
            dropped.append({"id": p.id, "what": p.describe(),
                            "why": f"near-duplicate of LF {dup[0]} (overlap {dup[1]:.2f})"})
            continue
        stats = dev_stats(votes, p.label, ctx, refit.pred_dev_)
        if stats["dev_fires"] == 0 and stats["train_coverage"] == 0:
            dropped.append({"id": p.id, "what": p.describe(), "why": "fires on no row"})
            continue
        floor = max(MIN_PRECISION, float(prior[p.label]))
        if stats["dev_fires"] and stats["dev_precision"] < floor:
            dropped.append({"id": p.id, "what": p.describe(),
                            "why": f"dev precision {stats['dev_precision']:.2f} is below "
                                   f"{floor:.2f} (0.6, or the label's share of dev)"})
            continue
        # a mined proposal no held-out run found has no fair dev row to be judged on
        mask = held_out.get(p.id, nobody if p.source.startswith(MINED) else None)
        rows = ctx.gold_rows
        keep = np.ones(n_dev, bool) if mask is None else mask[rows]
        fires = (votes["dev"][rows] == p.label) & keep
        y, pred = ctx.y_dev[rows], np.asarray(refit.pred_dev_)[rows]
        first = prescore(int((fires & (pred != y) & (y == p.label)).sum()),
                         int((fires & (pred == y) & (y != p.label)).sum()))
        scored.append({"proposal": p, "votes": votes, "held_mask": mask, **stats,
                       "prescore": first})
    scored.sort(key=lambda r: -r["prescore"])
    return scored, dropped
