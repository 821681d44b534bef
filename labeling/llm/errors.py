"""Typed errors of prompt LFs; all are :class:`labeling.errors.LabelingError`, so the CLI
prints them in one line and exits 2 (they are caused by configuration, not bugs)."""

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
