"""`labeling predict` internals and both runtimes: the exact fast TF-IDF path, batch
formatting identical to the per-row format, and bad input for sklearn and onnx alike.
(The CLI's sklearn basics -- arguments, CSV/JSONL/txt, stdin -- are in test_cli.py.)"""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.export import fast_tfidf, load_exported
from labeling.predict import format_batch, write_predictions
from labeling.train.end_model import predict_proba_full, train_end_model

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = ["sklearn", "onnx"]
EDGE = ["", " ", "a", "tab\there", "new\nline", "ÜNÏCODE café 🔥 İ", "x" * 100_000,
        "  many   spaces\u00a0nbsp ", "subscribe to my channel " * 40]


@pytest.fixture(scope="module")
def model_dir(youtube_tfidf_run):
    return youtube_tfidf_run[1] / "model"


@pytest.fixture(scope="module")
def texts():
    return pd.read_csv(REPO_ROOT / "data" / "youtube" / "test.csv")["text"].tolist() + EDGE


def run(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def user_error(result) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    return result.stderr.strip()


# --- the fast path ---------------------------------------------------------------------

def test_fast_path_is_used_and_identical_to_sklearn(model_dir, texts):
    exported = load_exported(model_dir)
    assert isinstance(exported._fast, fast_tfidf.FastTfidfModel)
    expected = predict_proba_full(exported.model, texts, 2)
    assert np.array_equal(exported.predict_proba(texts), expected)  # equal, not close
    # a second pass answers words from the cache: still identical
    assert np.array_equal(exported.predict_proba(texts[::-1]), expected[::-1])


def test_fast_path_identical_when_the_word_cache_overflows(model_dir, texts, monkeypatch):
    monkeypatch.setattr(fast_tfidf, "CACHE_WORDS", 5)
    exported = load_exported(model_dir)
    first, second = texts[:100], texts[100:]
    exported.predict_proba(first)
    assert np.array_equal(exported.predict_proba(second),
                          predict_proba_full(exported.model, second, 2))
    char = next(part for part in exported._fast.parts if part.char)
    # cleared before the second batch: it holds that batch's words only
    assert set(char.cache) == set(" ".join(t.lower() for t in second).split())


@pytest.mark.parametrize("change", [
    {"features__word__ngram_range": (1, 3)},
    {"features__char__analyzer": "char"},
    {"features__word__token_pattern": r"\S+"},
])
def test_unsupported_settings_fall_back_to_sklearn(change):
    texts = ["subscribe to my channel", "free money now", "love this song", "great song"]
    model = train_end_model(texts, np.eye(2)[[1, 1, 0, 0]], np.ones(4, bool))
    assert fast_tfidf.supports(model)
    model.set_params(**change)
    assert not fast_tfidf.supports(model)
    with pytest.raises(ValueError, match="not a TF-IDF pipeline"):
        fast_tfidf.FastTfidfModel(model)


# --- formatting ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_batch_format_equals_per_row_format(model_dir, texts, fmt, monkeypatch):
    import io

    import labeling.predict as predict

    exported = load_exported(model_dir)
    labels, per_row = exported.labels, ""
    for text, row in zip(texts, exported.predict_proba(texts)):  # the format, row by row
        k = int(row.argmax())
        if fmt == "jsonl":
            per_row += json.dumps({"text": text, "label": labels[k], "probability": np.round(row, 6).tolist()[k],
                                   "probabilities": dict(zip(labels, np.round(row, 6).tolist()))},
                                  ensure_ascii=False) + "\n"
        else:
            one_line = text.replace("\t", " ").replace("\n", " ")
            per_row += f"{labels[k]}\t{row[k]:.4f}\t{one_line}\n"
    assert format_batch(texts, exported.predict_proba(texts), exported.labels, fmt) == per_row
    monkeypatch.setattr(predict, "BATCH", 7)  # several batches, one short
    out = io.StringIO()
    assert write_predictions(exported, texts, out, fmt) == len(texts)
    assert out.getvalue() == per_row
    assert out.getvalue().count("\n") == len(texts)


# --- the CLI, both runtimes ----------------------------------------------------------------

def test_runtimes_agree_on_a_file(model_dir, texts, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}) for t in texts) + "\n", encoding="utf-8")
    out = {}
    for runtime in RUNTIMES:
        result = run("predict", "-m", model_dir, "-i", path, "--runtime", runtime,
                     "--format", "jsonl")
        assert result.exit_code == 0, result.output
        out[runtime] = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out["onnx"]) == len(texts)
    assert [p["label"] for p in out["onnx"]] == [p["label"] for p in out["sklearn"]]
    np.testing.assert_allclose([p["probability"] for p in out["onnx"]],
                               [p["probability"] for p in out["sklearn"]], atol=1e-9, rtol=0)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("stdin", ["", "\n \n"])
