"""What the end-model search costs, counted in fits (never in seconds; #14 item 7).

benchmarks/search.py measures the seconds on WRENCH trec; these tests pin the work: how
many classifier fits each search makes, that the average costs no fits of its own,
that successive halving saves fits and that every fit runs on one BLAS thread (two
OpenBLAS threads made trec's CV 7x slower on 2 shared cores).
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from labeling.train.auto import AUTO_CANDIDATES, choose_end_model
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.learning_curve import learning_curve
from labeling.train.soft_logreg import SoftLogisticRegression

SPAM = ["subscribe to my channel", "check out my channel", "free money on my channel",
        "subscribe for free gifts", "visit my channel now", "my channel has free stuff",
        "win a free phone", "click my link"]
HAM = ["love this song", "great song", "this song is beautiful", "what a voice",
       "best song ever", "i love the beat", "the chorus is great", "such a good video"]
DEV = ["subscribe my channel", "free channel gifts", "visit channel", "check channel now",
       "channel free now", "free link click", "song love", "great voice", "beautiful beat",
       "best voice ever", "love the song", "good chorus"]
Y_DEV = np.array([1] * 6 + [0] * 6)
FOLDS, REPEATS = 3, 3
WEIGHTS = (0.0, 0.1, 0.3, 1.0, None)  # auto's default weak weights: 0 is gold-only


@pytest.fixture
def fits(monkeypatch):
    """Every classifier fit, as the BLAS thread counts it ran with."""
    seen: list[list[int]] = []
    fit = SoftLogisticRegression.fit

    def counted(self, *args, **kwargs):
        seen.append([lib["num_threads"] for lib in threadpool_info()
                     if lib["user_api"] == "blas"])
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(SoftLogisticRegression, "fit", counted)
    # MiniLM stand-in: a fixed vector per text, so no network is loaded
    monkeypatch.setattr(MiniLMEmbedder, "_encode", lambda self, texts: np.stack([
        np.random.default_rng(sum(map(ord, t))).normal(size=384).astype(np.float32)
        for t in texts]))
    return seen


def weak_task():
    """32 weak rows, more than a fold's 8 gold rows weigh (24): each weak weight is its
    own fit (weight 1 would otherwise be capped at 1 per row, the same fit, dropped)."""
    texts = [f"{t}{suffix}" for suffix in ("", " !") for t in SPAM + HAM]
    probs = np.array(([[0.2, 0.8]] * len(SPAM) + [[0.85, 0.15]] * len(HAM)) * 2)
    return texts, probs, np.ones(len(probs), bool)


def search(**options):
    texts, probs, covered = weak_task()
    return choose_end_model(texts, probs, covered, DEV, Y_DEV, n_folds=FOLDS,
                            n_repeats=REPEATS, **options)[1]


def per_model(weak_keys: int) -> int:
    """CV fits of one base model: the gold-only model and ``weak_keys`` label-mode x weak
    weight candidates, each on every fold of every repeat."""
    return (1 + weak_keys) * FOLDS * REPEATS


def test_default_search_fits_each_weak_weight_per_fold_and_repeat_once(fits):
    report = search(name="auto", candidates=["tfidf_logreg"])
    assert report["candidates"] == ["tfidf_logreg/gold_only", "tfidf_logreg/soft/w0.1",
                                    "tfidf_logreg/soft/w0.3", "tfidf_logreg/soft/w1",
                                    "tfidf_logreg/soft"]
    assert len(fits) == per_model(4) + 1  # + the refit of the choice


def test_the_average_costs_no_fits_beyond_its_members(fits):
    search(name="auto")  # the default: tfidf_minilm_avg alone
    alone = len(fits) - 2  # the average's refit fits both members
    fits.clear()
    search(name="auto", candidates=list(AUTO_CANDIDATES))
    # both members' CV fits are shared with the single-model candidates
    assert alone == 2 * per_model(4)
    assert len(fits) - 2 <= alone  # the choice's refit: one or two fits


def test_successive_halving_fits_fewer_than_the_exhaustive_search(fits):
    wide = dict(name="auto", candidates=["tfidf_logreg"], label_mode="auto")
    exhaustive = search(**wide, halving_keep=0)
    n_exhaustive = len(fits)
    assert n_exhaustive == per_model(8) + 1  # 2 label modes x 4 weak weights
    fits.clear()
    halved = search(**wide, halving_keep=3)
    survivors = len(halved["cv_scores"])
    # every candidate on the first repeat, the survivors on the other two
    assert len(fits) == 9 * FOLDS + survivors * FOLDS * (REPEATS - 1) + 1
    assert survivors < 9 and len(fits) < n_exhaustive
    for key, cv in halved["cv_scores"].items():  # survivors: the exhaustive's scores
        assert cv == exhaustive["cv_scores"][key]


def test_learning_curve_fits_two_models_per_point(fits):
    texts, probs, covered = weak_task()
    chosen = {"name": "tfidf_logreg", "weak_weight": 1.0, "label_mode": "soft"}
    curve = learning_curve(texts, probs, covered, DEV, Y_DEV, chosen,
                           {"name": "tfidf_logreg"}, fractions=(0.5, 0.75), n_seeds=2)
    assert len(fits) == 2 * len(curve["sizes"]) * 2


@pytest.mark.parametrize("run", ["search", "curve"])
def test_every_fit_runs_on_one_blas_thread(fits, run):
    """Two OpenBLAS threads spin on busy cores: a MiniLM CV fit on trec took 14 s with
    two and 1.4 s with one (benchmarks/search.py). The caller's setting is restored."""
    with threadpool_limits(limits=2, user_api="blas"):
        before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        if run == "search":
            search(name="auto", candidates=["tfidf_logreg", "minilm_logreg"])
        else:
            texts, probs, covered = weak_task()
            learning_curve(texts, probs, covered, DEV, Y_DEV,
                           {"name": "tfidf_logreg", "weak_weight": 1.0},
                           {"name": "tfidf_logreg"}, fractions=(0.5,), n_seeds=1)
        after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert fits and all(threads == [1] * len(threads) for threads in fits)
    assert after == before  # the caller's limit, back
