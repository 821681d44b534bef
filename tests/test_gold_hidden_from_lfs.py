"""Gold labels never reach an LF: the dev and test frames carry the gold in ``label``,
and an LF reading ``x.label`` (or a pattern LF on that column, or a prompt naming
``{label}``) scored dev accuracy 1.000 on its own answer key and put test gold into the
label model's test score."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from labeling import ABSTAIN, labeling_function
from labeling.apply import apply_lfs
from labeling.errors import LFError
from labeling.lf.core import regex_lf

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS  # noqa: E402

CHEAT = DEFAULT_LFS + '''

@labeling_function()
def reads_gold(x):
    return x.get("label", ABSTAIN)
'''


@labeling_function()
def reads_gold(x):
    return x.get("label", ABSTAIN)


@labeling_function()
def needs_gold(x):
    return x.label


def test_apply_lfs_hides_the_gold_column():
    df = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "label": [0, 1],
                       "channel": ["c1", "c2"]})
    assert apply_lfs(df, [reads_gold], cardinality=2).tolist() == [[ABSTAIN], [ABSTAIN]]
    assert "label" in df.columns  # the caller's frame is left as it was


def test_an_lf_that_needs_gold_gets_an_error_saying_it_is_hidden():
    df = pd.DataFrame({"id": ["a"], "text": ["x"], "label": [1]})
    with pytest.raises(LFError, match="needs_gold") as err:
        apply_lfs(df, [needs_gold], cardinality=2)
    assert "gold" in str(err.value)


def test_a_pattern_lf_on_the_gold_column_is_refused():
    df = pd.DataFrame({"id": ["a"], "text": ["x"], "label": ["1"]})
    lf = regex_lf("1", label=1, column="label", name="re_gold")
    with pytest.raises(LFError, match="re_gold"):
        apply_lfs(df, [lf], cardinality=2)


def test_the_pipeline_lf_reading_gold_abstains_on_dev_and_test(make_task):
    from labeling import pipeline

    task = pipeline.load_task(make_task(lf_source=CHEAT))
    matrices = pipeline.step_apply(task, progress=False)
    column = [lf.name for lf in task.lfs].index("reads_gold")
    for split in ("dev", "test"):
        assert (matrices[split][:, column] == ABSTAIN).all(), split


def test_a_prompt_naming_the_gold_column_is_refused_before_any_call(make_task, tmp_path):
    """`labeling plan` (and the budget check before apply) rendered prompts from the
    frames, which hold the gold: a template naming {label} was priced with the answer;
    apply (local backend) stops on it too."""
    from labeling import pipeline
    from labeling.llm import LLMSettings, plan, prompt_lf

    peek = prompt_lf("peek", "Text: {text} Gold: {label}", answers={"yes": 1, "no": -1})
    dev = pd.DataFrame({"id": ["a"], "text": ["x"], "label": [1]})
    settings = LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1",
                           cache_path=tmp_path / "cache.sqlite")
    with pytest.raises(LFError, match="peek.*not shown to LFs"):
        plan([peek], dev, settings, labels=["ham", "spam"])  # no call is made
    source = DEFAULT_LFS + '''
from labeling.llm import prompt_lf

peek = prompt_lf("peek", "Text: {text} Gold: {label}", answers={"yes": 1, "no": -1})
'''
    task = pipeline.load_task(make_task(lf_source=source))
    with pytest.raises(LFError, match="peek.*not shown to LFs"):
        pipeline.step_apply(task, progress=False)
