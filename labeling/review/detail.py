"""The example detail: one example's votes, prompts and replies, and predictions.

Why prompts are rebuilt: the run stores votes, not prompts; the prompt a row was asked
is re-rendered with the LF's own code (:func:`labeling.llm.requests.build_requests`,
the function the run used), which also gives the response-cache key, so the raw reply
is read back from the SQLite cache exactly as the endpoint returned it. The local
backend sends no prompt and gets no reply; the view says so and shows what it
compared the text with instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labeling.analysis import ABSTAIN_MARK
from labeling.llm.cache import ResponseCache
from labeling.llm.client import read_cached
from labeling.llm.prompt import PromptLF
from labeling.llm.requests import build_requests
from labeling.review.examples import vote_names


def find_example(run, example_id: str, split: str | None = None) -> tuple[str, int]:
    """(split, row position) of ``example_id`` in ``split`` (default: the first split
    that has it; ids are unique only within a split); KeyError when none has it."""
    for split in [split] if split is not None else run.splits:
        ids = run.frames[split]["id"]
        hits = np.flatnonzero(ids.to_numpy() == str(example_id))
        if len(hits):
            return split, int(hits[0])
    raise KeyError(f"no example with id {example_id!r} in this run")


def example_text(run, example_id: str, split: str) -> str:
    """The text of ``example_id`` in ``split`` (what an annotation records of it)."""
    split, row = find_example(run, example_id, split)
    return str(run.frames[split]["text"].iloc[row])


def votes_table(run, split: str, row: int, prompt_lfs: set[str] = frozenset()) -> pd.DataFrame:
    """Each LF's vote on the row: lf, kind, vote (label name or abstain)."""
    votes = run.L[split][row]
    return pd.DataFrame({"lf": run.lf_names,
                         "kind": ["prompt" if n in prompt_lfs else "rule" for n in run.lf_names],
                         "vote": [v if v != ABSTAIN_MARK else "abstain"
                                  for v in vote_names(votes, run.labels)]})


def probabilities(run, split: str, row: int) -> pd.DataFrame:
    """Label-model probability per label (rounded to 3 digits)."""
    p = run.proba(split)[row]
    return pd.DataFrame({"label": run.labels, "probability": p.round(3)})


def example_summary(run, split: str, row: int) -> dict:
    """Text, gold label name (or None), label-model and majority-vote predictions."""
    df, probs = run.frames[split], run.probs[split]
    gold = int(df["label"].iloc[row]) if "label" in df else None
    return {"id": df["id"].iloc[row], "split": split, "text": df["text"].iloc[row],
            "gold": run.labels[gold] if gold is not None else None,
            "label_model": run.labels[int(probs["label_model_pred"].iloc[row])],
            "majority_vote": run.labels[int(probs["majority_vote_pred"].iloc[row])],
            "covered": bool(probs["covered"].iloc[row])}


def prompt_details(run, lfs, split: str, row: int) -> list[dict]:
    """Per prompt LF in ``lfs``: lf, backend, vote, messages (as sent / as they would be
    sent), and for the endpoint the cached reply, parsed answer, rejection reason,
    tokens and cost; ``note`` says why a reply is missing."""
    config = run.config
    stats = run.metrics.get("llm", {})
    frame = run.frames[split].iloc[[row]].reset_index(drop=True)
    out = []
    cache_path = Path(config.llm_cache_path)
    for lf in (lf for lf in lfs if isinstance(lf, PromptLF)):
        backend = stats.get("lfs", {}).get(lf.name, {}).get("backend") or stats.get("backend")
        vote = vote_names(np.array([run.L[split][row, run.lf_names.index(lf.name)]]),
                          run.labels)[0] if lf.name in run.lf_names else None
        item = {"lf": lf.name, "backend": backend or "unknown",
                "vote": "abstain" if vote == ABSTAIN_MARK else vote}
        request = build_requests(lf, frame, config.llm.as_asked(stats.get("settings")),
                                 config.labels)[0]
        item["messages"] = request.messages
        item["model"] = request.model
        if backend == "local":
            item["note"] = ("Answered by the local zero-shot backend (all-MiniLM-L6-v2 embedding "
                            "similarity): no prompt was sent and there is no raw reply. The text "
                            "was compared with these answer descriptions:")
            item["descriptions"] = lf.local_descriptions(config.labels)
        elif not cache_path.is_file():
            item["note"] = f"No response cache at {cache_path}: the reply was not stored."
        else:
            cache = ResponseCache(cache_path)
            try:
                entry = cache.get_many([request.key]).get(request.key)
            finally:
                cache.close()
            if entry is None:
                item["note"] = ("No cached reply for this prompt (the request failed, or the "
                                "cache was cleared or the prompt changed since the run).")
            else:
                answer, reason = read_cached(request, entry)  # as the apply read it
                item.update(reply=entry.reply, answer=answer, reason=reason,
                            tokens_in=entry.tokens_in, tokens_out=entry.tokens_out,
                            cost=round(entry.cost, 6), latency_s=round(entry.latency, 3))
        out.append(item)
    return out


def render_messages(messages: list[dict]) -> str:
    """Chat messages as plain text, one ``[role]`` header each.

    >>> render_messages([{"role": "user", "content": "hi"}])
    '[user]\\nhi'
    """
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
