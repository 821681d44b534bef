"""Human labels given in the app: SQLite, one row per (task, split, example id), written at once.

Why this design: an annotation is committed the moment its button is clicked (nothing
lost on a reload or crash); ``INSERT ... ON CONFLICT DO UPDATE`` on the (task, split,
example_id) key means two browser tabs labeling different examples never overwrite
each other, and the same example keeps its latest label (``updated_at``); WAL lets
the app read while another session writes. A connection per operation: Streamlit runs
each session on its own thread.

Ids are unique only within a split (row numbers are common ids), so the split is part
of the key: labeling test row ``7`` never touches dev row ``7``.

The next run uses train and dev annotations as dev gold (:func:`valid_gold`,
:func:`apply_gold`); test annotations are kept but never used, so nothing learned from a
test row can reach training or model choice.

Multi-label tasks store a label set in the same row: ``label_name`` holds its names
joined by ";" as in the data files (``joy;surprise``) and ``label`` their bit mask
(:func:`label_set_record`); the next run reads the names (``valid_gold(...,
multi_label=True)``) as a sorted tuple of class indices, the form
:func:`labeling.data.label_sets` gives the data files' gold.

>>> import tempfile, pathlib
>>> store = AnnotationStore(pathlib.Path(tempfile.mkdtemp()) / "a.sqlite")
>>> store.set("t", "x1", 1, split="train", label_name="spam")
True
>>> store.set("t", "x1", 0, split="train", label_name="ham")
True
>>> store.set("t", "x1", 1, split="test", label_name="spam")
True
>>> store.gold_for("t", "train", ["x1", "x2"], ["ham", "spam"])
{'x1': 0}

Single-label annotations are read by the label name recorded with them, so reordering the
task's labels keeps each annotation on its label; an annotation naming a label the task
no longer has is ignored, not guessed (:func:`single_label_index`):

>>> store.gold_for("t", "train", ["x1"], ["spam", "ham"])
{'x1': 1}
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path

import pandas as pd

from labeling.data import LABEL_SET_SEPARATOR
from labeling.errors import DataError, LabelingError
from labeling.gold_io import (  # noqa: F401 (COLUMNS, text_digest, label_set_record: from here)
    ANY, CLEARED, COLUMNS, UNCLEAR, UPSERT, label_set_record, open_to_read, parse_label_set,
    prepare, record_clear, single_label_index, store_problem, stored_clear, stored_record,
    text_digest, upsert_values)

USABLE_SPLITS = ("train", "dev")  # test annotations are stored, never used as gold
BUSY_SECONDS = 10  # how long a write waits for another writer of the store


class AnnotationStoreError(LabelingError):
    """The annotation store cannot be read or written (locked by another writer past the
    busy timeout, read-only, disk full, damaged): one line naming it and saying which
    (:func:`labeling.gold_io.store_problem`), shown instead of a traceback."""


class AnnotationStore:
    """Annotations in a SQLite file (created on first use, with its folder)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._reported(writing=False), closing(self._connect()) as db:
            prepare(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_SECONDS)
        db.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        return db

    @contextmanager
    def _reported(self, writing: bool):
        """An SQLite error about the file as one line naming it and saying what it is
        (:func:`store_problem`: only a lock held past the busy timeout is "busy")."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if (why := store_problem(exc, BUSY_SECONDS, writing)) is None:
                raise
            raise AnnotationStoreError(f"{self.path}: {why}") from None

    @contextmanager
    def _read(self):
        """A connection for reading, also of a store this user cannot write
        (:func:`open_to_read`; errors: :meth:`_reported`)."""
        with self._reported(writing=False), closing(open_to_read(self._connect,
                                                                 self.path)) as db:
            yield db

    @contextmanager
    def _transaction(self):
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends,
        rolled back (nothing written) when it raises. A store SQLite cannot write is one
        line naming it (:class:`AnnotationStoreError`), which the pages show as a note."""
        with self._reported(writing=True), closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(CLEARED)  # a store of older code gets it on its first write
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def set(self, task: str, example_id: str, label: int, *, split: str,
            label_name: str | None = None, annotator: str | None = None,
            text: str | None = None, expect=ANY) -> bool:
        """Insert or replace the label of one example of ``split``; committed on return.
        ``text``: the example's text, recorded as :func:`text_digest` so that the next
        run does not apply the label to another text under the same id. ``expect``: the
        :meth:`record` (or None) the caller checked; the write happens only if the stored
        row is still that one, checked and written in one transaction (False: not written)."""
        with self._transaction() as db:
            if expect is not ANY and stored_record(db, task, split, example_id) != expect:
                return False
            db.execute(UPSERT, upsert_values(task, example_id, label, split, label_name,
                                        annotator, text))
            db.execute(UNCLEAR, (task, split, str(example_id)))
        return True

    def set_many(self, task: str, rows, merge=None) -> int:
        """:meth:`set` for many rows (dicts of its arguments: example_id, label, split,
        label_name, annotator, text) in one transaction: all are written or, when one
        fails (or the process dies), none. Returns how many. ``merge(row, stored)``:
        called in the transaction with a copy of each row (``rows`` are left as they are)
        and the example's :meth:`record`, or when its label was cleared the clear's
        (:func:`stored_clear`: label_name None, ``cleared`` True), or None; returns the
        row to write or None to leave the stored one (an import does not revert a label
        given, or cleared, in the app since the file was downloaded)."""
        with self._transaction() as db:
            rows = [dict(row) for row in rows]
            if merge is not None:
                rows = [kept for row in rows if (kept := merge(row, stored_record(
                    db, task, row["split"], row["example_id"]) or stored_clear(
                    db, task, row["split"], row["example_id"]))) is not None]
            cursor = db.executemany(UPSERT, (upsert_values(task, **row) for row in rows))
            db.executemany(UNCLEAR, ((task, row["split"], str(row["example_id"]))
                                     for row in rows))
        return max(cursor.rowcount, 0)

    def set_label_set(self, task: str, example_id: str, indices, *, split: str,
                      labels: list[str], annotator: str | None = None,
                      text: str | None = None, expect=ANY) -> bool:
        """Store a multi-label annotation (:func:`label_set_record`) as :meth:`set` does."""
        mask, names = label_set_record(indices, labels)
        return self.set(task, example_id, mask, split=split, label_name=names,
                        annotator=annotator, text=text, expect=expect)

    def _rows(self, task: str, split: str, ids, texts: dict | None):
        """(example id, label, label_name) of those of ``ids`` annotated in ``split``; with
        ``texts`` (id -> the example's text now) an annotation given to another text under
        the id (its recorded digest differs) is left out, as the next run leaves it out
        (:func:`valid_gold`: ``text_changed``)."""
        ids = [str(i) for i in ids]
        texts = texts or {}
        with self._read() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for example_id, k, name, digest in db.execute(
                        f"SELECT example_id, label, label_name, text_sha FROM annotations WHERE"
                        f" task = ? AND split = ? AND example_id IN ({marks})",
                        [task, split, *chunk]):
                    if (digest is None or example_id not in texts
                            or text_digest(texts[example_id]) == digest):
                        yield example_id, k, name

    def label_sets_for(self, task: str, split: str, ids, labels: list[str],
                       texts: dict | None = None) -> dict[str, tuple[int, ...]]:
        """Example id -> label-index tuple for those of ``ids`` in ``split`` annotated with
        a label set of ``labels`` (as the next run reads them; ``texts``: see ``_rows``)."""
        return {example_id: parsed for example_id, _, name in self._rows(task, split, ids, texts)
                if (parsed := parse_label_set(name, labels)) is not None}

    def remove(self, task: str, split: str, example_id: str, expect=ANY,
               annotator: str | None = None) -> bool:
        """Delete the example's annotation (``expect``: as for :meth:`set`), recording
        when and by whom (:func:`record_clear`) so that an import of an older file does
        not put it back."""
        with self._transaction() as db:
            if expect is not ANY and stored_record(db, task, split, example_id) != expect:
                return False
            if db.execute("DELETE FROM annotations WHERE task = ? AND split = ? AND"
                          " example_id = ?", (task, split, str(example_id))).rowcount:
                record_clear(db, task, split, example_id, annotator)
        return True

    def rename_label(self, task: str, old: str, new: str) -> int:
        """Make the annotations naming label ``old`` name ``new`` (a label renamed in
        labeling.toml: they were ignored from then on); in a label set, that one name.
        Returns how many annotations changed. Reads go by name, so ``label`` is left."""
        with self._transaction() as db:
            rows = db.execute("SELECT split, example_id, label_name FROM annotations WHERE"
                              " task = ?", (task,)).fetchall()
            changed = [(LABEL_SET_SEPARATOR.join(dict.fromkeys(new if n == old else n
                                                               for n in names)), split, i)
                       for split, i, name in rows
                       if old in (names := [n.strip() for n in
                                            (name or "").split(LABEL_SET_SEPARATOR)])]
            db.executemany("UPDATE annotations SET label_name = ? WHERE task = ? AND split = ?"
                           " AND example_id = ?", [(n, task, s, i) for n, s, i in changed])
        return len(changed)

    def get(self, task: str, split: str, example_id: str, labels: list[str],
            text: str | None = None) -> int | None:
        texts = None if text is None else {str(example_id): text}
        return self.gold_for(task, split, [example_id], labels, texts).get(str(example_id))

    def gold_for(self, task: str, split: str, ids, labels: list[str],
                 texts: dict | None = None) -> dict[str, int]:
        """Example id -> index in ``labels`` for those of ``ids`` in ``split`` annotated with
        one of ``labels`` (:func:`single_label_index`; ``texts``: see ``_rows``)."""
        return {example_id: index for example_id, k, name in self._rows(task, split, ids, texts)
                if (index := single_label_index(k, name, labels)) is not None}

    def record(self, task: str, split: str, example_id: str) -> dict | None:
        """The stored row of one example (label_name, annotator, updated_at, text_sha),
        whatever it names; None when it has none. Who gave a label and when."""
        with self._read() as db:
            return stored_record(db, task, split, example_id)

    def table(self, task: str) -> pd.DataFrame:
        """Every annotation of ``task``, latest first."""
        with self._read() as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM annotations WHERE task = ?"
                              " ORDER BY updated_at DESC", (task,)).fetchall()
        return pd.DataFrame(rows, columns=COLUMNS)

    def counts(self, task: str, labels: list[str]) -> pd.DataFrame:
        """Annotations per label, read by name as the next run reads them (every label
        listed, zero included; annotations of labels the task no longer has not counted)."""
        with self._read() as db:
            rows = db.execute("SELECT label, label_name FROM annotations WHERE task = ?",
                              (task,)).fetchall()
        indices = [single_label_index(k, name, labels) for k, name in rows]
        return pd.DataFrame({"label": labels,
                             "count": [indices.count(k) for k in range(len(labels))]})


