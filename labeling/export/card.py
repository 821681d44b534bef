"""The exported model folder: model.skops, model.onnx, model_card.json, MODEL_CARD.md.

The card says what the model is for and how it was made: labels, metrics and
calibration on dev and test, the LFs and label model behind its training labels, a
hash of the training data, library versions, what the ONNX file contains, and the
sha256 of every model file (checked on load, so a swapped file is noticed before it
is used). Loading picks a runtime: ``sklearn`` (the skops file) or ``onnx``, after
validating the card itself (labeling.export.card_schema).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from labeling.errors import ModelLoadError
from labeling.export.calibration import calibration_markdown
from labeling.export.card_schema import (CARD_FILE, MODEL_FILE, ONNX_FILE, TEXT_INPUT,
                                         TOKENS_INPUT, card_error, check_model_classes,
                                         validate_card)
from labeling.export.fast_tfidf import FastTfidfModel, supports
from labeling.export.folder import CARD_MARKDOWN, whole_folder
from labeling.export.folder_checks import checked_file, verify_files, warn_other_version
from labeling.export.onnx_io import OnnxModel, save_onnx
from labeling.export.skops_io import file_sha256, load_model, save_model
from labeling.export.transformer_runtime import TOKENIZER_FILE, TransformerOnnxModel
from labeling.files import atomic_write
from labeling.metrics import per_class_cell

RUNTIMES = ("sklearn", "onnx", "onnx_int8")  # onnx_int8: a fine-tuned transformer's int8 copy
_VERSIONED = ("labeling", "scikit-learn", "skops", "skl2onnx", "onnx", "onnxruntime",
              "sentence-transformers", "numpy", "scipy", "snorkel", "pandas")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


@dataclass
class ExportedModel:
    """A loaded model folder: the estimator (a scikit-learn pipeline, or an
    :class:`~labeling.export.onnx_io.OnnxModel` for ``runtime="onnx"``) and its card."""

    model: object
    card: dict
    runtime: str = "sklearn"
    model_dir: Path | None = None  # the folder it was loaded from (named in errors)

    def __post_init__(self):
        self._fast = (FastTfidfModel(self.model)
                      if self.runtime == "sklearn" and supports(self.model) else None)

    @property
    def labels(self) -> list[str]:
        return self.card["labels"]

    def predict_proba(self, texts) -> np.ndarray:
        """One column per label (classes never trained on get 0), rows in input order."""
        k = len(self.labels)
        texts = list(texts)
        if self.runtime != "sklearn":
            return self.model.predict_proba_full(texts, k)
        full = np.zeros((len(texts), k))
        if texts:
            estimator = self._fast or self.model
            full[:, self.model.classes_.astype(int)] = estimator.predict_proba(texts)
        return full


def onnx_parity(model, onnx_path: Path, info: dict, texts: list[str]) -> dict:
    """How closely the ONNX file reproduces ``model`` on ``texts`` (recorded in the card)."""
    k = len(model.classes_)
    prefix = None if info["input"] == TEXT_INPUT else model[:-1]
    full = np.zeros((len(texts), int(max(model.classes_)) + 1))
    full[:, model.classes_.astype(int)] = model.predict_proba(texts)
    onnx_proba = OnnxModel(onnx_path, info, prefix).predict_proba_full(texts, full.shape[1])
    diff = np.abs(full - onnx_proba)
    return {"texts": len(texts), "classes": k, "max_abs_diff": float(diff.max()),
            "label_agreement": float(np.mean(full.argmax(1) == onnx_proba.argmax(1)))}


def export_model(model, out_dir: Path, card: dict, parity_texts: list[str] | None = None,
                 int8_scales: str = "per_call") -> Path:
    """Write the model (skops, and ONNX when it converts) and its card into ``out_dir``;
    with ``parity_texts``, the card records the sklearn/ONNX agreement on them.
    ``int8_scales``: a transformer's int8 activation scales ([export] in labeling.toml)."""
    return write_model_folder(model, out_dir, card, save_onnx=save_onnx,
                              onnx_parity=onnx_parity, markdown=card_markdown,
                              parity_texts=parity_texts, int8_scales=int8_scales)


