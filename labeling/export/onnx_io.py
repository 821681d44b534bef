"""ONNX export of end models, run with onnxruntime.

skl2onnx converts the logistic-regression head, but not our TF-IDF featurisation:
its TfidfVectorizer converter refuses ``analyzer="char_wb"`` and swaps the default
word pattern ``(?u)\\b\\w\\w+\\b`` for ASCII ``[a-zA-Z0-9_]+`` (which also keeps
one-letter tokens, so bigrams change). So the featurisation graph is built here, op
by op, to reproduce scikit-learn exactly:

- lowercase: ``StringNormalizer``;
- word n-grams: ``Tokenizer`` with the Unicode form of sklearn's pattern
  (maximal runs of >= 2 letters/digits/underscore), then ``TfIdfVectorizer`` counts;
- char_wb n-grams: the text padded with a space on both sides (``StringConcat``) is
  cut into characters, each run of whitespace (Python's ``str.isspace`` set) as one
  " " token (``RegexFullMatch`` + ``Where``), and counted by ``TfIdfVectorizer``. So
  every word appears as " word ", as in scikit-learn; n-grams spanning two words have
  a space inside, which no char_wb n-gram has (spaces only at its ends), so they
  count as nothing, exactly like scikit-learn's per-word n-grams;
- then sublinear tf (1 + log tf), idf, L2 norm per vectorizer, in float64.

A model whose first step is not TF-IDF (the MiniLM embedding model) exports only
its linear head, with a float input of embeddings; the card says so.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper, version_converter

from labeling.errors import ModelLoadError
from labeling.export.folder_checks import onnx_load_error
from labeling.export.card_schema import EMBEDDING_INPUT, TEXT_INPUT
from labeling.export.fast_tfidf import WORD_PATTERN
from labeling.files import atomic_write
from labeling.train.soft_logreg import plain_logistic_regression
from labeling.train.user_model import UserEndModel

OPSET = 20  # StringConcat needs 20
# ORT builds a C++ locale for StringNormalizer; en_US.UTF-8 (its default) is often not
# installed, C.UTF-8 is on glibc systems and has full Unicode case mapping.
LOCALE = "C.UTF-8"
# Python's \w is [\p{L}\p{N}_]; re2's \w is ASCII only, hence the explicit classes.
WORD_TOKEN_RE = "[\\p{L}\\p{N}_]{2,}"
# The characters str.split() splits on (str.isspace()), as an re2 class.
_SPACES = ("\\t\\n\\x{0b}\\x{0c}\\r\\x{1c}-\\x{1f} \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
           "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}")
SPACES_RE = f"[{_SPACES}]+"
CHAR_OR_SPACES_RE = f"[^{_SPACES}]|{SPACES_RE}"
PAD_CHAR = "<pad>"  # pads token rows; not one character, so never part of a pool n-gram
# The one character whose lowercase differs: Python's str.lower() maps U+0130 to two
# characters ("i" + combining dot, Unicode's full case mapping), the C locale to "i".
# Callers feed it already lowercased (str.replace, cheap); the card says so.
DOTTED_I_LOWER = "\u0130".lower()
THREADS = 0  # onnxruntime intra-op threads; 0 = its default (benchmarks set 1)


def _is_tfidf_pipeline(model) -> bool:
    from sklearn.pipeline import FeatureUnion, Pipeline

    return (isinstance(model, Pipeline) and len(model.steps) == 2
            and isinstance(model.steps[0][1], FeatureUnion))


def _check_vectorizer(name: str, vec) -> None:
    """Refuse settings this graph does not reproduce, rather than export a model that
    silently disagrees with scikit-learn."""
    problems = []
    if vec.analyzer not in ("word", "char_wb"):
        problems.append(f"analyzer={vec.analyzer!r}")
    if vec.analyzer == "word" and (vec.token_pattern != WORD_PATTERN or vec.tokenizer):
        problems.append("a custom token pattern or tokenizer")
    if (vec.strip_accents or vec.preprocessor or vec.stop_words or vec.binary
            or not vec.lowercase or vec.input != "content"):
        problems.append("strip_accents/preprocessor/stop_words/binary/lowercase=False/input")
    if vec.norm not in ("l2", None) or not vec.use_idf:
        problems.append(f"norm={vec.norm!r}, use_idf={vec.use_idf}")
    if problems:
        raise ValueError(f"cannot export TF-IDF '{name}' to ONNX with parity: "
                         + ", ".join(problems))


def _pool(vec) -> dict:
    """TfIdfVectorizer op attributes: n-grams grouped by length, as token lists."""
    by_length: dict[int, list] = {}
    for gram, column in vec.vocabulary_.items():
        tokens = gram.split(" ") if vec.analyzer == "word" else list(gram)
        by_length.setdefault(len(tokens), []).append((tokens, column))
    lo, hi = vec.ngram_range
    pool, indexes, counts = [], [], []
    for n in range(1, hi + 1):  # counts index the pool by token, one start per length 1..hi
        counts.append(len(pool))
        for tokens, column in sorted(by_length.get(n, [])):
            pool.extend(tokens)
            indexes.append(column)
    return {"pool_strings": pool, "ngram_indexes": indexes, "ngram_counts": counts,
            "min_gram_length": lo, "max_gram_length": hi, "max_skip_count": 0, "mode": "TF"}


class _Graph:
    """A tiny node/initializer collector with unique names."""

    def __init__(self):
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, value) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.name(op_type),
                                           domain=domain, **attrs))
        return out


def _tokenize(g: _Graph, text: str, regex: str, pad: str) -> str:
    return g.op("Tokenizer", [text], domain="com.microsoft", tokenexp=regex, pad_value=pad,
                mark=0, mincharnum=1)


def _vectorizer_graph(g: _Graph, lower: str, vec) -> str:
    """Nodes turning lowercased texts [N] into this vectorizer's TF-IDF rows [N, V]."""
    if vec.analyzer == "word":
        tokens = _tokenize(g, lower, WORD_TOKEN_RE, PAD_CHAR)
    else:  # " " + text + " ", one token per character, whitespace runs as one " "
        space = g.const("space", np.array([" "], dtype=object))
        padded = g.op("StringConcat", [g.op("StringConcat", [space, lower]), space])
        chars = _tokenize(g, padded, CHAR_OR_SPACES_RE, PAD_CHAR)
        runs = g.op("RegexFullMatch", [chars], pattern=SPACES_RE)
        tokens = g.op("Where", [runs, space, chars])
    counts = g.op("Cast", [g.op("TfIdfVectorizer", [tokens], **_pool(vec))],
                  to=TensorProto.DOUBLE)
    if vec.sublinear_tf:  # 1 + log(tf) where tf > 0, else 0: log(max(tf, 1)) + sign(tf)
        logs = g.op("Log", [g.op("Max", [counts, g.const("one", np.array(1.0))])])
        counts = g.op("Add", [logs, g.op("Sign", [counts])])
    x = g.op("Mul", [counts, g.const("idf", vec.idf_.astype(np.float64))])
    if vec.norm == "l2":  # rows of zeros stay zeros, as in sklearn.preprocessing.normalize
        norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [x, x]),
                                                g.const("axis", np.array([1], np.int64))],
                                  keepdims=1)])
        zero = g.const("zero", np.array(0.0))
        norm = g.op("Where", [g.op("Equal", [norm, zero]), g.const("one", np.array(1.0)), norm])
        x = g.op("Div", [x, norm])
    return x


