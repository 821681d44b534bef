"""The slices view: uncovered, conflicting, unsure and label-model-wrong examples.

Why these four: they are where new LFs (uncovered), sharper LFs (conflicting), gold
labels (unsure) and LF fixes (label model != gold) pay off most. The masks come from
:func:`labeling.analysis.slices`; this module turns them into tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.analysis import slices
from labeling.review.examples import example_table

SLICES = {
    "uncovered": "every LF abstains",
    "conflicting": "at least two LFs vote different labels",
    "unsure": "the label model's top two probabilities are closer than the margin",
    "label_model_wrong": "the label model's prediction differs from the gold label",
}
DEFAULT_MARGIN = 0.2
# the Annotate page's queues: the slices, and every example of the split (the way to
# label a dev set straight through; before, only rows in one of the slices were offered)
QUEUES = {**SLICES, "all": "every example of the split, in data order"}


def slice_masks(run, split: str, margin: float = DEFAULT_MARGIN) -> dict[str, np.ndarray]:
    """Row masks of ``split`` by slice name (``label_model_wrong`` only with gold)."""
    return slices(run.L[split], run.proba(split), run.gold(split), unsure_margin=margin)


def slice_counts(run, margin: float = DEFAULT_MARGIN) -> pd.DataFrame:
    """Rows split x slice with the count and share; a slice needing gold is empty (None)
    on a split without it."""
    rows = []
    for split in run.splits:
        masks = slice_masks(run, split, margin)
        for name, meaning in SLICES.items():
            mask = masks.get(name)
            rows.append({"split": split, "slice": name, "meaning": meaning,
                         "count": None if mask is None else int(mask.sum()),
                         "share": None if mask is None else round(float(mask.mean()), 3)})
    return pd.DataFrame(rows)


def slice_ids(run, split: str, name: str, margin: float = DEFAULT_MARGIN) -> list[str]:
    """Example ids in the slice (or the :data:`QUEUES` ``all``), in data order (empty list
    when it does not apply)."""
    if name == "all":
        return run.frames[split]["id"].tolist()
    mask = slice_masks(run, split, margin).get(name)
    if mask is None:
        return []
    return run.frames[split]["id"][mask].tolist()


def queue_counts(run, split: str, margin: float = DEFAULT_MARGIN) -> dict[str, int | None]:
    """Rows of ``split`` in each of the Annotate page's :data:`QUEUES` (None: a slice
    needing gold on a split without it)."""
    masks = slice_masks(run, split, margin)
    return {name: len(run.frames[split]) if name == "all"
            else None if masks.get(name) is None else int(masks[name].sum())
            for name in QUEUES}


def first_with_rows(counts: dict[str, int | None]) -> str:
    """The first queue of ``counts`` holding a row (the first queue when none does): what
    the Annotate page opens on, so a prompt LF answering every row (no row uncovered)
    does not open it on an empty slice."""
    return next((name for name, n in counts.items() if n), next(iter(counts)))


def queue_choice(name: str, counts: dict[str, int | None]) -> str:
    """The slice picker's entry: name, rows, meaning."""
    n = counts.get(name)
    return f"{name} ({'needs gold' if n is None else f'{n} rows'}): {QUEUES[name]}"


def slice_table(run, split: str, name: str, margin: float = DEFAULT_MARGIN,
                end_model_pred: np.ndarray | None = None) -> pd.DataFrame | None:
    """The slice's examples (see :func:`labeling.review.examples.example_table`), or None
    when the slice needs gold labels the split lacks."""
    if name not in SLICES:
        raise KeyError(f"unknown slice {name!r}; one of {', '.join(SLICES)}")
    mask = slice_masks(run, split, margin).get(name)
    if mask is None:
        return None
    table = example_table(run, split, end_model_pred)
    margin_col = np.diff(np.sort(run.proba(split), axis=1)[:, -2:], axis=1)[:, 0].round(3)
    table.insert(2, "margin", margin_col)
    return table[mask].reset_index(drop=True)