@whole_folder  # written into a new folder that then replaces out_dir: whole or not at all
def write_model_folder(model, out_dir: Path, card: dict, *, save_onnx, onnx_parity, markdown,
                       parity_texts: list[str] | None = None,
                       int8_scales: str = "per_call") -> Path:
    """The export every end model shares: model.skops, the ONNX files ``save_onnx`` makes
    (a transformer's through :mod:`labeling.export.onnx_transformer`), checked by
    ``onnx_parity`` on ``parity_texts``, then the card (validated first) and its
    ``markdown`` text."""
    # torch (tracing a transformer) only when exporting: loading a model, and so `labeling
    # predict` and `labeling serve`, never import it (seconds of start-up; docs/serve.md)
    from labeling.export.onnx_transformer import export_onnx

    out_dir = Path(out_dir)
    sha = save_model(model, out_dir / MODEL_FILE)
    onnx_files, onnx_info = export_onnx(model, out_dir, save_onnx, onnx_parity, parity_texts,
                                        int8_scales)
    files = {MODEL_FILE: sha, **onnx_files}
    card = {**card, "model_file": MODEL_FILE, "model_sha256": sha, "files": files,
            "format": "skops", "formats": ["skops"] + (["onnx"] if ONNX_FILE in files else []),
            "onnx": onnx_info, "versions": library_versions(),
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    text = markdown(card)
    # the card cannot hash itself: it records what an edit would silently change instead,
    # the labels that name the answers, and its markdown text (read_card). Not a
    # multi-label model's thresholds: editing them is documented (docs/multilabel.md)
    card |= {"labels_sha256": labels_digest(card["labels"]),
             "markdown_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    validate_card(card, out_dir / CARD_FILE)  # never write a card that loading would refuse
    with atomic_write(out_dir / CARD_FILE) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    with atomic_write(out_dir / CARD_MARKDOWN) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return out_dir


def labels_digest(labels: list[str]) -> str:
    """sha256 of the card's labels, in order: the order names each probability column."""
    return hashlib.sha256(json.dumps(labels).encode("utf-8")).hexdigest()


def _check_card_hashes(model_dir: Path, card: dict, card_path: Path) -> None:
    """Refuse a card whose labels, or a MODEL_CARD.md whose text, changed after export
    (cards exported before these hashes are not checked)."""
    if "labels_sha256" in card and labels_digest(card["labels"]) != card["labels_sha256"]:
        raise ModelLoadError(f"{card_path}: field labels differs from the labels exported "
                             "(labels_sha256); the card was changed after export and would "
                             "name every answer wrongly: export again")
    md_path = Path(model_dir) / CARD_MARKDOWN
    if "markdown_sha256" in card and md_path.is_file() and file_sha256(md_path) != card[
            "markdown_sha256"]:
        raise ModelLoadError(f"{md_path}: sha256 differs from {CARD_FILE} (markdown_sha256); "
                             "the card's text was changed after export: export again")


def read_card(model_dir: Path) -> dict:
    """The folder's card, validated (a one-line error naming the field otherwise)."""
    card_path = Path(model_dir) / CARD_FILE
    if not card_path.is_file():
        raise ModelLoadError(_no_card(Path(model_dir)))
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelLoadError(f"{card_path}: unreadable model card: {exc}") from None
    card = validate_card(card, card_path)
    _check_card_hashes(model_dir, card, card_path)
    return card


def _no_card(model_dir: Path) -> str:
    """Why ``model_dir`` is no model folder, and the folder meant when it is a run's."""
    if not model_dir.exists():
        return f"{model_dir}: model folder not found (no {CARD_FILE})"
    if not model_dir.is_dir():
        return f"{model_dir}: not a folder; --model takes an exported model folder"
    if (model_dir / "model" / CARD_FILE).is_file():
        return (f"{model_dir}: no {CARD_FILE}; this looks like a run folder: its exported "
                f"model is {model_dir / 'model'}")
    return f"{model_dir}: no {CARD_FILE}; is this an exported model folder?"


def _load_classifier(model_dir: Path, card: dict):
    """The skops estimator, checked to be a classifier whose classes the card labels."""
    path = checked_file(model_dir, card, card.get("model_file", MODEL_FILE))
    model = load_model(path)
    check_model_classes(model_dir / CARD_FILE, path, model, card["labels"])
    return model


def _load_transformer_onnx(model_dir: Path, card: dict, runtime: str):
    """A fine-tuned transformer's fp32 or int8 file with its tokenizer, hashes checked."""
    info = card["onnx"]
    file = info["int8"]["file"] if runtime == "onnx_int8" else ONNX_FILE
    for name in (file, info.get("tokenizer", TOKENIZER_FILE)):
        checked_file(model_dir, card, name)
    return TransformerOnnxModel(model_dir, file, info)


def _load_onnx(model_dir: Path, card: dict, runtime: str = "onnx"):
    info = card.get("onnx") or {}
    if ONNX_FILE not in card.get("files", {}):
        raise ModelLoadError(f"{model_dir}: no ONNX model in this export "
                             f"({info.get('error') or 'exported without ONNX'}); "
                             "use --runtime sklearn")
    if info.get("input") == TOKENS_INPUT and isinstance(info.get("int8"), dict):
        return _load_transformer_onnx(model_dir, card, runtime)
    if runtime == "onnx_int8":
        raise ModelLoadError(f"{model_dir}: no int8 ONNX model in this export (only a "
                             "fine-tuned transformer has one); use --runtime onnx")
    onnx_path = checked_file(model_dir, card, ONNX_FILE)
    prefix = None
    if info["input"] != TEXT_INPUT:  # head-only ONNX: features from the skops model
        model = _load_classifier(model_dir, card)
        if not hasattr(model, "steps"):
            raise ModelLoadError(f"{model_dir / MODEL_FILE}: a {type(model).__name__} has no "
                                 "feature steps to feed a head-only ONNX file")
        prefix = model[:-1]
    onnx_model = OnnxModel(onnx_path, info, prefix)
    card_path = model_dir / CARD_FILE
    if onnx_model.file_input != info["input"]:
        raise card_error(card_path, "onnx.input", f"{info['input']!r}, but {ONNX_FILE} takes "
                                                  f"{onnx_model.file_input!r}")
    if onnx_model.file_classes not in (None, len(info["classes"])):
        raise card_error(card_path, "onnx.classes", f"{len(info['classes'])} classes, but "
                                                    f"{ONNX_FILE} outputs "
                                                    f"{onnx_model.file_classes} probabilities")
    return onnx_model


def load_exported(model_dir: Path, runtime: str = "sklearn") -> ExportedModel:
    """Load a model folder for ``runtime`` (sklearn or onnx), after validating its card
    and checking every file it lists against the card's hashes (folder_checks)."""
    if runtime not in RUNTIMES:
        raise ModelLoadError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    verify_files(model_dir, card)  # every listed file present, not only the one read
    warn_other_version(card, model_dir / CARD_FILE)
    if runtime == "sklearn":
        return ExportedModel(_load_classifier(model_dir, card), card, model_dir=model_dir)
    return ExportedModel(_load_onnx(model_dir, card, runtime), card, runtime=runtime,
                         model_dir=model_dir)


def _score(s: dict, key: str) -> str:
    value = s.get(key)
    return "-" if value is None else f"{value:.3f}"


def _metrics_lines(card: dict) -> list[str]:
    """The metrics table (F1: of the positive label, a column only where a score has it;
    on a task without one, macro F1 is the column to read), in-sample scores marked, and
    per-class scores for k > 2."""
    in_sample = set(card.get("in_sample") or [])
    scored = [(model_name, split, s) for model_name, splits in card.get("metrics", {}).items()
              for split, s in splits.items() if isinstance(s, dict) and "accuracy" in s]
    # a k-class task without positive_label has no F1 of one class: no column of "-"
    keys = [(key, title) for key, title in (("accuracy", "accuracy"), ("f1", "F1"),
                                            ("macro_f1", "macro F1"))
            if any(key in s for _, _, s in scored)]
    lines = ["| model | split | " + " | ".join(title for _, title in keys) + " |",
             "|---|---|" + "---|" * len(keys)]
    per_class = []
    for model_name, split, s in scored:
        mark = " (in-sample)" if f"{model_name}.{split}" in in_sample else ""
        lines.append(f"| {model_name} | {split}{mark} | "
                     + " | ".join(_score(s, key) for key, _ in keys) + " |")
        if s.get("per_class") and split == "test":
            per_class.append((model_name, s["per_class"]))
    if in_sample:
        lines += ["", "In-sample: those models were fit on the dev gold rows, so their dev "
                      "scores say little about new texts; the end model's dev "
                      "cross-validation score below does."]
    if per_class:
        lines += ["", "Per class on test (precision / recall / F1; '-': no test gold row of "
                      "the class, left out of macro F1):", "",
                  "| model | " + " | ".join(card["labels"]) + " |",
                  "|---|" + "---|" * len(card["labels"]),
                  "| test gold rows | " + " | ".join(str(r["support"]) for r in per_class[0][1])
                  + " |"]
        for model_name, rows in per_class:
            lines.append(f"| {model_name} | " + " | ".join(per_class_cell(r) for r in rows)
                         + " |")
    return lines


def _baseline_lines(card: dict) -> list[str]:
    # the line run, report and the app print (here, not at the top: predict loads card.py)
    from labeling.train.gold_budget import dev_cv_text

    cv, gold = card.get("cv") or {}, card.get("gold_only") or {}
    if cv.get("gold_only") is not None:  # the end model's nested score: the verdict's
        lines = ["## Against the dev gold alone", "",
                 dev_cv_text(cv.get("metric"), cv.get("end_model"), cv["gold_only"],
                             gold.get("n_dev"), cv.get("end_model_nested")) + "."]
    elif gold.get("text"):  # a fit-once model's twin (no CV), or the baseline skipped
        lines = ["## Against the dev gold alone", ""] + _twin_test_line(card)
    else:
        return []
    if gold.get("text"):
        lines.append(("**WARNING: " if gold.get("loud") else "") + gold["text"][0].upper()
                     + gold["text"][1:] + (".**" if gold.get("loud") else "."))
    if card.get("labels_worth"):
        lines.append(card["labels_worth"][0].upper() + card["labels_worth"][1:]
                     + " (learning curve on the dev rows, scored on the rest of dev).")
    return lines + [""]


def _twin_test_line(card: dict) -> list[str]:
    """A fit-once model's test scores next to its gold-only twin's (final scores)."""
    metrics, gold = card.get("metrics") or {}, card.get("gold_only") or {}
    end, twin, frozen = ((metrics.get(k) or {}).get("test") or {}
                         for k in ("end_model", "gold_only", "gold_only_frozen"))
    if not gold.get("fit") or "accuracy" not in twin:
        return []
    key = "f1" if "f1" in twin else "macro_f1"
    also = ""
    if "accuracy" in frozen:  # the default frozen family on the same dev rows
        also = (f", and the default frozen family "
                f"({(card.get('gold_only_frozen') or {}).get('name')}) on them "
                f"{_score(frozen, 'accuracy')} / {_score(frozen, key)}")
    return [f"On test (accuracy / {key}): this model {_score(end, 'accuracy')} / "
            f"{_score(end, key)}, its gold-only twin ({gold.get('name')}, the same params "
            f"on the {gold.get('n_dev')} dev gold rows alone, fit {gold['fit']}) "
            f"{_score(twin, 'accuracy')} / {_score(twin, key)}{also}: final scores, "
            "nothing was chosen on them."]


def _end_model_text(end) -> str:
    """``tfidf_logreg (soft labels; config auto)``, not the dict's Python repr."""
    if not isinstance(end, dict):
        return str(end)
    notes = [f"{end['label_mode']} labels"] if end.get("label_mode") else []
    if end.get("config") and end.get("config") != end.get("name"):
        notes.append(f"config {end['config']}")
    if end.get("params"):
        notes.append("params " + json.dumps(end["params"], sort_keys=True))
    return f"{end.get('name')}" + (f" ({'; '.join(notes)})" if notes else "")


def card_markdown(card: dict) -> str:
    training = card.get("training") or {}
    lines = [f"# Model card: {card.get('task', 'model')}", "",
             f"Text classifier with labels {', '.join(card['labels'])}, trained on "
             "probabilistic labels from labeling functions"
             + (" and on hand-labeled dev rows" if training.get("dev_gold_rows") else "")
             + ". " + training.get("text", ""), "",
             "## Intended use", card.get("intended_use", ""), "",
             "## Metrics", ""] + _metrics_lines(card) + [""] + _baseline_lines(card)
    lines += ["## Training", f"- label model: {card.get('label_model')}"
              + (f" (chose {card['label_model_chosen']})" if card.get("label_model_chosen") else ""),
              f"- end model: {_end_model_text(card.get('end_model'))}",
              f"- training data sha256: {card.get('training_data_sha256')}"]
    lines += [f"- {split} file {f['file']} ({f['role']}): sha256 {f['sha256']}"
              for split, f in (card.get("training_files") or {}).items()]
    lines += [f"- labeling functions ({len(card.get('lfs', []))}): "
              + ", ".join(lf["name"] for lf in card.get("lfs", [])), ""]
    calibration = card.get("calibration") or {}
    if calibration:
        lines += ["## Calibration", "",
                  "Top-class probability against accuracy (reliability bins, 10 equal widths; "
                  "ECE = count-weighted mean |accuracy - confidence|; Brier = mean "
                  "sum_k (p_k - y_k)^2):", ""]
        trained_on = {key.split(".", 1)[1] for key in card.get("in_sample") or []
                      if key.startswith("end_model.")}
        lines += calibration_markdown(calibration, trained_on) + [""]
    onnx_info = card.get("onnx") or {}
    lines += ["## Files", ""] + [f"- {name}: sha256 {sha}"
                                 for name, sha in card.get("files", {}).items()]
    parity = onnx_info.get("parity")
    lines += ["", "## ONNX", onnx_info.get("contains") or onnx_info.get("error", "none")]
    if parity:
        lines.append(f"Parity with the skops model on {parity['texts']} dev/test texts: "
                     f"max |probability difference| {parity['max_abs_diff']:.1e}, "
                     f"same label on {parity['label_agreement']:.1%}.")
    int8 = (onnx_info.get("int8") or {}).get("parity")
    if int8:
        lines.append(f"int8 copy ({onnx_info['int8'].get('file')}; quantization: "
                     f"{onnx_info['int8'].get('quantization', 'not recorded')}) on the same "
                     f"texts: max |probability difference| {int8['max_abs_diff']:.1e}, same "
                     f"label on {int8['label_agreement']:.1%}.")
    lines += ["",
              "## Versions"] + [f"- {k}: {v}" for k, v in card.get("versions", {}).items()]
    return "\n".join(lines) + "\n"
