"""``labeling dev``: re-apply and refit on every save of an LF module or the config.

The loop a user lives in: edit an LF, save, read one compact table of what changed.
It applies through the LF column cache (only edited LFs recompute), refits the label
model (never the end model), and shows dev numbers only: per LF coverage and dev
accuracy with its 95% interval and their change since the last save, the label model's
and majority vote's dev scores (and the label model's cross-validated dev score when
it is fit on dev), and how many dev rows the label model now labels differently. Test
is never shown here. An LF that raises, a syntax error or a bad config prints one line
and the loop keeps watching; Ctrl+C stops it. A multi-label task (``multi_label = true``)
gets its own tables, per LF and per label (:mod:`labeling.dev_loop_multilabel`).

Nothing shown is reused from an earlier save unless it was computed from the same
inputs: LF columns come from the cache keyed by each LF's fingerprint, and the label
model, ``auto``'s choice among its candidates included, is refit on every save whose
votes changed (a fit is reused only for identical votes, gold and parameters,
:mod:`labeling.models.fit_cache`). That full refit takes about half a second on the
bundled task since the F1 decision-bias grid stopped going through sklearn's checks and
the fits run on one BLAS thread, so there is no cheaper, possibly stale, shortcut.

Files are polled (a stat per file every ``interval`` seconds): no watcher dependency,
and the same on every file system.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from labeling import dev_loop_multilabel
from labeling.analysis import shown_dev_accuracy
from labeling.apply.row_labeler import fault_advice_for
from labeling.config import load_config
from labeling.dev_loop_multilabel import (  # noqa: F401 (MANY_LFS: read from here too)
    MANY_LFS, as_written, lfs_to_show, print_not_shown)
from labeling.dev_loop_multilabel import change as _delta
from labeling.dev_loop_multilabel import number as _num
from labeling.errors import LabelingError
from labeling.pipeline import read_metrics
from labeling.report import raised_on
from labeling.session import Session
from labeling.session_sources import user_modules

TABLE_DONE = "dev table"  # the line that ends each table (scripts wait for it)
COMPARED = ("coverage", "dev_correct", "dev_incorrect")  # what marks an LF changed


@dataclass
class Snapshot:
    """What one save produced: the LF table, the model scores and the dev predictions."""

    lfs: pd.DataFrame                      # index lf: coverage, dev_accuracy, low, high,
                                           # dev_correct, dev_incorrect
    scores: dict                           # label_model / majority_vote dev scores
    dev_predictions: pd.Series = field(default_factory=pd.Series)  # id -> label-model class
    faults: dict = field(default_factory=dict)  # LF -> (rows it raised on, the first one)


def take_snapshot(session: Session) -> Snapshot:
    session.apply()
    scores = session.fit()
    metrics = read_metrics(session.task.run_dir)
    section = metrics["label_model"]
    lfs = metrics.get("lfs", {})  # [apply] fault_tolerant: rows an LF raised on abstain
    faults = {name: (lfs["fault_counts"][name], first)
              for name, first in (lfs.get("first_faults") or {}).items()}
    chosen = section.get("chosen") or section.get("name")
    if isinstance(section.get("cv_scores"), dict) and chosen in section["cv_scores"]:
        scores["label_model"]["cv"] = section["cv_scores"][chosen]
    if chosen and chosen != section.get("name"):  # auto: the model it chose, on these votes
        scores["label_model"]["chosen"] = chosen
    summary = session.lf_summary()
    columns = [c for c in ("coverage", "dev_accuracy", "dev_accuracy_low", "dev_accuracy_high",
                           "dev_correct", "dev_incorrect") if c in summary]
    probs = pd.read_parquet(session.task.run_dir / "probs.parquet")
    dev = (probs.xs("dev", level="split")["label_model_pred"]
           if "dev" in probs.index.get_level_values("split") else pd.Series(dtype=int))
    return Snapshot(summary[columns], scores, dev, faults)


def render(current: Snapshot, previous: Snapshot | None, console: Console) -> None:
    """Print the LF table and the score lines, marking what changed since ``previous``."""
    if not isinstance(previous, Snapshot):
        previous = None  # the task was multi-label at the last save
    table = Table(title="LFs (coverage on train; accuracy on dev gold)", title_justify="left")
    for name, justify in (("lf", "left"), ("cov", "right"), ("Δcov", "right"),
                          ("dev acc", "right"), ("95% CI", "right"), ("Δacc", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    before = previous.lfs if previous is not None else None
    shown = lfs_to_show(current.lfs, before, COMPARED)  # many LFs: what this save changed
    for name, row in shown.iterrows():
        old = before.loc[name] if before is not None and name in before.index else None
        table.add_row(
            as_written(name), _num(row.get("coverage")),
            _delta(row.get("coverage"), None if old is None else old.get("coverage"))
            if previous is not None else "",
            _num(shown_dev_accuracy(row)),
            f"{_num(row.get('dev_accuracy_low'), 2)}-{_num(row.get('dev_accuracy_high'), 2)}",
            _delta(shown_dev_accuracy(row), None if old is None else shown_dev_accuracy(old))
            if previous is not None else "")
    if before is not None:
        for name in before.index.difference(current.lfs.index):
            table.add_row(as_written(name, "dim"), "", "removed", "", "", "")
    console.print(table)
    print_not_shown(shown, current.lfs, console)
    for name, (count, first) in current.faults.items():  # silent abstains otherwise
        console.print(f"faults: {raised_on(name, count)} (abstains there: [apply] "
                      f"fault_tolerant); first: {first}", markup=False, soft_wrap=True)
    if not any("accuracy" in current.scores.get(k, {}) for k in ("label_model", "majority_vote")):
        # no dev gold: the lines below would read "on dev: cv -" and "on dev: " (h121)
        name = current.scores.get("label_model", {}).get("name", "label model")
        chosen = current.scores.get("label_model", {}).get("chosen")
        console.print(f"label model ({name}{f': chose {chosen}' if chosen else ''}) and "
                      "majority vote: not scored, no dev gold labels (no data.dev, or no "
                      "label in it): label dev rows (data.dev, or in `labeling app`) for "
                      "dev accuracy and scores", markup=False, soft_wrap=True)
        return
    for key, title in (("label_model", "label model"), ("majority_vote", "majority vote")):
        score = current.scores.get(key, {})
        f1 = "f1" if "f1" in score else "macro_f1"  # k classes, no positive_label: macro
        shown = {"accuracy": "accuracy", f1: "macro-F1" if f1 == "macro_f1" else "f1"}
        parts = [f"{shown.get(m, m)} {_num(score[m])}" for m in (*shown, "cv") if m in score]
        old = previous.scores.get(key, {}) if previous is not None else {}
        changes = [f"{shown[m]} {_delta(score[m], old.get(m))}" for m in shown
                   if m in score and m in old and _delta(score[m], old.get(m))]
        name = score.get("name", key)
        if score.get("chosen"):  # refit on every save, so the choice is this save's
            name += f": chose {score['chosen']}"
            if old.get("chosen") and old["chosen"] != score["chosen"]:
                changes.insert(0, f"was {old['chosen']}")
        # a label model fit on the dev gold (weighted vote, Dawid-Skene + dev) is scored on
        # the rows it learned from, as `labeling fit` marks it; cv is the held-out figure
        where = "dev (in-sample: fit on these labels)" if score.get("in_sample") else "dev"
        # markup=False: rich took "[accuracy +0.012]" for a style tag and printed nothing;
        # soft_wrap: one line also at a pipe's 80 columns (a script reads it whole)
        console.print(f"{title} ({name}) on {where}: " + ", ".join(parts)
                      + (f"  [{'; '.join(changes)}]" if changes else ""), markup=False,
                      soft_wrap=True)
    if previous is not None and len(previous.dev_predictions):
        common = current.dev_predictions.index.intersection(previous.dev_predictions.index)
        changed = int((current.dev_predictions[common] != previous.dev_predictions[common]).sum())
        console.print(f"dev rows whose label-model label changed: {changed}")


def watched_files(session: Session | None, config: Path) -> list[Path]:
    """The config, the LF modules it names (read from the config before they are
    loaded, so an edit during a load is never missed), the task's own modules they
    import, and the data files and the app's annotations (a gold label corrected in
    dev.csv or in the app changes the dev table: SQLite writes the -wal file first)."""
    files = {config}
    try:
        cfg = load_config(config)
        files |= {cfg.resolve(entry) for entry in cfg.lfs if entry.endswith(".py")}
        files |= {cfg.resolve(p) for p in (cfg.data.train, cfg.data.dev, cfg.data.test) if p}
        files |= {cfg.annotations_path, cfg.annotations_path.with_name(
            cfg.annotations_path.name + "-wal")}
    except LabelingError:
        pass  # a broken config: watch it until it is fixed
    if session is not None:
        for name in user_modules(session.task.config.base_dir):
            path = getattr(sys.modules.get(name), "__file__", None)
            if path and path.endswith(".py") and Path(path).is_file():
                files.add(Path(path))
    return sorted(files)


def _stamp(files: list[Path]) -> dict:
    out = {}
    for path in files:
        try:
            stat = path.stat()
            out[str(path)] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            out[str(path)] = None
    return out


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, (LabelingError, SyntaxError)):
        # an LF raising on a row: the loop's words, from the notebook's (a single-label
        # task's steps run through Session) or the CLI's (a multi-label task's)
        return fault_advice_for(f"error: {exc}", "dev")
    where = traceback.extract_tb(exc.__traceback__)[-1:]  # the LF's own line, usually
    at = f" ({where[0].filename}:{where[0].lineno})" if where else ""
    return f"error: {type(exc).__name__}: {exc}{at}"


def watch(config: Path | str | None = None, interval: float = 0.3,
          console: Console | None = None, max_rounds: int | None = None,
          run_dir: Path | str | None = None) -> int:
    """Run the loop until Ctrl+C (or ``max_rounds`` tables/errors, for tests); ``run_dir``
    (``--run-dir``, relative to the current folder) instead of the config's output_dir."""
    console = console or Console(highlight=False)
    config = Path(config or "labeling.toml")
    config = (config / "labeling.toml" if config.is_dir() else config).resolve()
    if not config.is_file():  # a wrong folder: nothing to watch, as other commands stop
        load_config(config)  # its one-line error
    session: Session | None = None
    previous: Snapshot | None = None
    seen: dict | None = None
    rounds = 0
    try:
        while max_rounds is None or rounds < max_rounds:
            files = watched_files(session, config)
            stamp = _stamp(files)
            if stamp != seen:
                rounds += 1
                started = time.perf_counter()
                try:
                    session = (Session(config, run_dir, holder="dev ({step})")
                               if session is None else session.reload())
                    if session.task.config.multi_label:  # one label per LF, label sets
                        with session.holding("apply and fit"):  # as Session's steps do
                            current = dev_loop_multilabel.take_snapshot(session.task)
                        dev_loop_multilabel.render(current, previous, console)
                    else:
                        current = take_snapshot(session)
                        render(current, previous, console)
                    previous = current
                    outcome = ""
                except Exception as exc:  # noqa: BLE001 -- any error in user code: show it, keep watching
                    console.print(_error_line(exc), markup=False, soft_wrap=True)  # one line
                    outcome = " (error)"
                # files this load found (a new helper import): stamped now; the others
                # keep their stamp from before the load, so a save during it is not lost
                seen = _stamp(watched_files(session, config)) | stamp
                console.print(f"[dim]{TABLE_DONE}{outcome} in "
                              f"{time.perf_counter() - started:.1f} s; watching "
                              f"{sum(v is not None for v in seen.values())} files "
                              "(Ctrl+C to stop)[/]")  # the ones there: not annotations yet
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")
    return 0