def tfidf_features_graph(g: _Graph, union) -> str:
    """Add the TF-IDF featurisation of ``union`` (a FeatureUnion of TfidfVectorizers) to
    ``g``: the text input, lower-cased, to the concatenated features; their output name."""
    lower = g.op("StringNormalizer", [TEXT_INPUT], case_change_action="LOWER", locale=LOCALE)
    parts = []
    for name, vec in union.transformer_list:
        _check_vectorizer(name, vec)
        parts.append(_vectorizer_graph(g, lower, vec))
    return g.op("Concat", parts, axis=1)


def _head_onnx(classifier, n_features: int, double: bool):
    """The linear head via skl2onnx: features -> label, probabilities (no ZipMap)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = DoubleTensorType if double else FloatTensorType
    classifier = plain_logistic_regression(classifier)
    head = convert_sklearn(classifier, initial_types=[("features", kind([None, n_features]))],
                           options={id(classifier): {"zipmap": False}}, target_opset=OPSET)
    # skl2onnx names the graph by a random uuid: a fixed name, so that exporting one model
    # twice writes the same bytes (tests/test_reproducible_export.py)
    head.graph.name = "logistic_regression"
    # skl2onnx declares the lowest opset its ops need; merging needs one opset per domain
    return version_converter.convert_version(head, OPSET)


def to_onnx(model) -> tuple[onnx.ModelProto, dict]:
    """``model`` as ONNX, and what the file contains (for the model card)."""
    if isinstance(model, UserEndModel):
        raise ValueError(f"an end model of yours ({model.factory}) has no ONNX export "
                         "(labeling converts its own TF-IDF and MiniLM models only); use "
                         "the skops file (--runtime sklearn)")
    if not hasattr(model, "steps"):  # ProbabilityAverage: one member is a transformer
        raise ValueError(f"{type(model).__name__} (an average of end models) has no ONNX "
                         "export: the MiniLM encoder is not ONNX; use the skops file "
                         "(--runtime sklearn)")
    classes = [int(c) for c in model.classes_]
    if _is_tfidf_pipeline(model):
        union, classifier = model.steps[0][1], model.steps[1][1]
        g = _Graph()
        features = tfidf_features_graph(g, union)
        n_features = sum(len(v.vocabulary_) for _, v in union.transformer_list)
        graph = helper.make_graph(
            g.nodes + [helper.make_node("Identity", [features], ["features"])], "tfidf",
            [helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, [None])],
            [helper.make_tensor_value_info("features", TensorProto.DOUBLE,
                                           [None, n_features])], g.inits)
        featurizer = helper.make_model(graph, opset_imports=[
            helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
        head = _head_onnx(classifier, n_features, double=True)
        featurizer.ir_version = head.ir_version  # merge_models wants them equal
        onx = compose.merge_models(featurizer, head, io_map=[("features", "features")])
        contains = ("the whole pipeline: text (string [N]) -> label (int64 [N]) and "
                    "probabilities (float64 [N, classes]); TF-IDF featurisation rebuilt from "
                    "ONNX string ops (lowercase, tokenizers, n-gram counts, idf, L2). "
                    "Replace U+0130 by its Python lowercase 'i\\u0307' before feeding texts "
                    "(labeling predict does): the ONNX lowercase maps it to 'i'. "
                    "onnxruntime needs the C.UTF-8 locale (glibc) for the lowercase op")
        input_name = TEXT_INPUT
    else:
        classifier = model.steps[-1][1]
        n_features = classifier.coef_.shape[1]
        onx = _head_onnx(classifier, n_features, double=False)
        onx.graph.input[0].name = EMBEDDING_INPUT
        for node in onx.graph.node:
            node.input[:] = [EMBEDDING_INPUT if i == "features" else i for i in node.input]
        contains = (f"the linear head only: {EMBEDDING_INPUT} (float32 [N, {n_features}], "
                    f"the output of step '{model.steps[0][0]}') -> label and probabilities; "
                    "the sentence-embedding model is not in the ONNX file (a transformer "
                    "encoder with its tokenizer); --runtime onnx computes embeddings with "
                    "the skops model's first step, then runs this head")
        input_name = EMBEDDING_INPUT
    onnx.checker.check_model(onx)
    return onx, {"contains": contains, "input": input_name, "classes": classes,
                 "opset": OPSET}


def save_onnx(model, path: Path) -> tuple[str, dict]:
    """Write ``model`` as ONNX; returns the file's sha256 and its description."""
    onx, info = to_onnx(model)
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(onx.SerializeToString())
    return hashlib.sha256(path.read_bytes()).hexdigest(), info


