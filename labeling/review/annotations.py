"""Human labels given in the app: SQLite, one row per (task, example id), written at once.

Why this design: an annotation is committed the moment its button is clicked (nothing
lost on a reload or crash); ``INSERT ... ON CONFLICT DO UPDATE`` on the (task,
example_id) key means two browser tabs labeling different examples never overwrite
each other, and the same example keeps its latest label (``updated_at``); WAL lets
the app read while another session writes. A connection per operation: Streamlit runs
each session on its own thread.

The next run uses them as dev gold via :meth:`AnnotationStore.gold_for`.

>>> import tempfile, pathlib
>>> store = AnnotationStore(pathlib.Path(tempfile.mkdtemp()) / "a.sqlite")
>>> store.set("t", "x1", 1, label_name="spam", split="train")
>>> store.set("t", "x1", 0, label_name="ham", split="train")
>>> store.gold_for("t", ["x1", "x2"])
{'x1': 0}
"""

from __future__ import annotations

import io
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    task TEXT NOT NULL,
    example_id TEXT NOT NULL,
    split TEXT,                 -- where the example came from (train, dev, test)
    label INTEGER NOT NULL,     -- class index in the task's labels
    label_name TEXT,            -- the label's name when it was given (a check on reorderings)
    annotator TEXT,
    updated_at REAL NOT NULL,   -- unix time of the latest change
    PRIMARY KEY (task, example_id)
)
"""
COLUMNS = ["task", "example_id", "split", "label", "label_name", "annotator", "updated_at"]


class AnnotationStore:
    """Annotations in a SQLite file (created on first use, with its folder)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=10)
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def set(self, task: str, example_id: str, label: int, *, label_name: str | None = None,
            split: str | None = None, annotator: str | None = None) -> None:
        """Insert or replace the label of one example; committed on return."""
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO annotations (task, example_id, split, label, label_name, annotator,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task, example_id) DO"
                " UPDATE SET label = excluded.label, label_name = excluded.label_name,"
                " split = COALESCE(excluded.split, annotations.split),"
                " annotator = excluded.annotator, updated_at = excluded.updated_at",
                (task, str(example_id), split, int(label), label_name, annotator, time.time()))

    def remove(self, task: str, example_id: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM annotations WHERE task = ? AND example_id = ?",
                       (task, str(example_id)))

    def get(self, task: str, example_id: str) -> int | None:
        return self.gold_for(task, [example_id]).get(str(example_id))

    def gold_for(self, task: str, ids) -> dict[str, int]:
        """Example id -> label index for those of ``ids`` that were annotated."""
        ids = [str(i) for i in ids]
        out: dict[str, int] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                out.update(db.execute(f"SELECT example_id, label FROM annotations WHERE task = ?"
                                      f" AND example_id IN ({marks})", [task, *chunk]).fetchall())
        return out

    def table(self, task: str) -> pd.DataFrame:
        """Every annotation of ``task``, latest first."""
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM annotations WHERE task = ?"
                              " ORDER BY updated_at DESC", (task,)).fetchall()
        return pd.DataFrame(rows, columns=COLUMNS)

    def counts(self, task: str, labels: list[str]) -> pd.DataFrame:
        """Annotations per label (every label listed, zero included) and split."""
        table = self.table(task)
        out = pd.DataFrame({"label": labels,
                            "count": [int((table["label"] == k).sum()) for k in range(len(labels))]})
        return out

    def to_csv(self, task: str) -> bytes:
        """The task's annotations as CSV (for ``st.download_button``)."""
        buffer = io.StringIO()
        table = self.table(task)
        table["updated_at"] = pd.to_datetime(table["updated_at"], unit="s", utc=True)
        table.to_csv(buffer, index=False)
        return buffer.getvalue().encode("utf-8")


def valid_gold(store: "AnnotationStore | None", task: str, labels: list[str]) -> tuple[dict, int]:
    """``({example id: class index}, ignored)``: the task's annotations whose label index
    is in range and whose stored label name still matches the task's labels."""
    if store is None or not store.path.is_file():
        return {}, 0
    with closing(store._connect()) as db:
        rows = db.execute("SELECT example_id, label, label_name FROM annotations WHERE task = ?",
                          (task,)).fetchall()
    gold = {i: int(k) for i, k, name in rows
            if 0 <= int(k) < len(labels) and name in (None, labels[int(k)])}
    return gold, len(rows) - len(gold)


def apply_gold(splits: dict, gold: dict[str, int]) -> tuple[dict, dict]:
    """Splits with ``gold`` as dev gold, and counts of what moved.

    Annotated dev rows take the annotation as their label (a reviewer's correction);
    annotated train rows move to the end of dev with their annotation (and leave train,
    so no example is both trained on and scored); test is never touched (held out).
    Runs record the ``gold`` they applied, and the app applies that same record, so the
    app's splits always match the run's whatever was annotated since.
    """
    import pandas as pd

    out = dict(splits)
    report = {"dev_overridden": 0, "moved_from_train": 0}
    dev, train = out.get("dev"), out.get("train")
    if dev is not None:
        labels = [gold.get(i, g) for i, g in zip(dev["id"], dev["label"])]
        report["dev_overridden"] = int(sum(a != g for a, g in zip(labels, dev["label"])))
        dev = dev.assign(label=labels)
    if train is not None and gold:
        moved = train[train["id"].isin(gold.keys())].copy()
        if len(moved):
            moved["label"] = moved["id"].map(gold).astype("int64")
            out["train"] = train[~train["id"].isin(gold.keys())].reset_index(drop=True)
            columns = [c for c in moved.columns if dev is None or c in dev.columns or c == "label"]
            dev = moved[columns].reset_index(drop=True) if dev is None else pd.concat(
                [dev, moved[columns]], ignore_index=True)
            report["moved_from_train"] = len(moved)
    if dev is not None:
        out["dev"] = dev
    return out, report


def merge_as_dev_gold(splits: dict, task: str, labels: list[str],
                      store: "AnnotationStore | None") -> tuple[dict, dict]:
    """:func:`apply_gold` with the store's :func:`valid_gold`; the report also counts
    ignored annotations."""
    gold, ignored = valid_gold(store, task, labels)
    out, report = apply_gold(splits, gold)
    return out, {**report, "ignored": ignored}
