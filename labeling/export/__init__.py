"""Safe export of end models (skops with fixed trusted types, and ONNX) with a model card.

onnxruntime (>= 1.2x on Linux too) writes a device id and usage events under
``~/.cache/Microsoft`` when imported and sends them to Microsoft; nothing here imports it
before this package, so its own switch is set first (a user who sets it keeps theirs).
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from labeling.export.card import ExportedModel, export_model, load_exported
from labeling.export.skops_io import load_model, save_model

__all__ = ["ExportedModel", "export_model", "load_exported", "load_model", "save_model"]
