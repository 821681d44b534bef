"""The wire formats: request bodies in, texts out; probabilities in, response bodies out.

Two APIs share one model: the Open Inference Protocol v2 (KServe, Triton, MLServer: a
``BYTES`` input tensor of texts, ``label`` and ``probabilities`` output tensors) and a
plain ``POST /predict`` (``{"texts": [...]}``). A multi-label model (``thresholds``: the
card's per-label thresholds) answers label sets, as `labeling predict` prints them: every
label whose probability reaches its threshold. Every check here turns bad input into a
:class:`RequestError` carrying the HTTP status and a one-line message, so the server
answers ``{"error": "..."}`` with a 4xx instead of a 500 or a traceback.

Pure functions, no HTTP: tested without a server, reused by the server and the tests.
"""

from __future__ import annotations

import ipaddress
import json
import math
from dataclasses import dataclass

import numpy as np
import orjson

from labeling.errors import LabelingError

TEXT_INPUT = "text"
LABEL_OUTPUT, PROBA_OUTPUT = "label", "probabilities"
OUTPUTS = (LABEL_OUTPUT, PROBA_OUTPUT)


class RequestError(LabelingError):
    """A request the server refuses: ``status`` is the HTTP status (4xx, or 503 when busy)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one request may carry. The body limit is checked while the body is read (a
    client cannot make the server buffer more); the others after parsing."""

    max_body_bytes: int = 1 << 20  # 1 MiB
    max_texts: int = 1024  # texts in one request
    max_text_chars: int = 10_000  # characters in one text
    # seconds without a byte of the body: a client announcing more bytes than it sends
    # held its connection open for ever (uvicorn has no body timeout)
    body_timeout_s: float = 30.0

    def __post_init__(self):
        for name in ("max_body_bytes", "max_texts", "max_text_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise LabelingError(f"{name} (--{name.replace('_', '-')}) must be a "
                                    f"positive integer, not {value!r}")
        if (not isinstance(self.body_timeout_s, (int, float)) or isinstance(
                self.body_timeout_s, bool) or not self.body_timeout_s > 0):
            raise LabelingError(f"body_timeout_s (--body-timeout) must be a positive number "
                                f"of seconds, not {self.body_timeout_s!r}")


