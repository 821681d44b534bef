"""Stale-results audit (h141): a cache key must cover every input that changes what
is cached. Each test here served a stale result before its fix."""

from __future__ import annotations

import contextlib
import sys
import types

import numpy as np
import pytest

from labeling.llm import local, minilm
from labeling.llm.embedding_cache import (EmbeddingCache, legacy_key, model_key, store_key,
                                          text_keys)
from labeling.train import embeddings as end_embeddings

TEXTS = ["subscribe to my channel", "nice song", "check out my page"]


def make_model(folder, weights: bytes):
    """A model folder as a fine-tune writes it (config, weights): only its files matter."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 384}')
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


class WeightsModel:
    """Vectors that depend on the weights file read when the model was loaded, as a
    SentenceTransformer's do."""

    def __init__(self, path):
        self.seed = sum((path / "model.safetensors").read_bytes())

    def encode(self, texts, **_):
        return np.array([[len(t) + self.seed] + [1.0] * 383 for t in texts], dtype=np.float32)


@pytest.fixture
def fake_loading(monkeypatch):
    """``load_model`` of both users of MiniLM as minilm's own (per folder and digest),
    with a SentenceTransformer that reads the weights file: no torch."""
    fake = types.ModuleType("sentence_transformers")
    loads = []

    def transformer(path, device=None):
        loads.append(path)
        return WeightsModel(minilm.Path(path))

    fake.SentenceTransformer = transformer
    monkeypatch.setitem(sys.modules, "sentence_transformers", fake)
    monkeypatch.setattr(minilm, "quiet_transformers", contextlib.nullcontext)
    minilm._load.cache_clear()
    local._embedding_memo.cache_clear()
    yield loads
    minilm._load.cache_clear()
    local._embedding_memo.cache_clear()


def test_a_model_retrained_in_place_has_another_key(tmp_path):
    # before: the key was the folder's path and config.json, which a retrain keeps
    folder = make_model(tmp_path / "m", b"weights v1")
    before = model_key(str(folder))
    (folder / "model.safetensors").write_bytes(b"weights v2 retrained")
    assert model_key(str(folder)) != before
    (folder / "model.safetensors").write_bytes(b"weights v1")  # the same weights again
    assert model_key(str(folder)) == before
    (folder / "tokenizer.json").write_text("{}")  # a tokenizer changes vectors too
    with_tokenizer = model_key(str(folder))
    assert with_tokenizer != before
    (folder / "2_Dense").mkdir()  # a module's weights in its subfolder
    (folder / "2_Dense" / "model.safetensors").write_bytes(b"dense v1")
    dense = model_key(str(folder))
    (folder / "2_Dense" / "model.safetensors").write_bytes(b"dense v2")
    dense_v2 = model_key(str(folder))
    assert len({with_tokenizer, dense, dense_v2}) == 3
    (folder / "README.md").write_text("a new model card")  # read by no load
    assert model_key(str(folder)) == dense_v2


def test_local_prompt_lfs_embed_again_after_the_model_is_retrained_in_place(
        tmp_path, fake_loading):
    # before: the same process (the `labeling dev` loop) kept the old model and the old
    # vectors, and a new process read the old vectors from the disk cache
    folder = make_model(tmp_path / "m", b"\x01")
    cache = tmp_path / "local_embeddings"
    first = local.LocalBackend(folder, cache_dir=cache).embed(TEXTS)
    (folder / "model.safetensors").write_bytes(b"\x05")  # retrained, same folder
    again = local.LocalBackend(folder, cache_dir=cache).embed(TEXTS)  # same process
    assert np.array_equal(again[:, 0], first[:, 0] + 4)
    local._embedding_memo.cache_clear()  # a new process: only the disk cache is left
    minilm._load.cache_clear()
    fresh = local.LocalBackend(folder, cache_dir=cache).embed(TEXTS)
    assert np.array_equal(fresh, again)
    # loaded again after the retrain; the new process reads the new vectors from disk
    assert len(fake_loading) == 2


def test_end_model_embeddings_follow_the_model_retrained_in_place(tmp_path, fake_loading):
    folder = make_model(tmp_path / "m", b"\x01")
    embedder = end_embeddings.MiniLMEmbedder(str(folder), cache_dir=str(tmp_path / "emb"))
    first = embedder.fit(TEXTS).transform(TEXTS)
    (folder / "model.safetensors").write_bytes(b"\x03")
    assert np.array_equal(embedder.transform(TEXTS)[:, 0], first[:, 0] + 2)


