"""The local zero-shot backend (MiniLM embeddings, offline): votes on hand-checked texts,
determinism, the multi-class form, derived descriptions, the auto backend choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeling.llm import LLMSettings, prompt_lf, use
from labeling.llm.minilm import load_model

HAM, SPAM, ABSTAIN = 0, 1, -1
LABELS = ["ham", "spam"]
TEXTS = ["check out my channel http://bit.ly/xyz123 and subscribe",
         "I love this song",
         "Make money online fast, free gift cards at my website",
         "her voice is so beautiful in this video"]


@pytest.fixture(scope="session")
def minilm():
    """The model, loaded once for the session (the load is cached per process too)."""
    return load_model()


def local(**kw) -> LLMSettings:
    return LLMSettings(backend="local", progress=False, **kw)


def visit_lf():
    return prompt_lf("asks_to_visit",
                     "Does this comment ask the reader to visit or subscribe?\nComment: {text}",
                     answers={"yes": SPAM, "no": ABSTAIN},
                     descriptions={"yes": "check out my channel, subscribe to me, visit my link",
                                   "no": "a comment reacting to this song or music video"})


def test_yes_no_votes_on_hand_checked_texts(minilm):
    with use(local(), labels=LABELS) as rt:
        votes = visit_lf().apply_frame(pd.DataFrame({"text": TEXTS}))
        stats = rt.report()["lfs"]["asks_to_visit"]
    assert votes[0] == SPAM and votes[1] == ABSTAIN and votes[3] == ABSTAIN
    assert stats["backend"] == "local" and stats["rows"] == 4 and stats["cost"] == 0


def test_multiclass_votes_and_determinism(minilm):
    lf = prompt_lf("spam_or_ham", "Spam or a genuine comment? {text}",
                   labels={"spam": "please subscribe to my channel, visit my website, free money",
                           "ham": "I love this song, the singer's voice is amazing"})
    df = pd.DataFrame({"text": TEXTS})
    with use(local(), labels=LABELS):
        first = lf.apply_frame(df)
    with use(local(), labels=LABELS):  # a fresh runtime: embeddings recomputed
        second = lf.apply_frame(df.iloc[::-1].reset_index(drop=True))
    assert first.tolist() == [SPAM, HAM, SPAM, HAM]
    assert second.tolist() == first[::-1].tolist()


def test_margin_makes_it_abstain(minilm):
    with use(local(local_margin=2.0), labels=LABELS):  # cosine gaps are < 2: never confident
        assert (visit_lf().apply_frame(pd.DataFrame({"text": TEXTS})) == ABSTAIN).all()


def test_derived_descriptions_and_label_index_keys(minilm):
    lf = prompt_lf("derived", "Does this comment ask to subscribe to a channel?\n{text}",
                   answers={"yes": "spam", "no": "ham"})  # label names as votes
    assert lf.local_descriptions() == {
        "yes": "Does this comment ask to subscribe to a channel?",
        "no": "not: Does this comment ask to subscribe to a channel?"}
    by_index = prompt_lf("by_index", "{text}", labels={SPAM: "subscribe to my channel now",
                                                       HAM: "what a lovely song"})
    with use(local(local_margin=0.0), labels=LABELS):
        votes = lf.apply_frame(pd.DataFrame({"text": TEXTS}))
        assert set(votes.tolist()) <= {SPAM, HAM}
        assert by_index.apply_frame(pd.DataFrame({"text": TEXTS[:2]})).tolist() == [SPAM, HAM]


def test_auto_backend_is_local_without_endpoint(monkeypatch, minilm):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with use(LLMSettings(progress=False), labels=LABELS) as rt:
        assert rt.backend == "local"
        votes = visit_lf().apply_frame(pd.DataFrame({"text": TEXTS[:1]}))
    assert votes.dtype.kind == "i" and votes.tolist() == [SPAM]
    assert np.all(np.isin(votes, [SPAM, ABSTAIN]))


def test_plugs_into_the_applier(minilm):
    from labeling.apply import apply_lfs
    from labeling.lf import keyword_lf

    df = pd.DataFrame({"id": ["a", "b"], "text": TEXTS[:2]})
    with use(local(), labels=LABELS):
        L = apply_lfs(df, [keyword_lf("love", label=HAM), visit_lf()], cardinality=2)
    assert L.tolist() == [[ABSTAIN, SPAM], [HAM, ABSTAIN]]


def test_local_embeddings_persist_across_processes(tmp_path, monkeypatch):
    """Issue 14: a new `labeling apply` after editing one regex LF re-embedded every text
    for the local prompt LFs (25 s of 30 s on the bundled task): embeddings were kept
    for the life of a process only. Here a cleared memo stands for the new process."""
    from labeling.llm import local

    encoded: list[str] = []

    class FakeModel:
        def encode(self, texts, **_):
            encoded.extend(texts)
            return np.array([[len(t), 1.0] + [0.0] * 382 for t in texts], dtype=np.float32)

    monkeypatch.setattr(local, "load_model", lambda path=None: FakeModel())
    df = pd.DataFrame({"text": TEXTS})
    for _ in range(2):
        local._embedding_memo.cache_clear()
        with use(LLMSettings(backend="local", progress=False), labels=LABELS,
                 cache_path=tmp_path / "llm.sqlite"):
            votes = visit_lf().apply_frame(df)
    assert len(votes) == len(TEXTS)
    assert len(encoded) == len(TEXTS) + 2  # each text and each of the 2 descriptions, once


def test_an_interrupted_embedding_keeps_what_it_embedded(tmp_path, monkeypatch):
    """A run stopped part-way through embedding a split (Ctrl+C after an hour on 500k
    rows) kept nothing: the vectors were saved once the whole split was embedded. They
    are saved as they come (here after every chunk), so the next
    run embeds only the rest."""
    from labeling.llm import local
    from labeling.llm.embedding_cache import EmbeddingCache, model_key

    encoded: list[str] = []

    class FakeModel:
        def encode(self, texts, **_):
            if len(encoded) >= 4:  # the third chunk of two: stopped, as by Ctrl+C
                raise KeyboardInterrupt
            encoded.extend(texts)
            return np.array([[len(t), 1.0] + [0.0] * 382 for t in texts], dtype=np.float32)

    monkeypatch.setattr(local, "load_model", lambda path=None: FakeModel())
    monkeypatch.setattr(local.LocalBackend, "CHUNK", 2)
    # the default interval (no save between chunks this fast): what the chunks before
    # Ctrl+C embedded is saved on the way out (it was lost: r97)
    local._embedding_memo.cache_clear()
    texts = [f"comment number {i}" for i in range(7)]
    backend = local.LocalBackend(cache_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        backend.embed(texts)
    stored = EmbeddingCache(tmp_path, model_key(None))
    assert len(stored.table) == 4  # two chunks of two, on disk

    local._embedding_memo.cache_clear()  # a new process
    encoded.clear()
    monkeypatch.setattr(local.LocalBackend, "CHUNK", 100)
    vectors = local.LocalBackend(cache_dir=tmp_path).embed(texts)
    assert len(encoded) == 3 and vectors.shape == (7, 384)  # only the rest


def test_a_truncated_embedding_cache_is_embedded_again_not_a_stop(tmp_path):
    # two processes saving at once wrote into one temp file, and a half-written .npz
    # became the cache: every later run stopped on it (found in review). Saves now use
    # a temp file of their own; an unreadable cache warns and starts empty.
    from labeling.llm.embedding_cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "minilm-test")
    cache.table = {"k1": np.ones(384, np.float32)}
    cache.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minilm-test.npz"]  # no temp left
    assert set(EmbeddingCache(tmp_path, "minilm-test").table) == {"k1"}
    (tmp_path / "minilm-test.npz").write_bytes(b"PK\x03\x04 half a file")
    with pytest.warns(UserWarning, match="unreadable embedding cache"):
        assert EmbeddingCache(tmp_path, "minilm-test").table == {}


@pytest.mark.parametrize("with_disk_cache", [True, False])
def test_embedding_more_than_one_chunk_shows_a_progress_bar(tmp_path, monkeypatch, capsys,
                                                            with_disk_cache):
    # before: 500k rows embedded for hours with nothing on the screen
    from labeling.llm import local

    class FakeModel:
        def encode(self, texts, **_):
            return np.array([[len(t), 1.0] + [0.0] * 382 for t in texts], dtype=np.float32)

    monkeypatch.setattr(local, "load_model", lambda path=None: FakeModel())
    monkeypatch.setattr(local.LocalBackend, "CHUNK", 2)
    local._embedding_memo.cache_clear()
    texts = [f"comment number {i}" for i in range(7)]
    cache_dir = tmp_path if with_disk_cache else None
    local.LocalBackend(cache_dir=cache_dir, progress=True).embed(texts)
    assert "local prompt LFs: embedding texts" in capsys.readouterr().err
    local._embedding_memo.cache_clear()
    local.LocalBackend(cache_dir=cache_dir, progress=False).embed(texts)
    assert "embedding texts" not in capsys.readouterr().err
    local._embedding_memo.cache_clear()
