"""Safe export of end models (skops with fixed trusted types, and ONNX) with a model card."""

from labeling.export.card import ExportedModel, export_model, load_exported
from labeling.export.skops_io import load_model, save_model

__all__ = ["ExportedModel", "export_model", "load_exported", "load_model", "save_model"]
