"""Saving and loading end models with skops, never with pickle.

Loading accepts skops' default-trusted scikit-learn/NumPy/SciPy types plus the fixed
list below, and nothing else: a file naming any other type (a tampered file
smuggling ``os.system``, say) is refused with :class:`ModelLoadError`. The list is
never built from the file itself (``get_untrusted_types`` passed straight back is
how CVE-2025-54412-style bypasses happen).
"""

from __future__ import annotations

import io
import json
import re
import sys
import types
import warnings
import zipfile
from pathlib import Path

from sklearn.exceptions import InconsistentVersionWarning

from labeling.errors import LabelingError, ModelLoadError
from labeling.files import atomic_write, check_writable, file_sha256  # noqa: F401 (re-exported)

# skops lists its default trusted types with sklearn.utils.all_estimators(), which walks
# every scikit-learn package (pkgutil.walk_packages imports each one to look inside),
# among them sklearn.externals.array_api_compat.torch, which imports torch itself: 3-15 s
# and ~0.5 GB before a TF-IDF model can be loaded, though no estimator lives there. While
# skops is imported, an empty placeholder stands for that one package (no __path__, so
# the walk does not descend); it is removed right after, so a later real import of the
# package (scikit-learn's array API support) is unaffected. tests/test_serve_startup.py
# checks that loading a TF-IDF model does not import torch.
_TORCH_COMPAT = "sklearn.externals.array_api_compat.torch"
_placeholder = None
if _TORCH_COMPAT not in sys.modules and "torch" not in sys.modules:
    _placeholder = sys.modules[_TORCH_COMPAT] = types.ModuleType(_TORCH_COMPAT)
try:
    import skops.io as sio
finally:
    if _placeholder is not None and sys.modules.get(_TORCH_COMPAT) is _placeholder:
        del sys.modules[_TORCH_COMPAT]

# What a fitted TF-IDF + logistic-regression pipeline is made of. skops trusts these
# by default today; listing them keeps loading working if its defaults narrow.
BASE_TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
]

# The end models' own types (labeling.train): every type a fitted end model of ours may
# contain beyond the above. A new end-model class is loadable only once it is listed here.
ESTIMATOR_TYPES = [
    "labeling.train.embeddings.MiniLMEmbedder",
    "labeling.train.ensemble.ProbabilityAverage",
    "labeling.train.soft_logreg.SoftLogisticRegression",
    "labeling.train.multilabel_model.MultiLabelHeads",  # multi-label tasks
    "labeling.train.multilabel_model.MultiLabelAverage",
    "labeling.train.finetune.MiniLMFineTuned",
    "labeling.train.finetune_multilabel.MiniLMFineTunedMultiLabel",  # multi-label tasks
    "labeling.train.user_model.UserEndModel",  # an estimator of yours: its parts must be
    # trusted too (save_model checks). CalibratedClassifierCV's fitted parts: skops trusts
    # the public class only, and it is how a LinearSVC gets its predict_proba.
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]
TRUSTED_TYPES = BASE_TRUSTED_TYPES + ESTIMATOR_TYPES


def save_model(model, path: Path) -> str:
    """Write ``model`` to ``path`` (skops format); returns the file's sha256. The bytes
    depend on the model alone (:func:`canonical_skops`): saving the same fitted model
    again, in this process or another, gives the same file and sha256."""
    path = Path(path)
    check_writable(path.parent)
    buffer = io.BytesIO()
    # Deflated: a TF-IDF vocabulary is ~30 MB stored, under 1 MB compressed.
    sio.dump(model, buffer, compression=zipfile.ZIP_DEFLATED)
    untrusted = [t for t in sio.get_untrusted_types(data=buffer.getvalue())
                 if t not in TRUSTED_TYPES]
    if untrusted:  # load_model would refuse the file: say so now, and why
        raise LabelingError(f"{path}: cannot save the end model: it holds "
                            f"{', '.join(untrusted)}, which labeling does not load (a "
                            "model folder may hold skops' trusted scikit-learn and NumPy "
                            "types and labeling's, so loading one never runs code of "
                            "yours); build your end model from those")
    with atomic_write(path) as tmp:  # a crash or a full disk never leaves a partial model
        tmp.write_bytes(canonical_skops(buffer.getvalue()))
    return file_sha256(path)


_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can record
_ADDRESS_NAME = re.compile(r"(\d+)\.npy")


