"""An export folder is written whole or not at all, and `labeling export --out D` does
not replace an earlier export in D without --force (labeling.export.folder). An OS
file browser's metadata file (.DS_Store, ._x, Thumbs.db, desktop.ini) does not stop a
replacement; another file in an earlier export is named, with the advice to move it out;
an export interrupted between its two renames (an OSError, Ctrl+C or SIGTERM) puts the
earlier export back (f109)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.export.card import export_model, write_model_folder  # noqa: E402
from labeling.export.card_schema import CARD_FILE, MODEL_FILE  # noqa: E402
from labeling.export.folder import occupied  # noqa: E402
from labeling.train.end_model import train_end_model  # noqa: E402

TEXTS = ["subscribe to my channel", "love this song", "check out my page", "great tune"]
CARD = {"task": "t", "labels": ["ham", "spam"]}


@pytest.fixture(scope="module")
def model():
    y = np.array([1, 0, 1, 0])
    return train_end_model(TEXTS, np.eye(2)[y], np.ones(4, bool))


def _contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_failed_export_leaves_the_earlier_one_as_it_was(model, tmp_path):
    out = export_model(model, tmp_path / "m", CARD)
    before = _contents(out)

    def broken_markdown(card):  # fails after model.skops and the ONNX file are written
        raise LabelingError(f"{out}/MODEL_CARD.md: disk full")

    with pytest.raises(LabelingError, match="disk full"):
        write_model_folder(model, out, CARD, save_onnx=lambda m, p: (_ for _ in ()).throw(
            ValueError("no onnx")), onnx_parity=None, markdown=broken_markdown)
    # before: a new model.skops beside the old card (its model_sha256 then refused it)
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staged folder left


def test_an_export_replaces_the_earlier_one_whole(model, tmp_path):
    out = export_model(model, tmp_path / "m", CARD)
    (out / "model.int8.onnx").write_bytes(b"an earlier transformer's")
    export_model(model, out, CARD)
    assert not (out / "model.int8.onnx").exists()
    assert (out / MODEL_FILE).is_file() and (out / CARD_FILE).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_folder_of_other_files_is_refused_and_kept(model, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LabelingError, match=r"notes\.txt.*new or empty folder"):
        export_model(model, tmp_path, CARD)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_empty_folder_is_exported_into(model, tmp_path):
    (tmp_path / "m").mkdir()
    assert (export_model(model, tmp_path / "m", CARD) / CARD_FILE).is_file()


def test_cli_export_out_needs_force_to_replace_an_export(make_task):
    from labeling import pipeline

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    for step in (pipeline.step_apply, pipeline.step_fit, pipeline.step_train):
        step(task) if step is not pipeline.step_apply else step(task, progress=False)
    out = config.parent / "shipped"
    assert cli("export", config, "--out", out).exit_code == 0
    card = (out / CARD_FILE).read_bytes()
    one_error_line(cli("export", config, "--out", out), str(out), "already holds an export",
                   "--force")
    assert (out / CARD_FILE).read_bytes() == card
    assert cli("export", config, "--out", out, "--force").exit_code == 0
    assert (out / MODEL_FILE).is_file()
    # the run's own model/ is replaced by every run and export, as before
    assert cli("export", config).exit_code == 0
    assert cli("export", config, "--out", task.run_dir / "model").exit_code == 0
    # a folder of other files: refused even with --force, and left alone
    (config.parent / "notes").mkdir()
    (config.parent / "notes" / "a.txt").write_text("mine")
    one_error_line(cli("export", config, "--out", config.parent / "notes", "--force"),
                   "a.txt", "not an exported model's")
    assert (config.parent / "notes" / "a.txt").read_text() == "mine"


def test_session_export_out_needs_force_to_replace_an_export(make_task):
    # Before: Session.export(out) replaced an earlier export in out without a word, where
    # `labeling export --out` asks for --force
    from labeling.session import Session

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    session = Session(config)
    session.apply()
    session.fit()
    session.train()
    out = config.parent / "shipped"
    session.export(out)
    card = (out / CARD_FILE).read_bytes()
    with pytest.raises(LabelingError, match="already holds an export.*force=True"):
        session.export(out)
    assert (out / CARD_FILE).read_bytes() == card
    assert session.export(out, force=True) == out and (out / MODEL_FILE).is_file()
    session.export()  # the run's own model/: replaced every time, as before
    (config.parent / "notes").mkdir()
    (config.parent / "notes" / "a.txt").write_text("mine")
    with pytest.raises(LabelingError, match="not an exported model's"):
        session.export(config.parent / "notes", force=True)
    assert (config.parent / "notes" / "a.txt").read_text() == "mine"


@pytest.mark.parametrize("name", [".DS_Store", "._model.skops", "Thumbs.db", "desktop.ini"])
def test_an_export_with_an_os_metadata_file_is_replaced(model, tmp_path, name):
    out = export_model(model, tmp_path / "model", CARD)
    (out / name).write_bytes(b"\x00\x00\x00\x01Bud1")  # the file browser showed it
    export_model(model, out, CARD)  # before: "export to a new or empty folder"
    assert (out / MODEL_FILE).is_file() and not (out / name).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_folder_of_metadata_files_only_is_not_occupied(tmp_path):
    (tmp_path / ".DS_Store").write_bytes(b"")
    assert not occupied(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    assert occupied(tmp_path)


def test_another_file_in_an_earlier_export_is_named_with_the_advice_to_move_it(model,
                                                                              tmp_path):
    out = export_model(model, tmp_path / "model", CARD)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(LabelingError, match=r"notes\.txt.*move them out of it") as info:
        export_model(model, out, CARD)
    assert "new or empty folder" not in str(info.value) and "\n" not in str(info.value)
    assert (out / "notes.txt").read_text() == "mine" and (out / CARD_FILE).is_file()


def test_a_file_in_a_run_folders_own_model_folder_is_named_with_the_advice_to_move_it(
        model, tmp_path):
    (tmp_path / "metrics.json").write_text("{}")  # a run folder, before its first export
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("mine")
    with pytest.raises(LabelingError, match=r"model: holds files .*\(notes\.txt\).*move them "
                                            r"out of it$"):
        export_model(model, tmp_path / "model", CARD)
    (tmp_path / "metrics.json").unlink()  # any other folder: choose another
    with pytest.raises(LabelingError, match=r"notes\.txt.*new or empty folder$"):
        export_model(model, tmp_path / "model", CARD)


def _rename_into_target_raises(monkeypatch, target: Path, error: BaseException):
    """The staged folder's rename onto ``target`` (the first rename onto it) raises."""
    rename, calls = Path.rename, []

    def failing(self, dst):
        if Path(dst) == target and not calls:
            calls.append(self)
            raise error
        return rename(self, dst)

    monkeypatch.setattr(Path, "rename", failing)
    return calls


