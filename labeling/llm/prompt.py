"""Prompt labeling functions: a question to an LLM whose constrained answer is a vote.

Why a snorkel ``LabelingFunction`` with ``apply_frame``: the applier treats any LF with
``apply_frame(df) -> votes`` as a batch LF and calls it once per DataFrame, so the
calls for all rows can be issued concurrently, cached and costed together; calling the
LF on a single row still works (it answers a one-row frame).

Two forms:

* yes/no: ``prompt_lf(name, template, answers={"yes": SPAM, "no": ABSTAIN})``;
* multi-class: ``prompt_lf(name, template, labels={"spam": "description", ...})`` whose
  keys are label names (or class indices); the model must answer one of them or
  ``abstain``. Names are resolved to class indices with the task's labels, given to
  :func:`labeling.llm.runtime.use`.

``descriptions`` are what the local (embedding) backend compares the text with; for the
multi-class form each label's defaults to its description for the model, for yes/no to
``"<question>"`` for yes and ``"not: <question>"`` for no, where the question is the
template without its lines holding placeholders -- a weak default: give descriptions.

>>> lf = prompt_lf("visit", "Does it ask to subscribe?\\nComment: {text}",
...                answers={"yes": 1, "no": -1})
>>> lf.fields, lf.render({"text": "hi"})
(('text',), 'Does it ask to subscribe?\\nComment: hi')
>>> lf.local_descriptions()
{'yes': 'Does it ask to subscribe?', 'no': 'not: Does it ask to subscribe?'}
>>> lf.render({"body": "hi"})
Traceback (most recent call last):
...
labeling.errors.LFError: prompt LF 'visit': template uses column 'text', which the data lacks
"""

from __future__ import annotations

import string
from typing import Any, Mapping

import numpy as np
from pydantic import ValidationError
from snorkel.labeling import LabelingFunction

from labeling.errors import LFError
from labeling.lf.core import GOLD_COLUMN, GOLD_HIDDEN
from labeling.llm.active import required
from labeling.llm.settings import LLMSettings

ABSTAIN = -1
ABSTAIN_ANSWER = "abstain"
_SYSTEM = ("You label data. Answer with exactly one of the allowed answers and nothing else.\n"
           "Allowed answers:\n{options}")


def _fields_of(template: str) -> tuple[str, ...]:
    fields = []
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None:
            if not field.isidentifier():
                raise ValueError(f"template placeholder {{{field}}} must be a column name")
            if field not in fields:
                fields.append(field)
    return tuple(fields)


