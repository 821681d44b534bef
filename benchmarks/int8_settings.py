"""Which ``onnxruntime.quantization`` setting keeps the int8 ``minilm_finetune`` closest to its
fp32 self, chosen on **dev only** (issue #16: int8 test-metric drop <= 0.005), and which
answer a text the same alone and inside a batch.

For each dataset's cached fine-tune (benchmarks/.cache/finetune, written by
benchmarks/finetune.py; this script never fits: a missing fit is an error), the fp32 graph
is exported once (labeling.export.onnx_transformer) and quantized with every setting
below; each int8 file then predicts the dev texts on one intra-op thread, against the
torch model's dev probabilities: max |probability difference|, its mean over the texts
(each text's largest class difference), label agreement, and the dev-metric drop (torch
dev score - int8 dev score; the dev gold rows are in the fine-tune's training rows, so
few of them flip: the agreement and differences are the finer signals). Speed: dev docs
per CPU second of the process (best of 3 passes; the machine is shared, so CPU time is
steadier than wall time) and its ratio to ``current`` (plain ``quantize_dynamic``, the
export's setting) in the same run. Batch independence: the first 256
dev texts each run alone against their answers in the speed pass (``alone/batch``: max
|difference|, and how many labels flip). ``per_text`` is ``current`` with its activation
ranges taken per text (``[export] int8_scales = "per_text"``, not the default: docs/finetune.md
"int8 answers independent of the batch"); the ``static_*`` settings are
``quantize_static`` calibrated on 256 training texts (a seeded sample of the covered rows
the fine-tune was fit on). Test gold is not loaded.

    nice -n 19 taskset -c 1 python benchmarks/int8_settings.py [--datasets ...]
        [--settings ...] [--json PATH]

The MatMulNBits setting needs the onnx-ir package, which the project does not depend on
(the comparison in docs/finetune.md ran it from ``pip install --target DIR onnx-ir`` on
PYTHONPATH); without it that setting is skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from end_models import label_model_probs  # noqa: E402
from finetune import CACHE, DATASETS, _fit_key  # noqa: E402
from learning_curve import load_dataset  # noqa: E402
from labeling.export import onnx_transformer, skops_io, transformer_runtime  # noqa: E402
from labeling.export.int8_per_text import per_text_activations  # noqa: E402
from labeling.train.finetune_data import encode  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402

HEAD = ["/classifier/head/Gemm", "/classifier/head/Gemm_MatMul"]
FFN_DOWN = [f"/classifier/encoder/encoder/layer.{i}/output/dense/MatMul" for i in range(6)]


def settings() -> dict:
    """name -> quantize_dynamic keyword arguments (besides the paths)."""
    from onnxruntime.quantization import QuantType

    s8, u8 = QuantType.QInt8, QuantType.QUInt8
    return {
        # the export before this comparison: every MatMul with a constant B, the head's Gemm
        # and the three embedding Gathers, int8 weights with one scale per output column
        "current": dict(weight_type=s8, per_channel=True),
        "per_tensor": dict(weight_type=s8, per_channel=False),
        "reduce_range": dict(weight_type=s8, per_channel=True, reduce_range=True),
        "quint8": dict(weight_type=u8, per_channel=True),
        "const_b_only": dict(weight_type=s8, per_channel=True,
                             extra_options={"MatMulConstBOnly": True}),
        # the classification head left in fp32 (quantize_dynamic first rewrites the head's
        # Gemm as a MatMul + Add, named "<gemm>_MatMul"; it is quantized as a MatMul)
        "head_fp32": dict(weight_type=s8, per_channel=True, nodes_to_exclude=HEAD),
        # the embedding tables (word, position, token type: the Gathers) left in fp32
        "embed_fp32": dict(weight_type=s8, per_channel=True, op_types_to_quantize=["MatMul"]),
        "head_embed_fp32": dict(weight_type=s8, per_channel=True,
                                op_types_to_quantize=["MatMul"], nodes_to_exclude=HEAD),
        # the FFN down-projections (their input, GELU outputs, has the outliers a
        # per-batch activation scale handles worst) in fp32: a third of the MatMul work
        "ffn_down_fp32": dict(weight_type=s8, per_channel=True, nodes_to_exclude=FFN_DOWN),
        # only the last two layers' FFN down-projections in fp32 (a third of the cost above)
        "ffn_down_fp32_last2": dict(weight_type=s8, per_channel=True,
                                    nodes_to_exclude=FFN_DOWN[-2:]),
        # the quantizer's advice: quant_pre_process (shape inference + onnxruntime graph
        # optimisation) before quantizing as "current"
        "preprocessed": dict(weight_type=s8, per_channel=True, preprocess=True),
        # not quantize_dynamic: MatMulNBits (onnxruntime.quantization.matmul_nbits_quantizer,
        # needs the onnx-ir package): 8-bit weights in blocks of 32 along K, activations
        # quantized to int8 per block of 32 at run time (accuracy_level 4: int8 compute), so
        # an activation outlier costs its block's precision, not the whole tensor's
        "nbits8_block32_acc4": dict(nbits=8, block_size=32, accuracy_level=4),
        # issue #16's batch independence: "current" with its activation ranges taken per
        # text over the real tokens (labeling/export/int8_per_text.py), no calibration
        "per_text": dict(weight_type=s8, per_channel=True, per_text=True),
        # the same, symmetric per-text ranges around the fixed zero point 128 (fewer nodes)
        "per_text_sym": dict(weight_type=s8, per_channel=True, per_text="symmetric"),
        # or fixed activation scales: quantize_static calibrated once on training texts
        # (CALIBRATION of them, never dev or test); MatMuls with a constant weight and the
        # head's Gemm, int8 weights per channel, uint8 activations per tensor
        "static_qdq_minmax": dict(static="QDQ", method="MinMax"),
        "static_qdq_p99999": dict(static="QDQ", method="Percentile", percentile=99.999),
        "static_qdq_p9999": dict(static="QDQ", method="Percentile", percentile=99.99),
        "static_qoperator_minmax": dict(static="QOperator", method="MinMax"),
    }


def cached_finetune(ds, texts, probs, dev):
    """The fine-tune benchmarks/finetune.py cached for this data (never fit here)."""
    key = _fit_key(ds, texts, probs, dev["text"], dev["y"], {"progress": True})
    path = CACHE / "finetune" / f"{ds}-{key}.skops"
    if not path.exists():
        raise SystemExit(f"error: {path}: no cached fine-tune; run benchmarks/finetune.py "
                         f"--datasets {ds} first")
    return skops_io.load_model(path), path.name


CALIBRATION = 256  # training texts (a seeded sample) the static settings calibrate on
PER_TEXT_CHECK = 256  # dev texts run alone to check batch independence


class Calibration:
    """A ``CalibrationDataReader`` over texts, run as the runtime runs them: sorted by
    token count, chunks of ``TransformerOnnxModel.BATCH``, each padded to its longest.
    ``fixed``: every chunk padded to the longest text of all (onnxruntime's histogram
    calibrators stack the batches, so they need one shape; the padded positions then
    enter the histograms too)."""

    def __init__(self, tokenizer, texts, fixed=False):
        ids, mask = encode(tokenizer, list(texts))
        lengths = mask.sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        chunk = transformer_runtime.TransformerOnnxModel.BATCH
        self.feeds = []
        for start in range(0, len(order), chunk):
            rows = order[start:start + chunk]
            width = int((lengths if fixed else lengths[rows]).max())
            if fixed and len(rows) < chunk:
                break  # a short last chunk would be another shape
            self.feeds.append({"input_ids": np.ascontiguousarray(ids[rows, :width]),
                               "attention_mask": np.ascontiguousarray(mask[rows, :width])})
        self.it = iter(self.feeds)

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        self.it = iter(self.feeds)


def quantize_static_file(src: Path, dst: Path, kwargs: dict, calibration) -> None:
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    extra = {"MatMulConstBOnly": True}
    if kwargs["method"] == "Percentile":
        extra["CalibPercentile"] = kwargs["percentile"]
    calibration.rewind()
    quantize_static(str(src), str(dst), calibration,
                    quant_format=getattr(QuantFormat, kwargs["static"]),
                    op_types_to_quantize=["MatMul", "Gemm"], per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, kwargs["method"]),
                    extra_options=extra)


def quantize(src: Path, dst: Path, kwargs: dict, calibration=None) -> None:
    from onnxruntime.quantization import quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    kwargs = dict(kwargs)
    try:
        if "static" in kwargs:
            quantize_static_file(src, dst, kwargs, calibration)
            return
        if "nbits" in kwargs:
            from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

            quantizer = MatMulNBitsQuantizer(onnx.load(str(src)), bits=kwargs["nbits"],
                                             block_size=kwargs["block_size"],
                                             is_symmetric=True,
                                             accuracy_level=kwargs["accuracy_level"])
            quantizer.process()
            quantizer.model.save_model_to_file(str(dst))
            return
        if kwargs.pop("preprocess", False):
            pre = dst.with_suffix(".pre.onnx")
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # incomplete here
            src = pre
        per_text = kwargs.pop("per_text", False)
        quantize_dynamic(str(src), str(dst), **kwargs)
        if per_text:
            onnx.save(per_text_activations(onnx.load(str(dst)),
                                           symmetric=per_text == "symmetric"), str(dst))
    finally:
        root.setLevel(level)


def int8_matmuls(path: Path) -> int:
    """How many MatMul/Gemm nodes of the file have int8 weights (MatMulInteger,
    MatMulNBits, QLinearMatMul, or a MatMul/Gemm fed by a DequantizeLinear: QDQ)."""
    nodes = onnx.load(str(path)).graph.node
    dequantized = {n.output[0] for n in nodes if n.op_type == "DequantizeLinear"}
    return sum(n.op_type in ("MatMulInteger", "MatMulNBits", "QLinearMatMul")
               or (n.op_type in ("MatMul", "Gemm") and n.input[1] in dequantized)
               for n in nodes)


def speed(model, texts, k) -> tuple[np.ndarray, float]:
    """``(probabilities, docs per CPU second, best of 3 passes)``."""
    model.predict_proba_full(texts[:2], k)
    best, proba = 0.0, None
    for _ in range(3):
        cpu = time.process_time()
        proba = model.predict_proba_full(texts, k)
        best = max(best, len(texts) / max(time.process_time() - cpu, 1e-9))
    return proba, round(best, 1)


def run(datasets, names) -> dict:
    transformer_runtime.THREADS = 1
    table = settings()
    out = {}
    for ds in datasets:
        data, (k, metric, pos) = load_dataset(ds, CACHE)
        train, dev = data["train"], data["valid"]
        probs, _ = label_model_probs(ds, k, train, dev)
        model, fit_file = cached_finetune(ds, np.asarray(train["text"], dtype=object), probs,
                                          dev)
        texts = list(dev["text"])
        # calibration for the static settings: training texts the fine-tune was fit on
        # (the covered rows), a seeded sample; never dev or test
        covered = np.flatnonzero((train["L"] != -1).any(axis=1))
        pick = np.random.default_rng(0).choice(covered, size=min(CALIBRATION, len(covered)),
                                               replace=False)
        calib_texts = [str(train["text"][i]) for i in sorted(pick)]

        def score(p):
            return score_predictions(dev["y"], p.argmax(axis=1), metric, pos)

        ref = predict_proba_full(model, texts, k)
        rows = {}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            info = onnx_transformer.save_transformer_onnx(model, tmp)["info"]
            calibration = Calibration(model.tokenizer(), calib_texts)
            fixed = Calibration(model.tokenizer(), calib_texts, fixed=True)
            for name in ["fp32"] + list(names):
                file = onnx_transformer.ONNX_FILE
                if name != "fp32":
                    file = f"{name}.onnx"
                    quantize(tmp / onnx_transformer.ONNX_FILE, tmp / file, table[name],
                             fixed if table[name].get("method") == "Percentile"
                             else calibration)
                onnx_model = transformer_runtime.TransformerOnnxModel(tmp, file, info, threads=1)
                proba, rate = speed(onnx_model, texts, k)
                # batch independence: the first dev texts each alone, against their answers
                # in the speed pass above (all dev texts in one call, chunks of 8)
                alone = np.vstack([onnx_model.predict_proba_full([t], k)
                                   for t in texts[:PER_TEXT_CHECK]])
                moved = np.abs(alone - proba[:len(alone)])
                diff = np.abs(proba - ref)
                rows[name] = {"max_abs_diff": round(float(diff.max()), 4),
                              "mean_diff": round(float(diff.max(axis=1).mean()), 5),
                              "label_agreement": round(float(np.mean(
                                  proba.argmax(1) == ref.argmax(1))), 4),
                              "dev_metric_drop": round(score(ref) - score(proba), 4),
                              "size_mb": round(os.path.getsize(tmp / file) / 1e6, 2),
                              "int8_matmuls": int8_matmuls(tmp / file),
                              "docs_per_cpu_s": rate,
                              "alone_vs_batch_max_diff": float(f"{moved.max():.3g}"),
                              "alone_vs_batch_label_flips": int(np.sum(
                                  alone.argmax(1) != proba[:len(alone)].argmax(1)))}
        base = rows.get("current", {}).get("docs_per_cpu_s")
        for row in rows.values():
            if base:
                row["docs_per_cpu_s_vs_current"] = round(row["docs_per_cpu_s"] / base, 3)
        out[ds] = {"fine_tune": fit_file, "dev_rows": len(texts), "metric": metric,
                   "torch_dev_score": round(score(ref), 4), "settings": rows}
        print_table(ds, out[ds])
    return out


def print_table(ds, res) -> None:
    print(f"\n{ds} (dev {res['dev_rows']} rows, torch dev {res['metric']} "
          f"{res['torch_dev_score']}, {res['fine_tune']})")
    print(f"{'setting':<28}{'max diff':>9}{'mean max':>10}{'agree':>8}{'dev drop':>9}"
          f"{'MB':>7}{'int8 mm':>8}{'docs/cpu-s':>11}{'x current':>10}"
          f"{'alone/batch':>12}{'flips':>6}")
    for name, r in res["settings"].items():
        print(f"{name:<28}{r['max_abs_diff']:>9.4f}{r['mean_diff']:>10.5f}"
              f"{r['label_agreement']:>8.4f}{r['dev_metric_drop']:>9.4f}{r['size_mb']:>7.1f}"
              f"{r['int8_matmuls']:>8}"
              f"{r['docs_per_cpu_s']:>11.1f}{r.get('docs_per_cpu_s_vs_current', 0):>10.3f}"
              f"{r['alone_vs_batch_max_diff']:>12.2g}{r['alone_vs_batch_label_flips']:>6}",
              flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    everything = list(settings())
    available = [n for n in everything if "nbits" not in settings()[n]
                 or importlib.util.find_spec("onnx_ir")]
    parser.add_argument("--settings", nargs="+", default=available, choices=everything,
                        help="default: all (the nbits ones only when onnx-ir is installed)")
    args = parser.parse_args(argv)
    if len(available) < len(everything):
        print("note: onnx-ir is not installed: skipping "
              + ", ".join(sorted(set(everything) - set(available))), flush=True)
    start = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "cpu_affinity": sorted(os.sched_getaffinity(0)),
             "load_average": [round(x, 2) for x in os.getloadavg()]}
    results = run(args.datasets, args.settings)
    env = {"command": " ".join([Path(sys.executable).name] + sys.argv), "start": start,
           "end_load_average": [round(x, 2) for x in os.getloadavg()],
           "end_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"\n{env}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "environment": env},
                                              indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
