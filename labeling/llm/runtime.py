"""The runtime of a run's prompt LFs: settings, cache, budget, stats, backend choice.

Why a runtime set with a context manager: prompt LFs are declared in user modules with no
access to the task config, and the applier only calls ``lf.apply_frame(df)``; the
pipeline says once which settings apply to a run::

    with labeling.llm.use(LLMSettings(**cfg.llm), labels=cfg.labels,
                          cache_path=run_dir / "llm_cache.sqlite") as rt:
        rt.check_budget(rt.plan(task.lfs, frames))   # optional: abort before any call
        L = apply_lfs(df, task.lfs, ...)
    update_metrics(run_dir, llm=rt.report())

Outside ``use`` there is no runtime: a prompt LF refuses to answer (``labeling.llm.active``).
The budget covers the whole runtime (all LFs, all splits): each LF's uncached calls are
estimated before any is made, and each request is checked again (spent + in flight +
its estimate) before it starts, so a run stops *before* exceeding the budget.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.llm.active import activate, deactivate
from labeling.llm.cache import Entry, ResponseCache
from labeling.llm.client import EndpointRunner, read_cached, run_sync
from labeling.llm.errors import BudgetExceeded, LLMError
from labeling.llm.local import LocalBackend
from labeling.llm.multilabel import answer_votes, prompt_lfs
from labeling.llm.notes import how_far, outcome_note, tqdm_write
from labeling.llm.plan import cost_of, estimate_request, plan_lf, total_cost
from labeling.llm.requests import Request, build_requests, lf_model
from labeling.llm.settings import LLMSettings
from labeling.llm.stats import LFStats

ABSTAIN = -1


class Runtime:
    def __init__(self, settings: LLMSettings | None = None, labels: list[str] | None = None,
                 cache_path: Path | str | None = None, env=None):
        self.settings = settings or LLMSettings()
        self.labels = list(labels) if labels else None
        self.backend = self.settings.resolve_backend(env)
        self.cache_path = cache_path or self.settings.cache_path
        self._cache: ResponseCache | None = None
        self._local = None
        self.stats: dict[str, LFStats] = {}
        self._sets: dict[str, tuple] = {}  # multi-label LF -> (LF, frame key, votes)
        self.spent = 0.0
        self.reserved = 0.0
        self._billed = [0.0, 0.0]  # cost of the replies received, and its estimate
        self._billed_out: dict[str, float | None] = {}  # model -> mean output tokens billed
        self.split: str | None = None  # the split being labeled, named in messages (apply sets it)

    # --- resources ---------------------------------------------------------
    @property
    def cache(self) -> ResponseCache:
        if self._cache is None:
            self._cache = ResponseCache(self.cache_path)
        return self._cache

    @property
    def local(self):
        if self._local is None:
            s = self.settings
            embeddings = (Path(self.cache_path).parent / "local_embeddings"
                          if self.cache_path else None)  # next to the response cache
            self._local = LocalBackend(s.local_model, s.local_margin, s.local_batch_size,
                                       cache_dir=embeddings, progress=s.progress)
        return self._local

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # --- planning and budget -----------------------------------------------
    def plan(self, lfs, frames) -> list[dict]:
        """Per prompt LF (other LFs are skipped) and frame: calls, cached, tokens, cost."""
        frames = frames if isinstance(frames, dict) else {"": frames}
        out = []
        # a prompt planned before (an earlier frame, or another prompt LF asking the same:
        # one template with other answers' votes) is a cache hit by the time it is asked
        planned: set[str] = set()
        for lf in prompt_lfs(lfs):  # a multi-label prompt LF once, not once per column
            for split, df in frames.items():
                entry = plan_lf(lf, df, self.settings, self.labels,
                                self.cache if self.backend == "openai" else None, self.backend,
                                planned)
                out.append({"split": split, **entry} if split else entry)
        return out

    def check_budget(self, plans: list[dict]) -> None:
        """Raise :class:`BudgetExceeded` if the plan would exceed the budget."""
        budget = self.settings.budget
        if budget is None:
            return
        total = total_cost(plans)
        if total is None:
            models = sorted({p["model"] for p in plans if p["cost"] is None})
            raise LLMError(f"a budget is set but there is no price for {', '.join(models)}; "
                           "add it under [llm.prices]")
        if self.spent + total > budget:
            raise BudgetExceeded(f"planned cost ${total:.4f} (+ ${self.spent:.4f} spent) exceeds "
                                 f"the budget of ${budget:.4f}; no call was made",
                                 planned=total, spent=self.spent)

    def _check_lf_budget(self, name: str, todo: list[Request]) -> None:
        """Before an LF's first call: its uncached prompts' estimate, scaled by what the
        replies so far cost against theirs, must fit in what is left of the budget."""
        ratio = self._cost_ratio()
        total = sum(self._estimate(r) for r in todo) * ratio
        budget = self.settings.budget
        if self.spent + total > budget:
            scaled = f", estimates x{ratio:.2f} as replies cost so far" if ratio > 1 else ""
            before = ", ".join(self.stats) or "none"
            raise BudgetExceeded(
                f"prompt LF '{name}' stopped at the budget of ${budget:.4f} before asking its "
                f"{len(todo)} uncached prompts on {self._on_split()} (about ${total:.4f}{scaled}) on top "
                f"of ${self.spent:.4f} spent in this run; prompt LFs that ran so far in this "
                f"run: {before} (their answers are kept in the response cache: a re-run does "
                "not ask them again)", planned=total, spent=self.spent)

    def _estimate(self, req: Request) -> float:
        if req.model not in self._billed_out:  # as plan estimates it (before this run)
            self._billed_out[req.model] = self.cache.mean_tokens_out(req.model)
        i, o = estimate_request(req.messages, list(req.answers), req.schema is not None,
                                req.many, self._billed_out[req.model])
        cost = cost_of(req.model, i, o, self.settings.prices)
        if cost is None and self.settings.budget is not None:
            raise LLMError(f"a budget is set but there is no price for {req.model}; "
                           "add it under [llm.prices]")
        return cost or 0.0

    # --- labeling ----------------------------------------------------------
    def label(self, lf, df) -> np.ndarray:
        """Votes of prompt LF ``lf`` on every row of ``df`` (the applier's batch hook)."""
        started = time.monotonic()
        stats = self._new_stats(lf, len(df))
        try:
            if self.backend == "local":
                votes = self.local.answer(lf, df, self.labels)[1]
                stats.votes.update(int(v) for v in votes)
            else:
                votes = self._label_endpoint(lf, df, stats)
        finally:  # a run stopped part-way (budget, dead endpoint) still reports its spend
            stats.wall_s = time.monotonic() - started
            self._merge_stats(stats)
        return votes

    def _new_stats(self, lf, rows: int) -> LFStats:
        if self.backend == "local":
            return LFStats(lf.name, backend="local", model="all-MiniLM-L6-v2", rows=rows,
                           calls=rows)
        return LFStats(lf.name, model=lf_model(lf, self.settings)[0], rows=rows)

    def _label_endpoint(self, lf, df, stats: LFStats) -> np.ndarray:
        reqs, answers = self._answer_endpoint(lf, df, stats)
        votes = np.full(len(df), ABSTAIN, dtype=np.int16)
        for req in reqs:
            answer = answers.get(req.key)
            if answer is not None:
                votes[req.rows] = req.answers[answer]
        stats.votes.update(int(v) for v in votes)
        return votes

    def _answer_endpoint(self, lf, df, stats: LFStats) -> tuple[list[Request], dict]:
        """The distinct requests for ``df`` and their answers ({key: answer}; a failed or
        rejected request has none), from the cache or the endpoint."""
        reqs = build_requests(lf, df, self.settings, self.labels)
        hits = self.cache.get_many([r.key for r in reqs])
        todo = [r for r in reqs if r.key not in hits]
        stats.calls, stats.cache_hits = len(reqs), len(reqs) - len(todo)
        if self.settings.budget is not None and todo:
            self._check_lf_budget(lf.name, todo)
        answers, rejected = self._cached_answers(reqs, hits)
        unanswered: dict = {}  # key -> the Outcome of a prompt left without a reply
        for reason, _ in rejected.values():
            stats.rejected[reason] += 1
        bar = self._progress(lf.name, len(reqs), stats.cache_hits)
        lock = threading.Lock()

        def before(req: Request) -> None:
            # scaled by what replies cost against their estimates so far: an endpoint
            # that bills more tokens than estimated cannot overrun the budget
            est = self._estimate(req) * self._cost_ratio()
            budget = self.settings.budget
            if budget is not None and self.spent + self.reserved + est > budget:
                raise BudgetExceeded(f"prompt LF '{lf.name}' stopped at the budget of "
                                     f"${budget:.4f}: the next call would take the spend past "
                                     "it", planned=est)  # what was spent: once all came back
            with lock:
                self.reserved += est
            req.estimate = est

        def done(req: Request, out) -> None:
            with lock:
                self.reserved -= req.estimate
            stats.requests += out.requests
            stats.retries += max(0, out.requests - 1)
            for kind in out.errors:
                stats.error(kind)
            if out.failed:
                stats.failed += 1
                unanswered[req.key] = out
            else:
                cost = self._record(req, out, stats)
                if self.settings.budget is not None:
                    self._billed[0] += cost
                    self._billed[1] += self._estimate(req)
                answers[req.key] = out.answer
                if out.reason:
                    rejected[req.key] = (out.reason, out.reply)
            if bar is not None:
                cost = "?" if stats.cost is None else f"{stats.cost:.5f}"
                bar.set_postfix_str(
                    f"cached={stats.cache_hits} failed={stats.failed} spent=${cost}")
                bar.update(1)

        try:
            if todo:
                run_sync(lambda: EndpointRunner(self.settings).run(todo, before, done))
        except LLMError as exc:  # say how far it got: answered prompts are kept
            said = str(exc)
            if isinstance(exc, BudgetExceeded):  # the calls in flight at the stop included
                exc.spent = self.spent
                said += f" (spent ${self.spent:.4f} in this run)"
            named = said if said.startswith("prompt LF") else f"prompt LF '{lf.name}': {said}"
            exc.args = (f"{named}; {how_far(reqs, len(hits), answers, self._on_split())}",)
            raise
        except KeyboardInterrupt:  # Ctrl+C, or SIGTERM (the CLI's): what was paid is kept
            tqdm_write(f"prompt LF '{lf.name}' interrupted ({self._spent_words(stats)}); "
                       f"{how_far(reqs, len(hits), answers, self._on_split())}")
            raise
        finally:
            if bar is not None:
                bar.close()
        note = outcome_note(lf.name, reqs, df, stats, answers, rejected,
                            self.settings.max_retries, self.split, unanswered)
        if note:
            tqdm_write(note)
        return reqs, answers

    def _spent_words(self, stats: LFStats) -> str:
        """What this run spent, or that it is unknown: a model without a price counts
        $0 in ``spent``, which "spent $0.0000" would state as a fact."""
        if stats.cost is None:
            return "spent: unknown, the model has no price under [llm] prices"
        return f"spent ${self.spent:.4f} in this run"

    @staticmethod
    def _cached_answers(reqs: list[Request], hits: dict) -> tuple[dict, dict]:
        """({key: answer or None}, {key: (reason, reply)}) of the cached replies
        (:func:`labeling.llm.client.read_cached`)."""
        answers, rejected = {}, {}
        for req in reqs:
            entry = hits.get(req.key)
            if entry is None:
                continue
            answer, reason = read_cached(req, entry)
            answers[req.key] = answer
            if reason:
                rejected[req.key] = (reason, entry.reply)
        return answers, rejected

    def label_sets(self, lf, df) -> np.ndarray:
        """Votes (1/0/-1) of multi-label prompt LF ``lf`` on ``df``: one column per label
        it covers. Its columns ask in turn for the same frame: the answers of the last
        frame are kept per LF (keyed by the frame's content), so a row costs one request
        and counts once in the stats."""
        frame = df[list(lf.fields)] if set(lf.fields) <= set(df.columns) else df
        key = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False)
                             .to_numpy().tobytes()).hexdigest() + str(list(frame.columns))
        kept = self._sets.get(lf.name)
        if kept is not None and kept[0] is lf and kept[1] == key:
            return kept[2]
        started = time.monotonic()
        stats = self._new_stats(lf, len(df))
        try:
            if self.backend == "local":
                votes = self.local.answer_sets(lf, df, self.labels)
            else:
                reqs, answers = self._answer_endpoint(lf, df, stats)
                names = lf.answer_names(self.labels)
                votes = np.full((len(df), len(names)), ABSTAIN, dtype=np.int8)
                for req in reqs:
                    votes[req.rows] = answer_votes(answers.get(req.key), names)
            stats.votes.update(int(v) for v in votes.ravel())  # per (row, label) cell
        finally:  # a run stopped part-way still reports its spend
            stats.wall_s = time.monotonic() - started
            self._merge_stats(stats)
        self._sets[lf.name] = (lf, key, votes)
        return votes

    def _merge_stats(self, stats: LFStats) -> None:
        if stats.lf in self.stats:
            self.stats[stats.lf].merge(stats)
        else:
            self.stats[stats.lf] = stats

    def _cost_ratio(self) -> float:
        """What the replies so far cost over what was estimated for them, at least 1."""
        cost, estimate = self._billed
        return max(1.0, cost / estimate) if estimate > 0 else 1.0

    def _record(self, req: Request, out, stats: LFStats) -> float:
        """Count a reply's tokens and cost and store it in the cache; its cost in USD."""
        tokens_in, tokens_out = out.tokens_in, out.tokens_out
        if not out.usage_reported:  # no usage field: count our estimate
            tokens_in, tokens_out = estimate_request(req.messages, list(req.answers),
                                                     req.schema is not None, req.many)
        cost = cost_of(req.model, tokens_in, tokens_out, self.settings.prices)
        self.spent += cost or 0.0
        stats.tokens_in += tokens_in
        stats.tokens_out += tokens_out
        stats.add_cost(cost)
        stats.add_latency(out.latency)
        if out.reason:
            stats.rejected[out.reason] += 1
        prompt = json.dumps(req.messages, ensure_ascii=False)
        self.cache.put(Entry(req.key, req.lf, req.model, prompt, out.reply, out.answer,
                             out.reason, tokens_in, tokens_out, cost or 0.0, out.latency))
        return cost or 0.0

    def _on_split(self) -> str:
        return self.split or "this split"

    def _progress(self, name: str, total: int, initial: int):
        if not self.settings.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=f"prompt LF {name}", unit="call",
                    leave=False)

    # --- reporting ---------------------------------------------------------
    def report(self) -> dict:
        """JSON-ready stats for metrics.json (settings included; they hold no key)."""
        lfs = {name: s.to_dict() for name, s in self.stats.items()}
        # ``spent`` counts the priced models only: those without a price are named, so
        # that $0 of them is never read as nothing spent
        unpriced = sorted({s.model for s in self.stats.values() if s.cost is None})
        return {"backend": self.backend, "settings": self.settings.recorded(),
                "spent": round(self.spent, 6), "unpriced_models": unpriced, "lfs": lfs}


@contextlib.contextmanager
def use(settings: LLMSettings | None = None, *, labels: list[str] | None = None,
        cache_path: Path | str | None = None):
    """Make prompt LFs applied inside the block use ``settings``; yields the runtime."""
    rt = Runtime(settings, labels, cache_path)
    activate(rt)
    try:
        yield rt
    finally:
        deactivate(rt)
        rt.close()


def spent_words(section: dict) -> str:
    """What the prompt LFs spent (metrics.json's ``llm``), never $0 for models with no
    price under ``[llm] prices``: their calls were paid for at a price we do not know."""
    unpriced = ", ".join(section.get("unpriced_models") or [])
    if not unpriced:
        return f"spent ${section['spent']:.4f}"
    if not section["spent"]:
        return f"spent: unknown, no price under [llm] prices for {unpriced}"
    return f"spent ${section['spent']:.4f} + calls to {unpriced} (no price under [llm] prices)"
