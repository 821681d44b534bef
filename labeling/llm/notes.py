"""What a prompt LF's run tells the user in one line: prompts that got no answer, replies
that were not an allowed answer, and how far a stopped run got.

Why here and not in the run's table: the label model only sees abstains, so an endpoint
that failed every request (HTTP 500 for an hour) or a model that answers ``maybe``
would look like an LF with low coverage; the line names the LF, the counts by kind and
the first row concerned, as it happens, on stderr above any progress bar.

>>> from labeling.llm.requests import Request
>>> r = [Request(str(k), "lf", "m", {}, [], None, {}, rows=[k]) for k in range(3)]
>>> for part in how_far(r, 1, {"0": "yes", "1": None}).split("; "):
...     print(part)
1 of the 3 prompts it needs on this split were answered in this run (1 from the cache before), kept in the response cache
1 not answered: run again to ask only those
"""

from __future__ import annotations

import re
import sys
from collections import Counter


def tqdm_write(message: str) -> None:
    """One line on stderr, above any progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def mask_key(text: str, key: str) -> str:
    """``text`` with the API ``key`` replaced by ``***``, whatever its length (local
    servers take short keys); none when no key is set. A key of 8 characters or more is
    masked wherever it occurs, a shorter one only as a whole token (not next to a letter
    or digit), so a key ``ab`` does not mask every word holding ``ab``.

    >>> mask_key("bad key abc for about abc-1", "abc"), mask_key("k=sk-12345678x", "sk-12345678")
    ('bad key *** for about ***-1', 'k=***x')
    """
    if not key:
        return text
    if len(key) >= 8:
        return text.replace(key, "***")
    return re.sub(rf"(?<![0-9A-Za-z]){re.escape(key)}(?![0-9A-Za-z])", "***", text)


def server_said(exc, key: str) -> str:
    """``HTTP 404: The model `x` does not exist ...``: a refusal's status and the server's
    message (OpenAI's ``error.message``, else the body's text) on one line, cut at 160
    characters, the API key masked should the server echo it (:func:`mask_key`)."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else body
    text = mask_key(" ".join(str(message).split()) if message else "", key)
    text = text[:160] + ("..." if len(text) > 160 else "")
    return f"HTTP {exc.status_code}" + (f": {text}" if text else "")


def how_far(reqs, cached: int, answers: dict, split: str = "this split") -> str:
    """For a run stopped part-way: prompts answered (kept) and left, of those needed."""
    answered = sum(r.key in answers for r in reqs)
    return (f"{answered - cached} of the {len(reqs)} prompts it needs on {split} were "
            f"answered in this run ({cached} from the cache before), kept in the response cache; "
            f"{len(reqs) - answered} not answered: run again to ask only those")


def _row(df, position: int) -> str:
    where = f"row {position + 1}"
    if "id" in df.columns:
        where += f" (id={df['id'].iloc[position]})"
    return where


def _counts(counter) -> str:
    return ", ".join(f"{kind}: {n}" for kind, n in sorted(counter.items()))


def outcome_note(lf: str, reqs, df, stats, answers: dict, rejected: dict,
                 max_retries: int, split: str | None = None,
                 unanswered: dict | None = None) -> str | None:
    """One line when prompts of ``lf`` got no answer (not in ``answers``) or a reply that
    is not an allowed answer (``rejected``: key -> (reason, reply)); None when every
    prompt was answered. ``split`` (when known) is named: rows are numbered in it.
    ``unanswered`` (key -> the failed ``Outcome``): their failed attempts are counted
    (not those of prompts retried and answered, in ``stats.errors`` too) and what the
    server said refusing the first row's (``HTTP 400: ...``) is shown."""
    parts = []
    if stats.failed:
        first = next((r for r in reqs if r.key not in answers), None)
        failed = unanswered or {}
        reason = getattr(failed.get(first.key), "said", None) if first is not None else None
        kinds = Counter(k for out in failed.values() for k in out.errors) or stats.errors
        parts.append(f"{stats.failed} of {len(reqs)} prompts got no answer after up to "
                     f"{max_retries} retries ({_counts(kinds)}); they abstain and are "
                     f"not cached, the next apply asks them again"
                     + (f"; first: {_row(df, first.rows[0])}" if first is not None else "")
                     + (f", refused with {reason}" if reason else ""))
    if rejected:
        first = next(r for r in reqs if r.key in rejected)
        reason, reply = rejected[first.key]
        shown = (reply or "")[:80] + ("..." if reply and len(reply) > 80 else "")
        parts.append(f"{len(rejected)} replies were not an allowed answer "
                     f"({_counts(stats.rejected)}) and abstain; first: {_row(df, first.rows[0])} "
                     f"replied {shown!r} ({reason})")
        if stats.rejected.get("truncated"):
            parts.append("truncated: cut at the token limit (finish_reason length); raise "
                         "max_tokens (or max_completion_tokens) in [llm] params or the LF's "
                         "params (its prompts are then asked again, at their cost)")
    where = f" on {split}" if split else ""
    return f"prompt LF '{lf}'{where}: " + "; ".join(parts) if parts else None

