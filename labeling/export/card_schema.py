"""The schema of ``model_card.json``: what loading a model folder relies on, checked first.

A card is written by :func:`labeling.export.card.export_model`, but it is a plain JSON
file next to the model and anyone who can write the folder can edit it. Loading trusts
its labels (they name the predicted classes), its file names and hashes, and what it
says about the ONNX file, so those are validated before anything is loaded: a string
for ``labels`` would otherwise index as characters (silently wrong labels), a short list
or a list for the whole card would end in a traceback. Every other field (metrics, LFs,
versions...) is descriptive and kept as is. Errors are one line naming the card file and
the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, \
    model_validator

from labeling.config import control_character
from labeling.errors import ModelLoadError

MODEL_FILE = "model.skops"
ONNX_FILE = "model.onnx"
CARD_FILE = "model_card.json"
# the ONNX file's input: texts (the whole pipeline), embeddings (the head only) or
# token ids from the folder's tokenizer.json (a fine-tuned transformer)
TEXT_INPUT, EMBEDDING_INPUT, TOKENS_INPUT = "text", "embedding", "tokens"

# a bare file name inside the model folder: no separators, no "..", no hidden files
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Section(BaseModel):
    # strict: JSON has no reason to carry "1" for 1 or 0/1 for a bool; extra fields are
    # descriptive and kept (cards of later versions may add some)
    model_config = ConfigDict(extra="allow", strict=True)


class OnnxInfo(_Section):
    contains: str | None = None
    error: str | None = None
    input: Literal[TEXT_INPUT, EMBEDDING_INPUT, TOKENS_INPUT] | None = None
    classes: list[Annotated[int, Field(ge=0)]] | None = None
    opset: int | None = None
    parity: dict[str, Any] | None = None


class MultiLabelInfo(_Section):
    """A multi-label model (docs/multilabel.md): ``labeling predict`` gives every label
    whose probability reaches its threshold, one per label in ``labels`` order."""
    thresholds: list[Annotated[float, Field(ge=0, le=1)]]


class EndModelInfo(_Section):
    name: str | None = None
    label_mode: str | None = None
    config: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TrainingFile(_Section):
    """A file the model was made from, by hash (the card says what trained it)."""
    file: str
    sha256: Sha256
    role: str | None = None


class ModelCard(_Section):
    labels: list[str] = Field(min_length=2)
    task: str | None = None
    text_column: str | None = None  # the task's: what `labeling predict -i` reads
    id_column: str | None = None  # the task's: the ids `labeling predict -i` prints
    positive_label: str | None = None
    model_file: FileName = MODEL_FILE
    model_sha256: Sha256 | None = None
    files: dict[FileName, Sha256] = Field(default_factory=dict)
    formats: list[str] | None = None
    onnx: OnnxInfo | None = None
    multi_label: MultiLabelInfo | None = None
    end_model: EndModelInfo | None = None
    lfs: list[dict[str, Any]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    calibration: dict[str, Any] = Field(default_factory=dict)
    training_files: dict[str, TrainingFile] = Field(default_factory=dict)
    in_sample: list[str] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "ModelCard":
        if len(set(self.labels)) != len(self.labels):
            raise _FieldError("labels", f"labels must be unique, got {self.labels}")
        # printed as they are by `labeling predict` and `labeling serve`: an escape
        # sequence would rewrite the user's terminal, a tab or line break forge lines
        for field, names in (("labels", self.labels), ("task", [self.task or ""])):
            for name in names:
                if (char := control_character(name)) is not None:
                    raise _FieldError(field, f"{name!r} holds a control character ({char})")
        if self.positive_label is not None and self.positive_label not in self.labels:
            raise _FieldError("positive_label", f"{self.positive_label!r} is not one of the "
                                                f"labels {self.labels}")
        if self.multi_label and len(self.multi_label.thresholds) != len(self.labels):
            raise _FieldError("multi_label.thresholds", f"{len(self.multi_label.thresholds)} "
                                                        f"thresholds for {len(self.labels)} labels")
        if ONNX_FILE in self.files:
            info = self.onnx or OnnxInfo()
            for name in ("input", "classes"):
                if getattr(info, name) is None:
                    raise _FieldError(f"onnx.{name}", f"required when files lists {ONNX_FILE}")
            _check_class_indexes("onnx.classes", info.classes, self.labels)
        return self


class _FieldError(ValueError):
    """A cross-field problem, reported under ``field`` rather than the card's top level."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _check_class_indexes(field: str, classes, labels: list[str]) -> None:
    beyond = [int(c) for c in classes if not 0 <= int(c) < len(labels)]
    if beyond:
        raise _FieldError(field, f"class index {beyond[0]} has no label: the card lists "
                                 f"{len(labels)} labels ({', '.join(labels)})")


def _where(loc: tuple) -> str:
    """``onnx.input``, ``labels[1]``, ``files["a.b"]``: the field as a user would find it."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out and not str(part).isidentifier():
            out += f'["{part}"]'
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def card_error(card_path: Path, field: str, message: str) -> ModelLoadError:
    return ModelLoadError(f"{card_path}: invalid model card: field {field}: {message}")


def validate_card(card: Any, card_path: Path) -> dict:
    """``card`` (parsed JSON) if it satisfies :class:`ModelCard`, else a one-line
    :class:`ModelLoadError` naming ``card_path`` and the first field at fault."""
    if not isinstance(card, dict):
        raise ModelLoadError(f"{card_path}: the model card must be a JSON object, not "
                             f"{type(card).__name__ if card is not None else 'null'}")
    try:
        ModelCard.model_validate(card)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldError):
            raise card_error(card_path, cause.field, str(cause)) from None
        # pydantic's words for JSON's types; its class names mean nothing to a user
        msg = re.sub(r"a valid dictionary( or instance of \w+)?", "a JSON object", first["msg"])
        got = repr(first["input"])
        got = got if len(got) <= 60 else got[:57] + "..."
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise card_error(card_path, _where(first["loc"]),
                         f"{msg}, got {got}{more}") from None
    return card


def check_model_classes(card_path: Path, model_path: Path, model, labels: list[str]) -> None:
    """The loaded estimator is a classifier whose class indexes all have a label."""
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise ModelLoadError(f"{model_path}: holds a {type(model).__name__}, not a classifier "
                             "(no predict_proba/classes_); the model file was replaced")
    try:
        _check_class_indexes("labels", model.classes_, labels)
    except _FieldError as exc:
        raise card_error(card_path, exc.field, f"{exc} but the model predicts it") from None
    except (TypeError, ValueError):
        raise ModelLoadError(f"{model_path}: the model's classes are not label indexes: "
                             f"{list(model.classes_)[:5]}") from None