class OnnxModel:
    """An ONNX end model behind the one method predict needs: ``predict_proba_full``.

    ``prefix`` is the part of the pipeline computed outside ONNX (the embedder for a
    head-only file), None when the ONNX file takes texts.
    """

    BATCH = 256  # the TF-IDF rows are dense in ONNX: 256 x 35k float64 ~ 72 MB

    def __init__(self, path: Path, info: dict, prefix=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = THREADS
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise onnx_load_error(path, exc) from None
        self.classes = np.asarray(info["classes"], dtype=int)
        self.input = info["input"]
        self.prefix = prefix
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        # the card says what to feed; a card edited apart from its file must not get as
        # far as session.run (a traceback) or a misread probability column
        self.file_input = inputs[0].name if len(inputs) == 1 else None
        self.proba_output = outputs[1].name if len(outputs) == 2 else None
        proba_shape = outputs[1].shape if self.proba_output else None
        self.file_classes = (proba_shape[1] if proba_shape and len(proba_shape) == 2
                             and isinstance(proba_shape[1], int) else None)
        if self.file_input is None or self.proba_output is None:
            raise ModelLoadError(f"{path}: not an end model of ours: {len(inputs)} inputs, "
                                 f"{len(outputs)} outputs (want 1 and 2: label, probabilities)")

    def predict_proba_full(self, texts, cardinality: int) -> np.ndarray:
        texts = list(texts)
        full = np.zeros((len(texts), cardinality))
        for start in range(0, len(texts), self.BATCH):
            batch = texts[start:start + self.BATCH]
            if self.prefix is not None:
                features = self.prefix.transform(batch)
                feed = np.asarray(features.toarray() if hasattr(features, "toarray")
                                  else features, dtype=np.float32)
            else:  # see DOTTED_I
                feed = np.array([t.replace("\u0130", DOTTED_I_LOWER) for t in batch],
                                dtype=object)
            proba = self.session.run([self.proba_output], {self.input: feed})[0]
            full[start:start + len(batch), self.classes] = proba
        return full
