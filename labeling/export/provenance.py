"""What the model card says about how the model was made: what trained it, with which
weights, the sha256 of every file that did, which scores are in-sample, and how it
compares with the model the dev gold alone gives.

Why: a card that said "no hand labels were used for training" while the dev gold rows
were training rows (x3) was wrong, and a dev score of 1.000 on rows the model was fit
on reads as a result. The card states the training mix from the run's own metrics.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from labeling.apply.applied import CODE_KEY, code_identity
from labeling.errors import LabelingError
from labeling.export.skops_io import file_sha256
from labeling.lf.core import PatternLF
from labeling.models import fit_on_dev
from labeling.llm.prompt import PromptLF
from labeling.train.finetune_data import DEFAULT_GOLD_LR

SCORED = ("majority_vote", "label_model", "end_model")


def lf_description(lf) -> dict:
    prompt = getattr(lf, "prompt_lf", None)  # a label column of a multi-label prompt LF
    if isinstance(lf, PromptLF) or isinstance(prompt, PromptLF):
        return {"name": lf.name, "kind": "prompt", "template": (prompt or lf).template}
    if isinstance(lf, PatternLF):
        return {"name": lf.name, "kind": "pattern", "pattern": lf.pattern.pattern,
                "label": lf.label}
    kind = "spacy" if any(getattr(p, "name", "") == "spacy_doc" for p in lf._pre) else "python"
    return {"name": lf.name, "kind": kind}


def _file(path, role: str) -> dict:
    return {"file": path.name, "sha256": file_sha256(path), "role": role}


def config_digest(cfg) -> str | None:
    """sha256 of the task's config file (labels, LF modules, models, seed), or None."""
    source = Path(cfg.source)
    return file_sha256(source) if source.is_file() else None


def training_files(cfg, end_model: dict, annotations_used: dict,
                   config_sha256: str | None = None) -> dict:
    """sha256 of each file the model was made from: train (texts the LFs labeled), dev
    (gold rows trained on, or only used to choose), the app's annotations file when
    annotations reached dev, the test file its test scores come from, and the config as
    ``labeling train`` read it (``config_sha256``, metrics.json's ``config_at_train``;
    recorded, not checked at export: a later edit of, say, the LLM budget changes no
    model)."""
    dev_trained = bool(end_model.get("dev_rows_trained_on"))
    files = {"train": _file(cfg.resolve(cfg.data.train), "training texts, weakly labeled")}
    if cfg.data.dev:
        files["dev"] = _file(cfg.resolve(cfg.data.dev),
                             "gold rows trained on and used to choose the models"
                             if dev_trained else "gold rows used to choose the models only")
    if getattr(cfg.data, "test", None) and cfg.resolve(cfg.data.test).is_file():
        # the file behind the card's test scores: a reviewer can tell which test set it is
        files["test"] = _file(cfg.resolve(cfg.data.test),
                              "gold rows of the test scores only, never trained on")
    if any(annotations_used.values()) and cfg.annotations_path.is_file():
        files["annotations"] = _file(cfg.annotations_path, "app annotations merged into dev")
    # the code behind the train rows' labels (export refuses LFs edited since the apply)
    modules = [cfg.resolve(m) for m in getattr(cfg, "lfs", []) if cfg.resolve(m).is_file()]
    for i, module in enumerate(modules):
        files["lf module" + (f" {i + 1}" if len(modules) > 1 else "")] = _file(
            module, "the labeling functions whose votes labeled the train rows")
    if config_sha256:
        files["config"] = {"file": Path(cfg.source).name, "sha256": config_sha256,
                           "role": "the task's settings (labels, LF modules, label and end "
                                   "models, seed) as labeling train read them"}
    return files


def source_digests(cfg, annotations_used: dict) -> dict[str, str]:
    """{path (relative to the config's folder): sha256} of every file the model card
    hashes: the data files, the app's annotations file when annotations reached dev,
    and the LF modules. ``labeling train`` records them (metrics.json's
    ``sources_at_train``) as it starts reading them."""
    paths = [cfg.resolve(p) for p in (cfg.data.train, cfg.data.dev,
                                      getattr(cfg.data, "test", None)) if p]
    if any(annotations_used.values()):
        paths.append(cfg.annotations_path)
    paths += [cfg.resolve(m) for m in getattr(cfg, "lfs", [])]
    return {os.path.relpath(p, cfg.base_dir): file_sha256(p) for p in paths if p.is_file()}


