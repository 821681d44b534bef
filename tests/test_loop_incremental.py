"""Issue 14: an edit to one regex LF recomputes that LF's column and nothing else, and
what the loop makes cheaper gives the same numbers as before.

Counted through the applier's cache (which columns it had to compute after serving
what it knew) and the prompt backend's encoder (texts embedded), never by timing.
"""

from __future__ import annotations

import numpy as np
import pytest

from labeling.apply.cache import CachedColumns
from labeling.llm import local
from labeling.metrics import BIAS_GRID, biased_predictions, fit_decision_bias, score_predictions
from labeling.session import Session

LFS = '''\
from labeling import ABSTAIN, keyword_lf, labeling_function, regex_lf
from labeling.llm import prompt_lf

HAM, SPAM = 0, 1
WORDS = ["song", "love"]


def has_any(text, words):
    return any(w in text for w in words)


spam_words = keyword_lf(["subscribe", "channel"], label=SPAM, name="kw_spam")
free = regex_lf(r"\\bfree\\b", label=SPAM, name="re_free")
great = regex_lf(r"\\bgreat\\b", label=HAM, name="re_great")


@labeling_function()
def long_text(x):
    return SPAM if len(x.text.split()) >= 6 else ABSTAIN


@labeling_function()
def ham_words(x):
    return HAM if has_any(x.text.lower(), WORDS) else ABSTAIN


visit = prompt_lf("llm_visit", "Does it ask to visit something? {text}",
                  answers={"yes": SPAM, "no": ABSTAIN},
                  descriptions={"yes": "subscribe to my channel", "no": "a song I love"})
'''


class FakeEncoder:
    """Stands for MiniLM: deterministic vectors, and a count of the texts it embedded."""

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, **_):
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            vectors[i, 0] = 1.0 + ("subscribe" in text or "channel" in text)
            vectors[i, 1] = 1.0 + ("song" in text or "love" in text)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def counted(monkeypatch):
    """(encoder, computed): ``computed`` gets, per apply_lfs call with a cache, the
    names of the LFs whose column the applier had to compute after the cache filled in
    what it knew."""
    encoder = FakeEncoder()
    monkeypatch.setattr(local, "load_model", lambda path=None: encoder)
    local._embedding_memo.cache_clear()
    computed: list[set[str]] = []
    fill = CachedColumns.fill

    def spy(self, L, need):
        fill(self, L, need)
        computed.append({name for name, col in zip(self.names, need.T) if col.any()})

    original_init = CachedColumns.__init__

    def init(self, cache_dir, df, lfs, *args, **kwargs):
        original_init(self, cache_dir, df, lfs, *args, **kwargs)
        self.names = [lf.name for lf in lfs]

    monkeypatch.setattr(CachedColumns, "__init__", init)
    monkeypatch.setattr(CachedColumns, "fill", spy)
    yield encoder, computed
    local._embedding_memo.cache_clear()


def _session(make_task) -> Session:
    return Session(make_task(lf_source=LFS, config={
        "label_model": {"name": "mv", "params": make_task.DELETE},
        "llm": {"backend": "local", "progress": False}}))


def _edit(session: Session, old: str, new: str) -> None:
    path = session.task.config.base_dir / "lfs.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_one_regex_edit_recomputes_exactly_its_column(make_task, counted):
    encoder, computed = counted
    session = _session(make_task)
    first = session.apply(progress=False)
    splits = len(first)
    cacheable = {"kw_spam", "re_free", "re_great", "long_text", "ham_words"}
    # The cold apply computes every cacheable column; the prompt LF is never
    # column-cached (its answers are cached by text instead), so it always "needs".
    assert computed == [cacheable | {"llm_visit"}] * splits
    embedded = len(encoder.encoded)
    assert embedded > 0

    computed.clear()
    _edit(session, r'r"\bfree\b"', r'r"\bfree\b|\bmemories\b"')
    session.reload()  # what `labeling dev` does on a save: the module is re-imported
    local._embedding_memo.cache_clear()  # as in a new process: only the disk cache helps
    edited = session.apply(progress=False)
    assert computed == [{"re_free", "llm_visit"}] * splits
    assert len(encoder.encoded) == embedded  # the prompt LF embedded no text again

    # The one recomputed column is the edit's, the others are the cold apply's.
    column = session.lf_names.index("re_free")
    for split, L in edited.items():
        others = [j for j in range(L.shape[1]) if j != column]
        assert np.array_equal(L[:, others], first[split][:, others])
    texts = session.task.splits["train"]["text"].str.lower()
    new = texts.str.contains(r"\bmemories\b").to_numpy()  # a ham row: the edit's vote
    assert new.any() and (edited["train"][new, column] == 1).all()
    assert (first["train"][new, column] == -1).all()

    # And it equals an apply that uses no cache at all.
    fresh = session.apply(progress=False, cache=False)
    for split in edited:
        assert np.array_equal(fresh[split], edited[split])


def test_a_save_that_changes_nothing_recomputes_nothing(make_task, counted):
    _, computed = counted
    session = _session(make_task)
    session.apply(progress=False)
    computed.clear()
    _edit(session, "HAM, SPAM = 0, 1", "HAM, SPAM = 0, 1  # a comment, and a new line\n")
    session.reload()
    session.apply(progress=False)
    assert computed and all(names == {"llm_visit"} for names in computed)


def test_a_helper_edit_recomputes_only_the_lf_that_calls_it(make_task, counted):
    _, computed = counted
    session = _session(make_task)
    session.apply(progress=False)
    computed.clear()
    _edit(session, 'WORDS = ["song", "love"]', 'WORDS = ["song"]')
    session.reload()
    session.apply(progress=False)
    assert computed and all(names == {"ham_words", "llm_visit"} for names in computed)


def _bias_by_score_predictions(proba, y, pos_label):
    """fit_decision_bias as it was: each shift scored by score_predictions (sklearn)."""
    bias = np.zeros(proba.shape[1])
    best, best_shift = -1.0, 0.0
    for shift in sorted(BIAS_GRID, key=abs):
        bias[pos_label] = shift
        score = score_predictions(y, biased_predictions(proba, bias), "f1", pos_label)
        if score > best + 1e-12:
            best, best_shift = score, shift
    bias[pos_label] = best_shift
    return bias


@pytest.mark.parametrize("k", [2, 3])
def test_the_bias_grid_gives_the_bias_sklearn_scores_give(k):
    """fit_decision_bias counts F1 itself (sklearn's input checks were 95% of a label-model
    `auto` fit); the bias it picks must be the one sklearn's F1 picks, ties included."""
    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(1, 80))
        proba = rng.dirichlet(np.ones(k) * rng.choice([0.3, 1.0, 5.0]), size=n)
        if trial % 4 == 0:
            proba = np.round(proba, 1) + 1e-9  # many ties in the argmax
            proba /= proba.sum(axis=1, keepdims=True)
        y = rng.integers(0, k, size=n)
        if trial % 7 == 0:
            y[:] = 0  # no positives at all: F1 is 0 at every shift
        pos = int(rng.integers(0, k))
        assert fit_decision_bias(proba, y, "f1", pos).tolist() == \
            _bias_by_score_predictions(proba, y, pos).tolist(), trial