def test_the_shipped_models_vectors_of_an_earlier_build_are_kept(tmp_path):
    # the shipped weights never changed: its cache file under the old key is taken over
    # (renamed), not embedded again (hours for 500k texts)
    old = EmbeddingCache(tmp_path, legacy_key(None))
    old.table = dict(zip(text_keys(TEXTS), np.ones((3, 384), np.float32)))
    old.save()
    key = store_key(tmp_path, None)
    assert key == model_key(None) != legacy_key(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{key}.npz"]
    assert set(EmbeddingCache(tmp_path, key).table) == set(text_keys(TEXTS))


def test_another_models_vectors_of_an_earlier_build_are_not_taken_over(tmp_path):
    # its weights may have been retrained since those vectors were embedded
    folder = make_model(tmp_path / "m", b"weights")
    cache = tmp_path / "emb"
    old = EmbeddingCache(cache, legacy_key(str(folder)))
    old.table = dict(zip(text_keys(TEXTS), np.ones((3, 384), np.float32)))
    old.save()
    key = store_key(cache, str(folder))
    assert EmbeddingCache(cache, key).table == {}


# --- the LLM response cache and the endpoint --------------------------------------

def _endpoint_votes(server, cache, **settings):
    import pandas as pd

    from labeling.llm import LLMSettings, prompt_lf, use

    lf = prompt_lf("llm_sub", "Is it spam?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=server.base_url, progress=False,
                    cache_path=cache, concurrency=1, max_retries=0, **settings)
    with use(s, labels=["ham", "spam"]):
        return lf.apply_frame(pd.DataFrame({"text": TEXTS})).tolist()


@pytest.fixture
def two_servers(monkeypatch):
    """Two endpoints serving one model name: the second is another model, answering the
    opposite of the first."""
    sys.path.insert(0, str(minilm.Path(__file__).parent))
    from llm_server import FakeOpenAI

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    first, second = FakeOpenAI().start(), FakeOpenAI().start()
    second.content = lambda prompt, body: json_answer(
        "no" if "subscribe" in prompt.lower() else "yes")
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def json_answer(answer: str) -> str:
    import json

    return json.dumps({"answer": answer})


def test_another_endpoint_serving_the_same_model_name_is_asked(tmp_path, two_servers):
    # before: the second server was asked nothing, and its votes were the first's
    first, second = two_servers
    cache = tmp_path / "llm.sqlite"
    assert _endpoint_votes(first, cache) == [1, 0, 0]
    assert _endpoint_votes(second, cache) == [0, 1, 1]
    assert second.answered == 3
    assert _endpoint_votes(first, cache) == [1, 0, 0]  # each endpoint's replies kept
    assert first.answered == 3


def test_cache_by_endpoint_false_shares_replies_across_endpoints(tmp_path, two_servers):
    # the same model moved behind a new proxy: nothing is asked (nor paid) again
    first, second = two_servers
    cache = tmp_path / "llm.sqlite"
    assert _endpoint_votes(first, cache, cache_by_endpoint=False) == [1, 0, 0]
    assert _endpoint_votes(second, cache, cache_by_endpoint=False) == [1, 0, 0]
    assert second.received == 0


def test_the_endpoint_in_the_key_holds_no_credentials():
    from labeling.llm.cache import cache_key
    from labeling.llm.settings import LLMSettings, endpoint_identity

    assert endpoint_identity("https://me:sk-secret@gw.example:443/v1/?key=sk-2") == \
        "https://gw.example/v1"
    # OpenAI's own endpoint, named or not, keeps the key replies had before
    named = LLMSettings(base_url="https://api.openai.com/v1").cache_endpoint(env={})
    assert named is None and LLMSettings().cache_endpoint(env={}) is None
    assert cache_key("m", {}, [], None, None) == cache_key("m", {}, [], None)


def test_a_cached_truncated_reply_is_read_as_a_fresh_reply_is_read():
    # 103b63a: a multi-label reply in a ```json fence that parsed is a whole answer at
    # the token limit; the replies cached as 'truncated' before it stayed so (the
    # cache served the old reading: the LF abstained where a fresh reading votes)
    from labeling.llm.cache import Entry
    from labeling.llm.client import read_cached, truncated
    from labeling.llm.multilabel import parse_labels
    from labeling.llm.requests import Request

    answers = {"spam": 1, "hate": 1, "abstain": -1}
    req = Request("k", "kinds", "m", {}, [], None, answers, many=True)
    fenced = '```json\n{"answer": ["spam", "hate"]}\n```'
    fresh = parse_labels(fenced, list(answers))
    assert fresh[0] is not None and not truncated(fenced, "length", fresh[0], many=True)
    old = Entry("k", "kinds", "m", "[]", fenced, None, "truncated")
    assert read_cached(req, old) == fresh
    cut = Entry("k", "kinds", "m", "[]", "spam, ha", None, "truncated")  # still cut
    assert read_cached(req, cut) == (None, "truncated")