def loopback_host(host: str) -> bool:
    """Whether a Host header names this machine's loopback: ``localhost`` or a loopback
    IP (``127.0.0.1``, ``[::1]``), with or without a port. A page in a browser reaching a
    loopback server through DNS rebinding sends its own name instead."""
    host = host.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        name, bracket, port = host[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return False
    else:
        name, colon, port = host.partition(":")
        if colon and not port.isdigit():
            return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_json(body: bytes) -> dict:
    """The JSON object in ``body`` (UTF-8), or a 400 naming what is wrong with it."""
    try:  # the fast parser takes what is plainly valid; anything it refuses (invalid JSON,
        # a BOM, a lone surrogate escape, a 400-digit number, NaN) gets the stdlib's
        # reading below, so answers and error messages are the same as without it
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(payload, dict):
            return payload
    if not body.strip():
        raise RequestError(400, "empty request body; send a JSON object")
    try:  # UTF-8 only (json.loads on bytes would also guess UTF-16 and UTF-32)
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(400, f"request body is not valid JSON: {exc.msg} "
                                f"(line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # an int of 5000 digits; nesting too deep
        raise RequestError(400, f"request body is not usable JSON: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                           ) from None
    if not isinstance(payload, dict):
        raise RequestError(400, f"request body must be a JSON object, not {_kind(payload)}")
    return payload


def _kind(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def check_texts(texts: list, where: str, limits: Limits) -> list[str]:
    """``texts`` if every one is a string within the limits (the index of the first
    offender otherwise)."""
    if len(texts) > limits.max_texts:
        raise RequestError(413, f"{where}: {len(texts)} texts; at most {limits.max_texts} "
                                "per request (--max-texts)")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestError(400, f"{where}[{i}]: must be a string, not {_kind(text)}")
        if len(text) > limits.max_text_chars:
            raise RequestError(413, f"{where}[{i}]: {len(text)} characters; at most "
                                    f"{limits.max_text_chars} per text (--max-text-chars)")
        if not text.isascii():
            try:  # JSON can escape a lone surrogate (\ud800); no runtime can encode it
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise RequestError(400, f"{where}[{i}]: not valid Unicode "
                                        "(a lone surrogate escape)") from None
    return texts


def predict_texts(payload: dict, limits: Limits) -> list[str]:
    """The texts of a ``POST /predict`` body: ``{"texts": ["...", ...]}``."""
    if "texts" not in payload:
        raise RequestError(400, 'missing field "texts" (want {"texts": ["...", ...]})')
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise RequestError(400, f'"texts" must be an array of strings, not {_kind(texts)}')
    return check_texts(texts, "texts", limits)


def label_sets(proba: np.ndarray, labels: list[str], thresholds: np.ndarray
               ) -> list[list[str]]:
    """A multi-label model's answer per row: every label whose probability reaches its
    threshold, in ``labels`` order, possibly none (labeling.predict.format_label_sets)."""
    if not len(proba):
        return []
    return [[labels[c] for c in np.flatnonzero(row)] for row in proba >= thresholds]


def top_labels(proba: np.ndarray, labels: list[str]) -> list[str]:
    """A single-label model's answer per row: the most probable label (the first on a
    tie, as `labeling predict`)."""
    return [labels[k] for k in proba.argmax(axis=1).tolist()] if len(proba) else []


def predict_response(proba: np.ndarray, labels: list[str],
                     thresholds: np.ndarray | None = None) -> dict:
    """``labels``: each text's label (single-label) or list of labels (multi-label);
    ``probabilities``: each text's row, in ``classes`` order (float64, exact)."""
    answer = (top_labels(proba, labels) if thresholds is None
              else label_sets(proba, labels, thresholds))
    return {"classes": list(labels), "labels": answer, "probabilities": proba.tolist()}


@dataclass(frozen=True)
class InferRequest:
    """A parsed v2 inference request: the texts, the id to echo, the outputs asked for."""

    texts: list[str]
    id: str | None
    outputs: tuple[str, ...]


def _flatten(data: list) -> list:
    """Row-major elements of a (possibly nested) v2 ``data`` array."""
    flat, stack = [], [iter(data)]
    while stack:  # iterative: a deeply nested array must not hit the recursion limit
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _shape(value, n: int, where: str) -> list[int]:
    if not (isinstance(value, list) and value
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)):
        raise RequestError(400, f"{where}.shape: must be a non-empty array of non-negative "
                                f"integers, e.g. [{n}]")
    if math.prod(value) != n:
        raise RequestError(400, f"{where}.shape: {value} holds {math.prod(value)} elements, "
                                f"but data has {n}")
    return value


def infer_request(payload: dict, limits: Limits) -> InferRequest:
    """Validate a v2 inference request body: one input named ``text``, datatype BYTES,
    its ``data`` an array of strings (nested arrays are read row-major, as the protocol
    says) whose element count matches ``shape``."""
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError(400, f'"id" must be a string, not {_kind(request_id)}')
    if not isinstance(payload.get("parameters", {}), dict):
        raise RequestError(400, '"parameters" must be an object')
    inputs = payload.get("inputs")
    if inputs is None:
        raise RequestError(400, 'missing field "inputs" (want [{"name": "text", "shape": '
                                '[N], "datatype": "BYTES", "data": ["...", ...]}])')
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise RequestError(400, '"inputs" must be an array of exactly one object (the '
                                f'"{TEXT_INPUT}" tensor)')
    tensor = inputs[0]
    for field in ("name", "shape", "datatype", "data"):
        if field not in tensor:
            raise RequestError(400, f'inputs[0]: missing field "{field}"')
    if tensor["name"] != TEXT_INPUT:
        raise RequestError(400, f"inputs[0].name: unknown input {tensor['name']!r}; this "
                                f"model has one input, {TEXT_INPUT!r}")
    if tensor["datatype"] != "BYTES":
        raise RequestError(400, f"inputs[0].datatype: {tensor['datatype']!r}; the "
                                f"{TEXT_INPUT!r} input is BYTES (strings)")
    if not isinstance(tensor.get("parameters", {}), dict):
        raise RequestError(400, 'inputs[0].parameters: must be an object')
    if not isinstance(tensor["data"], list):
        raise RequestError(400, f"inputs[0].data: must be an array of strings, not "
                                f"{_kind(tensor['data'])}")
    texts = _flatten(tensor["data"])
    _shape(tensor["shape"], len(texts), "inputs[0]")
    return InferRequest(check_texts(texts, "inputs[0].data", limits), request_id,
                        _requested_outputs(payload.get("outputs")))


def _requested_outputs(outputs) -> tuple[str, ...]:
    if outputs is None:
        return OUTPUTS
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise RequestError(400, '"outputs" must be an array of objects like {"name": "label"}')
    names = []
    for i, output in enumerate(outputs):
        if output.get("name") not in OUTPUTS:
            raise RequestError(400, f"outputs[{i}].name: unknown output {output.get('name')!r}"
                                    f" (outputs: {', '.join(OUTPUTS)})")
        names.append(output["name"])
    return tuple(dict.fromkeys(names)) or OUTPUTS


def infer_response(request: InferRequest, proba: np.ndarray, labels: list[str],
                   model_name: str, model_version: str,
                   thresholds: np.ndarray | None = None) -> dict:
    """The v2 response: ``label`` (BYTES, [n]: a multi-label model's label set joined by
    ``;``, as `labeling predict`'s tsv, empty for none) and ``probabilities`` (FP32, [n, k],
    data flattened row-major), those the request asked for, in its order."""
    n, k = len(request.texts), len(labels)
    tensors = {}
    if LABEL_OUTPUT in request.outputs:
        answer = (top_labels(proba, labels) if thresholds is None else
                  [";".join(chosen) for chosen in label_sets(proba, labels, thresholds)])
        tensors[LABEL_OUTPUT] = {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [n],
                                 "data": answer}
    if PROBA_OUTPUT in request.outputs:
        tensors[PROBA_OUTPUT] = {"name": PROBA_OUTPUT, "datatype": "FP32", "shape": [n, k],
                                 "data": proba.astype(np.float32).ravel().tolist()}
    response = {"model_name": model_name, "model_version": model_version,
                "outputs": [tensors[name] for name in request.outputs]}
    if request.id is not None:
        response["id"] = request.id
    return response


def provenance(card: dict, runtime: str, served_with: str) -> dict:
    """What model is answering, from its card: the model file's full sha256 (the one
    identity of the model; the version is its export time), when it was exported, which
    end model and labeling version made it; the runtime and labeling version serving it."""
    end_model = card.get("end_model")
    versions = card.get("versions")
    return {"model_sha256": card.get("model_sha256"), "exported_at": card.get("exported_at"),
            "task": card.get("task"),
            "end_model": end_model.get("name") if isinstance(end_model, dict) else None,
            "exported_with": (versions.get("labeling") if isinstance(versions, dict)
                              else None),
            "served_with": served_with, "runtime": runtime}


def model_metadata(model_name: str, model_version: str, labels: list[str],
                   platform: str, thresholds: np.ndarray | None = None,
                   about: dict | None = None) -> dict:
    """``GET /v2/models/{name}``: the tensors a client sends and gets back; ``parameters``
    says whether the model is multi-label (with its per-label thresholds) and, as
    ``provenance``, ``about`` (:func:`provenance`)."""
    parameters = {"labels": list(labels), "multi_label": thresholds is not None}
    if thresholds is not None:
        parameters["thresholds"] = [float(t) for t in thresholds]
    if about is not None:
        parameters["provenance"] = about
    return {"name": model_name, "versions": [model_version], "platform": platform,
            "inputs": [{"name": TEXT_INPUT, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [{"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [-1]},
                        {"name": PROBA_OUTPUT, "datatype": "FP32", "shape": [-1, len(labels)]}],
            "parameters": parameters}