def valid_gold(store: "AnnotationStore | None", task: str, labels: list[str],
               multi_label: bool = False, splits: dict | None = None,
               ) -> tuple[dict[str, dict], dict[str, int]]:
    """``({split: {example id: class index}}, skipped)`` for the train and dev
    annotations that name one of the task's labels, read by name
    (:func:`single_label_index`: a reordering of the labels keeps each on its label).
    ``skipped`` counts the rest: ``ignored`` (a label the task no longer has, or out of
    range), ``text_changed`` (given to another text than the one its id names in
    ``splits`` now: a data file edited since, e.g. rows inserted where ids are row
    numbers) and ``test_not_used`` (test annotations, held out by design).

    ``multi_label``: the values are label sets (sorted index tuples) read from the
    stored names (:func:`parse_label_set`); a name that is not a label is ignored."""
    gold: dict[str, dict[str, int]] = {split: {} for split in USABLE_SPLITS}
    skipped = {"ignored": 0, "text_changed": 0, "test_not_used": 0}
    for split, example_id, verdict, value in _verdicts(store, task, labels, multi_label, splits):
        if verdict == "used":
            gold[split][example_id] = value
        else:
            skipped[verdict] += 1
    return gold, skipped


def _verdicts(store, task: str, labels: list[str], multi_label: bool, splits: dict | None):
    """(split, example id, verdict, gold value) for each stored annotation of ``task``: the
    verdict is ``used`` or why the next run skips it (:func:`valid_gold`)."""
    if store is None or not store.path.is_file():
        return
    with store._read() as db:
        rows = db.execute("SELECT split, example_id, label, label_name, text_sha FROM"
                          " annotations WHERE task = ?", (task,)).fetchall()
    texts = {s: dict(zip(df["id"], df["text"])) for s, df in (splits or {}).items()
             if s in USABLE_SPLITS and df is not None}
    for split, example_id, k, name, digest in rows:
        if split == "test":
            yield split, example_id, "test_not_used", None
        elif (digest is not None and example_id in texts.get(split, {})
              and text_digest(texts[split][example_id]) != digest):
            yield split, example_id, "text_changed", None
        elif split in USABLE_SPLITS and (value := parse_label_set(name, labels) if multi_label
                                         else single_label_index(k, name, labels)) is not None:
            yield split, example_id, "used", value
        else:
            yield split, example_id, "ignored", None


