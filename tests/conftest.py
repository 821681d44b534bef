"""Shared fixtures: the repo root, a tiny-task builder for bad-input tests, and one
full pipeline run on the bundled YouTube data (session-scoped, written to a tmp dir)."""

from __future__ import annotations

import importlib.util
import json
import signal
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import labeling

REPO_ROOT = Path(__file__).resolve().parents[1]


def interruptible_children() -> None:
    """Let the subprocesses the tests start be stopped with SIGINT (a terminal's Ctrl+C,
    which the dev-loop, apply and serve tests send). A suite started in the background
    (``make test &``, nohup, some CI runners) inherits SIGINT *ignored*, every process it
    starts inherits that too, and those tests then wait for an exit that never comes.
    With a handler here, children start with the default action (exec resets handled
    signals, not ignored ones)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


interruptible_children()


def synthetic_int8_tolerance() -> float:
    """The bound on how far the int8 files' probabilities move (from fp32, or between two
    chunkings) on the int8 tests' random synthetic graph (tests/test_int8_batch_independence.py,
    tests/test_serve_transformer_order.py): 0.05 (INT8_TOLERANCE) where the CPU has VNNI;
    0.2 on CPUs without it, whose onnxruntime u8s8 kernels (activations uint8, weights
    int8, as the export writes them) are less exact: measured on an AVX2-only AMD EPYC on
    2026-12-07, 0.068 from fp32 and 0.141 between chunkings (plain dynamic quantization
    of the same graph: int8 weights 0.093, uint8 weights 0.034; docs/finetune.md,
    "Tolerances")."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace").split()
    except OSError:
        return 0.05
    vnni = {"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags)
    return 0.05 if vnni or "avx2" not in flags else 0.2


# --- a minimal TOML writer (tomllib only reads) ------------------------------

def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(config: dict) -> str:
    """Top-level scalars first, then one [table] per nested dict whose values are not dicts
    only (``params = {...}`` stays inline)."""
    top = [f"{k} = {_toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    tables = []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append(f"\n[{key}]")
            tables += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
    return "\n".join(top + tables) + "\n"


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is _DELETE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class _Delete:
    def __repr__(self):
        return "DELETE"


_DELETE = _Delete()


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a module, from the tree of the ``labeling`` package
    imported: run against an old checkout (a worktree on PYTHONPATH), a test checks that
    checkout's benchmark."""
    path = Path(labeling.__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the tiny task -----------------------------------------------------------

SPAM_TEXTS = [
    "subscribe to my channel please", "check out my channel for free stuff",
    "free money at my channel", "please subscribe and share my channel",
    "win free gift cards now subscribe", "my channel has free music subscribe",
    "subscribe subscribe subscribe", "visit my channel for free prizes",
]
HAM_TEXTS = [
    "i love this song so much", "this song is great", "love the beat of this song",
    "what a beautiful song", "best song ever made", "i love her voice in this song",
    "this song brings back memories", "great song and great video",
]

# --- the tinier weak-weight task (tests/test_gold_only.py, tests/test_weight_rule.py) ---
# Six spam and six ham train texts whose weak labels are right, ten dev texts with gold.

WEAK_SPAM = ["subscribe to my channel", "check out my channel", "free money on my channel",
             "subscribe for free gifts", "visit my channel now", "my channel has free stuff"]
WEAK_HAM = ["love this song", "great song", "this song is beautiful", "what a voice",
            "best song ever", "i love the beat"]
WEAK_DEV = ["subscribe my channel", "free channel gifts", "visit channel", "check channel now",
            "channel free now", "song love", "great voice", "beautiful beat", "best voice ever",
            "love the song"]
WEAK_Y_DEV = [1] * 5 + [0] * 5

DEFAULT_LFS = '''\
from labeling import ABSTAIN, keyword_lf, labeling_function

HAM, SPAM = 0, 1

spam_words = keyword_lf(["subscribe", "channel", "free"], label=SPAM, name="kw_spam")
ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")


@labeling_function()
def long_text(x):
    return SPAM if len(x.text.split()) >= 6 else ABSTAIN
'''


def default_frames() -> dict[str, pd.DataFrame]:
    def frame(prefix, texts_labels):
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(len(texts_labels))],
                             "text": [t for t, _ in texts_labels],
                             "label": [lab for _, lab in texts_labels]})

    both = [(t, "spam") for t in SPAM_TEXTS] + [(t, "ham") for t in HAM_TEXTS]
    train = frame("tr", both + [(t.upper(), lab) for t, lab in both])
    dev = frame("dv", both[::2])
    test = frame("te", both[1::2])
    return {"train": train, "dev": dev, "test": test}


def default_config() -> dict:
    return {
        "name": "tiny",
        "labels": ["ham", "spam"],
        "positive_label": "spam",
        "lfs": ["lfs.py"],
        "output_dir": "run",
        "data": {"train": "train.csv", "dev": "dev.csv", "test": "test.csv",
                 "text_column": "text", "label_column": "label", "id_column": "id"},
        "label_model": {"name": "snorkel", "params": {"epochs": 50, "seed": 1}},
        # named, not the default auto: the tiny task's tests need no MiniLM candidates
        "end_model": {"name": "tfidf_logreg"},
    }


