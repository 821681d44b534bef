"""The per-example table every drill-down filters: text, gold, predictions, LF votes.

Why one table: the conflicts, slices and end-model views all show "these examples,
with every LF's vote, the gold label and the label-model probabilities"; building it
once keeps the columns (and their meaning) identical across views.

Votes are shown as label names; an abstain is ``ABSTAIN_MARK``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.analysis import ABSTAIN_MARK
from labeling.errors import LabelingError


def refuse_test_split(split: str) -> None:
    """The LF loop's views (``labeling show``, ``Session.examples``) read train and dev:
    an LF revised while looking at the test rows it gets wrong is tuned on test, and
    the final score no longer says how it does on new data."""
    if split == "test":
        raise LabelingError("the test split is for the final score (`labeling evaluate`, "
                            "`labeling report`); look at train or dev rows while writing LFs")


def vote_names(votes: np.ndarray, labels: list[str]) -> np.ndarray:
    """Class indices to label names, -1 to ``ABSTAIN_MARK``.

    >>> vote_names(np.array([1, -1, 0]), ["ham", "spam"]).tolist()
    ['spam', '·', 'ham']
    """
    names = np.array(list(labels) + [ABSTAIN_MARK], dtype=object)
    return names[np.where(np.asarray(votes) < 0, len(labels), votes)]


def example_table(run, split: str, end_model_pred: np.ndarray | None = None,
                  with_votes: bool = True) -> pd.DataFrame:
    """One row per example of ``split`` in data order: id, text, gold, label model and
    majority vote predictions, ``p_<label>`` (rounded to 3 digits), number of votes,
    the end model's prediction if given, and one column per LF (its vote)."""
    df = run.frames[split]
    probs = run.probs[split]
    L = run.L[split]
    labels = run.labels
    out = pd.DataFrame({"id": df["id"].to_numpy(), "text": df["text"].to_numpy()})
    if "label" in df:
        out["gold"] = vote_names(df["label"].to_numpy(), labels)
    out["label_model"] = vote_names(probs["label_model_pred"].to_numpy(), labels)
    out["majority_vote"] = vote_names(probs["majority_vote_pred"].to_numpy(), labels)
    if end_model_pred is not None:
        out["end_model"] = vote_names(np.asarray(end_model_pred), labels)
    for name in labels:
        out[f"p_{name}"] = probs[f"p_{name}"].to_numpy().round(3)
    out["votes"] = (L != -1).sum(axis=1)
    if with_votes:
        for j, name in enumerate(run.lf_names):
            out[name] = vote_names(L[:, j], labels)
    return out


def search(table: pd.DataFrame, query: str | None) -> pd.DataFrame:
    """Rows whose text contains ``query`` (case-insensitive, plain text, not a regex).

    >>> t = pd.DataFrame({"text": ["Check my CHANNEL", "nice song"]})
    >>> search(t, "channel")["text"].tolist()
    ['Check my CHANNEL']
    """
    if not query or not query.strip():
        return table
    mask = table["text"].str.contains(query.strip(), case=False, regex=False, na=False)
    return table[mask]


def filter_table(table: pd.DataFrame, query: str | None = None,
                 column_values: dict[str, list] | None = None) -> pd.DataFrame:
    """Text search plus "column in values" filters (an empty list means no filter)."""
    out = search(table, query)
    for column, values in (column_values or {}).items():
        if values and column in out:
            out = out[out[column].isin(values)]
    return out
