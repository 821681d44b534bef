"""Typed errors of prompt LFs; all are :class:`labeling.errors.LabelingError`, so the CLI
prints them in one line and exits 2 (they are caused by configuration, not bugs); and
:class:`DeadEndpoint`, which tells when an endpoint's failures are one."""

from __future__ import annotations

from labeling.errors import LabelingError


class LLMError(LabelingError):
    """A prompt-LF run cannot proceed: bad settings, a rejected key, an unusable endpoint."""


class BudgetExceeded(LLMError):
    """The planned or running cost would exceed ``[llm] budget``; no call beyond it is made.

    ``planned`` is the estimate that tripped it, ``spent`` what the run had spent."""

    def __init__(self, message: str, planned: float = 0.0, spent: float = 0.0):
        super().__init__(message)
        self.planned = planned
        self.spent = spent


class DeadEndpoint:
    """Stops a run whose endpoint answers nothing: ``max(20, 2 * concurrency)`` prompts
    in a row without a reply, each after all its retries (a server down, a gateway
    answering 500, every request timing out). Without it a dead endpoint would cost
    every prompt ``(max_retries + 1) * timeout`` seconds and leave the LF abstaining
    on every row; a reply of any kind, even a rejected one, resets the count."""

    def __init__(self, settings):  # LLMSettings (not imported: errors sit below it)
        self.settings = settings
        self.limit = max(20, 2 * settings.concurrency)
        self.in_a_row = 0
        self.kinds: dict[str, int] = {}
        self.said: str | None = None

    def dead_after(self, outcome) -> bool:  # a labeling.llm.client.Outcome
        if not outcome.failed:
            self.in_a_row, self.kinds, self.said = 0, {}, None
            return False
        self.in_a_row += 1
        self.said = outcome.said or self.said
        for kind in outcome.errors:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return self.in_a_row >= self.limit

    def message(self) -> str:
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(self.kinds.items()))
        said = f"; the last said {self.said}" if self.said else ""
        return (f"the endpoint answered none of {self.in_a_row} prompts in a row (failed "
                f"attempts, retries included: {kinds}{said}): stopped; check that it is up "
                "([llm] base_url, model, timeout; for rate_limited: rpm, concurrency, "
                "max_retries)")
