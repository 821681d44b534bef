"""The model card of a multi-label end model: what ``model_card.json`` and
``MODEL_CARD.md`` say beyond the single-label card (labeling.export.card).

- ``multi_label.thresholds``: one decision threshold per label (in ``labels`` order),
  what ``labeling predict`` applies; validated on load (card_schema.MultiLabelInfo);
- ``metrics``: per model (label models, end model, gold-only baseline) and split, macro
  and micro F1 and a per-label precision/recall/F1/support table; every dev score is
  in-sample (dev gold fit the models and tuned the thresholds), test is held out;
- ``gold_only``: the same end model trained on the dev gold rows alone, compared by dev
  cross-validation macro F1 (out-of-fold, as the thresholds were tuned) and on test (a
  fine-tune's twin: on the end model's held-out dev rows, with its own text and verdict);
- ``training.weak_weight``: the train rows' weight against the gold rows, per label
  (``{label: weight}``, chosen by dev CV per label, docs/multilabel.md) or one for all
  (a string: a fine-tune's, or a run from before the per-label choice), with
  ``weak_weight_shared`` the one weight dev CV would take for all labels.
"""

from __future__ import annotations

import hashlib

import numpy as np

from labeling.export.provenance import build_record, lf_records, training_files
from labeling.export.skops_io import file_sha256

THRESHOLD_RULE = ("per label, the cut with the best F1 on out-of-fold dev probabilities "
                  "(the heads refit without the held-out fold's gold)")


