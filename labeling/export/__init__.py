"""Safe export of end models (skops with fixed trusted types, and ONNX) with a model card.

onnxruntime (1.32 here, on Linux) writes a device id and usage events under
``~/.cache/Microsoft`` when imported, and looks up Microsoft's events endpoint to send
them; nothing imports it before this package, so its switch is set first (a user's own
``ORT_DISABLE_TELEMETRY`` is kept).
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from labeling.export.card import ExportedModel, export_model, load_exported  # noqa: E402
from labeling.export.skops_io import load_model, save_model  # noqa: E402

__all__ = ["ExportedModel", "export_model", "load_exported", "load_model", "save_model"]