def canonical_skops(data: bytes) -> bytes:
    """The skops zip ``data`` with what varies between two saves of the same model
    replaced: skops names each object by its memory address (``__id__``, ``<id>.npy``
    members; numbered here in the order schema.json lists them), a bytes value's member by
    a random uuid, every member records the time it was written (fixed here), and a
    fitted TfidfVectorizer holds an address (``_stop_words_id``, dropped). The
    file loads as before (an address only pairs a node with its array member and with
    the other nodes of the same object); without this, exporting one model twice gave
    two sha256s, neither that of the trained end_model.skops."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    schema = json.loads(members.pop("schema.json"))
    numbers: dict[int, int] = {}
    renamed: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, list):
            for item in node:
                renumber(item)
        elif isinstance(node, dict):
            content, key_types = node.get("content"), (node.get("key_types") or {})
            key_types = key_types.get("content") if isinstance(key_types, dict) else None
            if (node.get("__loader__") == "DictNode" and isinstance(content, dict)
                    and "_stop_words_id" in content and isinstance(key_types, list)
                    and len(key_types) == len(content)):
                # scikit-learn's TfidfVectorizer keeps id(stop_words), a memory address,
                # only to skip checking them again; a loaded model checks them again
                del key_types[list(content).index("_stop_words_id")]
                del content["_stop_words_id"]
            if "__loader__" in node and isinstance(node.get("__id__"), int):
                node["__id__"] = numbers.setdefault(node["__id__"], len(numbers) + 1)
            name = node.get("file")
            if "__loader__" in node and isinstance(name, str) and name in members:
                match = _ADDRESS_NAME.fullmatch(name)
                if match:  # an array member: named by its array's address
                    number = numbers.setdefault(int(match.group(1)), len(numbers) + 1)
                    new = f"{number}.npy"
                else:  # a bytes member: a random name
                    new = renamed.get(name) or f"b{len(renamed) + 1}{Path(name).suffix}"
                node["file"] = renamed[name] = new
            for value in node.values():
                renumber(value)

    renumber(schema)
    if set(renamed) != set(members):  # a member the schema does not name: keep as it is
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in [("schema.json", json.dumps(schema, indent=2).encode("utf-8"))] \
                + sorted((renamed[old], content) for old, content in members.items()):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return out.getvalue()


def load_model(path: Path):
    """Load a model written by :func:`save_model`, refusing untrusted types."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    except Exception as exc:
        raise ModelLoadError(f"{path}: not a readable skops model file: {exc}") from None
    if untrusted:
        raise ModelLoadError(f"{path}: refusing to load: the file contains untrusted types "
                             f"{', '.join(untrusted)}")
    with warnings.catch_warnings(record=True) as caught:
        # the version warnings are gathered into one line below; every other warning
        # follows the user's filters (-W error makes it a ModelLoadError, as before)
        warnings.filterwarnings("always", category=InconsistentVersionWarning)
        try:
            model = sio.load(path, trusted=TRUSTED_TYPES)
        except Exception as exc:
            raise ModelLoadError(f"{path}: cannot load model: {type(exc).__name__}: "
                                 f"{exc}") from None
    _warn_once(path, caught)
    _drop_machine_paths(model)
    return model


# Attributes of our own types that name a folder of the machine that trained the model:
# the file sets them (skops restores every attribute), so a crafted file could point
# them anywhere. Training clears them before saving; loading clears them again.
_MACHINE_PATHS = ("cache_dir",)


def _drop_machine_paths(model) -> None:
    """Clear every ``cache_dir`` in ``model``: a MiniLMEmbedder writes each text it
    embeds (its vector, keyed by the text's SHA-1) into its cache folder, so a model file
    naming one (``/tmp/x`` on a shared machine) made `labeling predict` and `labeling
    serve` write there. Walks every attribute, list, tuple and dict value, wherever in
    the model the file put the object."""
    seen, stack = set(), [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            if f"{type(obj).__module__}.{type(obj).__qualname__}" in ESTIMATOR_TYPES:
                for name in _MACHINE_PATHS:
                    if getattr(obj, name, None) is not None:
                        setattr(obj, name, None)
            stack.extend(vars(obj).values())


def _warn_once(path: Path, caught: list) -> None:
    """One stderr line for a model saved by another scikit-learn (scikit-learn warns once
    per estimator in it, three lines each: a dozen lines for a TF-IDF pipeline); any
    other warning is passed on as it came."""
    saved, current = set(), None
    for w in caught:
        if w.category.__name__ == "InconsistentVersionWarning":
            saved.add(str(w.message.original_sklearn_version))
            current = w.message.current_sklearn_version
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if saved:
        print(f"warning: {path}: saved with scikit-learn {', '.join(sorted(saved))}, loaded "
              f"with {current}; its answers may differ from the exported model's: check "
              "them, or export it again with this version", file=sys.stderr, flush=True)
