"""One example of a multi-label run, and annotating its label set.

Why here: the detail and annotate pages show the same per-label table (gold, the LFs'
votes, each model's probability, threshold and decision) and store label sets the way
the next run reads them (:meth:`labeling.gold.AnnotationStore.set_label_set`: the names
joined by ";", like the data files' gold); test annotations are stored but never used.
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from labeling.errors import LabelingError
from labeling.gold import ANY, AnnotationStore
from labeling.review.detail import example_text
from labeling.review.ml_project import APPLIES, DOES_NOT_APPLY, MultiLabelRun
from labeling.review.next_run import with_next_run
from labeling.review.project import annotation_key, stored_labels
from labeling.review.multilabel import VOTE_NAMES, set_names


# Keys that tick labels: 1-9, then the letters, then Shift+letter. Not C and R (Streamlit
# reserves them: rerun, clear cache), nor B and S (the annotate page's back and skip).
RESERVED_KEYS = "bcrs"
_LETTERS = [ch.upper() for ch in string.ascii_lowercase if ch not in RESERVED_KEYS]
LABEL_KEYS = [str(i) for i in range(1, 10)] + _LETTERS + [f"Shift+{ch}" for ch in _LETTERS]


def label_keys(n_labels: int) -> list[str | None]:
    """The keyboard shortcut of each label, in label order (None past the last key):
    every label of the 28-label GoEmotions task has one.

    >>> label_keys(12)[8:]
    ['9', 'A', 'D', 'E']
    """
    return [LABEL_KEYS[c] if c < len(LABEL_KEYS) else None for c in range(n_labels)]


def find_row(run: MultiLabelRun, split: str, example_id: str) -> int:
    ids = run.frames[split]["id"]
    hits = np.flatnonzero(ids.to_numpy() == str(example_id))
    if not len(hits):
        raise LabelingError(f"no example with id {example_id!r} in split {split}")
    return int(hits[0])


def votes_table(run: MultiLabelRun, split: str, row: int) -> pd.DataFrame:
    """Every LF's vote on this example: lf, the label it votes on, vote (1/0/-1 and name)."""
    votes = run.L[split][row]
    return pd.DataFrame({"lf": run.lf_names, "label": [run.labels[t] for t in run.targets],
                         "vote": votes, "meaning": [VOTE_NAMES[int(v)] for v in votes]})


