"""The exported model folder: ``model.skops`` plus ``model_card.json`` and ``MODEL_CARD.md``.

The card says what the model is for and how it was made: labels, metrics on dev
and test, the LFs and label model behind its training labels, a hash of the
training data, library versions, and the sha256 of ``model.skops`` (checked on
load, so a swapped file is noticed before it is used).
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from labeling.errors import ModelLoadError
from labeling.export.skops_io import file_sha256, load_model, save_model

MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
CARD_MARKDOWN = "MODEL_CARD.md"
_VERSIONED = ("labeling", "scikit-learn", "skops", "numpy", "scipy", "snorkel", "pandas")


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
    """A loaded model folder: the estimator and its card."""

    model: object
    card: dict

    @property
    def labels(self) -> list[str]:
        return self.card["labels"]


def export_model(model, out_dir: Path, card: dict) -> Path:
    """Write the model and its card into ``out_dir``; returns ``out_dir``."""
    out_dir = Path(out_dir)
    sha = save_model(model, out_dir / MODEL_FILE)
    card = {**card, "model_file": MODEL_FILE, "model_sha256": sha,
            "format": "skops", "versions": library_versions(),
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out_dir / CARD_MARKDOWN).write_text(card_markdown(card), encoding="utf-8")
    return out_dir


def load_exported(model_dir: Path) -> ExportedModel:
    """Load a model folder, checking the model file against its card's hash."""
    model_dir = Path(model_dir)
    card_path = model_dir / CARD_FILE
    if not card_path.is_file():
        raise ModelLoadError(f"{model_dir}: no {CARD_FILE}; is this an exported model folder?")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{card_path}: unreadable model card: {exc}") from None
    model_path = model_dir / card.get("model_file", MODEL_FILE)
    if model_path.is_file() and file_sha256(model_path) != card.get("model_sha256"):
        raise ModelLoadError(f"{model_path}: sha256 differs from {CARD_FILE}; "
                             "the model file was changed after export")
    return ExportedModel(load_model(model_path), card)


def card_markdown(card: dict) -> str:
    lines = [f"# Model card: {card.get('task', 'model')}", "",
             f"Text classifier with labels {', '.join(card['labels'])}, trained on "
             "probabilistic labels from labeling functions; no hand labels were used for "
             "training (dev gold only for model choice and class balance).", "",
             "## Intended use", card.get("intended_use", ""), "",
             "## Metrics", "", "| model | split | accuracy | F1 | macro F1 |", "|---|---|---|---|---|"]
    for model_name, splits in card.get("metrics", {}).items():
        for split, s in splits.items():
            if isinstance(s, dict) and "accuracy" in s:
                lines.append(f"| {model_name} | {split} | {s['accuracy']:.3f} | "
                             f"{s.get('f1', float('nan')):.3f} | {s['macro_f1']:.3f} |")
    lines += ["", "## Training", f"- label model: {card.get('label_model')}",
              f"- end model: {card.get('end_model')}",
              f"- training data sha256: {card.get('training_data_sha256')}",
              f"- labeling functions ({len(card.get('lfs', []))}): "
              + ", ".join(lf["name"] for lf in card.get("lfs", [])),
              "", "## Versions"] + [f"- {k}: {v}" for k, v in card.get("versions", {}).items()]
    return "\n".join(lines) + "\n"
