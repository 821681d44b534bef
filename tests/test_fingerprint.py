"""LF fingerprints: every input an LF's votes depend on changes its fingerprint.

Each case loads two versions of an LF module (as ``labeling apply`` loads them, from a
file) that differ in one input only, and checks that the fingerprints differ, while the
same source loaded again (from another directory) gives the same fingerprint.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest

from labeling import entity_lf, matcher_lf
from labeling.apply import apply_lfs, libraries
from labeling.apply.fingerprint import NotFingerprintable, lf_fingerprint
from labeling.lf import nlp as lf_nlp
from labeling.lf.loader import load_lfs
from labeling.llm import PromptLF

REPO = Path(__file__).resolve().parents[1]

HEADER = """\
import dataclasses, enum, functools, re, threading
import numpy as np
from snorkel.preprocess import preprocessor
from labeling import ABSTAIN, labeling_function, matcher_lf
"""


@pytest.fixture
def load(tmp_path, monkeypatch):
    """``load(source, helpers={name: source})``: the module's LFs by name, loaded from a
    new directory each time (helper modules importable by name from there)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # same path, same size: no stale .pyc
    versions = itertools.count()
    helper_names = set()

    def load(source: str, helpers: dict[str, str] | None = None) -> dict:
        directory = tmp_path / f"v{next(versions)}"
        directory.mkdir()
        for name, text in (helpers or {}).items():
            (directory / f"{name}.py").write_text(textwrap.dedent(text))
            sys.modules.pop(name, None)
            helper_names.add(name)
        if helpers:
            monkeypatch.syspath_prepend(str(directory))
        (directory / "lfs.py").write_text(HEADER + textwrap.dedent(source))
        return {lf.name: lf for lf in load_lfs([str(directory / "lfs.py")], directory)}

    yield load
    for name in helper_names:
        sys.modules.pop(name, None)


SPACY_RULER = """
import spacy
nlp = spacy.blank("en")
nlp.add_pipe("entity_ruler").add_patterns([{{"label": "ORG", "pattern": "{word}"}}])

@labeling_function()
def lf(x):
    return 1 if any(e.label_ == "ORG" for e in nlp(x.text).ents) else ABSTAIN
"""

SPACY_MATCHER = """
import spacy
from spacy.matcher import Matcher
nlp = spacy.blank("en")
matcher = Matcher(nlp.vocab)
matcher.add("M", [[{{"LOWER": "{word}"}}]])

@labeling_function()
def lf(x):
    return 1 if matcher(nlp.make_doc(x.text)) else ABSTAIN
"""

SPACY_PHRASES = """
import spacy
from spacy.matcher import PhraseMatcher
nlp = spacy.blank("en")
phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
phrases.add("P", [nlp.make_doc("{word} now")])

@labeling_function()
def lf(x):
    return 1 if phrases(nlp.make_doc(x.text)) else ABSTAIN
"""

SPACY_PIPELINE = """
import spacy
nlp = spacy.blank("en")
nlp.meta["version"] = "{version}"
{extra}

@labeling_function()
def lf(x):
    return 1 if len(list(nlp(x.text).sents)) > 1 else ABSTAIN
"""

TEXTUTIL_LOWER = "def clean(t):\n    return t.lower()\n"
TEXTUTIL_STRIP = "def clean(t):\n    return t.strip()\n"

