"""Which LLM runtime answers prompt LFs now: the innermost ``labeling.llm.use`` block.

Why a registry of its own, below the prompt LFs: a prompt LF is declared in a user
module with no access to the task's config, so it cannot be handed its runtime when
it is made; the runtime, which builds requests from prompt LFs, sits above them. The
pipeline (``labeling run``, ``apply``, :class:`labeling.session.Session`) opens one
runtime per step with the task's response cache and budget and registers it here.
There is no default runtime: a prompt LF applied outside a ``use`` block refuses to
answer, so no call is ever made without a cache and a budget.
"""

from __future__ import annotations

import threading

from labeling.llm.errors import LLMError

_stack: list = []
_lock = threading.Lock()


def activate(runtime) -> None:
    with _lock:
        _stack.append(runtime)


def deactivate(runtime) -> None:
    with _lock:
        _stack.remove(runtime)


def active():
    """The innermost registered runtime, or None outside every ``use`` block."""
    with _lock:
        return _stack[-1] if _stack else None


def required(lf_name: str):
    """The active runtime; outside every ``use`` block an error naming the prompt LF."""
    runtime = active()
    if runtime is None:
        raise LLMError(f"prompt LF '{lf_name}': no LLM runtime is active, so no call is "
                       "made; apply it inside `with labeling.llm.use(settings, labels=...)` "
                       "(labeling run/apply and Session open one with the task's cache "
                       "and budget)")
    return runtime