class PromptLF(LabelingFunction):
    """A labeling function answered by an LLM (or the local zero-shot backend)."""

    many = False  # the reply is one answer (True: a list of them, labeling.llm.multilabel)

    def __init__(self, name: str, template: str, answers: Mapping[str, int | str] | None = None,
                 label_descriptions: Mapping[str | int, str] | None = None,
                 descriptions: Mapping[str, str] | None = None, model: str | None = None,
                 params: Mapping[str, Any] | None = None, system: str | None = None):
        if (answers is None) == (label_descriptions is None):
            raise ValueError(f"prompt LF {name!r}: give exactly one of answers= or labels=")
        self.template = template
        self.fields = _fields_of(template)
        if not self.fields:
            raise ValueError(f"prompt LF {name!r}: template has no {{column}} placeholder")
        self.multiclass = label_descriptions is not None
        self.raw_answers = dict(answers or {})
        self.label_descriptions = dict(label_descriptions or {})
        self.descriptions = dict(descriptions or {})
        self.model = model
        self.params = _checked_params(name, dict(params or {}))
        self.system = system
        if answers is not None and len(self.raw_answers) < 2:
            raise ValueError(f"prompt LF {name!r}: answers needs at least two entries")
        _check_answers(name, self.raw_answers or self.label_descriptions)
        unknown = set(self.descriptions) - set(self._answer_keys())
        if unknown and not self.multiclass:
            raise ValueError(f"prompt LF {name!r}: descriptions for unknown answers "
                             f"{sorted(unknown)}")
        super().__init__(name, f=self._vote_row)

    # --- answers and votes ---------------------------------------------------
    def _answer_keys(self) -> list[str]:
        return [str(k).strip().lower() for k in
                (self.raw_answers if not self.multiclass else self.label_descriptions)]

    def resolve(self, labels: list[str] | None) -> dict[str, int]:
        """Answer name -> vote (a class index or -1), given the task's label names."""
        names = [str(n).lower() for n in labels] if labels else None

        def index(key) -> int:
            if isinstance(key, int) and not isinstance(key, bool):
                if names is not None and not -1 <= key < len(names):
                    raise LFError(f"prompt LF '{self.name}': vote {key} is not a class index "
                                  f"of the task's labels {labels} (0..{len(names) - 1}) nor "
                                  "ABSTAIN (-1)")
                return key
            if names is None or str(key).lower() not in names:
                raise LFError(f"prompt LF '{self.name}': label {key!r} is not one of the "
                              f"task's labels {labels}")
            return names.index(str(key).lower())

        if not self.multiclass:
            return {str(k).strip().lower(): index(v) for k, v in self.raw_answers.items()}
        out = {}
        for key in self.label_descriptions:
            if isinstance(key, int) and not isinstance(key, bool):
                if names is None:
                    raise LFError(f"prompt LF '{self.name}': label {key} needs the task's "
                                  "label names to be named in the prompt")
                if not 0 <= key < len(names):
                    raise LFError(f"prompt LF '{self.name}': label {key} is not a class "
                                  f"index of the task's labels {labels} (0..{len(names) - 1})")
                out[names[key]] = key
            else:
                out[str(key).strip().lower()] = index(key)
        out[ABSTAIN_ANSWER] = ABSTAIN
        return out

    def answer_descriptions(self, labels: list[str] | None) -> dict[str, str]:
        """Answer name -> description shown to the model (empty for yes/no answers)."""
        if not self.multiclass:
            return {k: "" for k in self.resolve(labels)}
        names = self.resolve(labels)
        by_index = {v: k for k, v in names.items()}
        out = {}
        for key, text in self.label_descriptions.items():
            name = by_index[key] if isinstance(key, int) else str(key).strip().lower()
            out[name] = text
        out[ABSTAIN_ANSWER] = "none of the above applies, or unsure"
        return out

    def local_descriptions(self, labels: list[str] | None = None) -> dict[str, str]:
        """Answer name -> text the local backend compares the row with (see module doc)."""
        given = {str(k).strip().lower(): v for k, v in self.descriptions.items()}
        if self.multiclass:  # a label without one of its own: its description for the model
            return {**{k: v for k, v in self.answer_descriptions(labels).items()
                       if k != ABSTAIN_ANSWER}, **given}
        if given:
            return given
        question = " ".join(line.strip() for line in self.template.splitlines()
                            if line.strip() and not _fields_of_safe(line)) or self.template
        keys = self._answer_keys()
        return {keys[0]: question, keys[1]: f"not: {question}"}

    # --- prompts -------------------------------------------------------------
    def check_columns(self, columns) -> None:
        for field in self.fields:
            if field == GOLD_COLUMN:  # the frames carry it on dev and test; apply drops it
                raise LFError(f"prompt LF '{self.name}': template uses column '{field}': "
                              f"{GOLD_HIDDEN}")
            if field not in columns:
                raise LFError(f"prompt LF '{self.name}': template uses column '{field}', "
                              "which the data lacks")

    def render(self, row: Mapping[str, Any]) -> str:
        self.check_columns(row.keys())
        return self.template.format(**{f: _cell(row[f]) for f in self.fields})

    def messages(self, row: Mapping[str, Any], labels: list[str] | None) -> list[dict]:
        options = "\n".join(f"- {k}" + (f": {d}" if d else "")
                            for k, d in self.answer_descriptions(labels).items())
        system = (self.system or _SYSTEM).replace("{options}", options)
        return [{"role": "system", "content": system},
                {"role": "user", "content": self.render(row)}]

    def schema(self, labels: list[str] | None) -> dict:
        """The JSON schema of a reply: ``{"answer": <one of the answer names>}``."""
        return {"type": "object", "additionalProperties": False, "required": ["answer"],
                "properties": {"answer": {"type": "string", "enum": list(self.resolve(labels))}}}

    # --- applying ------------------------------------------------------------
    def apply_frame(self, df) -> np.ndarray:
        """Votes for every row of ``df``, answered by the active runtime (the innermost
        ``labeling.llm.use`` block); outside one it refuses, naming the LF."""
        return required(self.name).label(self, df)

    def _vote_row(self, x) -> int:
        import pandas as pd

        row = x.to_dict() if hasattr(x, "to_dict") else dict(vars(x))
        return int(self.apply_frame(pd.DataFrame([row]))[0])


def _check_answers(name: str, answers: Mapping) -> None:
    """Each answer once, as the model's reply is read: ignoring case and spaces (two
    spellings of one answer kept only the last one's vote, and asked with one answer)."""
    seen: dict[str, object] = {}
    for key in answers:
        folded = str(key).strip().lower()
        if not folded:
            raise ValueError(f"prompt LF {name!r}: an answer may not be empty")
        if folded in seen:
            raise ValueError(f"prompt LF {name!r}: answers {seen[folded]!r} and {key!r} are "
                             "one answer (case and spaces are ignored): give it once")
        seen[folded] = key


def _checked_params(name: str, params: dict) -> dict:
    """``params`` as the run validates them (no credentials, no client options, values
    the chat API takes; whole-number counts as ints), or one line naming the LF."""
    if not params:
        return params
    try:
        return LLMSettings(params=params).params
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"prompt LF {name!r}: {message}") from None


def _fields_of_safe(line: str) -> tuple[str, ...]:
    try:
        return _fields_of(line)
    except ValueError:
        return ("?",)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def prompt_lf(name: str, template: str, answers: Mapping[str, int | str] | None = None, *,
              labels: Mapping[str | int, str] | None = None,
              descriptions: Mapping[str, str] | None = None, model: str | None = None,
              params: Mapping[str, Any] | None = None, system: str | None = None) -> PromptLF:
    """A prompt LF. ``answers`` maps each allowed answer to a vote (class index, label
    name or ABSTAIN); or ``labels`` maps label names/indices to descriptions (the answer
    is one of them or ``abstain``). ``model``/``params`` override the run's settings."""
    return PromptLF(name, template, answers=answers, label_descriptions=labels,
                    descriptions=descriptions, model=model, params=params, system=system)
