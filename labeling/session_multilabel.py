"""The notebook API's steps on a multi-label task (``multi_label = true``; docs/multilabel.md).

:class:`labeling.session.Session` calls these when its task is multi-label; each runs the
CLI's multi-label step (:mod:`labeling.multilabel_steps`) and writes the same artifacts,
so ``labeling show``, ``labeling dev`` and the app see what the notebook did. What differs
from the single-label session is what a multi-label LF is (it votes on one label: 1 it
applies, 0 it does not, -1 abstain) and that gold is a set of labels per row:

- ``lf_summary``: per LF its target label, train coverage/overlaps/conflicts with LFs on
  the same label, and the dev precision and recall of its "applies" votes;
- ``fit``: per model (label model, majority vote) dev macro and micro F1 and a per-label
  table; ``train``: the end model's and the gold-only twin's dev CV F1 per label;
- ``examples``: the rows of :func:`labeling.review.ml_show.lf_examples` (what ``labeling
  show`` lists) with every LF's vote and every label's label-model probability.

Test appears only in :func:`evaluate`, as in the single-label session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labeling import multilabel_steps
from labeling.apply import applied
from labeling.artifacts import _require, check_gold_unchanged, gold_digests, read_metrics
from labeling.errors import LabelingError
from labeling.review import ml_show
from labeling.review.ml_project import ABSTAIN, APPLIES, load_multilabel_run

# metrics.json ``multi_label.scores`` keys -> the session's model names (as single-label)
MODEL_NAMES = {"label_model_mv": "majority_vote", "end_model": "end_model",
               "gold_only": "gold_only"}


def _model_names(key: str, label_model: str | None) -> list[str]:
    """The rows ``key``'s scores fill: the configured label model's key is the
    ``label_model`` row (also when it is mv: then both rows hold majority vote)."""
    names = [MODEL_NAMES.get(key, key)]
    return (["label_model"] + names[:1] * (key == "label_model_mv")
            if key == f"label_model_{label_model}" else names)


def apply(task, lfs: list[str] | None = None, progress: bool = False,
          **overrides) -> dict[str, np.ndarray]:
    """``labeling apply``'s multi-label step: {split: L}, votes 1 / 0 / -1 per LF."""
    return multilabel_steps.step_apply(task, progress, only=lfs, **overrides)


def lf_summary(task) -> pd.DataFrame:
    """lf_analysis.csv indexed by LF: label, coverage, overlaps, conflicts (train, with
    LFs on the same label), dev_applies_votes, dev_precision, dev_recall."""
    path = _require(task, multilabel_steps.LF_ANALYSIS_FILE, "apply")
    applied.check(task, "lf_summary")  # an LF edited since: its figures are the old LF's
    table = pd.read_csv(path, index_col="lf")
    if list(table.index) != [lf.name for lf in task.lfs]:
        raise LabelingError(f"{path}: its LFs are not the task's current LFs; apply again")
    written = (read_metrics(task.run_dir).get("gold_at_summary") or {}).get("dev")
    if written is not None and written != gold_digests(task).get("dev"):
        raise LabelingError(f"{path}: the dev gold changed since it was written (its dev "
                            "precision and recall are the old gold's); call apply() again")
    return table


def _section(task, step: str) -> dict:
    section = read_metrics(task.run_dir).get("multi_label") or {}
    if not section.get("scores"):
        raise LabelingError(f"{task.run_dir}: no multi-label scores in metrics.json; run "
                            f"`labeling {step}` (Session.{step}()) first")
    return section


def fit(task) -> dict:
    """Fit majority vote and the label model per label; their dev scores (no test):
    name, macro_f1, micro_f1, per_label (precision/recall/F1/support), and for the label
    model the model chosen and the threshold per label."""
    section = multilabel_steps.step_fit(task)["multi_label"]
    lm = section["label_model"]
    out = {}
    for name, key in (("label_model", f"label_model_{lm['name']}"),
                      ("majority_vote", "label_model_mv")):
        out[name] = {"name": lm["name"] if name == "label_model" else "mv",
                     **section["scores"][key]["dev"]}
    out["label_model"] |= {k: lm[k] for k in ("chosen_per_label", "thresholds")}
    return out


