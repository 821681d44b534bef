"""The export step of a multi-label run: the trained end model with its multi-label
model card -> model/ (model.skops, ONNX, model_card.json, MODEL_CARD.md)."""

from __future__ import annotations

import time
from pathlib import Path

from labeling.apply import applied
from labeling.artifacts import (L_FILE, PROBS_FILE, _require, check_gold_unchanged,
                                check_step_order, input_digests, read_metrics,
                                record_export)
from labeling.errors import LabelingError
from labeling.export import load_model
from labeling.export.multilabel_card import build_card
from labeling.export.multilabel_io import export_multilabel
from labeling.export.provenance import check_sources_unchanged
from labeling.files import check_writable
from labeling.multilabel_steps.common import (EMBEDDING_CACHE_DIR, END_MODEL_FILE, MODEL_DIR,
                                              load_section, read_probs, save_section)
from labeling.train.end_model import embedding_cache
from labeling.train.multilabel_model import thresholds_of


def step_export(task, out_dir: Path | None = None) -> Path:
    """Export the trained end model with its multi-label model card."""
    start = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else task.run_dir / MODEL_DIR
    applied.check(task, "export")  # the card lists the LFs the model learned from
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit"),
                                    (END_MODEL_FILE, "train")], "export")
    metrics = read_metrics(task.run_dir)
    check_gold_unchanged(task, metrics)  # the card's scores are fit's and train's: against
    # a gold set since corrected they would be the old gold's
    check_sources_unchanged(task.config, metrics, task.annotation_gold)  # the card's hashes
    check_writable(out_dir)  # after the check: a refused export leaves no folder behind
    inputs = input_digests(task.run_dir, [END_MODEL_FILE])
    model = load_model(_require(task, END_MODEL_FILE, "train"))
    section = load_section(task)
    if "end_model" not in section:
        raise LabelingError(f"{task.run_dir}: no multi-label end model in metrics.json; "
                            "run `labeling train` first")
    card = build_card(task.config, section, task.lfs, thresholds_of(model),
                      read_probs(task, "train"), task.annotation_gold,
                      metrics.get("config_at_train"), metrics)
    parity = [t for s in ("dev", "test") if task.splits.get(s) is not None
              for t in task.splits[s]["text"]]
    with embedding_cache(model, task.run_dir / EMBEDDING_CACHE_DIR):  # parity re-predicts
        out = export_multilabel(model, out_dir, card, parity, task.config.export.int8_scales)
    record_export(task.run_dir, out_dir, MODEL_DIR, inputs)
    save_section(task, section, "export", time.perf_counter() - start)
    return out
