"""`labeling predict`'s tsv output on a terminal: texts come from wherever the input came
from (scraped comments, a customer's CSV), and an escape sequence in one was written to
the analyst's terminal as it was: it could clear the screen, hide lines, set the window
title or, on some terminals, answer back. tsv already made tabs and line breaks spaces
(one line per text); every control character is one now. jsonl keeps the text exact
(JSON escapes them)."""

from __future__ import annotations

import json
import unicodedata

import numpy as np

from labeling.predict import format_batch, format_label_sets

HOSTILE = "\x1b[2J\x1b]0;owned\x07hi\x9b31m there\x7f\x00end"


def _controls(line: str) -> list[str]:
    return [c for c in line if unicodedata.category(c) == "Cc" and c != "\t"]


def test_tsv_output_carries_no_control_character_of_a_text_or_id():
    proba = np.array([[0.2, 0.8]])
    out = format_batch([HOSTILE], proba, ["ham", "spam"], "tsv", ids=["id\x1b[1m"])
    line = out.removesuffix("\n")
    assert _controls(line) == [], ascii(line)
    assert line == "id [1m\tspam\t0.8000\t [2J ]0;owned hi 31m there  end"


def test_multilabel_tsv_output_too():
    out = format_label_sets([HOSTILE], np.array([[0.9, 0.1]]), ["a", "b"],
                            np.array([0.5, 0.5]), "tsv", ids=["i\x1b"])
    assert _controls(out.removesuffix("\n")) == [], ascii(out)


def test_jsonl_keeps_the_text_exact_and_escaped():
    out = format_batch([HOSTILE], np.array([[0.2, 0.8]]), ["ham", "spam"], "jsonl")
    assert _controls(out.removesuffix("\n")) == []
    assert json.loads(out)["text"] == HOSTILE
