"""The LF column cache never changes the label matrix.

A seeded random sequence of edits to an LF module (as a user makes them), each followed
by a cached apply and a fresh (no-cache) apply: the two must agree every time, matrix
or error. Then the cache's own failure modes: LFs that mutate their row, a label removed
from the config, a run killed mid-split, and well-formed but inconsistent cache files.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling import ABSTAIN, labeling_function
from labeling.apply import apply_lfs
from labeling.apply.row_labeler import CHUNK
from labeling.apply.cache import ColumnCache
from labeling.apply.fingerprint import lf_fingerprint
from labeling.errors import LFError
from labeling.lf.loader import load_lfs

REPO = Path(__file__).resolve().parents[1]

# --- the property ---------------------------------------------------------------

TEXTUTIL = {"textutil_a": "def clean(t):\n    return t.strip().lower()\n",
            "textutil_b": "def clean(t):\n    return t.replace('!', ' ').strip()\n"}

MODULE = '''\
import re
import spacy
from labeling import ABSTAIN, keyword_lf, labeling_function, matcher_lf
from {textutil} import clean as cleaner

N_LABELS = {n_labels}
WORDS = {words!r}
WEIGHTS = {weights!r}
PATTERN = re.compile({regex!r})

nlp = spacy.blank("en")
nlp.add_pipe("entity_ruler").add_patterns([{{"label": "ORG", "pattern": {org!r}}}])


def norm(t):
    return {helper}


@labeling_function()
def mutates_row(x):
    x.text = norm(x.text) + " mutated"  # later LFs must still see the original row
    return ABSTAIN


@labeling_function()
def uses_helper(x):
    return 1 if "buy" in norm(x.text) else ABSTAIN


@labeling_function()
def uses_words(x):
    return 1 if any(w in x.text for w in WORDS) else ABSTAIN


@labeling_function()
def uses_dict(x):
    words = x.text.split()
    return WEIGHTS.get(words[0], ABSTAIN) if words else ABSTAIN


@labeling_function()
def uses_regex(x):
    return 1 if PATTERN.search(x.text) else ABSTAIN


@labeling_function()
def uses_import(x):
    return 0 if cleaner(x.text).startswith("free") else ABSTAIN


@labeling_function()
def uses_pipeline(x):
    return 1 if any(e.label_ == "ORG" for e in nlp(x.text).ents) else ABSTAIN


@labeling_function()
def third_label(x):
    return 2 if N_LABELS > 2 and "other" in x.text else ABSTAIN


keyword = keyword_lf(WORDS or ["nothing"], label=0, name="keyword")
matcher = matcher_lf("matcher", [[{{"LOWER": {matcher_word!r}}}]], label=1)
'''

VOCABULARY = ["buy", "free", "cheap", "song", "love", "win", "now", "other", "acme",
              "globex", "subscribe", "channel", "BUY", "Free!", "12345", "http://x.io"]
HELPERS = ["t.lower()", "t.lower().strip('!')", "t.upper().lower().replace('0', 'o')",
           "t[::-1]"]
REGEXES = [r"\bwin\w*", r"https?://\S+", r"\d{3,}", r"(?i)click|subscribe"]
ORGS = ["acme", "globex", "initech"]


def random_texts(rng: random.Random, n: int) -> list[str]:
    texts = [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 6))) for _ in range(n)]
    return texts + texts[: n // 10]  # some duplicate rows


def edit(state: dict, rng: random.Random) -> str:
    """One random user edit of the state (the module source and the config)."""
    what = rng.choice(["helper", "words", "weights", "regex", "org", "import", "labels",
                       "matcher", "rows"])
    if what == "helper":
        state["helper"] = rng.choice(HELPERS)
    elif what == "words":
        state["words"] = rng.sample(VOCABULARY, rng.randint(0, 4))
    elif what == "weights":
        weights = dict(state["weights"])
        weights[rng.choice(VOCABULARY)] = rng.choice([0, 1])
        if len(weights) > 1 and rng.random() < 0.5:
            del weights[rng.choice(sorted(weights))]
        state["weights"] = weights
    elif what == "regex":
        state["regex"] = rng.choice(REGEXES)
    elif what == "org":
        state["org"] = rng.choice(ORGS)
    elif what == "import":
        state["textutil"] = rng.choice(sorted(TEXTUTIL))
    elif what == "labels":  # a label removed or restored; sometimes the module lags
        state["cardinality"] = rng.choice([2, 3])
        if rng.random() < 0.7:
            state["n_labels"] = state["cardinality"]
    elif what == "matcher":
        state["matcher_word"] = rng.choice(["subscribe", "channel", "love"])
    else:
        state["rows"] = rng.randint(0, 3)
    return what


def outcome(df, lfs, cardinality, cache_dir=None):
    try:
        return apply_lfs(df, lfs, cardinality, cache_dir=cache_dir)
    except LFError as exc:
        return f"LFError: {exc}"


def test_cached_apply_equals_a_fresh_apply_after_random_edits(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # one path rewritten many times
    for name, source in TEXTUTIL.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    rng = random.Random(1234)
    frames = [pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts})
              for texts in (random_texts(rng, 120) for _ in range(4))]
    state = dict(textutil="textutil_a", n_labels=3, cardinality=3, words=["buy", "free"],
                 weights={"song": 0, "buy": 1}, regex=REGEXES[0], org="acme",
                 helper=HELPERS[0], matcher_word="subscribe", rows=0)
    module = tmp_path / "lfs.py"
    cache = tmp_path / "cache"
    edits = []
    try:
        for step in range(40):
            edits.append(edit(state, rng) if step else "start")
            module.write_text(MODULE.format(**state))
            lfs = load_lfs([str(module)], tmp_path)
            for lf in lfs:  # every LF is cached: the comparison below is not vacuous
                lf_fingerprint(lf, state["cardinality"])
            for df in (frames[state["rows"]], frames[(state["rows"] + 1) % 4]):  # two splits
                cached = outcome(df, lfs, state["cardinality"], cache)
                fresh = outcome(df, lfs, state["cardinality"])
                where = f"step {step}, edits {edits}"
                if isinstance(fresh, str) or isinstance(cached, str):
                    assert cached == fresh, where
                else:
                    assert cached.dtype == fresh.dtype, where
                    np.testing.assert_array_equal(cached, fresh, err_msg=where)
    finally:
        for name in TEXTUTIL:
            sys.modules.pop(name, None)
    if not isinstance(cached, str):  # the last apply left every column in the cache
        keys = ColumnCache(cache).frame_keys(df)
        for lf in lfs:
            assert ColumnCache(cache).lookup(lf_fingerprint(lf, state["cardinality"]), keys,
                                             state["cardinality"])[1].all(), lf.name
    assert {"helper", "words", "weights", "regex", "org", "import", "labels"} <= set(edits)


# --- (a) an LF that mutates its row ----------------------------------------------

def row_lfs(threshold: int):
    @labeling_function()
    def shouts(x):
        x.text = x.text.upper()
        return ABSTAIN

    @labeling_function(name="reads")
    def reads(x):
        return 1 if x.text.isupper() and len(x.text) > threshold else ABSTAIN

    return [shouts, reads]


def test_an_lf_mutating_its_row_does_not_change_what_later_lfs_see(tmp_path):
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["abc", "DEF", "ghijk"]})
    apply_lfs(df, row_lfs(0), 2, cache_dir=tmp_path)
    cached = apply_lfs(df, row_lfs(1), 2, cache_dir=tmp_path)  # only `reads` recomputed
    fresh = apply_lfs(df, row_lfs(1), 2)
    np.testing.assert_array_equal(cached, fresh)
    assert fresh[:, 1].tolist() == [-1, 1, -1]  # `reads` sees the rows as they are


# --- (b) a label removed from the config ------------------------------------------

@labeling_function()
def votes_two(x):
    return 2 if "other" in x.text else ABSTAIN


def test_removing_a_label_is_the_same_error_cached_or_not(tmp_path):
    df = pd.DataFrame({"id": ["a", "b"], "text": ["other", "song"]})
    assert apply_lfs(df, [votes_two], 3, cache_dir=tmp_path)[:, 0].tolist() == [2, -1]
    with pytest.raises(LFError, match="votes_two.*returned 2") as fresh:
        apply_lfs(df, [votes_two], 2)
    with pytest.raises(LFError) as cached:
        apply_lfs(df, [votes_two], 2, cache_dir=tmp_path)
    assert str(cached.value) == str(fresh.value)


# --- (c) a run killed mid-split resumes ------------------------------------------

KILLED_LFS = '''\
import os
import signal
from labeling import ABSTAIN, labeling_function

MARKER = {marker!r}
LOG = {log!r}
STOP_AT = {stop_at!r}


@labeling_function()
def slow(x):
    with open(LOG, "a") as log:
        log.write(x.id + "\\n")
    if x.id == STOP_AT and os.path.exists(MARKER):
        os.kill(os.getpid(), signal.SIGKILL)
    return 1 if x.id.endswith("7") else ABSTAIN
'''

KILLED_RUN = '''\
import sys
from pathlib import Path
import numpy as np
import pandas as pd
from labeling.apply import apply_lfs
from labeling.lf.loader import load_lfs

module, cache, n, out = sys.argv[1:]
df = pd.DataFrame({"id": [f"r{i}" for i in range(int(n))], "text": ["t"] * int(n)})
np.save(out, apply_lfs(df, load_lfs([module], Path(module).parent), 2, cache_dir=cache))
'''


def test_a_run_killed_mid_split_resumes_from_the_last_chunk(tmp_path):
    n, stop_at = 2 * CHUNK + CHUNK // 2, 2 * CHUNK + 100  # killed in the third chunk
    marker, log = tmp_path / "kill", tmp_path / "calls.log"
    module = tmp_path / "lfs.py"
    module.write_text(KILLED_LFS.format(marker=str(marker), log=str(log), stop_at=f"r{stop_at}"))
    marker.touch()
    args = [sys.executable, "-c", KILLED_RUN, str(module), str(tmp_path / "cache"), str(n),
            str(tmp_path / "L.npy")]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    killed = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    marker.unlink()
    log.write_text("")
    subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    rerun = log.read_text().split()
    assert len(rerun) == n - 2 * CHUNK and rerun[0] == f"r{2 * CHUNK}"  # only the lost chunk
    L = np.load(tmp_path / "L.npy")
    assert L[:, 0].tolist() == [1 if i % 10 == 7 else -1 for i in range(n)]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_run_stopped_by_an_error_keeps_the_chunks_it_finished(tmp_path, n_jobs):
    n, stop_at = 2 * CHUNK + CHUNK // 2, 2 * CHUNK + 100
    marker, log = tmp_path / "stop", str(tmp_path / "calls.log")
    marker.touch()
    stop_marker = str(marker)

    @labeling_function()
    def stops(x):
        with open(log, "a") as out:
            out.write(x.id + "\n")
        if x.id == f"r{stop_at}" and os.path.exists(stop_marker):
            raise RuntimeError("stopped")
        return 1 if x.id.endswith("7") else ABSTAIN

    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": ["t"] * n})
    with pytest.raises(LFError, match="stopped"):
        apply_lfs(df, [stops], 2, cache_dir=tmp_path / "cache", n_jobs=n_jobs)
    marker.unlink()
    Path(log).write_text("")
    L = apply_lfs(df, [stops], 2, cache_dir=tmp_path / "cache", n_jobs=n_jobs)
    assert len(Path(log).read_text().split()) == n - 2 * CHUNK
    assert L[:, 0].tolist() == [1 if i % 10 == 7 else -1 for i in range(n)]
    Path(log).write_text("")
    again = apply_lfs(df, [stops], 2, cache_dir=tmp_path / "cache", n_jobs=n_jobs)
    assert Path(log).read_text() == "" and (again == L).all()
    assert not list((tmp_path / "cache" / "parts").iterdir())  # merged into the column


# --- (d) well-formed but inconsistent cache files ---------------------------------

@labeling_function()
def long_text(x):
    return 1 if len(x.text) > 3 else 0


def _corrupt_votes(arrays):
    hashes, votes = arrays["hashes"], arrays["votes"]
    return {
        "short_votes": dict(hashes=hashes, votes=votes[:-1]),
        "float_votes": dict(hashes=hashes, votes=votes.astype(float) + 0.5),
        "signed_hashes": dict(hashes=hashes.view(np.int64), votes=votes),
        "two_d_votes": dict(hashes=hashes, votes=np.stack([votes, votes])),
        "out_of_range_votes": dict(hashes=hashes, votes=np.full_like(votes, 7)),
        "duplicate_hashes": dict(hashes=np.r_[hashes, hashes[:1]],
                                 votes=np.r_[votes, 1 - votes[:1]]),
        "other_names": dict(keys=hashes, values=votes),
    }


def _corrupt_frame(arrays):
    hashes, order = arrays["hashes"], arrays["order"]
    swapped = hashes[::-1].copy()  # every row claims another row's content hash
    return {
        "frame_short_hashes": dict(hashes=hashes[:-1], order=order),
        "frame_order_out_of_range": dict(hashes=hashes, order=order + 1),
        "frame_float_order": dict(hashes=hashes, order=order.astype(float)),
        "frame_swapped_rows": dict(hashes=swapped, order=np.argsort(swapped, kind="stable")),
    }


VOTE_CORRUPTIONS = list(_corrupt_votes({"hashes": np.zeros(2, np.uint64),
                                        "votes": np.zeros(2, np.int16)}))
FRAME_CORRUPTIONS = list(_corrupt_frame({"hashes": np.zeros(2, np.uint64),
                                         "order": np.zeros(2, np.int64)}))


@pytest.mark.parametrize("corruption", VOTE_CORRUPTIONS + FRAME_CORRUPTIONS)
def test_an_inconsistent_cache_file_is_a_miss(tmp_path, corruption):
    texts = ["a", "bbbb", "cc", "dddddd", "eeeee"]  # votes not a palindrome
    df = pd.DataFrame({"id": [f"r{i}" for i in range(5)], "text": texts}).astype("string[pyarrow]")
    fresh = apply_lfs(df, [long_text], 2)
    apply_lfs(df, [long_text], 2, cache_dir=tmp_path)
    frame = corruption.startswith("frame_")
    [path] = (tmp_path / "frames").glob("*.npz") if frame else tmp_path.glob("*.npz")
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    bad = (_corrupt_frame if frame else _corrupt_votes)(arrays)[corruption]
    np.savez(path, **bad)
    np.testing.assert_array_equal(apply_lfs(df, [long_text], 2, cache_dir=tmp_path), fresh)
    np.testing.assert_array_equal(apply_lfs(df, [long_text], 2, cache_dir=tmp_path), fresh)


@pytest.mark.parametrize("part", ["garbage", "out_of_range", "foreign_dtype"])
def test_an_inconsistent_part_file_is_a_miss(tmp_path, part):
    df = pd.DataFrame({"id": ["a", "b"], "text": ["a", "bbbbbb"]})
    fresh = apply_lfs(df, [long_text], 2)
    parts = tmp_path / "parts"
    parts.mkdir()
    fingerprint = lf_fingerprint(long_text, 2)
    path = parts / "left-by-a-killed-run.part.npy"
    if part == "garbage":
        path.write_bytes(b"\x93NUMPY garbage")
    else:
        dtype = [("hash", "<u8"), (fingerprint, "<i2" if part == "out_of_range" else "<f8")]
        records = np.zeros(2, dtype=dtype)
        records["hash"] = ColumnCache(tmp_path).frame_keys(df).hashes
        records[fingerprint] = 7
        np.save(path, records)
    np.testing.assert_array_equal(apply_lfs(df, [long_text], 2, cache_dir=tmp_path), fresh)
