"""Working on a task step by step, in a notebook: the CLI's steps, in memory.

A :class:`Session` runs exactly the code ``labeling apply | fit | train | export`` runs
and writes the same artifacts to the run folder, so the app and the CLI see what the
notebook did. What it returns is for the LF loop: ``apply`` gives the label matrices,
``lf_summary`` a DataFrame, ``fit`` the dev scores (never test: tuning LFs on test
would make the final score meaningless), ``examples`` the rows an LF fires on, gets
wrong, or disagrees with another LF on. Only :meth:`Session.evaluate` shows test.

On a multi-label task (``multi_label = true``) each step runs the CLI's multi-label
step instead (:mod:`labeling.session_multilabel`; docs/multilabel.md).

Prompt LFs run inside the task's LLM runtime (its response cache and budget, from
``[llm]``), as in ``labeling run``. The README's notebook example (run as a doctest)
walks through every step.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from labeling import pipeline
from labeling import session_models as own
from labeling.session_sources import file_stamp, user_modules
from labeling import session_multilabel as multilabel
from labeling import suggest as lf_suggest
from labeling.apply import applied
from labeling.apply.row_labeler import fault_advice_for
from labeling.artifacts import (L_FILE, LABEL_MODEL_FILE, PROBS_FILE, check_step_order,
                                gold_digests, metrics_to_evaluate, read_label_matrices,
                                read_lf_summary, read_probs)
from labeling.errors import LabelingError
from labeling.export.folder import check_target
from labeling.files import run_folder_lock
from labeling.models import load as load_label_model
from labeling.multilabel_steps.common import read_probs as read_label_probs
from labeling.review.examples import example_table, refuse_test_split
from labeling.review.project import NoRunError, load_run
from labeling.suggest.show import frame as suggestion_frame

EXAMPLE_KINDS = ("fires", "wrong", "conflicts", "abstains")


@contextlib.contextmanager
def _notebook_words():
    """A step's error names the Session call to make (``call fit()``), not only the CLI
    command: "run `labeling fit` first" reads "call fit() (`labeling fit`) first", and
    an LF raising on a row names ``apply(fault_tolerant=True)``, not ``--fault-tolerant``."""
    try:
        yield
    except LabelingError as exc:
        if exc.args and isinstance(exc.args[0], str):
            text = re.sub(r"before `labeling (\w+)`", r"before \1()", exc.args[0])
            text = fault_advice_for(text, "notebook")  # an LF raised on a row
            exc.args = (re.sub(r"run `labeling (\w+)`( \(Session\.\w+\(\)\))?",
                               r"call \1() (`labeling \1`)", text),)
        raise


class Session:
    """A task loaded for step-by-step work.

    ``config``: a labeling.toml or its folder (default: ./labeling.toml). ``run_dir``
    overrides the config's ``output_dir`` (e.g. a scratch folder for experiments).
    ``holder``: how a step names itself in the run folder's lock (what a second writer
    is told is using it), ``{step}`` standing for the step.
    """

    def __init__(self, config: Path | str | None = None, run_dir: Path | str | None = None,
                 holder: str = "{step} (notebook)"):
        self.config_path = config
        self.holder = holder
        self.run_dir_override = Path(run_dir).resolve() if run_dir is not None else None
        self.task = self._load()
        self.matrices: dict[str, np.ndarray] | None = None

    def _load(self) -> pipeline.Task:
        task = pipeline.load_task(self.config_path)
        task.config = task.config.with_run_dir(self.run_dir_override)
        self._loaded = self._sources(task)
        return task

    @staticmethod
    def _sources(task) -> dict[str, int | None]:
        """Modification times of the config, the LF files, the task's own modules, the
        data files and the app's annotations (SQLite writes its -wal file first)."""
        config = task.config
        modules = [sys.modules[n].__file__ for n in user_modules(config.base_dir)
                   if n.split(".")[0] != "labeling"]  # a task in this repo's own folder
        data = [config.resolve(p) for p in (config.data.train, config.data.dev,
                                            config.data.test) if p]
        annotations = config.annotations_path
        return file_stamp([config.source, *map(config.resolve, config.lfs), *modules,
                           *data, annotations, f"{annotations}-wal"])

    def _fresh(self) -> None:
        """Reload when the config, an LF file, a task module, a data file or the
        annotations were saved since the load: a step never runs (or shows) the LFs or
        the gold as they were before an edit."""
        if self._sources(self.task) != self._loaded:
            self.reload()

    def _ready(self, step: str) -> None:
        """Stop ``step`` with one line when an earlier step it reads is missing or older
        than the step before it (an apply after the last fit: its probabilities are the
        old votes'), or when the task's LFs are not the ones last applied."""
        run = self.task.run_dir
        chain = [(L_FILE, "apply"), (PROBS_FILE, "fit")][
            :1 if step in ("lf_summary", "label_matrix") else 2]
        for name, before in chain:
            if not (run / name).is_file():
                raise NoRunError(f"{run / name}: not found; call {before}() before {step}()")
        with _notebook_words():
            check_step_order(run, chain, step)
            applied.check(self.task, step)

    def reload(self) -> "Session":
        """Re-read the config, the data and the LF modules (and the task's own helper
        modules they import), after an edit."""
        for name in user_modules(self.task.config.base_dir):
            del sys.modules[name]
        self.task = self._load()
        return self

    def __repr__(self) -> str:
        """One line for a notebook cell: the task, its LFs and labels, where it runs."""
        config = self.task.config
        kind = ", multi-label" if config.multi_label else ""
        return (f"Session({config.name!r}: {len(self.task.lfs)} LFs, {len(config.labels)} "
                f"labels{kind}; config {config.source}; run {self.task.run_dir})")

    @property
    def multi_label(self) -> bool:
        return self.task.config.multi_label

    @property
    def lf_names(self) -> list[str]:
        return [lf.name for lf in self.task.lfs]

    # --- the steps ---------------------------------------------------------------

    def apply(self, lfs: list[str] | None = None, progress: bool = False,
              **overrides) -> dict[str, np.ndarray]:
        """Apply the LFs (or only those named in ``lfs``, keeping the others' columns
        from the last apply) to every split; writes L.parquet. Returns {split: L}.
        An LF file saved since the load is reloaded first (as :meth:`reload`); one
        name may be given as a string. ``fault_tolerant=True``: an LF raising on a row
        abstains there (counted in the summary's ``faults``); ``overrides`` also take
        ``[apply]``'s engine, n_jobs, scheduler and cache."""
        self._fresh()
        if isinstance(lfs, str):  # one LF, not the characters of its name
            lfs = [lfs]
        with _notebook_words(), self.holding("apply"):
            if self.multi_label:
                self.matrices = multilabel.apply(self.task, lfs, progress, **overrides)
            else:
                self.matrices = pipeline.step_apply(self.task, progress=progress, only=lfs,
                                                    **overrides)
        return self.matrices

    def holding(self, step: str):
        """The run folder held while ``step`` writes it, as the CLI's commands do."""
        return run_folder_lock(self.task.run_dir, self.holder.format(step=step))

    def lf_summary(self) -> pd.DataFrame:
        """Per LF: polarity, coverage, overlaps, conflicts (train) and dev accuracy with
        its 95% interval (and learned accuracy once fitted). Multi-label: per LF its
        label, coverage and the dev precision/recall of its "applies" votes."""
        self._fresh()
        if self.multi_label:
            with _notebook_words():
                return multilabel.lf_summary(self.task)
        self._ready("lf_summary")
        with _notebook_words():
            read_label_matrices(self.task)  # the summary's rows are the data's now
        path = self.task.run_dir / pipeline.SUMMARY_FILE
        written = (pipeline.read_metrics(self.task.run_dir).get("gold_at_summary") or {}).get("dev")
        if written is not None and written != gold_digests(self.task).get("dev"):
            raise LabelingError(f"{path}: the dev gold changed since it was written (its dev "
                                "accuracies are the old gold's); call fit() again")
        return read_lf_summary(path)

    def fit(self, label_model=None) -> dict:
        """Fit the label model and majority vote; their dev scores (no test).
        ``label_model``: an unfitted model of yours in place of ``[label_model]``
        (:mod:`labeling.session_models`)."""
        self._fresh()
        choice = own.label_model_choice(label_model, self.task.config.cardinality,
                                        self.multi_label)
        with _notebook_words(), self.holding("fit"), own.configured(self.task,
                                                                     "label_model", choice):
            if self.multi_label:
                return multilabel.fit(self.task)
            metrics = pipeline.step_fit(self.task)
        return {key: metrics[key].get("dev", {}) | {"name": metrics[key].get("name")}
                for key in ("label_model", "majority_vote")}

    def train(self, end_model=None, params: dict | None = None) -> dict:
        """Train the end model (and the gold-only baseline); dev and CV scores (no test).
        ``end_model``/``params``: yours in place of ``[end_model]``, a function returning
        an unfitted estimator or the estimator (:mod:`labeling.session_models`)."""
        self._fresh()
        choice = own.end_model_choice(end_model, params, self.multi_label)
        with _notebook_words(), self.holding("train"), own.configured(self.task,
                                                                       "end_model", choice):
            self._ready("train")
            if self.multi_label:
                return multilabel.train(self.task)
            pipeline.step_train(self.task)
        metrics = pipeline.read_metrics(self.task.run_dir)
        section = metrics["end_model"]
        out = {k: section[k] for k in ("name", "label_mode", "cv_scores", "dev") if k in section}
        for key in ("gold_only", "gold_only_frozen"):  # the latter: a fit-once end model's
            section = metrics.get(key) or {}
            if section:
                out[key] = {k: section[k] for k in ("name", "cv", "pipeline_cv", "verdict",
                                                    "text") if k in section}
        return out

    def evaluate(self) -> pd.DataFrame:
        """The final scores on dev and test, one row per model: the only step that shows
        test. Look at it when the LFs are done, not while writing them. Multi-label:
        macro/micro F1 (per-label tables: ``session_multilabel.evaluate(task, True)``)."""
        self._fresh()
        if self.multi_label:
            with _notebook_words():
                end = multilabel._section(self.task, "fit").get("end_model")
        else:
            with _notebook_words():
                metrics = metrics_to_evaluate(self.task, pipeline.END_MODEL_FILE,
                                              pipeline.STALE_END_MODEL)
            end = metrics.get("end_model")
        self._ready("evaluate")
        if not end or end.get("stale"):
            raise LabelingError(f"{self.task.run_dir / pipeline.METRICS_FILE}: no end model "
                                "trained on the last fit; call train() before evaluate()")
        if self.multi_label:
            return multilabel.evaluate(self.task)
        rows = {}
        for key in ("majority_vote", "label_model", "end_model", "gold_only",
                    "gold_only_frozen"):
            for split in ("dev", "test"):
                for metric, value in ((metrics.get(key) or {}).get(split) or {}).items():
                    if isinstance(value, (int, float)):
                        rows.setdefault(key, {})[f"{split}_{metric}"] = value
        return pd.DataFrame.from_dict(rows, orient="index")

    def export(self, out: Path | str | None = None, force: bool = False) -> Path:
        """Export the end model (skops, ONNX, model card); returns the folder. An ``out``
        holding an earlier export is replaced only with ``force=True`` (as the CLI's
        ``--force``); the run's own model/ folder always is."""
        self._fresh()
        if out is not None:
            check_target(Path(out), self.task.run_dir / pipeline.MODEL_DIR, force)
        with _notebook_words(), self.holding("export"):
            if self.multi_label:
                return multilabel.export(self.task, out)
            return pipeline.step_export(self.task, Path(out) if out else None)

    # --- the run's arrays, for code of your own (snorkel's: docs/from_snorkel.md) -------

    def label_matrix(self, split: str = "train") -> np.ndarray:
        """The split's label matrix from the last apply (rows in the data's order,
        columns :attr:`lf_names`, -1 = abstain): what snorkel's
        ``PandasLFApplier(lfs).apply(df)`` returns. Works in a new kernel, no re-apply."""
        return self._run_array(split, "label_matrix",
                               lambda: read_label_matrices(self.task)[split])

    def probs(self, split: str = "train") -> np.ndarray:
        """The label model's probabilities from the last fit, ``n x k`` (columns in
        ``labels`` order; multi-label: each label's own probability): snorkel's
        ``label_model.predict_proba(L)``."""
        if self.multi_label:
            return self._run_array(split, "probs", lambda: read_label_probs(self.task, split))
        return self._run_array(split, "probs", lambda: read_probs(self.task, split)[
            [f"p_{name}" for name in self.task.config.labels]].to_numpy())

    def label_model(self):
        """The fitted label model (``labeling.models``: ``predict_proba(L)``,
        ``predict(L)``, ``score(L, y)``), as the last fit saved it."""
        self._fresh()
        if self.multi_label:
            raise LabelingError("a multi-label task fits one label model per label; use "
                                "probs() for their probabilities")
        self._ready("label_model")
        return load_label_model(self.task.run_dir / LABEL_MODEL_FILE)

    def _run_array(self, split: str, step: str, read) -> np.ndarray:
        self._fresh()
        if self.task.splits.get(split) is None:
            splits = [s for s, df in self.task.splits.items() if df is not None]
            raise LabelingError(f"the task has no {split!r} split (splits: {', '.join(splits)})")
        self._ready(step)
        with _notebook_words():
            return read()

    # --- looking at examples -----------------------------------------------------

    def examples(self, lf: str, kind: str = "fires", split: str = "dev",
                 other: str | None = None) -> pd.DataFrame:
        """The ``split`` rows where LF ``lf`` ``fires`` (votes), ``abstains``, is
        ``wrong`` (votes, and not the gold label) or ``conflicts`` (votes another label
        than ``other``, or than any other LF), with id, text, gold, label-model
        prediction and probabilities and every LF's vote. Needs a fitted run.
        Multi-label: votes read ``+joy``/``-joy``, gold and label model are label sets
        (:func:`labeling.session_multilabel.examples`)."""
        self._fresh()
        if other is not None and kind != "conflicts":
            raise LabelingError(f"other={other!r} is for kind='conflicts', not {kind!r}")
        if self.multi_label:
            self._ready("examples")
            with _notebook_words():
                return multilabel.examples(self.task, lf, kind, split, other)
        if lf not in self.lf_names:
            raise LabelingError(f"no LF named {lf!r}; the task's LFs: "
                                f"{', '.join(self.lf_names)}")
        self._ready("examples")
        with _notebook_words():
            return lf_examples(load_run(self.task.config.source, self.task.run_dir),
                               lf, kind, split, other)

    # --- LF suggestions (docs/suggest.md) --------------------------------------------

    def suggest(self, n: int = 10, label: str | None = None, source: str = "offline",
                embeddings: bool = True) -> pd.DataFrame:
        """Proposed LFs where the current ones are weakest, best first, scored on dev
        (never test), indexed by id: dev precision with its interval, coverage, conflicts,
        the label model's dev score with each added, examples. Needs a fitted run of the
        current LFs. ``source``: offline, llm (the task's runtime: cache, budget) or all."""
        self._fresh()  # an LF saved since: refused as changed, not scored as it was
        with _notebook_words(), lf_suggest.runtime_for(self.task, source) as runtime:
            result = lf_suggest.suggest_for_task(self.task, n, label, source, runtime,
                                                 embeddings)
        self.suggestion_notes = result.notes
        return suggestion_frame(result, self.task.config.labels)

    def accept_suggestion(self, proposal_id: str) -> str:
        """Append the proposal's LF to ``functions/<task>_suggested.py`` (loaded by the
        config from then on) and reload; returns the LF's name. Apply and fit next."""
        self._fresh()
        with _notebook_words():
            name, _ = lf_suggest.accept(self.task, proposal_id)
        self.reload()
        return name

    def reject_suggestion(self, proposal_id: str) -> None:
        """Never propose this one again."""
        with _notebook_words():
            lf_suggest.reject(self.task, proposal_id)


