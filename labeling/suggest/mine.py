r"""Offline proposals mined from labeled evidence: words, n-grams and regexes.

The evidence is the dev gold rows plus the train rows the label model labels
confidently (their predicted label). Every text is cut into features:

* word n-grams (1-3 words) -> a ``keyword_lf`` on the phrase;
* the first 1-3 words of the text -> a regex anchored at the start (``^\W*how\s+many\b``:
  on questions, the opening words say most of the type);
* n-grams with numbers generalised to their length class (``call 08712...`` ->
  ``\bcall\W+\d{5,}``, ``£ 1000`` -> ``£\W*\d{3,4}``) -> a regex;
* two words with one or two words between them (``what ... city``) -> a regex
  ``\bwhat\W+(?:\w+\W+){1,2}city\b``;
* words of one label sharing a 5-letter prefix (``subscribe``, ``subscribed``) -> a
  prefix regex (``\bsubscrib\w*``), and a label's best words together -> one keyword list.

A feature is kept for a label when its precision on the gold rows beats the label's
base rate (:class:`NgramMiner` says exactly how) and it fires on gold rows of that label
the current LFs miss (what it would add). Which of them are worth an LF is decided
later, by scoring on dev (:mod:`labeling.suggest.score`).
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
from scipy import sparse

from labeling.analysis import wilson_interval
from labeling.suggest.proposal import Proposal

_TOKEN = re.compile(r"[£$€]|[^\W_]+")
_STOP = frozenset("a an the of to in on and or is are was be it this that i you for with at "
                  "as by from my me we he she they his her its our your "
                  "s t m d ll re ve".split())  # contractions' tails: "i'm" -> i, m


def _shape(token: str) -> str | None:
    """A number's length class, or None for a word."""
    if not token.isdigit():
        return None
    n = len(token)
    return "<d1-2>" if n <= 2 else "<d3-4>" if n <= 4 else "<d5+>"


_SHAPE_RE = {"<d1-2>": r"\d{1,2}", "<d3-4>": r"\d{3,4}", "<d5+>": r"\d{5,}"}


def features(text: str, max_n: int = 3) -> set[tuple[str, str]]:
    """The features of one text: ("w", phrase), ("s", opening words), ("d", shaped n-gram)."""
    tokens = _TOKEN.findall(text.lower())
    out: set[tuple[str, str]] = set()
    shapes = [_shape(t) for t in tokens]
    for n in range(1, max_n + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i:i + n]
            if all(t in _STOP for t in gram) or any(t in "£$€" for t in gram) and n == 1:
                continue
            if not any(shapes[i:i + n]):
                out.add(("w", " ".join(gram)))
            elif n <= 2 and not all(shapes[i:i + n]) or n == 1:
                out.add(("d", " ".join(s or t for s, t in zip(shapes[i:i + n], gram))))
    for n in range(1, min(max_n, len(tokens)) + 1):
        if not any(shapes[:n]):
            out.add(("s", " ".join(tokens[:n])))
    for i, first in enumerate(tokens):  # two words with 1-2 words between them
        for second in tokens[i + 2:i + 4]:
            # the second word carries the meaning (what ... city): no function word
            if not (second in _STOP or len(second) < 2 or len(first) < 2 or shapes[i]
                    or _shape(second) or first in "£$€"):
                out.add(("g", f"{first} {second}"))
    return out


def _word_re(token: str) -> str:
    return _SHAPE_RE.get(token) or re.escape(token)


def to_proposal(feature: tuple[str, str], label: int, source: str,
                literal: bool = True) -> Proposal:
    """The LF a feature stands for (a phrase not ``literal`` in the texts: a regex)."""
    kind, gram = feature
    words = gram.split(" ")
    if kind == "w" and not literal:
        return Proposal("regex", label, pattern=r"(?<!\w)" + r"\W+".join(map(re.escape, words))
                        + r"(?!\w)", source="offline:regex-phrase")
    if kind == "w":
        return Proposal("keyword", label, keywords=(gram,), source=source)
    if kind == "s":
        return Proposal("regex", label, pattern=r"^\W*" + r"\s+".join(map(re.escape, words))
                        + r"(?!\w)", source=source)
    if kind == "g":
        first, second = map(re.escape, words)
        return Proposal("regex", label, source=source,
                        pattern=rf"(?<!\w){first}\W+(?:\w+\W+){{1,2}}{second}(?!\w)")
    body = r"\W*".join(_word_re(t) for t in words)
    return Proposal("regex", label, pattern=rf"(?<!\w){body}(?!\w)", source=source)