# (id, source A, helpers A, edit giving version B): one input differs between A and B.
CASES = [
    ("helper_body", """
        def clean(t):
            return t.lower()

        @labeling_function()
        def lf(x):
            return 1 if "spam" in clean(x.text) else ABSTAIN
        """, None, {"t.lower()": "t.upper()"}),
    ("helper_of_helper", """
        def core(t):
            return t.lower()

        def clean(t):
            return core(t).strip()

        @labeling_function()
        def lf(x):
            return 1 if "spam" in clean(x.text) else ABSTAIN
        """, None, {"t.lower()": "t.upper()"}),
    ("renamed_import", """
        from textutil_a import clean as norm

        @labeling_function()
        def lf(x):
            return 1 if norm(x.text) == "spam" else ABSTAIN
        """, {"textutil_a": TEXTUTIL_LOWER, "textutil_b": TEXTUTIL_STRIP},
     {"textutil_a": "textutil_b"}),
    ("helper_module_attribute", """
        import textutil

        @labeling_function()
        def lf(x):
            return 1 if textutil.clean(x.text) == "spam" else ABSTAIN
        """, {"textutil": TEXTUTIL_LOWER}, {"helpers": {"textutil": TEXTUTIL_STRIP}}),
    ("constant_list", """
        WORDS = ["buy", "free"]

        @labeling_function()
        def lf(x):
            return 1 if any(w in x.text for w in WORDS) else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("constant_tuple", """
        WORDS = ("buy", "free")

        @labeling_function()
        def lf(x):
            return 1 if any(w in x.text for w in WORDS) else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("constant_set", """
        WORDS = {"buy", "free"}

        @labeling_function()
        def lf(x):
            return 1 if set(x.text.split()) & WORDS else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("constant_frozenset", """
        WORDS = frozenset({"buy", "free"})

        @labeling_function()
        def lf(x):
            return 1 if WORDS.intersection(x.text.split()) else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("dict_entry", """
        RULES = {"spam": ["buy", "free"], "ham": {"song": 1}}

        @labeling_function()
        def lf(x):
            return 1 if any(w in x.text for w in RULES["spam"]) else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("nested_dict_value", """
        RULES = {"spam": ["buy", "free"], "ham": {"song": 1}}

        @labeling_function()
        def lf(x):
            return RULES["ham"].get(x.text, ABSTAIN)
        """, None, {'"song": 1': '"song": 0'}),
    ("regex_pattern", """
        PATTERN = re.compile(r"buy")

        @labeling_function()
        def lf(x):
            return 1 if PATTERN.search(x.text) else ABSTAIN
        """, None, {'r"buy"': 'r"sell"'}),
    ("regex_flags", """
        PATTERN = re.compile(r"buy")

        @labeling_function()
        def lf(x):
            return 1 if PATTERN.search(x.text) else ABSTAIN
        """, None, {'r"buy")': 'r"buy", re.IGNORECASE)'}),
    ("frozen_dataclass", """
        @dataclasses.dataclass(frozen=True)
        class Rule:
            word: str
            label: int

        RULE = Rule("buy", 1)

        @labeling_function()
        def lf(x):
            return RULE.label if RULE.word in x.text else ABSTAIN
        """, None, {'Rule("buy", 1)': 'Rule("sell", 1)'}),
    ("enum", """
        class Label(enum.IntEnum):
            HAM = 0
            SPAM = 1

        @labeling_function()
        def lf(x):
            return int(Label.SPAM) if "buy" in x.text else ABSTAIN
        """, None, {"HAM = 0\n    SPAM = 1": "HAM = 1\n    SPAM = 0"}),
    ("numpy_array", """
        WEIGHTS = np.array([0.5, 1.0])

        @labeling_function()
        def lf(x):
            return 1 if WEIGHTS[1] * len(x.text) > 10 else ABSTAIN
        """, None, {"1.0]": "2.0]"}),
    ("closure_function", """
        def make(test):
            @labeling_function(name="lf")
            def lf(x):
                return 1 if test(x.text) else ABSTAIN
            return lf

        lf = make(lambda t: "buy" in t)
        """, None, {'"buy"': '"sell"'}),
    ("default_argument", """
        WORDS = ("buy",)

        @labeling_function()
        def lf(x, words=WORDS):
            return 1 if any(w in x.text for w in words) else ABSTAIN
        """, None, {'("buy",)': '("sell",)'}),
    ("global_read_in_nested_code", """
        SUFFIX = "ing"

        @labeling_function()
        def lf(x):
            ends = lambda w: w.endswith(SUFFIX)
            return 1 if any(ends(w) for w in x.text.split()) else ABSTAIN
        """, None, {'"ing"': '"ed"'}),
    ("preprocessor_helper", """
        def clean(t):
            return t.lower()

        @preprocessor()
        def cleaned(x):
            x.clean = clean(x.text)
            return x

        @labeling_function(pre=[cleaned])
        def lf(x):
            return 1 if "buy" in x.clean else ABSTAIN
        """, None, {"t.lower()": "t.upper()"}),
    ("resources_object", """
        @dataclasses.dataclass(frozen=True)
        class Rule:
            word: str

        @labeling_function(resources={"rule": Rule("buy")})
        def lf(x, rule):
            return 1 if rule.word in x.text else ABSTAIN
        """, None, {'Rule("buy")': 'Rule("sell")'}),
    ("user_object_method", """
        class Lexicon:
            def __init__(self, words):
                self.words = words

            def hit(self, text):
                return any(w in text for w in self.words)

        LEXICON = Lexicon(["buy", "free"])

        @labeling_function()
        def lf(x):
            return 1 if LEXICON.hit(x.text) else ABSTAIN
        """, None, {"return any(w in text": "return all(w in text"}),
    ("user_object_state", """
        class Lexicon:
            def __init__(self, words):
                self.words = words

        LEXICON = Lexicon(["buy", "free"])

        @labeling_function()
        def lf(x):
            return 1 if any(w in x.text for w in LEXICON.words) else ABSTAIN
        """, None, {'"free"': '"cheap"'}),
    ("builtin_alias", """
        norm = str.lower

        @labeling_function()
        def lf(x):
            return 1 if norm(x.text) == "spam" else ABSTAIN
        """, None, {"str.lower": "str.upper"}),
    ("bound_builtin_method", """
        WEIGHTS = {"buy": 1}
        lookup = WEIGHTS.get

        @labeling_function()
        def lf(x):
            return lookup(x.text, ABSTAIN)
        """, None, {'{"buy": 1}': '{"buy": 0}'}),
    ("partial", """
        def longer(text, n):
            return len(text) > n

        is_long = functools.partial(longer, n=20)

        @labeling_function()
        def lf(x):
            return 1 if is_long(x.text) else ABSTAIN
        """, None, {"n=20": "n=30"}),
    ("spacy_ruler_patterns", SPACY_RULER.format(word="acme"), None, {"acme": "globex"}),
    ("spacy_matcher_patterns", SPACY_MATCHER.format(word="buy"), None, {'"buy"': '"sell"'}),
    ("spacy_phrase_patterns", SPACY_PHRASES.format(word="buy"), None, {'"buy now"': '"sell now"'}),
    ("spacy_pipeline_version", SPACY_PIPELINE.format(version="1.0.0", extra=""), None,
     {"1.0.0": "2.0.0"}),
    ("spacy_pipeline_components", SPACY_PIPELINE.format(version="1.0.0", extra=""), None,
     {"\n\n@labeling_function": '\nnlp.add_pipe("sentencizer")\n\n@labeling_function'}),
]


def _version_b(source: str, helpers: dict | None, edit: dict) -> tuple[str, dict | None]:
    """Version B of a case: ``edit`` maps old text to new text in the source (or names a
    helper module to import instead, or gives other ``helpers``)."""
    source = textwrap.dedent(source)
    if "helpers" in edit:
        return source, edit["helpers"]
    for old, new in edit.items():
        assert old in source or old in (helpers or {}), (old, source)
        source = source.replace(old, new)
    return source, helpers


@pytest.mark.parametrize("source, helpers, edit", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_input_changes_the_fingerprint(load, source, helpers, edit):
    source_b, helpers_b = _version_b(source, helpers, edit)
    a = lf_fingerprint(load(source, helpers)["lf"])
    assert lf_fingerprint(load(source, helpers)["lf"]) == a  # reloaded, unchanged: equal
    assert lf_fingerprint(load(source_b, helpers_b)["lf"]) != a


def test_cardinality_changes_the_fingerprint(load):
    lf = load("""
        @labeling_function()
        def lf(x):
            return 1 if "buy" in x.text else ABSTAIN
        """)["lf"]
    assert lf_fingerprint(lf, cardinality=3) != lf_fingerprint(lf, cardinality=2)
    assert lf_fingerprint(lf, cardinality=2) == lf_fingerprint(lf, cardinality=2)


def test_library_functions_are_identified_by_their_package_version(load, monkeypatch):
    lf = load("""
        @labeling_function()
        def lf(x):
            return 1 if np.mean([len(w) for w in x.text.split()]) > 4 else ABSTAIN
        """)["lf"]
    before = lf_fingerprint(lf)
    monkeypatch.setattr(libraries, "package_version", lambda top: f"{top}-another-version")
    assert lf_fingerprint(lf) != before


def _blank_pipeline(patterns, version="0.0.0"):
    import spacy  # heavy optional dependency

    nlp = spacy.blank("en")
    nlp.meta["version"] = version
    nlp.add_pipe("entity_ruler", name="labeling_rules").add_patterns(patterns)
    return nlp


def test_spacy_doc_lfs_follow_the_shared_pipeline(monkeypatch):
    """entity_lf / matcher_lf / spacy_lf parse with ``default_nlp()``: its model version,
    components and ruler patterns are part of their fingerprints."""
    url = [{"label": "URL", "pattern": [{"LIKE_URL": True}]}]
    pipelines = {"a": _blank_pipeline(url),
                 "more rules": _blank_pipeline(url + [{"label": "ORG", "pattern": "acme"}]),
                 "newer model": _blank_pipeline(url, version="1.0.0")}
    ent = entity_lf("ent", ["URL"], label=1)
    prints = {}
    for key, pipeline in pipelines.items():
        monkeypatch.setattr(lf_nlp, "default_nlp", lambda pipeline=pipeline: pipeline)
        prints[key] = lf_fingerprint(ent)
        assert lf_fingerprint(ent) == prints[key]
    assert len(set(prints.values())) == len(prints)


def test_changed_rules_in_the_shared_pipeline_change_the_fingerprint(load):
    """Rules added to ``default_nlp()``'s ruler, by an LF module or a newly installed
    model, reach LFs parsing with it (spacy_doc) and LFs calling it directly."""
    direct = load("""
        from labeling.lf.nlp import default_nlp

        @labeling_function()
        def lf(x):
            return 1 if default_nlp()(x.text).ents else ABSTAIN
        """)["lf"]
    lfs = [direct, entity_lf("ent", ["ORG"], label=1)]
    before = [lf_fingerprint(lf) for lf in lfs]
    ruler = lf_nlp.default_nlp().get_pipe("labeling_rules")
    ruler.add_patterns([{"label": "ORG", "pattern": "acme", "id": "test-only"}])
    try:
        changed = [lf_fingerprint(lf) for lf in lfs]
    finally:
        ruler.remove("test-only")
    assert all(a != b for a, b in zip(before, changed))
    assert [lf_fingerprint(lf) for lf in lfs] == before


def test_common_values_are_fingerprintable_and_stable(load):
    source = """
        import collections, datetime, logging, pathlib, types
        import pandas as pd

        log = logging.getLogger(__name__)
        MISSING = object()
        Point = collections.namedtuple("Point", "x y")
        ORIGIN = Point(0, 0)
        SETTINGS = types.SimpleNamespace(limit=3)
        COUNTS = collections.Counter({"buy": 2})
        BY_WORD = collections.defaultdict(list, {"buy": [1]})
        PRIORS = pd.Series([0.2, 0.8], index=["ham", "spam"])
        SINCE = datetime.date(2020, 1, 1)
        HOME = pathlib.PurePosixPath("/data")

        @labeling_function()
        def lf(x, default=MISSING):
            log.debug("row %s", x)
            hits = COUNTS[x.text] + len(BY_WORD[x.text]) + ORIGIN.x + SETTINGS.limit
            return 1 if hits > PRIORS["spam"] and SINCE.year and HOME.name else ABSTAIN
        """
    first = lf_fingerprint(load(source)["lf"])
    assert lf_fingerprint(load(source)["lf"]) == first
    assert lf_fingerprint(load(source.replace("limit=3", "limit=4"))["lf"]) != first
    assert lf_fingerprint(load(source.replace("0.8]", "0.7]"))["lf"]) != first


def test_matcher_lf_patterns_change_the_fingerprint():
    a = matcher_lf("m", [[{"LOWER": "check"}, {"LOWER": "out"}]], label=1)
    b = matcher_lf("m", [[{"LOWER": "check"}, {"LOWER": "this"}]], label=1)
    assert lf_fingerprint(a) != lf_fingerprint(b)
    assert lf_fingerprint(a) == lf_fingerprint(matcher_lf("m", [[{"LOWER": "check"},
                                                               {"LOWER": "out"}]], label=1))


# --- what cannot be fingerprinted is not cached --------------------------------

UNHASHABLE = """
LOCK = threading.Lock()
CALLS = []

@labeling_function()
def locked(x):
    with LOCK:
        CALLS.append(x.text)
    return 1 if "buy" in x.text else ABSTAIN

@labeling_function()
def plain(x):
    return 1 if "sell" in x.text else ABSTAIN
"""


def test_an_lf_reading_an_opaque_object_is_not_fingerprintable(load):
    lfs = load(UNHASHABLE)
    with pytest.raises(NotFingerprintable, match="LOCK"):
        lf_fingerprint(lfs["locked"])
    lf_fingerprint(lfs["plain"])


def test_an_unfingerprintable_lf_is_uncached_and_said_once(load, tmp_path):
    lfs = load(UNHASHABLE)
    calls = lfs["locked"]._f.__globals__["CALLS"]
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["buy now", "sell it", "song"]})
    cache = tmp_path / "cache"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = [apply_lfs(df, list(lfs.values()), 2, cache_dir=cache) for _ in range(3)]
    for L in runs:
        assert L.tolist() == [[1, -1], [-1, 1], [-1, -1]]
    assert len(calls) == 9  # recomputed every run
    said = [str(w.message) for w in caught if "locked" in str(w.message)]
    assert len(said) == 1 and "not cached" in said[0] and "LOCK" in said[0], said
    assert not any("plain" in str(w.message) for w in caught)


# --- stability: what must NOT change the fingerprint ------------------------------

def test_applying_does_not_change_fingerprints(load):
    """Memo caches filled during an apply (memoized preprocessors, parsed docs) are not
    inputs: a fingerprint taken after an apply equals the one taken before."""
    lfs = load("""
        @preprocessor(memoize=True)
        def lowered(x):
            x.low = x.text.lower()
            return x

        @labeling_function(pre=[lowered])
        def lf(x):
            return 1 if "buy" in x.low else ABSTAIN
        """)
    lfs["ent"] = entity_lf("ent", ["URL"], label=1)
    before = {name: lf_fingerprint(lf) for name, lf in lfs.items()}
    apply_lfs(pd.DataFrame({"text": ["BUY www.x.com", "b"]}), list(lfs.values()), 2)
    assert {name: lf_fingerprint(lf) for name, lf in lfs.items()} == before


def test_bundled_lfs_are_all_fingerprintable_and_distinct():
    lfs = [lf for lf in load_lfs([str(REPO / "functions" / "youtube_spam.py")], REPO)
           if not isinstance(lf, PromptLF)]
    prints = [lf_fingerprint(lf, cardinality=2) for lf in lfs]
    assert len(set(prints)) == len(prints)


SEED_SCRIPT = """
import sys
from labeling.apply.fingerprint import lf_fingerprint
from labeling.lf.loader import load_lfs
from labeling.llm import PromptLF
lfs = load_lfs(sys.argv[1:], __import__("pathlib").Path(sys.argv[1]).parent)
print(" ".join(lf_fingerprint(lf, cardinality=2) for lf in lfs if not isinstance(lf, PromptLF)))
"""


def test_fingerprints_are_equal_across_processes(tmp_path):
    """Sets and string hashes vary with PYTHONHASHSEED; fingerprints must not."""
    module = tmp_path / "lfs.py"
    module.write_text(HEADER + textwrap.dedent("""
        WORDS = {"buy", "free", "cheap", "win", "gift"}
        NESTED = {"a": frozenset({("x", 1), ("y", 2)}), "b": [{"k", "v"}]}

        @labeling_function()
        def lf(x):
            return 1 if WORDS & set(x.text.split()) or x.text in NESTED else ABSTAIN
        """))
    modules = [str(module), str(REPO / "functions" / "youtube_spam.py")]  # with spaCy LFs

    def fingerprints(seed: str) -> list[str]:
        # a fresh process each: this one's shared spaCy pipeline may carry rules other
        # tests added, which (rightly) change the spaCy LFs' fingerprints
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run([sys.executable, "-c", SEED_SCRIPT, *modules], env=env, cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.split()

    first, second = fingerprints("1"), fingerprints("2")
    assert len(first) > 10 and first == second  # the LF above + the bundled rule LFs
