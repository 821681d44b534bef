"""Multi-label prompt LFs: one question per row whose answer may name several labels.

Why one LF object giving several columns: a multi-label task's label models work per
label (each LF votes on one target label), but asking the LLM once per label would cost
k requests per row for what one answer says. So :func:`multilabel_prompt_lf` makes one
prompt LF (one request per row, one cached answer) that stands for one *label column*
per label it covers, named ``<name>:<label>``, each targeting its label like
``for_label``. The LF loader replaces the prompt LF by its columns (``label_columns``);
the columns of one row share one answer (the runtime keeps the last frame's answers per
LF, so the applier asking column by column sends one request per row, not k).

Votes per column: APPLIES (1) when the answer names the label, DOES_NOT_APPLY (0) when
the answer is a valid list without it (an empty list is valid: no label applies),
ABSTAIN (-1) on every column when the model abstains, fails or answers invalidly
(unknown label, malformed JSON: counted in the run's LLM stats under ``rejected``).

The OpenAI path asks for ``{"answer": [<label>, ...]}`` (JSON schema: an array of the
covered label names, or the string ``"abstain"``); the local backend names every label
whose description is at least the margin more similar to the text than every label
it leaves out (see :func:`top_group`).

>>> lf = multilabel_prompt_lf("tone", "Which tones does it have?\\n{text}",
...                           labels={"joy": "happy, glad", "anger": "angry, mad"})
>>> [c.name for c in lf.label_columns], lf.label_columns[1].target_label
(['tone:joy', 'tone:anger'], 'anger')
>>> parse_labels('{"answer": ["anger", "joy", "joy"]}', ["joy", "anger", "abstain"])
('["joy", "anger"]', None)
>>> parse_labels('["fear"]', ["joy", "anger", "abstain"])
(None, 'off_label')
>>> answer_votes('["anger"]', ["joy", "anger"]).tolist(), answer_votes("abstain", ["joy"])
([0, 1], array([-1], dtype=int8))
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import numpy as np
from snorkel.labeling import LabelingFunction

from labeling.errors import LFError
from labeling.llm.active import required
from labeling.llm.prompt import ABSTAIN_ANSWER, PromptLF

ABSTAIN, DOES_NOT_APPLY, APPLIES = -1, 0, 1
SEPARATOR = ":"  # column names: <prompt LF>:<label>
_SYSTEM = ("You label data. Answer with the list of every label below that applies to the "
           "input, as a JSON array of label names (an empty array [] when none applies), or "
           "with the single word abstain when you cannot tell.\n"
           "Labels:\n{options}")


class MultiLabelPromptLF(PromptLF):
    """A prompt LF whose answer is a set of labels; see the module doc. Applied through
    its ``label_columns`` (one per covered label), never as one column."""

    many = True  # requests: the reply is a list of answer names

    def __init__(self, name: str, template: str, labels: Mapping[str, str],
                 descriptions: Mapping[str, str] | None = None, model: str | None = None,
                 params: Mapping[str, Any] | None = None, system: str | None = None,
                 local_margin: float | None = None):
        where = f"multi-label prompt LF '{name}'"
        if not isinstance(labels, Mapping) or not labels:
            raise LFError(f"{where}: labels must name at least one label with its "
                          "description, e.g. labels={'joy': 'happiness, delight'}")
        for label, text in labels.items():
            if not isinstance(label, str) or not label.strip() or SEPARATOR in label:
                raise LFError(f"{where}: label {label!r} must be a label name (a non-empty "
                              f"string without '{SEPARATOR}')")
            if not isinstance(text, str):
                raise LFError(f"{where}: the description of {label!r} must be a string")
        folded = [label.strip().lower() for label in labels]
        if len(set(folded)) < len(folded) or ABSTAIN_ANSWER in folded:
            raise LFError(f"{where}: label names must differ (ignoring case) and not be "
                          f"'{ABSTAIN_ANSWER}'")
        unknown = sorted(set(descriptions or {}) - set(labels))
        if unknown:
            raise LFError(f"{where}: descriptions for labels it does not cover: {unknown}")
        if local_margin is not None and not local_margin >= 0:
            raise LFError(f"{where}: local_margin must be >= 0, got {local_margin!r}")
        try:
            super().__init__(name, template, label_descriptions=dict(labels),
                             descriptions=descriptions, model=model, params=params,
                             system=system)
        except ValueError as exc:  # template mistakes, as for every prompt LF
            message = str(exc).removeprefix(f"prompt LF {name!r}: ")
            raise LFError(f"{where}: {message}") from None
        self.label_names = list(labels)
        self.local_margin = local_margin
        self.label_columns = [PromptLabelColumn(self, i) for i in range(len(labels))]

    # --- answers ---------------------------------------------------------------
    def check_task(self, labels: list[str] | None, multi_label: bool) -> None:
        """One-line errors for a task this LF cannot vote in (names the LF)."""
        where = f"multi-label prompt LF '{self.name}'"
        if not multi_label:
            raise LFError(f"{where}: the task is single-label (multi_label = false); one "
                          "label per row is prompt_lf(name, template, labels={...})")
        missing = [n for n in self.label_names if n not in (labels or [])]
        if missing:
            raise LFError(f"{where}: {', '.join(map(repr, missing))} "
                          f"{'is' if len(missing) == 1 else 'are'} not among the task's "
                          f"labels ({', '.join(labels or [])})")

    def answer_names(self, labels: list[str] | None) -> list[str]:
        """The covered labels as the model names them (lower case), in column order."""
        return [n for n in self.resolve(labels) if n != ABSTAIN_ANSWER]

    def messages(self, row: Mapping[str, Any], labels: list[str] | None) -> list[dict]:
        names = self.answer_names(labels)
        options = "\n".join(f"- {n}" + (f": {d}" if d else "") for n, d in
                            zip(names, self.label_descriptions.values()))
        system = (self.system or _SYSTEM).replace("{options}", options)
        return [{"role": "system", "content": system},
                {"role": "user", "content": self.render(row)}]

    def schema(self, labels: list[str] | None) -> dict:
        """``{"answer": [<label>, ...]}`` with names from the covered labels, or
        ``{"answer": "abstain"}``."""
        labels_array = {"type": "array", "items": {"type": "string",
                                                   "enum": self.answer_names(labels)}}
        return {"type": "object", "additionalProperties": False, "required": ["answer"],
                "properties": {"answer": {"anyOf": [
                    labels_array, {"type": "string", "enum": [ABSTAIN_ANSWER]}]}}}

    def local_descriptions(self, labels: list[str] | None = None) -> dict[str, str]:
        """Label (lower case) -> what the local backend compares the text with: the
        ``descriptions`` entry, else the label's description."""
        return {n.strip().lower(): self.descriptions.get(n, text)
                for n, text in self.label_descriptions.items()}

    # --- applying ----------------------------------------------------------------
    def vote_matrix(self, df) -> np.ndarray:
        """``len(df) x len(label_names)`` votes (1/0/-1), answered by the active runtime."""
        return required(self.name).label_sets(self, df)

    def apply_frame(self, df) -> np.ndarray:
        raise LFError(f"multi-label prompt LF '{self.name}' gives one column per label: apply "
                      f"its label_columns ({', '.join(c.name for c in self.label_columns)}); "
                      "the LF loader does this for LF modules")


