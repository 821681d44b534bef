"""Which proposals are shown, and in which order: one at a time, each judged with the
ones above it accepted, and cut where the evidence of the shown ones together is surest.

Why sequential: proposals scored each on its own are redundant together. On WRENCH sms,
``\\d{5,}``, ``\\d{3,4}``, ``call\\W*\\d{5,}`` and ``to\\W*\\d{5,}`` each fix a dozen
spam rows alone, mostly the same dozen; accepted together they are four votes for what
one vote fixed, and the label model, counting them as independent, overrules better LFs
(selected on one half of dev and measured on the other, the old top 10 ranked one by
one lowered the label model's F1 after the first proposal in 3 of 3 splits). So the
first row is the proposal with the best score alone, and every later one is scored
with the proposals above it already added (the label model refit with their columns,
the weak-label model trained on its labels): what another LF already fixed earns
nothing. Lazy greedy: a score from an earlier round is taken as a bound of the score
now (rows another LF fixed cannot be fixed again), so only the proposal on top is
re-scored until one stays on top.

Why the evidence rules: a score counts held-out dev rows, and a few rows are noise. On
the bundled task the old ranking showed one proposal on one row (the weak-label model
got one more dev row right, the label model none): its column tipped the label model's
F1 decision bias from one of two near-equal optima to the other (out-of-fold dev F1 at
shifts -0.9 and -3.3: 0.945 and 0.942 without it, 0.942 and 0.944 with it; chosen
-0.8, then -3.1), and the label model called 8% fewer train rows spam. A proposal
can be next only when (:func:`refusal`):

- the label model refit with it does not score lower on dev;
- on its held-out dev rows the label model's decisions it changes for the better are
  at least those it changes for the worse, and the weak-label model does not lose more
  rows than it gains (at one standard error);
- for the label model or the weak-label model, the rows it gains are a majority of the
  rows it changes at one standard error (Wilson, z=1: 2 of 2, 4 of 5; not 1 of 1).

Then the shown list is cut (:func:`best_prefix`) where the pooled gains and losses of
the rows above are surest at 95% (:func:`evidence`): one proposal gaining 2 of 2 rows
is not shown alone; three gaining 7 of 7 together are.
"""

from __future__ import annotations

import numpy as np

from labeling.analysis import wilson_interval
from labeling.suggest.context import Context, LabelModelRefit
from labeling.suggest.proxy import WeakLabelProxy
from labeling.suggest.proposal import Proposal
from labeling.suggest.score import examples, near_duplicate, score_each
from labeling.suggest.stand_in import DEFAULT_STAND_IN, check_stand_in, make_stand_in

EPS = 1e-9


def lower_net(gained: int, lost: int, z: float = 1.96) -> float:
    """``gained - lost`` at the lower Wilson bound (``z``: 1.96, 95%) of the share of
    gains among the ``m`` changed rows: ``m * (2 * low - 1)``; 0 when nothing changes.
    At 95%, 4 of 4 gives 0.04, 12 of 12 6.2, 8 of 9 1.2, 1 of 1 -1.6: a few rows are no
    evidence."""
    m = gained + lost
    if m == 0:
        return 0.0
    return m * (2.0 * wilson_interval(gained, m, z)[0] - 1.0)


def shrunk_net(gained: int, lost: int) -> float:
    """``gained - lost`` shrunk towards 0 where few rows change: ``m`` changed rows give
    ``(gained - lost) * m / (m + 2)`` (the mean of a Beta(1, 1) posterior on "a change is
    a gain", times ``m``), so one lucky row does not outrank twenty."""
    m = gained + lost
    return (gained - lost) * m / (m + 2)


def rank_score(stats: dict, n_dev: int) -> float:
    """The order of the proposals: the label model's held-out dev rows gained minus lost
    and the weak-label model's, each shrunk (:func:`shrunk_net`), summed, per dev row."""
    net = shrunk_net(stats["held_fixes"], stats["held_harms"])
    net += shrunk_net(stats.get("weak_gains", 0), stats.get("weak_losses", 0))
    return float(net / max(1, n_dev))


def _counts(row: dict) -> str:
    return (f"label model +{row['held_fixes']}/-{row['held_harms']}, weak-label model "
            f"+{row['weak_gains']}/-{row['weak_losses']} held-out dev rows")


