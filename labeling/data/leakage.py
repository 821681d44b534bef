"""Leakage between splits: ids or texts a later split shares with an earlier one."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import pandas as pd

LEAKAGE_PAIRS = (("train", "dev"), ("train", "test"), ("dev", "test"))
LEAKAGE_EXAMPLES = 5


def leakage_key(text: str) -> str:
    """What texts are compared by: runs of whitespace become one space, the ends are
    stripped, accents are compared in NFC (a separate combining accent is the same
    letter); case and everything else are kept (exact duplicates up to spacing)."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def leakage_report(splits: Mapping[str, pd.DataFrame | None]) -> dict[str, dict]:
    """Per split pair ``"first/second"`` (train/dev, train/test, dev/test; pairs with a
    missing split are left out): ``rows`` of the second split, ``shared_ids`` (ids in
    both) with up to 5 ``shared_id_examples``, and ``shared_texts`` (rows of the second
    split whose text, by :func:`leakage_key`, is also in the first; empty texts never
    count) with up to 5 ``shared_text_examples`` as ``[first_id, second_id]``. Examples
    follow the second split's row order. Splits need ``id`` and ``text`` columns."""
    report = {}
    for first, second in LEAKAGE_PAIRS:
        a, b = splits.get(first), splits.get(second)
        if a is None or b is None:
            continue
        a_ids, b_ids = a["id"].astype(str), b["id"].astype(str)
        shared_ids = b_ids[b_ids.isin(set(a_ids))]
        first_id_of = {}
        for text, id_ in zip(a["text"].fillna("").astype(str).map(leakage_key), a_ids):
            first_id_of.setdefault(text, id_)
        first_id_of.pop("", None)
        b_keys = b["text"].fillna("").astype(str).map(leakage_key)
        hits = b_keys.isin(set(first_id_of))
        examples = zip(b_keys[hits].head(LEAKAGE_EXAMPLES), b_ids[hits].head(LEAKAGE_EXAMPLES))
        report[f"{first}/{second}"] = {
            "rows": len(b),
            "shared_ids": len(shared_ids),
            "shared_id_examples": shared_ids.head(LEAKAGE_EXAMPLES).tolist(),
            "shared_texts": int(hits.sum()),
            "shared_text_examples": [[first_id_of[key], id_] for key, id_ in examples],
        }
    return report


def leakage_warnings(report: dict[str, dict]) -> list[str]:
    """One line per leak found in a :func:`leakage_report` (none when the splits are clean)."""
    lines = []
    for pair, found in report.items():
        first, second = pair.split("/")
        rows = found["rows"]
        if found["shared_ids"]:
            n = found["shared_ids"]
            lines.append(f"leakage: {n} of {rows} {second} ids ({n / rows:.1%}) are also "
                         f"{first} ids (e.g. {', '.join(found['shared_id_examples'])}): the "
                         "same examples in both, or ids unique only within a file")
        if found["shared_texts"]:
            n = found["shared_texts"]
            pairs = ", ".join(f"{s} = {f}" for f, s in found["shared_text_examples"])
            lines.append(f"leakage: {n} of {rows} {second} rows ({n / rows:.1%}) have a text "
                         f"also in {first} (e.g. {second} id = {first} id: {pairs})")
    return lines