def check_sources_unchanged(cfg, metrics: dict, annotations_used: dict) -> None:
    """Stop an export whose model card would hash files that did not make the model: a
    data file, the annotations file or an LF module changed (or appeared, or went)
    since ``labeling train`` read them. Runs from before the record are not checked."""
    recorded = metrics.get("sources_at_train")
    if not isinstance(recorded, dict):
        return
    now = source_digests(cfg, annotations_used)
    changed = sorted(p for p in set(recorded) | set(now) if recorded.get(p) != now.get(p))
    if changed:
        what = "is gone" if changed[0] not in now else (
            "is new" if changed[0] not in recorded else "changed")
        raise LabelingError(f"{cfg.resolve(changed[0])}: {what} since the last `labeling "
                            "train` (sha256); the model card would hash a file the model "
                            "was not made from: run `labeling run` again (or restore it)")


def training_summary(metrics: dict, annotations_used: dict, labels=None) -> dict:
    """How many rows of which kind trained the model, and with what weight."""
    end = metrics.get("end_model", {})
    dev_rows = int(end.get("dev_rows_trained_on") or 0)
    weak = 0 if end.get("label_mode") == "gold_only" else int(end.get("train_rows") or 0)
    weak_weight = end.get("weak_weight")
    out = {"weak_rows": weak, "weak_label_mode": end.get("label_mode"),
           "weak_weight": weak_weight, "uncovered_rows_dropped":
           end.get("train_rows_uncovered_dropped"), "dev_gold_rows": dev_rows,
           "dev_weight": end.get("dev_weight") if dev_rows else 0,
           "annotations": {split: len(ids) for split, ids in annotations_used.items() if ids}}
    weights = ("1 per row" if weak_weight is None
               else f"{weak_weight:g} x the gold rows' total weight")
    parts = []
    cap = end.get("train_rows_cap") if weak else None
    if cap:  # [end_model] params.max_train_rows
        out["weak_rows_sampled_from"] = cap["covered"]
    if weak:
        sample = (f", a seeded sample of the {cap['covered']} covered ones (max_train_rows "
                  f"{cap['max_train_rows']})" if cap else "")
        parts.append(f"{weak} train rows{sample} with the label model's "
                     f"{end.get('label_mode', 'soft')} labels (weight {weights})")
    if dev_rows:
        notes = ", ".join(f"{n} from app annotations ({split})"
                          for split, n in out["annotations"].items())
        parts.append(f"{dev_rows} dev gold (hand-labeled) rows, each weighted "
                     f"{out['dev_weight']:g}" + (f"; {notes}" if notes else ""))
    gold_stage = _gold_stage(end) if dev_rows else None
    if gold_stage:
        out["gold_stage"] = gold_stage
        parts[-1] += (f"; then {gold_stage['gold_epochs']} epochs on the dev gold rows alone "
                      f"at learning rate {gold_stage['gold_lr']:g}")
    out["text"] = ("Trained on " + " and ".join(parts) + "." if parts
                   else "Training rows unknown (no end-model metrics).")
    dropped = int(end.get("train_rows_uncovered_dropped") or 0)
    if weak and dropped:
        out["text"] += f" {dropped} train rows no LF voted on were left out."
    if not dev_rows:
        out["text"] += " No hand label trained it (dev gold chose the models only)."
    bias = _bias_text(end.get("decision_bias"), labels)
    if bias:
        out["decision_bias"] = end["decision_bias"]
        out["text"] += (f" Its probabilities include a decision bias chosen on dev "
                        f"out-of-fold predictions ({bias}; log-weights, renormalised).")
    return out


def _bias_text(bias, labels) -> str:
    """``spam -0.7`` for the non-zero entries of a decision bias (one per label)."""
    if not isinstance(bias, list) or not any(bias):
        return ""
    names = labels if labels and len(labels) == len(bias) else range(len(bias))
    return ", ".join(f"{name} {b:+g}" for name, b in zip(names, bias) if b)


def _gold_stage(end: dict) -> dict | None:
    """``{gold_epochs, gold_lr}`` of a ``minilm_finetune`` fit with the second stage on
    the dev gold rows alone (labeling/train/finetune_gold.py; the params the model was
    built with, gold_lr at its default when not given), else None."""
    params = end.get("params") or {}
    if end.get("name") != "minilm_finetune" or not params.get("gold_epochs"):
        return None
    return {"gold_epochs": int(params["gold_epochs"]),
            "gold_lr": float(params.get("gold_lr", DEFAULT_GOLD_LR))}