def test_empty_input(model_dir, runtime, stdin, tmp_path):
    result = run("predict", "-m", model_dir, "--runtime", runtime, input=stdin)
    assert result.exit_code == 0 and result.stdout == ""
    assert "no texts to classify" in result.stderr
    empty = tmp_path / "empty.txt"
    empty.write_bytes(stdin.encode())
    result = run("predict", "-m", model_dir, "--runtime", runtime, "-i", empty)
    assert result.exit_code == 0 and result.stdout == ""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_non_utf8_input_names_file_byte_and_line(model_dir, runtime, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("fine line\nsecond\ncaf\u00e9 au lait\n".encode("latin-1"))
    message = user_error(run("predict", "-m", model_dir, "--runtime", runtime, "-i", path))
    assert message == (f"error: {path}: not valid UTF-8 (byte 20, line 3); "
                       "re-save it as UTF-8")
    message = user_error(run("predict", "-m", model_dir, "--runtime", runtime,
                             input=b"ok\n\xff\n"))
    assert message.startswith("error: stdin: not valid UTF-8 (byte 3, line 2)")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_very_long_texts(model_dir, runtime):
    spam = ("subscribe to my channel for free money " * 3000)[:100_000]
    ham = ("this song is beautiful, i love her voice " * 3000)[:100_000]
    result = run("predict", "-m", model_dir, "--runtime", runtime, input=f"{spam}\n{ham}\n")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t", 2) for line in result.stdout.splitlines()]
    assert [r[2] for r in rows] == [spam, ham]
    assert [r[0] for r in rows] == ["spam", "ham"]


def test_onnx_runtime_refuses_a_tampered_onnx(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    data = bytearray((copy / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 1  # one bit, somewhere in the weights
    (copy / "model.onnx").write_bytes(bytes(data))
    assert "model.onnx: sha256 differs" in user_error(
        run("predict", "-m", copy, "--runtime", "onnx", "hi"))
    # sklearn does not read it, but a folder with a changed file is refused whole (h145)
    assert "model.onnx: sha256 differs" in user_error(run("predict", "-m", copy, "hi"))


def test_bad_runtime(model_dir):
    assert user_error(run("predict", "-m", model_dir, "--runtime", "tf", "hi")) == (
        "error: --runtime must be sklearn, onnx or onnx_int8, not 'tf'")


# --- streaming: stdin in batches, output before the input ends -----------------------------

def _line_reader(stream) -> "queue.Queue[bytes]":
    """Lines of ``stream`` as they arrive (a thread, so a read can time out)."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in iter(stream.readline, b""):
            lines.put(line)
        lines.put(b"")  # EOF

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_stdin_is_streamed_output_starts_before_input_ends(model_dir):
    # before: all of stdin was read before anything was printed, so no line came back
    # while the pipe was open (the 120 s only bounds a hang; a pass takes ~1 s)
    proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "predict", "--model",
                             str(model_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out = _line_reader(proc.stdout)
        proc.stdin.write(b"subscribe to my channel for free money\nthis song is beautiful\n")
        proc.stdin.flush()
        first, second = out.get(timeout=120), out.get(timeout=120)
        assert first.startswith(b"spam\t") and first.endswith(b"\tsubscribe to my channel "
                                                              b"for free money\n"), first
        assert second.startswith(b"ham\t"), second
        proc.stdin.write(b"check out my channel\n")  # the pipe is still open: more comes
        proc.stdin.flush()
        assert out.get(timeout=120).startswith(b"spam\t")
        proc.stdin.close()
        assert out.get(timeout=120) == b"" and proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_line_batches_yield_before_eof_and_respect_the_batch_size():
    from labeling.predict import line_batches

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as reader, os.fdopen(write_fd, "wb") as writer:
        batches = line_batches(reader, "stdin", size=4)
        writer.write(b"".join(b"line %d\n" % i for i in range(10)))
        writer.flush()
        got = [next(batches), next(batches), next(batches)]  # none of these waits for EOF
        assert [len(b) for b in got] == [4, 4, 2] and got[2] == ["line 8", "line 9"]
        writer.write(b"last")  # no final newline
        writer.close()
        assert list(batches) == [["last"]]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 16])
def test_line_batches_split_lines_like_reading_it_whole(chunk, monkeypatch):
    import labeling.predict as predict

    data = ("\ufeffone\r\ntwo\rthree\n\n  \nfour\u2028five\x85six\ncafé 🔥 İ\n"
            "tab\there\n" + "x" * 50 + "\nend").encode()
    whole = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    monkeypatch.setattr(predict, "CHUNK_BYTES", chunk)  # cuts inside multi-byte characters
    batches = list(predict.line_batches(io.BytesIO(data), "stdin", size=3))
    assert [line for batch in batches for line in batch] == whole
    assert all(0 < len(b) <= 3 for b in batches)


@pytest.mark.parametrize("data,where", [(b"ok\n\xff\n", "byte 3, line 2"),
                                        (b"a\nb\nc\n" * 3 + b"caf\xe9\n", "byte 21, line 10"),
                                        (b"\xef\xbb\xbfok\n\xc3", "byte 6, line 2")])
@pytest.mark.parametrize("chunk", [2, 1 << 16])
def test_line_batches_name_the_byte_and_line_of_bad_utf8(data, where, chunk, monkeypatch):
    import labeling.predict as predict
    from labeling.errors import DataError

    monkeypatch.setattr(predict, "CHUNK_BYTES", chunk)
    with pytest.raises(DataError) as info:  # bytes counted from the file's start, BOM included
        list(predict.line_batches(io.BytesIO(data), "stdin", size=2))
    assert str(info.value) == f"stdin: not valid UTF-8 ({where}); re-save it as UTF-8"


def test_stdin_in_many_batches_equals_the_list_path(model_dir, texts, monkeypatch):
    import labeling.predict as predict

    lines = [t for t in texts if "\n" not in t and t.strip()] * 3
    exported = load_exported(model_dir)
    expected = io.StringIO()
    write_predictions(exported, lines, expected)
    monkeypatch.setattr(predict, "STREAM_BATCH", 50)
    monkeypatch.setattr(predict, "CHUNK_BYTES", 1000)
    result = run("predict", "-m", model_dir, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == expected.getvalue()


def test_jsonl_records_hold_no_character_that_splitlines_breaks_at():
    """Before: U+2028, U+2029 and U+0085 in a text or id were written raw (valid JSON, but
    ``str.splitlines`` -- and readers built on it -- cut the record in two)."""
    from labeling.predict import format_label_sets

    texts = ["one\u2028two", "para\u2029graph", "next\x85line", "café 🔥"]
    ids = ["a\u2028b", "p", "n", "c"]
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.1, 0.9]])
    for out in (format_batch(texts, proba, ["ham", "spam"], "jsonl", ids),
                format_label_sets(texts, proba, ["ham", "spam"], np.array([0.5, 0.5]),
                                  "jsonl", ids)):
        lines = out.splitlines()
        assert len(lines) == len(texts)
        records = [json.loads(line) for line in lines]
        assert [r["text"] for r in records] == texts  # the text itself is unchanged
        assert [r["id"] for r in records] == ids
        assert "café 🔥" in out  # still UTF-8, not ASCII escapes
