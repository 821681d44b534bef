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
# Real files nest a few levels (auto -> its model -> an array's rows) and one model
# inside another; anything deeper is tampering, refused before it can exhaust the stack.
MAX_DEPTH = 32
MAX_NESTED_MODELS = 1
# Learned attributes added to a model after files were saved without them, each with the
# value that makes the loaded model decide exactly as the one saved did: auto's
# decision_bias_ (2026-12-05) is zero for an auto model fit before (it decided unshifted).
ADDED_SINCE = {("auto", "decision_bias_"): lambda model: np.zeros(model.cardinality)}


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


def _decode(value, registry: dict, where: str, depth: int = 0, nested: int = 0):
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return _decode_array(value, where)
        if "__model__" in value:
            if nested >= MAX_NESTED_MODELS:
                raise ValueError(f"{where}: label models nested more than "
                                 f"{MAX_NESTED_MODELS} deep")
            try:
                return model_from_dict(value["__model__"], registry, _nested=nested + 1)
            except ValueError as exc:  # name the field the nested model sits in
                raise ValueError(f"{where}: {exc}") from None
        return {k: _decode(v, registry, f"{where}.{k}", depth + 1, nested)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, registry, where, depth + 1, nested) for v in value]
    return value


def _decode_array(value: dict, where: str) -> np.ndarray:
    dtype = np.dtype(value.get("dtype"))
    if dtype.kind not in "biuf":
        raise ValueError(f"{where}: dtype {dtype} is not numeric")
    array = np.asarray(value["__ndarray__"], dtype=dtype)
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{where}: holds NaN or inf")
    return array


def _number_of_lfs(spec: dict, state: dict, k: int) -> int | None:
    """``m`` as the first declared array of the right rank gives it (the others must agree)."""
    for key, dims in spec.items():
        value = state[key]
        if isinstance(dims, tuple) and isinstance(value, np.ndarray) and value.ndim == len(dims):
            for size, dim in zip(value.shape, dims):
                if dim in ("m", "m*k"):
                    return size if dim == "m" else size // k
    return None


def _check_state(model, state: dict) -> None:
    """``state`` against the model's ``learned_state`` declaration: every attribute
    present, arrays of the declared shape (with one ``m`` for all), other values of
    the declared type; so a tampered file fails here, not as a wrong prediction."""
    name, spec = model.name, model.learned_state
    missing, unknown = sorted(set(spec) - set(state)), sorted(set(state) - set(spec))
    if missing:
        raise ValueError(f"{name}: missing learned attributes {missing}")
    if unknown:
        raise ValueError(f"{name}: unknown learned attributes {unknown}")
    k = model.cardinality
    m = _number_of_lfs(spec, state, k)
    for key, expected in spec.items():
        value, where = state[key], f"{name}.{key}"
        if isinstance(expected, tuple):
            if not isinstance(value, np.ndarray):
                raise ValueError(f"{where}: expected an array, got {type(value).__name__}")
            sizes = {"k": k, "k+1": k + 1, "m": m, "m*k": None if m is None else m * k}
            want = tuple(sizes[dim] for dim in expected)
            if value.shape != want:
                raise ValueError(f"{where}: shape {value.shape}, expected "
                                 f"({', '.join(expected)}) = {want}")
        elif not isinstance(value, expected) or isinstance(value, bool):
            raise ValueError(f"{where}: expected {expected.__name__}, "
                             f"got {type(value).__name__}")
        elif isinstance(value, dict) and not all(
                isinstance(v, (int, float)) for v in value.values()):
            raise ValueError(f"{where}: values must be numbers")
        elif hasattr(value, "cardinality") and value.cardinality != k:
            raise ValueError(f"{where}: cardinality {value.cardinality}, expected {k}")


def model_to_dict(model) -> dict:
    """Params and learned state (attributes ending in ``_``) as a JSON-able dict."""
    state = {k: _encode(v, f"{model.name}.{k}") for k, v in vars(model).items()
             if k.endswith("_") and not k.startswith("_")}
    return {"format": FORMAT, "version": VERSION, "name": model.name,
            "params": _encode(model.get_params(), f"{model.name}.params"), "state": state}


def model_from_dict(d: dict, registry: dict, _nested: int = 0):
    """Inverse of :func:`model_to_dict`; raises ValueError naming the model and field
    at fault (unknown model, bad params, learned state that fails its declaration)."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"not a saved label model (expected format {FORMAT!r})")
    if d.get("version") != VERSION:
        raise ValueError(f"unsupported label model file version {d.get('version')!r}; "
                         f"this code reads version {VERSION}")
    name = d.get("name")
    if name not in registry:
        raise ValueError(f"unknown label model type {name!r}; known: {', '.join(sorted(registry))}")
    cls = registry[name]
    params = d.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError(f"{name}: params must be an object, got {type(params).__name__}")
    params = {key: _decode(value, registry, f"{name}.params.{key}", nested=_nested)
              for key, value in params.items()}  # arrays were saved as {"__ndarray__": ..}
    signature = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(params) - set(signature))
    if unknown:
        raise ValueError(f"label model {name!r} has no parameters {unknown}")
    for key, value in params.items():  # JSON has no tuples: restore tuple defaults
        if isinstance(signature[key].default, tuple) and isinstance(value, list):
            params[key] = tuple(value)
    cardinality = params.get("cardinality", signature["cardinality"].default)
    if not isinstance(cardinality, int) or isinstance(cardinality, bool) or cardinality < 2:
        raise ValueError(f"{name}: cardinality must be an integer >= 2, got {cardinality!r}")
    model = cls(**params)
    state = d.get("state") or {}
    if not isinstance(state, dict):
        raise ValueError(f"{name}: state must be an object, got {type(state).__name__}")
    for key in state:
        if not key.endswith("_"):
            raise ValueError(f"label model {name!r}: state key {key!r} is not a learned attribute")
    state = {key: _decode(value, registry, f"{name}.{key}", nested=_nested)
             for key, value in state.items()}
    for (model_name, key), default in ADDED_SINCE.items():
        if model_name == name and key not in state:  # a file from before the attribute
            state[key] = default(model)
    _check_state(model, state)
    for key, value in state.items():
        setattr(model, key, value)
    return model


def save_model(model, path) -> Path:
    """Write ``model`` to ``path`` as JSON (see module docstring); returns the path."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(model_to_dict(model)) + "\n", encoding="utf-8")
    return path


def load_model(path, registry: dict):
    """Read a model written by :func:`save`; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return model_from_dict(data, registry)
    except (ValueError, TypeError, KeyError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: cannot load label model: {exc}") from None
    except RecursionError:  # json's own parser, on brackets nested thousands deep
        raise ValueError(f"{path}: cannot load label model: JSON nested too deeply") from None
