"""Prompt labeling functions: LLM (or local zero-shot) answers as weak-supervision votes.

Declare them in an LF module like any other LF::

    from labeling.llm import prompt_lf
    asks_to_visit = prompt_lf(
        "asks_to_visit",
        "Does this comment ask the reader to visit or subscribe to something?\\nComment: {text}",
        answers={"yes": SPAM, "no": ABSTAIN},
        descriptions={"yes": "check out my channel, subscribe, visit my website",
                      "no": "a comment about the song or the video"})

Multi-label tasks: :func:`multilabel_prompt_lf` asks once per row which labels apply and
gives one L column per label (:mod:`labeling.llm.multilabel`).

The applier calls ``apply_frame`` once per DataFrame; the run's settings come from
:func:`use` (see :mod:`labeling.llm.runtime`), its cost from :func:`plan` beforehand.
"""

from labeling.llm.errors import BudgetExceeded, LLMError
from labeling.llm.multilabel import MultiLabelPromptLF, multilabel_prompt_lf
from labeling.llm.plan import format_plan
from labeling.llm.prompt import PromptLF, prompt_lf
from labeling.llm.runtime import Runtime, use
from labeling.llm.settings import LLMSettings, Price

__all__ = ["BudgetExceeded", "LLMError", "LLMSettings", "MultiLabelPromptLF", "Price",
           "PromptLF", "Runtime", "format_plan", "multilabel_prompt_lf", "plan", "prompt_lf",
           "use"]


def plan(lfs, frames, settings: LLMSettings | None = None,
         labels: list[str] | None = None, cache_path=None) -> list[dict]:
    """Before any call: per prompt LF (and split, if ``frames`` is a dict of DataFrames),
    the calls needed, how many are cached, estimated tokens and cost in USD."""
    with use(settings, labels=labels, cache_path=cache_path) as rt:
        return rt.plan(lfs, frames)
