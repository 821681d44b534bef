"""The conflicts view: which LF pairs disagree, and on which examples.

Why pairs: snorkel's per-LF "conflicts" says an LF disagrees with *someone*; fixing an
LF needs to know with whom and on what text, so the view goes from the pairwise matrix
(:func:`labeling.analysis.pairwise_counts`) to the examples of one pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.analysis import pairwise_counts
from labeling.review.examples import example_table, search


def conflict_matrix(run, split: str = "train") -> pd.DataFrame:
    """m x m counts of examples where LFs i and j both vote and disagree (diagonal 0)."""
    _, conflicts = pairwise_counts(run.L[split])
    return pd.DataFrame(conflicts, index=run.lf_names, columns=run.lf_names)


def matrix_long(matrix: pd.DataFrame) -> pd.DataFrame:
    """The matrix as rows lf_a, lf_b, conflicts (for a heatmap)."""
    long = matrix.rename_axis("lf_a").reset_index().melt(id_vars="lf_a", var_name="lf_b",
                                                           value_name="conflicts")
    return long


def conflict_pairs(run, split: str = "train") -> pd.DataFrame:
    """Pairs (a before b in LF order) with at least one conflict, most conflicts first:
    lf_a, lf_b, overlaps, conflicts, conflict_share (conflicts / overlaps)."""
    overlaps, conflicts = pairwise_counts(run.L[split])
    i, j = np.triu_indices(len(run.lf_names), k=1)
    pairs = pd.DataFrame({"lf_a": np.array(run.lf_names)[i], "lf_b": np.array(run.lf_names)[j],
                          "overlaps": overlaps[i, j], "conflicts": conflicts[i, j]})
    pairs = pairs[pairs["conflicts"] > 0].copy()
    pairs["conflict_share"] = (pairs["conflicts"] / pairs["overlaps"]).round(3)
    return pairs.sort_values(["conflicts", "lf_a", "lf_b"], ascending=[False, True, True],
                             ignore_index=True)


def pair_label(a: str, b: str, conflicts: int | None = None) -> str:
    """The selectbox text of a pair; :func:`parse_pair_label` reads it back."""
    return f"{a} × {b}" + (f" ({conflicts})" if conflicts is not None else "")


def parse_pair_label(text: str) -> tuple[str, str]:
    """The two LF names of a :func:`pair_label`.

    >>> parse_pair_label("kw_a × re_b (12)")
    ('kw_a', 're_b')
    """
    a, rest = text.split(" × ", 1)
    return a, rest.rsplit(" (", 1)[0]


def disagreements(run, a: str, b: str, split: str = "train", query: str | None = None,
                  end_model_pred: np.ndarray | None = None) -> pd.DataFrame:
    """Examples of ``split`` where LFs ``a`` and ``b`` both vote and disagree, with every
    LF's vote, the gold label (dev/test), the label-model probabilities; ``query``
    filters by text. The two LFs' columns come right after the text."""
    names = run.lf_names
    for name in (a, b):
        if name not in names:
            raise KeyError(f"no LF named {name!r} in this run")
    L = run.L[split]
    va, vb = L[:, names.index(a)], L[:, names.index(b)]
    mask = (va != -1) & (vb != -1) & (va != vb)
    table = example_table(run, split, end_model_pred)[mask]
    first = ["id", "text", a, b]
    table = table[first + [c for c in table.columns if c not in first]]
    return search(table, query).reset_index(drop=True)
