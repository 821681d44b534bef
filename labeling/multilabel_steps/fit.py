"""The fit step of a multi-label run: majority vote and the configured label model per
label -> probs.parquet and the label models' scores in metrics.json."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from labeling.apply import applied
from labeling.artifacts import (L_FILE, PROBS_FILE, _write_table, gold_digests, input_digests,
                                record_annotations, record_inputs, update_metrics)
from labeling.errors import LabelingError
from labeling.files import check_writable
from labeling.models.multilabel import PerLabelModel
from labeling.multilabel_steps.common import (STALE, frame, gold, label_matrices, lf_targets,
                                              load_section, save_section, score_splits)


def step_fit(task) -> dict:
    """Fit majority vote and the configured label model per label (thresholds tuned on
    dev); probs.parquet and the label-model scores."""
    cfg, labels = task.config, task.config.labels
    start = time.perf_counter()
    check_writable(task.run_dir)
    applied.check(task, "fit")  # the LFs L.parquet holds are the task's LFs now
    inputs = input_digests(task.run_dir, [L_FILE])
    L, Y, targets = label_matrices(task), gold(task), lf_targets(task.lfs, labels)
    models = {}
    for name in dict.fromkeys(("mv", cfg.label_model.name)):
        try:
            model = PerLabelModel(len(labels), targets, name=name, seed=cfg.seed,
                                  params=cfg.label_model.params.get("per_model", {}),
                                  cache_dir=task.run_dir / "cache" / "label_models")
            models[name] = model.fit(L["train"], Y["dev"], L["dev"])
        except (ValueError, TypeError, KeyError) as exc:
            raise LabelingError(f"{cfg.source}: label_model: {exc}") from None
    chosen = models[cfg.label_model.name]
    frames = []
    for split, L_split in L.items():
        proba = chosen.predict_proba(L_split)
        columns = {f"p_{n}": proba[:, c] for c, n in enumerate(labels)}
        columns |= {f"pred_{n}": (proba[:, c] >= chosen.thresholds_[c]).astype(np.int8)
                    for c, n in enumerate(labels)}
        mv = models["mv"].predict(L_split)
        columns |= {f"mv_{n}": mv[:, c] for c, n in enumerate(labels)}
        frames.append(frame(task, split, columns))
    _write_table(pd.concat(frames), task.run_dir / PROBS_FILE)
    record_inputs(task.run_dir, PROBS_FILE, inputs)
    section = load_section(task)
    section["label_model"] = {"name": cfg.label_model.name, "chosen_per_label": dict(
        zip(labels, chosen.chosen_)), "thresholds": dict(
        zip(labels, np.round(chosen.thresholds_, 4).tolist())),
        # the chosen model's F1 on out-of-fold dev probabilities (the figure auto chose
        # by): less in-sample than its dev score, for `labeling dev`
        "dev_oof_f1": {n: max(chosen.dev_f1_[c].values()) for c, n in enumerate(labels)}}
    scores = {k: v for k, v in section.get("scores", {}).items()
              if not k.startswith("label_model_")}
    for name, model in models.items():
        scores[f"label_model_{name}"] = score_splits({s: model.predict(L[s]) for s in Y}, Y, labels)
    section["scores"] = scores
    if "end_model" in section:  # trained on the previous fit's labels
        section["end_model"]["stale"] = STALE
    record_annotations(task)  # the gold fit scored against, as the app rebuilds it
    update_metrics(task.run_dir, gold_at_fit=gold_digests(task))  # checked by evaluate
    return save_section(task, section, "label_model", time.perf_counter() - start)