def card_metrics(metrics: dict) -> dict:
    """dev/test scores per model, the end model's dev marked in-sample when dev trained
    it, and the gold-only baseline's CV and test scores."""
    out = {k: {s: v for s, v in metrics.get(k, {}).items() if s in ("dev", "test")}
           for k in SCORED}
    for key in ("gold_only", "gold_only_frozen"):  # the latter: a fit-once model's second
        if "test" in (metrics.get(key) or {}):
            out[key] = {"test": metrics[key]["test"]}
    return out


def in_sample(metrics: dict) -> list[str]:
    """``model.split`` of the scores measured on rows that model was fit on."""
    end, lm = metrics.get("end_model", {}), metrics.get("label_model", {})
    out = [f"end_model.{s}" for s, v in end.items() if isinstance(v, dict) and v.get("in_sample")]
    if "dev" in lm and fit_on_dev(lm):
        out.insert(0, "label_model.dev")
    return out


def _code(code: dict, fingerprint) -> dict:
    """An LF's card entry's ``code``: the build of labeling that applied it and its own
    part (``labeling compare`` tells a labeling upgrade from an edit), when recorded."""
    entry = code.get(fingerprint) if isinstance(fingerprint, str) else None
    return {"code": entry} if isinstance(entry, dict) else {}


def lf_records(lfs, metrics: dict) -> list[dict]:
    """The card's ``lfs``: per LF its description, with the fingerprint apply took
    (metrics.json's applied_lfs: `labeling compare` tells an edited LF from the same one
    in two model cards, code LFs too) and the build that applied it (``code``). Single-
    and multi-label cards alike."""
    applied = metrics.get("applied_lfs") or {}
    code = metrics.get(CODE_KEY) if isinstance(metrics.get(CODE_KEY), dict) else {}
    return [lf_description(lf) | ({"fingerprint": applied[lf.name]}
                                  if lf.name in applied else {})
            | _code(code, applied.get(lf.name)) for lf in lfs]


def build_record() -> dict:
    """The card's build of labeling that exported the model (each LF's ``code``: the one
    that applied it): ``{"labeling_build": "0.1.0+3f2a9c1d04be"}``."""
    return {"labeling_build": code_identity()}


def build_card(cfg, metrics: dict, lfs, train_labels: np.ndarray, annotations_used: dict) -> dict:
    """The model card's content (export_model adds files, formats, versions)."""
    # here, not at the top: loading a model folder imports this module, and the training
    # modules pull in torch (a served TF-IDF model must start without it)
    from labeling.train.gold_budget import nested_end_cv

    end = metrics.get("end_model", {})
    gold = metrics.get("gold_only") or {}
    frozen = metrics.get("gold_only_frozen") or {}
    worth = (metrics.get("learning_curve") or {}).get("worth") or {}
    return {
        "task": cfg.name,
        "labels": cfg.labels,
        "text_column": cfg.data.text_column,
        "id_column": cfg.data.id_column,
        "positive_label": cfg.positive_label,
        "intended_use": f"Classifying texts like those of the '{cfg.name}' task into "
                        f"{', '.join(cfg.labels)}. Check the test metrics before relying on it; "
                        "it inherits the blind spots of the labeling functions.",
        "end_model": {"name": end.get("name", cfg.end_model.name),
                      "label_mode": end.get("label_mode"),
                      "config": cfg.end_model.name, "params": cfg.end_model.params},
        "label_model": metrics.get("label_model", {}).get("name"),
        "label_model_chosen": metrics.get("label_model", {}).get("chosen"),  # auto's pick
        "metrics": card_metrics(metrics),
        "in_sample": in_sample(metrics),
        "cv": {"end_model": end.get("cv"), "gold_only": gold.get("cv"),
               "end_model_nested": nested_end_cv(end),  # the score the verdict states
               "metric": end.get("metric")},
        "gold_only": {k: gold[k] for k in ("name", "n_dev", "cv", "verdict", "text", "loud",
                                            "fit", "fit_seconds", "skipped") if k in gold},
        "gold_only_frozen": {k: frozen[k] for k in ("name", "n_dev", "cv", "text")
                             if k in frozen},
        "labels_worth": worth.get("text"),
        "training": training_summary(metrics, annotations_used, cfg.labels),
        "training_files": training_files(cfg, end, annotations_used,
                                         metrics.get("config_at_train")),
        "training_data_sha256": file_sha256(cfg.resolve(cfg.data.train)),
        "training_labels_sha256": hashlib.sha256(
            np.ascontiguousarray(train_labels).tobytes()).hexdigest(),
        "lfs": lf_records(lfs, metrics),
        **build_record(),
        "calibration": end.get("calibration", {}),
    }