def train(task) -> dict:
    """Train the one-vs-rest end model and its gold-only twin: the end model's name, the
    weak rows' weight chosen by dev CV per label (``weak_weight``: ``{label: weight}``;
    ``weak_weight_cv``: each candidate's out-of-fold F1 per label;
    ``weak_weight_cv_macro``: each candidate's macro F1 as the one weight for all labels;
    ``weak_weight_shared``: the best of those; ``weak_weight_per_label``: false when one
    weight was kept for all; ``cv_repeats``: the CV's K-fold splits), per-label
    thresholds, dev CV F1 per label (and their mean), its in-sample dev scores; the
    gold-only model's dev CV F1 (a fine-tune's: its twin's on the same held-out dev rows,
    with ``name``, ``trained_rows``, ``verdict`` and ``text``; ``gold_only_frozen`` the
    default frozen family's). No test."""
    multilabel_steps.step_train(task)
    section = _section(task, "fit")
    end, gold_only = section["end_model"], section.get("gold_only", {})
    out = {k: end[k] for k in ("name", "weak_weight", "weak_weight_per_label",
                                "weak_weight_shared", "weak_weight_cv",
                                "weak_weight_cv_macro", "cv_repeats", "gold_weight", "thresholds",
                                "dev_cv_f1") if k in end}
    out["dev_cv_macro_f1"] = float(np.mean(list(end["dev_cv_f1"].values())))
    out["dev"] = section["scores"]["end_model"].get("dev", {}) | {"in_sample": True}
    if "dev_cv_f1" in gold_only:
        out["gold_only"] = {"dev_cv_f1": gold_only["dev_cv_f1"], "dev_cv_macro_f1": float(
            np.mean(list(gold_only["dev_cv_f1"].values())))}
    # a fine-tune's twin: its name, rows, verdict and text (or why there is none)
    twin = {k: gold_only[k] for k in ("name", "trained_rows", "held_out_rows", "verdict",
                                      "loud", "text", "skipped") if k in gold_only}
    if twin:
        out.setdefault("gold_only", {}).update(twin)
    frozen = section.get("gold_only_frozen") or {}
    if "dev_cv_f1" in frozen:
        out["gold_only_frozen"] = {k: frozen[k] for k in ("name", "dev_cv_f1",
                                                          "dev_cv_macro_f1") if k in frozen}
    return out


def evaluate(task, per_label: bool = False) -> pd.DataFrame:
    """Dev and test macro/micro F1, one row per model (majority_vote, label_model,
    end_model, gold_only; with ``name = "mv"`` the first two are the same model), and
    ``dev_in_sample`` (True: the dev scores are in-sample, as the CLI's ``*``). With
    ``per_label``: one row per (model, label), columns ``<split>_<precision|recall|f1|
    support>``. The only step that shows test."""
    section = _section(task, "fit")
    check_gold_unchanged(task, read_metrics(task.run_dir))  # scores of gold since corrected
    chosen = section.get("label_model", {}).get("name")
    rows = {}
    for key, by_split in section["scores"].items():
        for model in _model_names(key, chosen):
            for split in ("dev", "test"):
                scores = by_split.get(split, {})
                if per_label:
                    for label, cells in scores.get("per_label", {}).items():
                        for metric, value in cells.items():
                            rows.setdefault((model, label), {})[f"{split}_{metric}"] = value
                else:
                    for metric in ("macro_f1", "micro_f1"):
                        if metric in scores:
                            rows.setdefault(model, {})[f"{split}_{metric}"] = scores[metric]
                    if split == "dev" and scores:  # every model's thresholds (and the
                        # end models' heads) were fit on the dev gold, as single-label's
                        rows[model]["dev_in_sample"] = True
    table = pd.DataFrame.from_dict(rows, orient="index")
    if per_label and len(table):
        table.index = pd.MultiIndex.from_tuples(table.index, names=["model", "label"])
    return table


def export(task, out: Path | str | None = None) -> Path:
    """``labeling export``: model.skops, model.onnx (TF-IDF), the multi-label card."""
    return multilabel_steps.step_export(task, Path(out) if out else None)


def _vote_names(votes: np.ndarray, label: str) -> np.ndarray:
    return np.where(votes == APPLIES, f"+{label}", np.where(votes == ABSTAIN, "", f"-{label}"))


def examples(task, lf: str, kind: str = "fires", split: str = "dev",
             other: str | None = None) -> pd.DataFrame:
    """The ``split`` rows where ``lf`` ``fires`` (votes 1 or 0), ``abstains``, is
    ``wrong`` (its vote is not whether the gold set holds its label) or ``conflicts``
    (``other``, or any other LF on its label, votes the opposite), from the last fit.

    Columns: id, vote (``+joy`` applies, ``-joy`` does not, empty: abstains), gold (the
    label set), label_model (its set), ``p_<label>`` for every label (the label model's
    probabilities), one column per LF (its vote, same notation) and text."""
    run = load_multilabel_run(task.config.source, task.run_dir)
    shown = ml_show.lf_examples(run, lf, kind, split, other)
    rows = pd.Index(run.frames[split]["id"]).get_indexer(shown["id"])
    proba = run.label_model_proba(split)[rows].round(3)
    extra = {f"p_{name}": proba[:, c] for c, name in enumerate(run.labels)}
    L = run.L[split][rows]
    extra |= {name: _vote_names(L[:, j], run.labels[run.targets[j]])
              for j, name in enumerate(run.lf_names)}
    front = shown.drop(columns=[c for c in shown.columns if c.startswith("p_")] + ["text"])
    return pd.concat([front, pd.DataFrame(extra), shown[["text"]]], axis=1)