class PromptLabelColumn(LabelingFunction):
    """The column of one label of a :class:`MultiLabelPromptLF`: its votes on that label.

    A batch LF (``apply_frame``): the applier hands it whole frames, and the prompt LF's
    answers for the frame are shared by all its columns."""

    def __init__(self, prompt: MultiLabelPromptLF, index: int):
        self.prompt_lf = prompt
        self.index = index
        self.target_label = prompt.label_names[index]  # as for_label sets it
        super().__init__(f"{prompt.name}{SEPARATOR}{self.target_label}", f=self._vote_row)

    def apply_frame(self, df) -> np.ndarray:
        return self.prompt_lf.vote_matrix(df)[:, self.index]

    def _vote_row(self, x) -> int:
        import pandas as pd

        row = x.to_dict() if hasattr(x, "to_dict") else dict(vars(x))
        return int(self.apply_frame(pd.DataFrame([row]))[0])


def multilabel_prompt_lf(name: str, template: str, labels: Mapping[str, str], *,
                         descriptions: Mapping[str, str] | None = None,
                         model: str | None = None, params: Mapping[str, Any] | None = None,
                         system: str | None = None,
                         local_margin: float | None = None) -> MultiLabelPromptLF:
    """A prompt LF for ``multi_label = true`` tasks whose answer names every label of
    ``labels`` (label name -> description shown to the model) that applies. It gives one
    L column per label, ``<name>:<label>``. ``descriptions`` override what the local
    backend compares texts with (per label); ``local_margin`` overrides the run's
    ``[llm] local_margin`` for this LF; ``model``/``params``/``system`` as for
    :func:`labeling.llm.prompt_lf`."""
    return MultiLabelPromptLF(name, template, labels, descriptions=descriptions, model=model,
                              params=params, system=system, local_margin=local_margin)


def prompt_lfs(lfs) -> list[PromptLF]:
    """The distinct prompt LFs behind ``lfs``: prompt LFs, and the multi-label prompt LF
    of each label column, once (its columns share one request per row)."""
    out: dict[int, PromptLF] = {}
    for lf in lfs:
        prompt = lf if isinstance(lf, PromptLF) else getattr(lf, "prompt_lf", None)
        if isinstance(prompt, PromptLF):
            out.setdefault(id(prompt), prompt)
    return list(out.values())