def next_run_verdicts(store: "AnnotationStore", task: str, labels: list[str],
                      multi_label: bool = False, splits: dict | None = None) -> dict:
    """(split, example id) -> what the next run does with that annotation: ``used``, or
    ``ignored`` / ``text_changed`` / ``test_not_used`` as :func:`valid_gold` counts them
    (``splits``: the data files as the next run reads them)."""
    return {(split, example_id): verdict for split, example_id, verdict, _
            in _verdicts(store, task, labels, multi_label, splits)}


class AnnotationRecordError(DataError, ValueError):
    """A record of annotations (a run's ``annotations_used.json``) that cannot be applied:
    the CLI and the app print it as one line (a ValueError too, as it was raised before)."""


def apply_gold(splits: dict, gold: dict[str, dict[str, int]]) -> tuple[dict, dict]:
    """Splits with ``gold`` (from :func:`valid_gold`) as dev gold, and counts of what moved.

    Annotated dev rows take the annotation as their label (a reviewer's correction);
    annotated train rows move to the end of dev with their annotation (and leave train,
    so no example is both trained on and scored). A moved row whose id a dev row already
    has enters dev as ``train:<id>`` (ids are unique only within a split). Test is never
    touched, whatever ``gold`` holds. Runs record the ``gold`` they applied, and the app
    applies that same record, so the app's splits always match the run's whatever was
    annotated since.
    """
    if any(not isinstance(v, dict) for v in gold.values()):
        raise AnnotationRecordError(
            "the run's annotations_used.json records annotations as {id: label}, as runs "
            "did before they were keyed by split; run `labeling apply` again")
    unknown = set(gold) - set(USABLE_SPLITS)
    if unknown:
        raise AnnotationRecordError(f"annotations of split(s) {sorted(unknown)} cannot be "
                                    "used as gold")
    out = dict(splits)
    report = {"dev_overridden": 0, "moved_from_train": 0, "renamed_on_move": 0}
    dev, train = out.get("dev"), out.get("train")
    dev_gold, train_gold = gold.get("dev", {}), gold.get("train", {})
    if dev is not None and dev_gold:
        labels = [dev_gold.get(i, g) for i, g in zip(dev["id"], dev["label"])]
        report["dev_overridden"] = int(sum(a != g for a, g in zip(labels, dev["label"])))
        dev = dev.assign(label=labels)
    if train is not None and train_gold:
        annotated = train["id"].isin(train_gold.keys())
        moved = train[annotated].copy()
        if len(moved):
            # class indices stay int64; label sets (multi-label) stay tuples
            values = [train_gold[i] for i in moved["id"]]
            moved["label"] = pd.Series(values, index=moved.index,
                                       dtype=object if isinstance(values[0], tuple)
                                       else "int64")
            if dev is not None:
                taken = set(dev["id"])
                clash = moved["id"].isin(taken)
                renamed = []
                for row_id in moved["id"]:
                    while row_id in taken:  # dev may hold a "train:<id>" of its own
                        row_id = f"train:{row_id}"
                    taken.add(row_id)
                    renamed.append(row_id)
                moved["id"] = renamed
                report["renamed_on_move"] = int(clash.sum())
            out["train"] = train[~annotated].reset_index(drop=True)
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
    skipped annotations."""
    gold, skipped = valid_gold(store, task, labels, splits=splits)
    out, report = apply_gold(splits, gold)
    return out, {**report, **skipped}