def lm_refusal(row: dict) -> str | None:
    """The label model's part of :func:`refusal` (known before the weak-label model)."""
    if row["lm_dev_after"] < row["lm_dev_before"] - EPS:
        return (f"would lower the label model's dev score ({row['lm_dev_before']:.3f} -> "
                f"{row['lm_dev_after']:.3f})")
    if row["held_harms"] > row["held_fixes"]:
        return ("the label model gets more held-out dev rows wrong than right with it "
                f"(+{row['held_fixes']}/-{row['held_harms']})")
    return None


def _sure(gained: int, lost: int) -> bool:
    """Gains are a majority of the changed rows at one standard error (Wilson, z=1):
    2 of 2, 4 of 5, 6 of 8; not 1 of 1 or 3 of 4."""
    return lower_net(gained, lost, z=1.0) > EPS


def refusal(row: dict) -> str | None:
    """Why a scored proposal cannot be next (module docstring), else None."""
    why = lm_refusal(row)
    if why:
        return why
    fixes, harms = row["held_fixes"], row["held_harms"]
    gains, losses = row["weak_gains"], row["weak_losses"]
    if fixes + gains == 0:
        return "no held-out dev row where it helps"
    if _sure(losses, gains):
        return f"the weak-label model gets more held-out dev rows wrong ({_counts(row)})"
    if not (_sure(fixes, harms) or _sure(gains, losses)):
        return f"too little held-out evidence ({_counts(row)})"
    return None


def evidence(rows: list[dict]) -> float:
    """How sure the held-out rows ``rows`` gain together are: their label model's and
    weak-label model's gains and losses pooled (each row's counted given the rows above
    it, so they add up), :func:`lower_net` at 95%."""
    return lower_net(sum(r["held_fixes"] + r["weak_gains"] for r in rows),
                     sum(r["held_harms"] + r["weak_losses"] for r in rows))


def best_prefix(rows: list[dict]) -> int:
    """How many of ``rows`` (in acceptance order) to show: the prefix whose
    :func:`evidence` is largest, if above 0, else none."""
    best, best_k = 0.0, 0
    for k in range(1, len(rows) + 1):
        value = evidence(rows[:k])
        if value > best + EPS:
            best, best_k = value, k
    return best_k


