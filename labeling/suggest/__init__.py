"""LF suggestions: proposed labeling functions, scored on dev, accepted or rejected.

Proposals come from the data (words, n-grams and regexes mined from dev gold and the
label model's confident train rows; clusters of uncovered rows in MiniLM space as
prompt LFs) or from an LLM (JSON proposals, validated as data). Each is scored on dev
only: precision with its Wilson interval, coverage, conflicts, the rows it fires on,
the label model's dev score with it added. Accepting one appends readable LF code to
``functions/<task>_suggested.py``; rejecting one is remembered. See docs/suggest.md.
"""

from labeling.suggest.context import Context
from labeling.suggest.engine import Result, suggest
from labeling.suggest.proposal import InvalidProposal, Proposal, validate
from labeling.suggest.task import accept, context_for, reject, runtime_for, suggest_for_task

__all__ = ["Context", "InvalidProposal", "Proposal", "Result", "accept", "context_for",
           "reject", "runtime_for", "suggest", "suggest_for_task", "validate"]
