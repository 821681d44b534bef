"""int8 activations quantized with one scale **per text**, so that a text's int8 answer does
not depend on the other texts of its onnxruntime call (issue #16, docs/serve.md "Answers of
an ONNX transformer").

``onnxruntime.quantization.quantize_dynamic`` stores the weights as int8 and quantizes each
MatMul's input at run time with ``DynamicQuantizeLinear``: one scale and zero point for the
whole ``[texts, tokens, features]`` tensor, i.e. for every text of the call and for the
padding of the shorter ones. :func:`per_text_activations` rewrites such a file so that each
``DynamicQuantizeLinear`` computes its range per text (row of axis 0) over that text's real
tokens only (``attention_mask`` zeroes the padded positions first), and the same formula
as ``DynamicQuantizeLinear`` (uint8, range widened to include 0, scale = range / 255,
zero point = round(-min / scale)) gives that text's scale and zero point. A padded
position is quantized to exactly 0; it never reaches a real token anyway (attention masks
it as a key, mean pooling leaves it out), so its value does not matter.

``MatMulInteger`` takes only one zero point for its first input, so the per-text zero
points are applied afterwards: ``sum_k (q_k - z) w_kj = (q . w)_j - z * sum_k w_kj``, the
column sums of the int8 weights (less their zero points) being constants of the file. The
per-text scale enters the existing ``Mul(activation scale, weight scale)`` by broadcasting
(``[N, 1, 1] * [out]``).

Weights, and everything else of the file, are left as ``quantize_dynamic`` wrote them. A
static quantization (scales fixed at export from calibration texts) was the other way to
the same independence; docs/finetune.md compares both on dev.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MASK_INPUT = "attention_mask"
_PREFIX = "per_text/"


class _Graph:
    """The graph being rewritten: consumers of each tensor, initializers, new nodes."""

    def __init__(self, model: onnx.ModelProto):
        self.model, self.graph = model, model.graph
        self.inits = {i.name: i for i in self.graph.initializer}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          17)

    def const(self, name: str, value) -> str:
        name = _PREFIX + name
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.asarray(value), name)
            self.graph.initializer.append(self.inits[name])
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        out = _PREFIX + name
        return self.add(helper.make_node(op, inputs, [out], name=out, **attrs))

    def add(self, node) -> str:
        self.new.append(node)
        return node.output[0]

    def reduce(self, op: str, x: str, axes: list[int], name: str) -> str:
        if self.opset >= 18:  # axes became an input in opset 18
            return self.node(op, [x, self.const(f"axes{len(axes)}", np.array(axes, np.int64))],
                             name, keepdims=1)
        return self.node(op, [x], name, axes=axes, keepdims=1)


def _ranks(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    return {v.name: len(v.type.tensor_type.shape.dim) for v in
            list(inferred.graph.value_info) + list(inferred.graph.input)
            if v.type.tensor_type.HasField("shape")}


def _column_sums(g: _Graph, matmul) -> np.ndarray:
    """``sum_k (w_kj - w_zero_point_j)`` of a MatMulInteger's int8 weights, as int32."""
    weights = numpy_helper.to_array(g.inits[matmul.input[1]]).astype(np.int64)
    zero = (numpy_helper.to_array(g.inits[matmul.input[3]]).astype(np.int64)
            if len(matmul.input) > 3 and matmul.input[3] else 0)
    return (weights - zero).sum(axis=0).astype(np.int32)


def per_text_activations(model: onnx.ModelProto, symmetric: bool = False) -> onnx.ModelProto:
    """``model`` (written by ``quantize_dynamic``, with an ``attention_mask`` input of shape
    ``[N, T]``) with every ``DynamicQuantizeLinear`` computed per text, in place; raises
    ``ValueError`` for a graph this rewrite does not understand.

    ``symmetric``: the range ``[-m, m]`` (``m`` = the text's largest |value|) with the
    fixed zero point 128, which ``MatMulInteger`` applies itself: fewer nodes, no
    correction after the product, but about twice as coarse a step where the values are
    mostly of one sign (GELU outputs)."""
    g = _Graph(model)
    g.new = []
    ranks = _ranks(model)
    if MASK_INPUT not in {i.name for i in model.graph.input}:
        raise ValueError(f"no {MASK_INPUT} input")
    mask = g.node("Cast", [MASK_INPUT], "mask", to=TensorProto.FLOAT)
    mask3 = g.node("Unsqueeze", [mask, g.const("axis2", np.array([2], np.int64))], "mask3")
    a_zero = g.const("a_zero", np.array(128 if symmetric else 0, np.uint8))
    kept = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            kept.append(node)
            continue
        x, (q, scale, zero_point) = node.input[0], node.output
        rank = ranks.get(x)
        if rank not in (2, 3):
            raise ValueError(f"{x}: rank {rank}; want [texts, features] or [texts, tokens, "
                             "features]")
        tag = f"{len(g.new)}/"
        if rank == 3:  # padded positions -> 0, which the range below always includes
            x = g.node("Mul", [x, mask3], tag + "masked")
        axes = [1, 2] if rank == 3 else [1]
        zp = (_symmetric if symmetric else _asymmetric)(g, x, axes, q, scale, tag)
        for consumer in g.consumers.get(zero_point, []):
            consumer.input[list(consumer.input).index(zero_point)] = a_zero
        if zp is not None:
            for matmul in g.consumers.get(q, []):
                _correct(g, matmul, zp, tag)
    del model.graph.node[:]
    model.graph.node.extend(_topological(kept + g.new, model))
    # the shapes recorded for the rewritten tensors (scalar scales) no longer hold
    changed = {name for node in g.new for name in node.output}
    kept_info = [v for v in model.graph.value_info if v.name not in changed]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept_info)
    return model