def check_task_lfs(lfs, labels: list[str] | None, multi_label: bool) -> None:
    """Config-time check of the multi-label prompt LFs behind ``lfs`` against the task,
    and of ``for_label`` LFs: in a single-label task their 1 would be class index 1."""
    for prompt in prompt_lfs(lfs):
        if isinstance(prompt, MultiLabelPromptLF):
            prompt.check_task(labels, multi_label)
    for lf in lfs if not multi_label else ():
        if getattr(lf, "target_label", None) is not None:
            raise LFError(f"LF '{lf.name}': for_label({lf.target_label!r}, ...) is for "
                          "multi-label tasks (multi_label = true); in a single-label task "
                          "an LF returns a class index (the label's position in labels)")


# --- replies ------------------------------------------------------------------------

def norm_answer(text: str) -> str:
    """An answer as the model may format it, bare: case, spaces, quotes, backticks, a
    final period or ``!``, markdown emphasis (``**Yes**.``) removed.

    >>> norm_answer(' **Yes**. '), norm_answer('"no."'), norm_answer('`spam`')
    ('yes', 'no', 'spam')
    """
    marks = "`'\"*_ \t\n"
    return text.strip(marks).rstrip(".!").strip(marks).lower()


# ```, an info string (json) when a space or line follows it, the body, ```
_FENCE = re.compile(r"```(?:[A-Za-z0-9_+-]+(?=\s))?(.*?)```", re.DOTALL)


def unfence(text: str) -> str:
    r"""A reply wrapped whole in a markdown code fence (```` ```json ... ``` ````, as chat
    models often send JSON), unwrapped; any other text as it is.

    >>> unfence('```json\n{"answer": "yes"}\n```'), unfence('```yes```'), unfence('a ```b```')
    ('{"answer": "yes"}', 'yes', 'a ```b```')
    """
    found = _FENCE.fullmatch(text.strip())
    return found.group(1).strip() if found else text


def parse_labels(content: str | None, answers: list[str]) -> tuple[str | None, str | None]:
    """(answer, None) for a valid reply, else (None, reason). ``answers``: the allowed
    names (lower case), ``abstain`` among them. A valid reply is ``{"answer": [...]}``,
    a bare JSON array, or (for endpoints without structured output) names separated by
    commas; ``abstain`` in any of these forms abstains. The answer is canonical: a JSON
    array of the named labels in ``answers`` order (no repeats), or ``"abstain"``.
    Reasons: ``empty``, ``bad_json`` (unparsable, or not strings), ``off_label`` (a name
    that is not an allowed label)."""
    if content is None or not content.strip():
        return None, "empty"
    text = unfence(content.strip())
    if not text:
        return None, "empty"
    if text[0] in "{[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None, "bad_json"
        if isinstance(value, dict):
            if "answer" not in value:
                return None, "bad_json"
            value = value["answer"]
    elif norm_answer(text) == ABSTAIN_ANSWER:
        value = ABSTAIN_ANSWER
    else:
        value = [part for part in re.split(r"[,;\n]", text) if part.strip()]
    if isinstance(value, str) and norm_answer(value) == ABSTAIN_ANSWER:
        return ABSTAIN_ANSWER, None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "bad_json"
    named = {norm_answer(v) for v in value}
    allowed = [a for a in answers if a != ABSTAIN_ANSWER]
    if not named <= set(allowed):
        return None, "off_label"
    return json.dumps([a for a in allowed if a in named]), None


def answer_votes(answer: str | None, names: list[str]) -> np.ndarray:
    """The votes on ``names`` (lower case, column order) of a canonical answer: 1 for the
    named labels, 0 for the others, all -1 for ``abstain`` or no answer."""
    if answer is None or answer == ABSTAIN_ANSWER:
        return np.full(len(names), ABSTAIN, dtype=np.int8)
    named = set(json.loads(answer))
    return np.array([APPLIES if n in named else DOES_NOT_APPLY for n in names], dtype=np.int8)


def top_group(sims: np.ndarray, margin: float) -> np.ndarray:
    """The local backend's rule: per row of similarities (``n x k``, k >= 2), the labels
    whose similarity exceeds that of every label left out by at least ``margin``: the
    smallest top group followed by a gap >= margin in the sorted similarities. 1 for the
    group, 0 for the rest, all -1 when no gap reaches the margin (abstain). For one label
    answered out of two it is the single-label rule (best beats runner-up by the margin).

    >>> top_group(np.array([[0.5, 0.2, 0.45], [0.3, 0.29, 0.31]]), 0.1).tolist()
    [[1, 0, 1], [-1, -1, -1]]
    """
    n, k = sims.shape
    out = np.full((n, k), ABSTAIN, dtype=np.int8)
    if not n:
        return out
    order = np.argsort(-sims, axis=1, kind="stable")
    ranked = np.take_along_axis(sims, order, axis=1)
    clears = ranked[:, :-1] - ranked[:, 1:] >= margin
    for i in np.flatnonzero(clears.any(axis=1)):
        size = int(np.argmax(clears[i])) + 1
        out[i] = DOES_NOT_APPLY
        out[i, order[i, :size]] = APPLIES
    return out
