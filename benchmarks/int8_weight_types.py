"""How far dynamic int8 quantization moves the int8 tests' random synthetic graph from
fp32 on this machine's CPU, with int8 weights (the export's), uint8 weights, and int8
weights with reduce_range. Run by hand: ``python benchmarks/int8_weight_types.py``.

On a CPU without VNNI (an AVX2-only AMD EPYC, 2026-12-07) it printed s8 0.093, u8 0.034,
s8rr 0.059 (docs/finetune.md, "Tolerances").
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_int8_batch_independence as synthetic  # noqa: E402

from labeling.export.transformer_runtime import TransformerOnnxModel  # noqa: E402
from labeling.train.finetune_data import model_dir  # noqa: E402


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    shutil.copy(model_dir() / "tokenizer.json", tmp / "tokenizer.json")
    vocab = len(json.loads((tmp / "tokenizer.json").read_text())["model"]["vocab"])
    onnx.save(synthetic._graph(vocab), tmp / "model.onnx")
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(synthetic.WORDS, size=rng.integers(0, 40))) for _ in range(60)]
    fp32 = TransformerOnnxModel(tmp, "model.onnx", synthetic.INFO, threads=1)
    want = fp32.predict_proba_full(texts, synthetic.K)
    for name, weights, reduce_range in (("s8", QuantType.QInt8, False),
                                        ("u8", QuantType.QUInt8, False),
                                        ("s8rr", QuantType.QInt8, True)):
        quantize_dynamic(str(tmp / "model.onnx"), str(tmp / f"{name}.onnx"), weight_type=weights,
                         per_channel=True, reduce_range=reduce_range)
        got = TransformerOnnxModel(tmp, f"{name}.onnx", synthetic.INFO, threads=1)
        print(name, round(float(np.abs(want - got.predict_proba_full(texts, synthetic.K)).max()), 3))


if __name__ == "__main__":
    main()