class GreedySelector:
    """Scores proposals given an accepted set, and grows the set (module docstring)."""

    def __init__(self, ctx: Context, refit: LabelModelRefit, proxy: WeakLabelProxy):
        self.ctx, self.refit, self.proxy = ctx, refit, proxy
        self.n_dev = len(ctx.gold_rows)
        self.lm_pred_train = refit.proba_["train"].argmax(axis=1)
        self.accepted: list[dict] = []
        # per proposal id, the models its last evaluation fit (the set with it added):
        # accepting it makes that set the current one, so nothing is refit again
        self._fitted: dict[str, tuple] = {}
        self._update([])

    def _update(self, columns: list[dict], fitted: tuple | None = None) -> None:
        """The label model and the weak-label model with ``columns`` added (``fitted``:
        already fit on exactly those columns, by :meth:`evaluate`)."""
        self.columns = columns
        self.covered_ = (np.column_stack([self.ctx.L["train"], *(c["train"] for c in columns)])
                         != -1).any(axis=1)
        if fitted is None:
            self.lm_, self.pred_dev_, proba_train = self.refit.refit_with(columns)
            self.weak_pred_ = self.proxy.predict(proba_train, self.covered_)
            self.weak_ = self.proxy.score(self.weak_pred_)
        else:
            self.lm_, self.pred_dev_, self.weak_pred_, self.weak_ = fitted

    def evaluate(self, row: dict) -> str | None:
        """Fill ``row``'s held-out counts, before/after scores and ``score`` given the
        accepted set (``row["round"]`` says which set); returns :func:`refusal`'s
        reason, if any. The weak-label model (the costly part) is not fitted when the
        label model alone already refuses it."""
        votes, mask = row["votes"], row["held_mask"]
        rows = self.ctx.gold_rows
        keep = np.ones(self.n_dev, bool) if mask is None else mask[rows]
        y = self.ctx.y_dev[rows]
        after, pred_dev, proba_train = self.refit.refit_with([*self.columns, votes])
        right_before, right_after = self.pred_dev_[rows] == y, pred_dev[rows] == y
        row.update(
            round=len(self.accepted), held_rows=int(keep.sum()),
            # rows of the label model's dev decisions it changes for the better / worse:
            # where it fires, and where the refit moved others' weights or the F1 bias
            held_fixes=int((keep & right_after & ~right_before).sum()),
            held_harms=int((keep & right_before & ~right_after).sum()),
            lm_dev_before=self.lm_, lm_dev_after=after, weak_dev_before=self.weak_,
            weak_dev_after=float("nan"), weak_gains=0, weak_losses=0)
        why = lm_refusal(row)
        if why is None:
            weak = self.proxy.predict(proba_train, self.covered_ | (votes["train"] != -1))
            before, now = self.weak_pred_ == self.proxy.y_dev, weak == self.proxy.y_dev
            row.update(weak_dev_after=self.proxy.score(weak),
                       weak_gains=int((keep & now & ~before).sum()),
                       weak_losses=int((keep & before & ~now).sum()))
            self._fitted[row["proposal"].id] = (len(self.accepted), (
                after, pred_dev, weak, row["weak_dev_after"]))
            why = refusal(row)
        row["score"] = rank_score(row, self.n_dev)
        return why

    def accept(self, row: dict) -> None:
        fitted = self._fitted.pop(row["proposal"].id, (None, None))
        current = fitted[0] == len(self.accepted)  # fit on the current set plus it
        self.accepted.append(row)
        self._update([*self.columns, row["votes"]], fitted[1] if current else None)

    def select(self, rows: list[dict], n: int) -> tuple[list[dict], list[dict]]:
        """Up to ``n`` of ``rows`` (dicts with ``proposal``, ``votes``, ``held_mask``), in
        acceptance order, cut where their joint evidence is strongest
        (:func:`best_prefix`); and why the others were left out."""
        dropped, pool = [], []
        for row in rows:
            why = self.evaluate(row)
            if why:
                dropped.append(_drop(row, why))
            else:
                pool.append(row)
        while pool and len(self.accepted) < n:
            pool.sort(key=lambda r: -r["score"])
            top = pool[0]
            if top["round"] == len(self.accepted):  # scored given the current set: take it
                pool.pop(0)
                self.accept(top)
                continue
            dup = near_duplicate(top["votes"], top["proposal"].label,
                                 [(r["proposal"].id, r["votes"]) for r in self.accepted])
            if dup:
                pool.pop(0)
                dropped.append(_drop(top, f"near-duplicate of proposal {dup[0]}"))
                continue
            why = self.evaluate(top)
            if why:
                pool.pop(0)
                dropped.append(_drop(top, f"{why}, with the {len(self.accepted)} "
                                          "proposal(s) above it accepted"))
        chosen = self.accepted
        k = best_prefix(chosen)
        for row in chosen[k:]:
            dropped.append(_drop(row, f"too little held-out evidence: the {k} proposal(s) "
                                      f"above it together are surer without it (lower-bound "
                                      f"net {evidence(chosen[:k]):.1f} rows)"))
        for row in chosen[:k]:
            row["examples"] = examples(row["votes"], row["proposal"].label, self.ctx,
                                       self.lm_pred_train)
        return chosen[:k], dropped


def _drop(row: dict, why: str) -> dict:
    p = row["proposal"]
    return {"id": p.id, "what": p.describe(), "why": why}


def score_all(proposals: list[Proposal], ctx: Context, refit: LabelModelRefit, n: int,
              existing_votes: list[tuple[str, dict]] | None = None,
              lm_budget: int | None = None, held_out: dict | None = None, runtime=None,
              stand_in: str = DEFAULT_STAND_IN) -> tuple[list[dict], list[dict]]:
    """Score every proposal (:func:`labeling.suggest.score.score_each`), refit for the
    ``lm_budget`` (default ``max(3n, 10)``) best by the cheap first order, and choose up
    to ``n`` in order (:class:`GreedySelector`). Returns the chosen rows (dicts with
    ``proposal``, ``votes``, the dev statistics, ``lm_dev_before``/``lm_dev_after``,
    ``weak_dev_before``/``weak_dev_after``, ``held_*``, ``weak_gains``/``weak_losses``,
    ``score``, ``examples``; every number given the rows above it accepted) and why the
    others were left out. ``runtime``: the task's LLM runtime, which answers an LLM's
    prompt proposals (:func:`labeling.suggest.score.endpoint_votes`). ``stand_in``: the
    end model's stand-in (:data:`labeling.suggest.stand_in.STAND_INS`)."""
    check_stand_in(stand_in)
    scored, dropped = score_each(proposals, ctx, refit, existing_votes, held_out, runtime)
    budget = lm_budget if lm_budget is not None else max(3 * n, 10)
    if not scored:
        return [], dropped
    chosen, refused = GreedySelector(ctx, refit, make_stand_in(stand_in, ctx)).select(
        scored[:budget], n)
    return chosen, dropped + refused
