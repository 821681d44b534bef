"""Reproducibility and traceability of the exported model: the same fitted model saves to
the same bytes (so a model card's sha256 names the model, and matches the trained
end_model.skops), in this process or another."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from labeling.export import export_model, load_model, save_model
from labeling.export.skops_io import file_sha256
from labeling.train.end_model import train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money on my channel",
         "love this song", "great song", "this song is beautiful"]
CARD = {"task": "tiny", "labels": ["ham", "spam"], "positive_label": "spam",
        "lfs": [{"name": "kw_spam", "kind": "pattern"}]}


def _model():
    return train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))


def test_saving_one_model_twice_gives_the_same_bytes(tmp_path):
    model = _model()
    first = save_model(model, tmp_path / "a.skops")
    again = save_model(model, tmp_path / "b.skops")
    reloaded = save_model(load_model(tmp_path / "a.skops"), tmp_path / "c.skops")
    assert first == again == reloaded
    assert np.array_equal(load_model(tmp_path / "c.skops").predict_proba(TEXTS),
                          model.predict_proba(TEXTS))
    with zipfile.ZipFile(tmp_path / "a.skops") as z:  # no write time recorded
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_model_saved_in_another_process_has_the_same_bytes(tmp_path):
    """What `labeling export` does: load the trained end_model.skops in a new process
    and save it into the model folder; the card's sha256 is then the trained file's."""
    trained = tmp_path / "end_model.skops"
    sha = save_model(_model(), trained)
    code = ("import sys; from labeling.export import load_model, save_model; "
            "print(save_model(load_model(sys.argv[1]), sys.argv[2]))")
    out = subprocess.run([sys.executable, "-c", code, str(trained), str(tmp_path / "x.skops")],
                         capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == sha


def test_exporting_twice_differs_only_in_the_export_time(tmp_path):
    trained = save_model(_model(), tmp_path / "end_model.skops")
    cards = []
    for name in ("one", "two"):
        folder = export_model(load_model(tmp_path / "end_model.skops"), tmp_path / name, CARD)
        cards.append(json.loads((folder / "model_card.json").read_text()))
        assert file_sha256(folder / "model.skops") == trained
    assert cards[0]["model_sha256"] == cards[1]["model_sha256"] == trained
    differ = {k for k in cards[0] if cards[0][k] != cards[1].get(k)}
    assert differ <= {"exported_at"}  # the card says when; the model file is the same
    assert Path(tmp_path / "one" / "model.skops").read_bytes() == \
        Path(tmp_path / "two" / "model.skops").read_bytes()


def test_an_export_inside_the_embedding_cache_block_names_no_local_folder(tmp_path):
    """`labeling export` saves the model while its embedders use the run's embedding
    cache (for the parity check); the saved model named that folder, and `labeling
    predict` on the model, moved anywhere, wrote the vectors of the texts it was asked
    about into it."""
    from labeling.train.end_model import embedding_cache, make_end_model

    model = make_end_model("minilm_logreg").fit(TEXTS, [1, 1, 1, 0, 0, 0])
    cache = tmp_path / "run" / "embedding_cache"
    with embedding_cache(model, cache):
        folder = export_model(model, tmp_path / "model", CARD)
        with zipfile.ZipFile(folder / "model.skops") as z:
            assert str(cache) not in z.read("schema.json").decode()
        assert model[0].cache_dir == str(cache)  # the block's own model keeps its cache
    loaded = load_model(folder / "model.skops")
    assert loaded[0].cache_dir is None
    before = sorted(cache.rglob("*")) if cache.exists() else []
    loaded.predict_proba(["a text nobody asked about before"])
    assert (sorted(cache.rglob("*")) if cache.exists() else []) == before
    assert file_sha256(folder / "model.skops") == save_model(model, tmp_path / "after.skops")


def test_the_same_fit_in_two_processes_saves_the_same_bytes(tmp_path):
    """Two fresh runs of one config: each trains the model in its own process. The
    TF-IDF vectorizer keeps a memory address (_stop_words_id), which gave two sha256s."""
    code = ("import sys, numpy as np; from labeling.export import save_model; "
            "from labeling.train.end_model import train_end_model; "
            f"texts = {TEXTS!r}; "
            "m = train_end_model(texts, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool)); "
            "print(save_model(m, sys.argv[1]))")
    shas = [subprocess.run([sys.executable, "-c", code, str(tmp_path / f"{i}.skops")],
                           capture_output=True, text=True, check=True,
                           timeout=300).stdout.strip() for i in range(2)]
    assert shas[0] == shas[1]