def _quantize_per_row(g: _Graph, x: str, scale: str, zp_u8: str, q: str, tag: str) -> None:
    """``q = QuantizeLinear(x)`` with one scale and zero point per row of axis 0."""
    flat = g.const("flat", np.array([-1], np.int64))
    g.add(helper.make_node("QuantizeLinear",
                           [x, g.node("Reshape", [scale, flat], tag + "scale1d"), zp_u8],
                           [q], name=_PREFIX + tag + "quantize", axis=0))


def _asymmetric(g: _Graph, x: str, axes, q: str, scale: str, tag: str) -> str:
    """DynamicQuantizeLinear's formula per text: range ``[min(lo, 0), max(hi, 0)]`` in
    255 steps, zero point ``round(-lo / step)`` (in [0, 255] by construction). Returns the
    zero points (int32, ``[N, 1(, 1)]``) for :func:`_correct`."""
    zero = g.const("zero_f", np.array(0, np.float32))
    hi = g.node("Max", [g.reduce("ReduceMax", x, axes, tag + "max"), zero], tag + "hi")
    lo = g.node("Min", [g.reduce("ReduceMin", x, axes, tag + "min"), zero], tag + "lo")
    step = g.node("Mul", [g.node("Sub", [hi, lo], tag + "span"),
                          g.const("per_255", np.array(1 / 255, np.float32))], tag + "step")
    # the floor keeps an all-zero text finite (its zero point is then 0)
    g.add(helper.make_node("Max", [step, g.const("tiny", np.array(1e-12, np.float32))],
                           [scale], name=_PREFIX + tag + "scale"))
    zp = g.node("Neg", [g.node("Round", [g.node("Div", [lo, scale], tag + "zdiv")],
                               tag + "zround")], tag + "zp")  # half to even: odd function
    zp_u8 = g.node("Cast", [g.node("Reshape", [zp, g.const("flat", np.array([-1], np.int64))],
                                   tag + "zp1d")], tag + "zp_u8", to=TensorProto.UINT8)
    _quantize_per_row(g, x, scale, zp_u8, q, tag)
    return g.node("Cast", [zp], tag + "zp_i32", to=TensorProto.INT32)


def _symmetric(g: _Graph, x: str, axes, q: str, scale: str, tag: str) -> None:
    """Range ``[-m, m]`` per text in 254 steps around the fixed zero point 128."""
    top = g.reduce("ReduceMax", g.node("Abs", [x], tag + "abs"), axes, tag + "max")
    step = g.node("Mul", [top, g.const("per_127", np.array(1 / 127, np.float32))],
                  tag + "step")
    g.add(helper.make_node("Max", [step, g.const("tiny", np.array(1e-12, np.float32))],
                           [scale], name=_PREFIX + tag + "scale"))
    rows = g.node("Shape", [g.node("Reshape", [scale, g.const("flat", np.array([-1],
                                                                               np.int64))],
                                   tag + "rows1d")], tag + "rows")
    zp_u8 = g.node("Expand", [g.const("u8_128", np.array(128, np.uint8)), rows], tag + "zp_u8")
    _quantize_per_row(g, x, scale, zp_u8, q, tag)
    return None


def _correct(g: _Graph, matmul, zp: str, tag: str) -> None:
    """Subtract ``zero point * column sums`` from ``matmul``'s int32 product, before its
    Cast to float: in int32 the correction is exact (in float32 a product of up to
    1536 * 255 * 127 would be rounded)."""
    if matmul.op_type != "MatMulInteger":
        raise ValueError(f"{matmul.name}: {matmul.op_type} reads a quantized activation")
    casts = g.consumers.get(matmul.output[0], [])
    if len(casts) != 1 or casts[0].op_type != "Cast":
        raise ValueError(f"{matmul.name}: its int32 output is not cast to float once")
    name = f"{len(g.new)}_{matmul.name.replace('/', '_')}"  # unique even if unnamed
    sums = g.const(f"colsum/{name}", _column_sums(g, matmul))
    fixed = g.node("Sub", [matmul.output[0], g.node("Mul", [zp, sums], f"{tag}{name}/offset")],
                   f"{tag}{name}/corrected")
    casts[0].input[0] = fixed


def _topological(nodes: list, model: onnx.ModelProto) -> list:
    """``nodes`` ordered so that each runs after the producers of its inputs."""
    ready = {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer}
    ready.add("")
    pending, out = list(nodes), []
    while pending:
        rest = []
        for node in pending:
            if all(i in ready for i in node.input):
                out.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ValueError(f"cyclic or dangling inputs: {rest[0].name}")
        pending = rest
    return out