class NgramMiner:
    """Mines candidate proposals from evidence texts and labels.

    ``fit(texts, labels, missed, gold)``: ``labels`` holds each row's class (``-1``: not
    evidence); ``gold`` marks the rows whose label is gold (dev), the others are the
    label model's confident labels; ``missed`` is an ``n x k`` boolean matrix, True where
    the current LFs miss class ``c`` on the row (no LF votes it, or the label model
    decides another). A feature is a candidate for ``c`` when
    it occurs on ``min_support`` evidence rows of ``c`` and ``min_gold`` gold rows, its
    gold precision for ``c`` is at least ``min_precision`` and beats ``c``'s base rate
    ``prior[c]`` at the lower Wilson bound, and it fires on ``min_new`` gold rows of ``c``
    the current LFs miss. Confident labels are the current LFs' opinion, right where
    the LFs are and wrong where they err (on WRENCH sms, spam texts a ham LF fired on
    are "confidently ham"): they add support to a feature, never judge its precision.
    ``proposals_`` are the candidates, best first per label; ``stats_`` their evidence
    counts by id;
    ``parts_`` the ids of the words a keyword list or prefix regex joins.
    """

    def __init__(self, cardinality: int, min_support: int = 4, min_gold: int = 3,
                 min_precision: float = 0.6, min_new: int = 2, per_label: int = 40,
                 max_n: int = 3, prior=None):
        self.cardinality = cardinality
        self.min_support = min_support
        self.min_gold = min_gold
        self.min_precision = min_precision
        self.min_new = min_new
        self.per_label = per_label
        self.max_n = max_n
        self.prior = prior

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in ("cardinality", "min_support", "min_gold",
                                              "min_precision", "min_new", "per_label",
                                              "max_n", "prior")}

    def fit(self, texts: list[str], labels: np.ndarray, missed: np.ndarray, gold: np.ndarray,
            only_labels: list[int] | None = None) -> "NgramMiner":
        k = self.cardinality
        labels = np.asarray(labels)
        rows = np.flatnonzero(labels >= 0)
        vocab: dict[tuple[str, str], int] = {}
        indices, indptr = [], [0]
        for i in rows:
            # sorted: a set's order follows the per-process string hash, and the vocabulary
            # order breaks ties between equally good features
            for feat in sorted(features(texts[i], self.max_n)):
                indices.append(vocab.setdefault(feat, len(vocab)))
            indptr.append(len(indices))
        X = sparse.csr_matrix((np.ones(len(indices)), indices, indptr),
                              shape=(len(rows), len(vocab)))
        y, is_gold = labels[rows], np.asarray(gold, dtype=bool)[rows]
        onehot = sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), y)),
                                   shape=(len(rows), k))
        gold_hot = onehot.multiply(is_gold[:, None]).tocsr()
        new_hot = gold_hot.multiply(missed[rows]).tocsr()        # gold c, missed now
        self._onehots = {"all": onehot, "gold": gold_hot, "new": new_hot}
        tables = {"all": np.asarray((X.T @ onehot).todense()),
                                 "gold": np.asarray((X.T @ gold_hot).todense()),
                                 "new": np.asarray((X.T @ new_hot).todense())}
        names = list(vocab)
        self.proposals_, self.stats_, self.parts_ = [], {}, {}
        targets = range(k) if only_labels is None else only_labels
        prior = np.zeros(k) if self.prior is None else np.asarray(self.prior, dtype=float)
        for c in targets:
            floor = float(prior[c])  # the label's base rate: a feature must beat it
            scored = []
            for j in np.flatnonzero(tables["new"][:, c] >= self.min_new):
                lower = self._lower(tables, j, c, floor)
                if lower is not None:
                    scored.append((lower * np.log1p(tables["new"][j, c]), j))
            scored.sort(reverse=True)
            chosen = [j for _, j in scored[:self.per_label]]
            for j in chosen:
                self._add(to_proposal(names[j], c, f"offline:{_SOURCE[names[j][0]]}",
                                      literal=self._literal(names[j], texts, rows, X[:, j])),
                          tables, j, c)
            words = [names[j][1] for j in chosen if names[j][0] == "w"
                     and " " not in names[j][1]]
            self._generalise(words, c, X, vocab, floor)
        return self

    def _lower(self, tables, j, c, prior) -> float | None:
        """The gold precision's lower bound if feature ``j`` passes the checks, else None:
        ``min_support`` evidence rows of ``c``, ``min_gold`` gold rows, a gold precision of
        at least ``min_precision`` (and the base rate) and a lower Wilson bound above the
        base rate (better than guessing, with 95% confidence)."""
        gold = tables["gold"][j]
        total = int(gold.sum())
        if tables["all"][j, c] < self.min_support or total < self.min_gold:
            return None
        lower = wilson_interval(int(gold[c]), total)[0]
        if gold[c] / total < max(self.min_precision, prior) or lower <= prior:
            return None
        return lower

    @staticmethod
    def _literal(feature, texts, rows, column) -> bool:
        """Whether a phrase occurs as written (single spaces) in most rows with its words:
        then a keyword LF says it best; else a regex allowing any separator."""
        if feature[0] != "w" or " " not in feature[1]:
            return True
        hits = rows[column.nonzero()[0]]
        return np.mean([feature[1] in texts[i].lower() for i in hits]) >= 0.8

    def _add(self, proposal: Proposal, tables, j, c) -> None:
        if proposal.id in self.stats_:
            return
        self.proposals_.append(proposal)
        self.stats_[proposal.id] = {"gold_correct": int(tables["gold"][j, c]),
                                    "gold_fires": int(tables["gold"][j].sum()),
                                    "evidence_fires": int(tables["all"][j].sum()),
                                    "gold_new": int(tables["new"][j, c])}

    def _generalise(self, words: list[str], c: int, X, vocab, floor) -> None:
        """Prefix regexes over words sharing 5 letters; the label's top words as one list."""
        by_prefix = defaultdict(list)
        for w in words:
            if len(w) >= 5 and w.isalpha():
                by_prefix[w[:5]].append(w)
        for group in by_prefix.values():
            if len(group) >= 2:
                stem = _common_prefix(group)
                self._add_union(Proposal("regex", c, pattern=rf"(?<!\w){re.escape(stem)}\w*",
                                         source="offline:regex-prefix"), group, c, X, vocab, floor)
        top = [w for w in words if w.isalpha()][:6]
        if len(top) >= 3:
            self._add_union(Proposal("keyword", c, keywords=tuple(top),
                                     source="offline:keyword-list"), top, c, X, vocab, floor)

    def _add_union(self, proposal, words, c, X, vocab, floor) -> None:
        # counts of the union of the words (a prefix regex may match a little more;
        # scoring on dev applies the real LF)
        self.parts_[proposal.id] = [to_proposal(("w", w), c, "").id for w in words]
        cols = [vocab[("w", w)] for w in words if ("w", w) in vocab]
        fires = sparse.csr_matrix((np.asarray(X[:, cols].sum(axis=1)).ravel() > 0)
                                  .astype(float))
        tables = {name: np.asarray((fires @ self._onehots[name]).todense())
                  for name in ("all", "gold", "new")}
        if self._lower(tables, 0, c, floor) is not None:
            self._add(proposal, tables, 0, c)


_SOURCE = {"w": "ngram", "s": "regex-opening", "d": "regex-number", "g": "regex-gap"}


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]
