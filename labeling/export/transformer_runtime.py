"""Running an exported transformer (``minilm_finetune``, ``minilm_logreg``): its ONNX file
(fp32 ``model.onnx`` or int8 ``model.int8.onnx``) and ``tokenizer.json``, with onnxruntime
and the `tokenizers` package only.

Split from :mod:`labeling.export.onnx_transformer` (which traces the torch model to write
those files) so that loading any exported model, and so `labeling predict` and `labeling
serve`, never import torch: a TF-IDF model starts in a fraction of the time (docs/serve.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labeling.errors import ModelLoadError
from labeling.export.folder_checks import onnx_load_error
from labeling.train.finetune_data import encode, load_tokenizer

INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask")
THREADS = 0  # onnxruntime intra-op threads; 0 = its default (benchmarks set 1)


class TransformerOnnxModel:
    """An exported transformer (``file``: model.onnx or model.int8.onnx) and its tokenizer,
    behind ``predict_proba_full``; the folder's files are checked by the caller.
    ``threads``: onnxruntime's intra-op threads (None: the module's ``THREADS``)."""

    # texts per onnxruntime call, after sorting by token count: small chunks pad little,
    # and the call overhead stays small next to the encoder's work. Measured on one core,
    # int8 (docs/serve.md): with 64-text server batches of comment-like texts, chunks of
    # 8 ran 390 docs per CPU second against 141 with 64; with 256-text calls 416 vs 327.
    BATCH = 8

    def __init__(self, model_dir: Path, file: str, info: dict, threads: int | None = None):
        import onnxruntime as ort  # lazy, as in onnx_io: only a loaded ONNX model needs it

        model_dir = Path(model_dir)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = THREADS if threads is None else threads
        # idle intra-op threads sleep instead of spinning: spinning burnt the CPU a server's
        # event loop (or any other job) needed; with 64-text calls on a loaded 2-core
        # machine, 276 docs/s against 189 (docs/serve.md)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = model_dir / file
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise onnx_load_error(path, exc) from None
        names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if sorted(names) != sorted(INPUTS) or len(outputs) != 2:
            raise ModelLoadError(f"{path}: not a transformer end model of ours: inputs "
                                 f"{names}, outputs {outputs} (want {', '.join(INPUTS)} -> "
                                 "label, probabilities)")
        self.proba_output = outputs[1]
        tokenizer_path = model_dir / info.get("tokenizer", TOKENIZER_FILE)
        try:
            self.tokenizer = load_tokenizer(tokenizer_path, int(info.get("max_seq_len", 128)))
        except Exception as exc:
            raise ModelLoadError(f"{tokenizer_path}: cannot load the tokenizer: {exc}") from None
        self.classes = np.asarray(info["classes"], dtype=int)

    def predict_proba_full(self, texts, cardinality: int) -> np.ndarray:
        """Probabilities ``[n, cardinality]`` in the input order.

        The distinct texts are tokenized once, sorted by token count and run ``BATCH`` at
        a time, each chunk padded only to its own longest text (the encoder's cost grows
        with the padded length, so mixed lengths in one chunk waste the short ones' time);
        the rows are put back in the input order, a repeated text given its one answer.
        Ties are broken by the text itself, so the chunks, and hence the answers, do not
        depend on the input order: the int8 model quantizes its activations with one scale
        per call (dynamic quantization), so its probabilities for a text move a little with
        the other texts of its chunk (the fp32 model's do not, beyond float rounding;
        docs/serve.md)."""
        index: dict[str, int] = {}
        rows_of = np.fromiter((index.setdefault(str(t), len(index)) for t in texts), dtype=int)
        if not index:
            return np.zeros((0, cardinality))
        distinct = list(index)
        ids, mask = encode(self.tokenizer, distinct)  # padded to the longest of all, right
        lengths = mask.sum(axis=1)
        order = np.array(sorted(range(len(distinct)), key=lambda i: (lengths[i], distinct[i])),
                         dtype=int)
        answers = np.zeros((len(distinct), cardinality))
        for start in range(0, len(distinct), self.BATCH):
            rows = order[start:start + self.BATCH]
            width = int(lengths[rows].max())  # this chunk's longest: its own padding
            proba = self.session.run([self.proba_output],
                                     {"input_ids": np.ascontiguousarray(ids[rows, :width]),
                                      "attention_mask": np.ascontiguousarray(
                                          mask[rows, :width])})[0]
            answers[np.ix_(rows, self.classes)] = proba
        return answers[rows_of]