def lf_examples(run, lf: str, kind: str = "fires", split: str = "dev",
                other: str | None = None) -> pd.DataFrame:
    """:meth:`Session.examples` over a loaded run (``labeling.review.project.load_run``)."""
    if lf not in run.lf_names:
        raise LabelingError(f"no LF named {lf!r}; the task's LFs: {', '.join(run.lf_names)}")
    if kind not in EXAMPLE_KINDS:
        raise LabelingError(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, not {kind!r}")
    refuse_test_split(split)
    if split not in run.frames:
        raise LabelingError(f"the run has no {split} split (splits: {', '.join(run.frames)})")
    L = run.L[split]
    votes = L[:, run.lf_names.index(lf)]
    fires = votes != -1
    if kind == "fires":
        mask = fires
    elif kind == "abstains":
        mask = ~fires
    elif kind == "wrong":
        gold = run.gold(split)
        if gold is None:
            raise LabelingError(f"the {split} split has no gold labels: choose dev")
        mask = fires & (votes != gold)
    else:
        if other is not None and other not in run.lf_names:
            raise LabelingError(f"no LF named {other!r} (other); the task's LFs: "
                           f"{', '.join(run.lf_names)}")
        others = (L[:, [run.lf_names.index(other)]] if other is not None
                  else np.delete(L, run.lf_names.index(lf), axis=1))
        mask = fires & ((others != -1) & (others != votes[:, None])).any(axis=1)
    return example_table(run, split)[mask].reset_index(drop=True)
