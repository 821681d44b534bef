"""A snorkel user's LF module dropped into a task unchanged (docs/from_snorkel.md)."""

from __future__ import annotations

import numpy as np
from snorkel.labeling import PandasLFApplier

from labeling.pipeline import load_task, step_apply

SNORKEL_LFS = '''\
from snorkel.labeling import LabelingFunction, labeling_function
from snorkel.preprocess import preprocessor

ABSTAIN, HAM, SPAM = -1, 0, 1


@labeling_function()
def check(x):
    return SPAM if "check" in x.content.lower() else ABSTAIN


def keyword_lookup(x, keywords, label):
    return label if any(word in x["content"].lower() for word in keywords) else ABSTAIN


keyword_song = LabelingFunction("keyword_song", f=keyword_lookup,
                                resources=dict(keywords=["song"], label=HAM))


@preprocessor(memoize=True)
def words(x):
    x.n_words = len(x.content.split())
    return x


@labeling_function(pre=[words])
def short(x):
    return HAM if x.n_words <= 4 else ABSTAIN
'''


def _renamed(frames):
    return {k: df.rename(columns={"text": "content"}) for k, df in frames.items()}


def test_lfs_reading_the_text_column_by_its_own_name_run_as_in_snorkel(make_task):
    frames = _renamed(make_task.frames())
    path = make_task(**frames, lf_source=SNORKEL_LFS,
                     config={"data": {"text_column": "content"}})
    task = load_task(path)
    matrices = step_apply(task, progress=False)
    for split in ("train", "dev"):
        theirs = PandasLFApplier(task.lfs).apply(frames[split], progress_bar=False)
        np.testing.assert_array_equal(matrices[split], theirs)
    assert (matrices["train"] != -1).any(axis=0).all()  # every LF voted somewhere
    dev = task.splits["dev"]
    assert dev["content"].tolist() == dev["text"].tolist() == frames["dev"]["content"].tolist()


def test_a_missing_text_under_its_own_name_is_the_empty_text_too(make_task):
    frames = _renamed(make_task.frames())
    frames["dev"].loc[0, "content"] = None
    path = make_task(**{**frames, "dev": frames["dev"]}, lf_source=SNORKEL_LFS,
                     config={"data": {"text_column": "content", "dev": "dev.jsonl"}})
    dev = load_task(path).splits["dev"]
    assert dev.loc[0, "content"] == dev.loc[0, "text"] == ""