def label_table(run: MultiLabelRun, split: str, row: int,
                annotation: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Per label: gold, your annotation, the LFs' votes (applies / does not apply counts),
    the label model's probability, threshold and decision, majority vote's decision and
    the end model's probability, threshold and decision (0/1; NaN where unknown)."""
    k = len(run.labels)
    gold = run.gold(split)
    lm_p, lm_t = run.label_model_proba(split)[row], run.label_model_thresholds
    end_t = run.end_thresholds
    table = pd.DataFrame({"label": run.labels})
    if gold is not None:
        table["gold"] = gold[row]
    if annotation is not None:
        table["annotation"] = [int(c in annotation) for c in range(k)]
    votes = run.L[split][row]
    table["lfs_applies"] = [int((votes[run.targets == c] == APPLIES).sum()) for c in range(k)]
    table["lfs_not"] = [int((votes[run.targets == c] == DOES_NOT_APPLY).sum())
                        for c in range(k)]
    table["label_model_p"] = lm_p.round(3)
    table["label_model_threshold"] = lm_t.round(3) if lm_t is not None else np.nan
    table["label_model"] = run.label_model_sets(split)[row]
    table["majority_vote"] = run.majority_vote_sets(split)[row]
    if run.end_proba is not None and end_t is not None:
        table["end_model_p"] = run.end_proba[split][row].round(3)
        table["end_model_threshold"] = end_t.round(3)
        table["end_model"] = run.end_sets(split)[row]
    return table


def summary(run: MultiLabelRun, split: str, row: int) -> dict[str, str]:
    """The example's label sets as text: gold, LFs (labels voted applies), label model,
    majority vote, end model (``—`` when unknown, ``∅`` when empty)."""
    labels = run.labels
    gold = run.gold(split)
    end = run.end_sets(split)
    lf = run.lf_applies(split)[row]
    return {"gold": set_names(np.flatnonzero(gold[row]), labels) if gold is not None else "—",
            "lfs": set_names(np.flatnonzero(lf), labels),
            "label_model": set_names(np.flatnonzero(run.label_model_sets(split)[row]), labels),
            "majority_vote": set_names(np.flatnonzero(run.majority_vote_sets(split)[row]),
                                       labels),
            "end_model": set_names(np.flatnonzero(end[row]), labels) if end is not None
            else "—"}


def current_set(store: AnnotationStore, run: MultiLabelRun, split: str,
                example_id: str) -> tuple[int, ...] | None:
    """The stored label set of this example, or None (a dev row the run moved from
    train: its train annotation, :func:`labeling.review.project.annotation_key`)."""
    return stored_labels(store, run, split, [str(example_id)],
                         read=store.label_sets_for).get(str(example_id))


def suggested_set(store: AnnotationStore, run: MultiLabelRun, split: str,
                  row: int) -> tuple[tuple[int, ...], str]:
    """What the checkboxes start from, and why: your annotation, else the label model's
    set, else (it decided none) nothing ticked."""
    example_id = run.frames[split]["id"].iloc[row]
    saved = current_set(store, run, split, example_id)
    if saved is not None:
        return saved, "your saved label set"
    predicted = tuple(int(c) for c in np.flatnonzero(run.label_model_sets(split)[row]))
    return predicted, "the label model's set (not saved yet)"


def save_set(store: AnnotationStore, run: MultiLabelRun, split: str, example_id: str,
             indices, annotator: str | None = None, expect=ANY) -> bool:
    """Store the label set (an empty one is refused); ``expect``: as for
    :meth:`AnnotationStore.set` (False: not written, the stored row changed)."""
    where, stored_id = annotation_key(run, split, str(example_id))
    return store.set_label_set(run.config.name, stored_id, indices, split=where,
                               labels=run.labels, annotator=annotator,
                               text=example_text(run, example_id, split), expect=expect)


def clear_set(store: AnnotationStore, run: MultiLabelRun, split: str, example_id: str,
              expect=ANY, annotator: str | None = None) -> bool:
    """Remove the example's stored label set (undo), recording that ``annotator``
    cleared it; ``expect``: as for ``save_set``."""
    return store.remove(run.config.name, *annotation_key(run, split, str(example_id)),
                        expect=expect, annotator=annotator)


def stored_record(store: AnnotationStore, run: MultiLabelRun, split: str,
                  example_id: str) -> dict | None:
    """Who stored the example's annotation and when (:meth:`AnnotationStore.record`)."""
    return store.record(run.config.name, *annotation_key(run, split, str(example_id)))


def annotations(store: AnnotationStore, run: MultiLabelRun, split: str) -> dict[str, tuple]:
    """Example id -> stored label set for ``split``'s examples."""
    return stored_labels(store, run, split, run.frames[split]["id"], read=store.label_sets_for)


def annotation_counts(store: AnnotationStore, run: MultiLabelRun) -> pd.DataFrame:
    """Per split and label: how many stored label sets hold the label; ``sets`` rows
    count the annotations themselves."""
    rows = []
    for split in run.splits:
        sets = list(annotations(store, run, split).values())
        rows.append({"split": split, "label": "sets", "count": len(sets)})
        rows += [{"split": split, "label": name, "count": sum(c in s for s in sets)}
                 for c, name in enumerate(run.labels)]
    return pd.DataFrame(rows)


def annotation_table(store: AnnotationStore, run: MultiLabelRun) -> pd.DataFrame:
    """The task's annotations, latest first: split, example id, label set, who, when,
    and what the next run does with each (:mod:`labeling.review.next_run`)."""
    table = with_next_run(store.table(run.config.name), store, run, multi_label=True)
    table = table.rename(columns={"label_name": "label_set", "label": "mask"})
    return table[["split", "example_id", "label_set", "mask", "annotator", "updated_at",
                  "next_run"]]