def _macro(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def gold_only_summary(section: dict) -> dict:
    """The gold-only comparison: dev CV macro F1 of both models, their test macro F1,
    and a sentence (``loud`` when the dev gold alone does as well)."""
    # a fine-tune's dev figures are on held-out dev rows, both models' (end_model's
    # dev_protocol), not 3-fold CV
    held_out = bool(section["end_model"].get("dev_protocol"))
    how = "held-out dev" if held_out else "dev CV"
    end_cv = _macro((section["end_model"].get("dev_cv_f1") or {}).values())
    gold_cv = _macro(((section.get("gold_only") or {}).get("dev_cv_f1") or {}).values())
    scores = section.get("scores", {})
    out = {"name": section["end_model"]["name"], "n_dev": section.get("n_dev"),
           "cv": {"end_model": end_cv, "gold_only": gold_cv, "metric": "macro_f1"},
           "test": {m: scores.get(m, {}).get("test", {}).get("macro_f1")
                    for m in ("end_model", "gold_only")}}
    gold = section.get("gold_only") or {}
    if gold.get("text"):  # a fine-tune's twin (its verdict), or why there is none
        out["loud"], out["text"] = bool(gold.get("loud")), gold["text"]
    elif end_cv is not None and gold_cv is not None:
        same = gold.get("name", out["name"]) == out["name"]  # a fine-tune's before its twin:
        #                                                       the frozen family's
        out["loud"] = gold_cv >= end_cv
        out["text"] = (("the same model" if same else gold["name"])
                       + f" trained on the {out['n_dev']} dev gold label sets "
                       f"alone scores {gold_cv:.3f} {how} macro F1 against this model's "
                       f"{end_cv:.3f}"
                       + ("; the labeling functions add nothing measurable" if out["loud"]
                          else ""))
    return out


WEIGHT_LEGEND = "(0: gold-only, per_row: 1 per row, else that multiple of the gold rows' total)"


def weak_weight_text(end: dict) -> str:
    """How the train rows were weighed against the gold rows, in words: per label (the
    record since #15's per-label choice) or one weight (a fine-tune; older runs)."""
    weight = end.get("weak_weight", "?")
    if not isinstance(weight, dict):
        how = "chosen by dev CV" if "weak_weight_cv" in end else "fixed"
        return f"{how}: {weight} {WEIGHT_LEGEND}"
    shared = end.get("weak_weight_shared")
    if not end.get("weak_weight_per_label", True):
        return f"one for all labels, chosen by dev CV: {shared} {WEIGHT_LEGEND}"
    text = ("chosen per label by dev CV: " + ", ".join(f"{k} {v}" for k, v in weight.items())
            + f" {WEIGHT_LEGEND}")
    macro = (end.get("weak_weight_cv_macro") or {}).get(shared)
    mine = _macro((end.get("dev_cv_f1") or {}).values())
    if macro is not None and mine is not None:
        text += (f"; one weight for all labels ({shared}) scores {macro:.3f} dev CV macro "
                 f"F1, the per-label choice {mine:.3f} (on the folds it was chosen on)")
    return text


def build_card(cfg, section: dict, lfs, thresholds, train_probs: np.ndarray,
               annotations_used: dict | None = None, config_sha256: str | None = None,
               metrics: dict | None = None) -> dict:
    """The card's content (``export_multilabel`` adds files, formats, versions).
    ``section``: metrics.json's ``multi_label``; ``thresholds``: the model's;
    ``config_sha256``: the config as ``labeling train`` read it; ``metrics``: all of
    metrics.json (the fingerprints apply took and the builds that took them, as the
    single-label card records them: :func:`labeling.export.provenance.lf_records`)."""
    labels, end = cfg.labels, section["end_model"]
    scores = section.get("scores", {})
    n_dev = int(section.get("n_dev") or 0)
    gold = gold_only_summary(section)
    descriptions = [record | {"target_label": getattr(lf, "target_label", None)}
                    for lf, record in zip(lfs, lf_records(lfs, metrics or {}))]
    return {
        "task": cfg.name, "labels": labels, "text_column": cfg.data.text_column,
        "id_column": cfg.data.id_column,
        "positive_label": None,
        "multi_label": {"thresholds": [float(t) for t in thresholds],
                        "threshold_rule": end.get("threshold_rule", THRESHOLD_RULE),
                        "dev_cv_f1": end.get("dev_cv_f1"),
                        "label_model_per_label": section["label_model"].get(
                            "chosen_per_label")},
        "intended_use": f"Tagging texts like those of the '{cfg.name}' task with every label "
                        f"of {', '.join(labels)} that applies (none, one or several). Check "
                        "the per-label test scores before relying on a label; the model "
                        "inherits the blind spots of the labeling functions.",
        "end_model": {"name": end["name"],
                      "label_mode": end.get("label_mode", "soft (one-vs-rest per label)"),
                      "config": cfg.end_model.name, "params": cfg.end_model.params},
        "label_model": section["label_model"]["name"],
        "metrics": {model: {s: v for s, v in by_split.items() if s in ("dev", "test")}
                    for model, by_split in scores.items()},
        "in_sample": [f"{model}.dev" for model in scores],  # all: dev tuned thresholds
        "cv": {"end_model": gold["cv"]["end_model"], "gold_only": gold["cv"]["gold_only"],
               "metric": "macro_f1"},
        "gold_only": gold,
        "training": {"weak_rows": int(len(train_probs)), "dev_gold_rows": n_dev,
                     "dev_weight": end.get("gold_weight"),
                     "weak_weight": end.get("weak_weight"),
                     "weak_weight_shared": end.get("weak_weight_shared"),
                     "text": f"Trained on {len(train_probs)} train rows with the label "
                             "model's per-label probabilities (each row once as 'applies' "
                             "with weight p and once as 'does not' with 1 - p) and "
                             f"{n_dev} dev gold label sets, each weighted "
                             f"{end.get('gold_weight', '?')}; the train rows' weight "
                             f"against the gold rows {weak_weight_text(end)}."},
        "training_files": training_files(cfg, {"dev_rows_trained_on": n_dev},
                                         annotations_used or {}, config_sha256),
        "training_data_sha256": file_sha256(cfg.resolve(cfg.data.train)),
        "training_labels_sha256": hashlib.sha256(
            np.ascontiguousarray(train_probs).tobytes()).hexdigest(),
        "lfs": descriptions,
        **build_record(),
    }


def _f(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _metrics_lines(card: dict) -> list[str]:
    in_sample = set(card.get("in_sample") or [])
    lines = ["| model | split | macro F1 | micro F1 |", "|---|---|---|---|"]
    for model, by_split in card.get("metrics", {}).items():
        for split, s in by_split.items():
            mark = " (in-sample)" if f"{model}.{split}" in in_sample else ""
            lines.append(f"| {model} | {split}{mark} | {_f(s.get('macro_f1'))} | "
                         f"{_f(s.get('micro_f1'))} |")
    metrics, labels = card.get("metrics", {}), card["labels"]
    shown = [m for m in ("end_model", "gold_only", "label_model_mv") if "test" in
             metrics.get(m, {})] + [m for m in metrics if m.startswith("label_model_")
                                    and m != "label_model_mv" and "test" in metrics[m]]
    if not shown:
        return lines
    thresholds = card["multi_label"]["thresholds"]
    weights = (card.get("training") or {}).get("weak_weight")
    weights = weights if isinstance(weights, dict) else None  # per label: a column
    lines += ["", "Per label on test (end model precision / recall / F1; F1 of the others):",
              "", "| label | threshold | " + ("weak weight | " if weights else "")
              + "support | end model | " + " | ".join(m for m in shown if m != "end_model")
              + " |", "|---|---|---|---|" + "---|" * (len(shown) - ("end_model" in shown)
                                                      + bool(weights))]
    for c, name in enumerate(labels):
        row = [name, f"{thresholds[c]:.3f}"] + ([str(weights.get(name, "-"))] if weights
                                                 else [])
        end = metrics.get("end_model", {}).get("test", {}).get("per_label", {}).get(name, {})
        row.append(str(end.get("support", "-")))
        row.append(f"{_f(end.get('precision'))} / {_f(end.get('recall'))} / "
                   f"{_f(end.get('f1'))}" if end else "-")
        row += [_f(metrics[m]["test"].get("per_label", {}).get(name, {}).get("f1"))
                for m in shown if m != "end_model"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def card_markdown(card: dict) -> str:
    gold, training = card.get("gold_only") or {}, card.get("training") or {}
    lines = [f"# Model card: {card.get('task', 'model')}", "",
             f"Multi-label text classifier: a text gets every label of "
             f"{', '.join(card['labels'])} whose probability reaches that label's "
             "threshold (none, one or several). " + training.get("text", ""), "",
             "## Intended use", card.get("intended_use", ""), "",
             "## Metrics", ""] + _metrics_lines(card)
    lines += ["", "In-sample: dev scores of models fit on the dev gold (their thresholds "
                  "were tuned there too); test is held out.", ""]
    if gold.get("text"):
        lines += ["## Against the dev gold alone", "",
                  ("**WARNING: " if gold.get("loud") else "")
                  + gold["text"][0].upper() + gold["text"][1:]
                  + (".**" if gold.get("loud") else "."),
                  f"Test macro F1: this model {_f(gold['test'].get('end_model'))}, gold-only "
                  f"{_f(gold['test'].get('gold_only'))}.", ""]
    rule = (card.get("multi_label") or {}).get("threshold_rule", "")
    lines += ["## Training", f"- label model: {card.get('label_model')} (per label: "
              + ", ".join(f"{k} {v}" for k, v in ((card.get("multi_label") or {}).get(
                  "label_model_per_label") or {}).items()) + ")",
              f"- end model: {(card.get('end_model') or {}).get('name')}",
              f"- thresholds: {rule}",
              f"- training data sha256: {card.get('training_data_sha256')}"]
    lines += [f"- {split} file {f['file']} ({f['role']}): sha256 {f['sha256']}"
              for split, f in (card.get("training_files") or {}).items()]
    lines += [f"- labeling functions ({len(card.get('lfs', []))}): " + ", ".join(
        f"{lf['name']} ({lf.get('target_label')})" for lf in card.get("lfs", [])), ""]
    onnx_info = card.get("onnx") or {}
    lines += ["## Files", ""] + [f"- {name}: sha256 {sha}"
                                 for name, sha in card.get("files", {}).items()]
    lines += ["", "## ONNX", onnx_info.get("contains") or onnx_info.get("error", "none")]
    parity = onnx_info.get("parity")
    if parity:
        lines.append(f"Parity with the skops model on {parity['texts']} dev/test texts: "
                     f"max |probability difference| {parity['max_abs_diff']:.1e}, same "
                     f"label set on {parity['label_set_agreement']:.1%}.")
    int8 = (onnx_info.get("int8") or {}).get("parity")
    if int8:  # a fine-tune's int8 copy
        lines.append(f"int8 copy ({onnx_info['int8'].get('file')}) on the same texts: max "
                     f"|probability difference| {int8['max_abs_diff']:.1e}, same label set "
                     f"on {int8['label_set_agreement']:.1%}.")
    lines += ["", "## Versions"] + [f"- {k}: {v}" for k, v in card.get("versions", {}).items()]
    return "\n".join(lines) + "\n"