@pytest.mark.parametrize("error, raised", [(OSError(28, "No space left on device"),
                                            LabelingError),
                                           (KeyboardInterrupt(), KeyboardInterrupt)])
def test_a_failed_rename_puts_the_earlier_export_back(model, tmp_path, monkeypatch, error,
                                                      raised):
    out = export_model(model, tmp_path / "model", CARD)
    before = _contents(out)
    calls = _rename_into_target_raises(monkeypatch, out.resolve(), error)
    with pytest.raises(raised) as info:
        export_model(model, out, CARD)
    assert calls  # the rename that failed was the staged folder's
    if raised is LabelingError:
        assert str(info.value) == f"{out.resolve()}: could not be replaced (No space left on device)"
    # before, on an interrupt: no model/, and the old export in model.<pid>.<hex>.tmp
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_an_interrupt_while_removing_the_earlier_export_leaves_no_tmp_folder(model, tmp_path,
                                                                            monkeypatch):
    import shutil

    out = export_model(model, tmp_path / "model", CARD)
    (out / "model.int8.onnx").write_bytes(b"an earlier transformer's")
    rmtree, calls = shutil.rmtree, []

    def interrupted(path, *args, **kwargs):  # Ctrl+C in the first removal of model.*.tmp
        if Path(path).name.endswith(".tmp") and not calls:
            calls.append(path)
            raise KeyboardInterrupt
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(model, out, CARD)
    assert calls
    # before: the earlier export stayed behind in model.<pid>.<hex>.tmp for good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert not (out / "model.int8.onnx").exists() and (out / MODEL_FILE).is_file()


def test_cli_export_replaces_the_runs_model_folder_with_a_ds_store_in_it(make_task):
    from labeling import pipeline

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    assert cli("export", config).exit_code == 0
    (task.run_dir / "model" / ".DS_Store").write_bytes(b"Bud1")  # Finder opened it
    result = cli("export", config)  # before: "export to a new or empty folder"
    assert result.exit_code == 0, result.output
    assert not (task.run_dir / "model" / ".DS_Store").exists()
