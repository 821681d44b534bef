"""Save and load label models as JSON, never pickle.

A saved model is one JSON object::

    {"format": "labeling.label_model", "version": 1, "name": "dawid_skene",
     "params": {...__init__ arguments...},
     "state": {"confusion_": {"__ndarray__": [[...]], "dtype": "float64"}, ...}}

``state`` holds every learned attribute (name ending in ``_``): numpy arrays as
nested lists plus their dtype, scalars, strings, dicts, and nested label models
(``AutoLabelModel.model_``) as nested objects of the same shape. Loading rebuilds
the class named by ``name`` from the registry, so a file can only ever produce a
registered label model: no code is executed, unlike pickle. float64 values survive
JSON exactly (``repr`` round-trips), so ``predict_proba`` is bit-identical.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from labeling.files import atomic_write

FORMAT = "labeling.label_model"
VERSION = 1


def _encode(value, where: str):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "get_params") and hasattr(value, "predict_proba"):
        return {"__model__": model_to_dict(value)}
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save {where} of type {type(value).__name__} as JSON")


def _decode(value, registry: dict):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        if "__model__" in value:
            return model_from_dict(value["__model__"], registry)
        return {k: _decode(v, registry) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, registry) for v in value]
    return value


def model_to_dict(model) -> dict:
    """Params and learned state (attributes ending in ``_``) as a JSON-able dict."""
    state = {k: _encode(v, f"{model.name}.{k}") for k, v in vars(model).items()
             if k.endswith("_") and not k.startswith("_")}
    return {"format": FORMAT, "version": VERSION, "name": model.name,
            "params": _encode(model.get_params(), f"{model.name}.params"), "state": state}


def model_from_dict(d: dict, registry: dict):
    """Inverse of :func:`model_to_dict`; raises ValueError on an unknown model name."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"not a saved label model (expected format {FORMAT!r})")
    if d.get("version") != VERSION:
        raise ValueError(f"unsupported label model file version {d.get('version')!r}; "
                         f"this code reads version {VERSION}")
    name = d.get("name")
    if name not in registry:
        raise ValueError(f"unknown label model type {name!r}; known: {', '.join(sorted(registry))}")
    cls = registry[name]
    params = dict(d.get("params") or {})
    signature = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(params) - set(signature))
    if unknown:
        raise ValueError(f"label model {name!r} has no parameters {unknown}")
    for key, value in params.items():  # JSON has no tuples: restore tuple defaults
        if isinstance(signature[key].default, tuple) and isinstance(value, list):
            params[key] = tuple(value)
    model = cls(**params)
    for key, value in (d.get("state") or {}).items():
        if not key.endswith("_"):
            raise ValueError(f"label model {name!r}: state key {key!r} is not a learned attribute")
        setattr(model, key, _decode(value, registry))
    return model


def save(model, path) -> Path:
    """Write ``model`` to ``path`` as JSON (see module docstring); returns the path."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(model_to_dict(model)) + "\n", encoding="utf-8")
    return path


def load(path, registry: dict):
    """Read a model written by :func:`save`; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return model_from_dict(data, registry)
    except (ValueError, TypeError, KeyError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: cannot load label model: {exc}") from None