def _write(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pd.DataFrame):
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            content.to_parquet(path, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            content.to_json(path, orient="records", lines=True, force_ascii=False)
        else:
            content.to_csv(path, index=False)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.fixture
def make_task(tmp_path):
    """Build a tiny task in a fresh folder under ``tmp_path``; returns the config path.

    Keyword overrides:
      train/dev/test: DataFrame, str or bytes written to the split's file (the file
        name comes from the config, so set ``config={"data": {"dev": "dev.jsonl"}}``
        to write JSONL); ``None`` keeps the default frame; ``False`` writes nothing.
      lf_source: the LF module's text (str or bytes), written to ``lfs.py``.
      config: dict merged (recursively) into the default config; a value of
        ``make_task.DELETE`` removes the key.
      toml: raw text written as labeling.toml instead of the (merged) config.
      files: {relative path: content} extra files.
    """
    counter = iter(range(1000))

    def build(train=None, dev=None, test=None, lf_source=DEFAULT_LFS, config=None,
              toml=None, files=None) -> Path:
        root = tmp_path / f"task{next(counter)}"
        root.mkdir()
        cfg = _merge(default_config(), config or {})
        frames = default_frames()
        given = {"train": train, "dev": dev, "test": test}
        for split in ("train", "dev", "test"):
            name = cfg.get("data", {}).get(split)
            content = given[split]
            if name is None or content is False:
                continue
            _write(root / name, frames[split] if content is None else content)
        if lf_source is not None:
            _write(root / "lfs.py", lf_source)
        for rel, content in (files or {}).items():
            _write(root / rel, content)
        config_path = root / "labeling.toml"
        _write(config_path, toml if toml is not None else dump_toml(cfg))
        return config_path

    build.DELETE = _DELETE
    build.frames = default_frames
    return build


def write_task(root: Path, frames: dict[str, pd.DataFrame], lf_source: str,
               config: dict) -> Path:
    """A task folder for module-scoped runs (``make_task`` is per test): the splits as
    ``<split>.csv``, ``lfs.py`` and ``labeling.toml``; returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    for split, df in frames.items():
        df.to_csv(root / f"{split}.csv", index=False)
    (root / "lfs.py").write_text(lf_source, encoding="utf-8")
    path = root / "labeling.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    return path


@pytest.fixture
def tiny_app_project(make_task, tmp_path, monkeypatch) -> Path:
    """The tiny task run once (majority vote), with the app's environment pointing at it
    and an annotation store of its own; returns the config path."""
    from labeling import pipeline

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    pipeline.run(pipeline.load_task(config), progress=False)
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    return config


def cli(*args):
    """``labeling ARGS`` in-process (typer's runner); paths may be Path objects."""
    from typer.testing import CliRunner

    from labeling.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def annotate_first_row(task, split: str, label: int | None = None) -> None:
    """An annotation in the task's store, as the app writes it, of the first row of
    ``split``: ``label``, or (dev) the opposite of its gold label."""
    from labeling.gold import AnnotationStore

    frame = task.splits[split]
    label = 1 - int(frame["label"][0]) if label is None else label
    AnnotationStore(task.config.annotations_path).set(
        task.config.name, frame["id"][0], label, split=split,
        label_name=task.config.labels[label], text=frame["text"][0])


def one_error_line(result, *parts):
    """Exit status 2 and one ``error:`` line holding every part, no traceback."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for part in parts:
        assert part in lines[0], lines[0]


def rerun(path: Path) -> None:
    """Rewrite a run artifact as its step would on a re-run that changed it: one vote or
    probability differs (a parquet table), or the model is saved again (a .skops file);
    the steps after it were made from the old file."""
    import numpy as np

    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        column = table.columns[0]
        first = table[column].iloc[0]
        if np.issubdtype(table[column].dtype, np.integer):
            table.iloc[0, 0] = -1 if first != -1 else 0
        else:
            table.iloc[0, 0] = first / 2 if first else 0.5
        table.to_parquet(path)
    else:  # saving the same model again writes the same bytes: a retrained one differs
        from labeling.export import load_model, save_model

        model = load_model(path)
        model.rerun_ = getattr(model, "rerun_", 0) + 1
        save_model(model, path)


# --- repo and bundled run ----------------------------------------------------

@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def bundled_config(out_dir: Path) -> dict:
    """labeling.toml of the repo with absolute paths and ``output_dir`` = ``out_dir``."""
    raw = tomllib.loads((REPO_ROOT / "labeling.toml").read_text(encoding="utf-8"))
    raw["lfs"] = [str(REPO_ROOT / p) if p.endswith(".py") else p for p in raw["lfs"]]
    for split in ("train", "dev", "test"):
        if raw["data"].get(split):
            raw["data"][split] = str(REPO_ROOT / raw["data"][split])
    raw["output_dir"] = str(out_dir)
    return raw


@pytest.fixture(scope="session")
def youtube_config(tmp_path_factory) -> Path:
    """A copy of the repo's labeling.toml in tmp whose run folder is in tmp too."""
    root = tmp_path_factory.mktemp("youtube")
    path = root / "labeling.toml"
    path.write_text(dump_toml(bundled_config(root / "run")), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def youtube_run(youtube_config):
    """The full pipeline on the bundled data, once: (task, run_dir, metrics)."""
    from labeling import pipeline

    task = pipeline.load_task(youtube_config)
    assert REPO_ROOT not in task.run_dir.resolve().parents  # never write into the repo
    metrics = pipeline.run(task, progress=False)
    return task, task.run_dir, metrics


@pytest.fixture(scope="session")
def youtube_tfidf_run(tmp_path_factory):
    """The bundled pipeline with the end model named `tfidf_logreg`, the model that exports
    to ONNX (the default, an average with a MiniLM member, is skops-only):
    (task, run_dir, metrics)."""
    from labeling import pipeline

    root = tmp_path_factory.mktemp("youtube_tfidf")
    config = bundled_config(root / "run")
    config["end_model"] = {"name": "tfidf_logreg"}
    path = root / "labeling.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    task = pipeline.load_task(path)
    return task, task.run_dir, pipeline.run(task, progress=False)
