"""`labeling predict` as an operator deploying a colleague's model meets it (found by the
deploy walkthrough): a model saved by another scikit-learn warns in one line, and the
lines of a stream before one that is not UTF-8 are answered before the error."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.errors import DataError
from labeling.export import export_model
from labeling.predict import line_batches
from labeling.train.end_model import train_end_model

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from labeling.cli import main; main()"]  # `labeling ...`
TIMEOUT = 120  # seconds: a hang guard, never a performance bound


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """tfidf_logreg on the bundled dev rows (fast to fit; test is never used)."""
    dev = pd.read_csv(REPO_ROOT / "data" / "youtube" / "dev.csv")
    y = (dev["label"] == "spam").to_numpy(int)
    model = train_end_model(dev["text"].tolist(), np.eye(2)[y], np.ones(len(y), bool))
    return export_model(model, tmp_path_factory.mktemp("deploy") / "model",
                        {"task": "youtube", "labels": ["ham", "spam"]})


def predict(*args: str, input: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "predict", *args], input=input, capture_output=True,
                          timeout=TIMEOUT)


def saved_by_old_sklearn(model_dir: Path, folder: Path) -> Path:
    """A copy of the folder whose skops file says scikit-learn 1.3.2 saved it, its card's
    hashes updated: a model exported on another machine, consistent, only older."""
    shutil.copytree(model_dir, folder)
    path = folder / "model.skops"
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    import sklearn

    schema, saved = members["schema.json"].decode(), f'\\"{sklearn.__version__}\\"'
    assert saved in schema  # each estimator's _sklearn_version, a JSON string in JSON
    members["schema.json"] = schema.replace(saved, '\\"1.3.2\\"').encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    card = json.loads((folder / "model_card.json").read_text())
    card["model_sha256"] = card["files"]["model.skops"] = hashlib.sha256(
        path.read_bytes()).hexdigest()
    (folder / "model_card.json").write_text(json.dumps(card, indent=2))
    return folder


def test_a_model_saved_by_another_scikit_learn_warns_in_one_line(model_dir, tmp_path):
    old = saved_by_old_sklearn(model_dir, tmp_path / "old")
    result = predict("-m", str(old), "check out my channel")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("spam\t")
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines  # scikit-learn's own: 3 lines per estimator in the file
    assert lines[0].startswith(f"warning: {old / 'model.skops'}: saved with scikit-learn "
                               "1.3.2, loaded with "), lines
    # the model as exported, by this scikit-learn: no word
    current = predict("-m", str(model_dir), "check out my channel")
    assert current.returncode == 0 and current.stderr == b"", current.stderr


@pytest.mark.parametrize("data,lines,where", [
    (b"ok\n\xff\n", ["ok"], "byte 3, line 2"),
    (b"a\nb\n\nc\ncaf\xe9\nd\n", ["a", "b", "c"], "byte 10, line 5"),
    (b"\xef\xbb\xbfok\n\xc3", ["ok"], "byte 6, line 2"),
    (b"caf\xe9\nd\n", [], "byte 3, line 1"),
])
def test_the_lines_before_a_non_utf8_one_are_yielded_before_the_error(data, lines, where):
    got = []
    with pytest.raises(DataError, match=rf"not valid UTF-8 \({where}\)"):
        for batch in line_batches(io.BytesIO(data), "stdin", size=2):
            got += batch
    assert got == lines


def test_predict_answers_the_lines_before_a_non_utf8_one(model_dir):
    result = predict("-m", str(model_dir), input=b"check out my channel\nlovely song\n\xff\n")
    assert result.returncode == 2
    assert [line.split("\t")[2] for line in result.stdout.decode().splitlines()] == [
        "check out my channel", "lovely song"]
    assert result.stderr.decode().strip() == ("error: stdin: not valid UTF-8 (byte 33, "
                                              "line 3); re-save it as UTF-8")


@pytest.mark.parametrize("stdin", [True, False])
def test_id_column_on_lines_is_an_error_not_silently_ignored(model_dir, tmp_path, stdin):
    lines = tmp_path / "texts.txt"
    lines.write_bytes(b"check out my channel\n")
    args = ["-m", str(model_dir), "--id-column", "id"] + ([] if stdin else ["-i", str(lines)])
    result = predict(*args, input=lines.read_bytes() if stdin else b"")
    assert result.returncode == 2 and result.stdout == b"", result.stdout
    assert result.stderr.decode().strip() == (
        f"error: {'stdin' if stdin else lines}: --id-column id applies to CSV/TSV/JSONL/"
        "Parquet inputs; lines from stdin or a .txt file have no ids")
    # --id-column "" (no ids) is what lines have anyway: no error
    none = predict("-m", str(model_dir), "--id-column", "", input=b"lovely song\n")
    assert none.returncode == 0 and none.stdout.decode().startswith("ham\t"), none.stderr


def test_a_card_of_the_other_kind_names_the_folder_of_its_card(model_dir, tmp_path):
    """A multi-label card on a single-label model: the error names which folder's card
    (an operator deploying several models reads it in a log of many)."""
    folder = tmp_path / "mixed"
    shutil.copytree(model_dir, folder)
    card = json.loads((folder / "model_card.json").read_text())
    card["multi_label"] = {"thresholds": [0.5, 0.5]}
    (folder / "model_card.json").write_text(json.dumps(card))
    result = predict("-m", str(folder), "check out my channel")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        f"error: {folder / 'model_card.json'}: the card says a multi-label model, but the "
        "model file is single-label; the card does not belong to this model")


def test_other_warnings_while_loading_follow_the_users_filters(model_dir, tmp_path, monkeypatch):
    # found in review: every warning was recorded under "always" and re-issued after the
    # load, so under -W error another warning escaped as itself, not a ModelLoadError
    import warnings

    import skops.io as sio

    from labeling.errors import ModelLoadError
    from labeling.export.skops_io import load_model

    real = sio.load

    def warns(*args, **kwargs):
        warnings.warn("some other warning", UserWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(sio, "load", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelLoadError, match="some other warning"):
            load_model(model_dir / "model.skops")
