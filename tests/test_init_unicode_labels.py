"""labeling init's starter LF module for labels that are not plain English words: emoji,
labels equal up to case ("ok"/"OK", "ß"/"SS"), quotes, braces, "abstain". Each constant
must name its own label: a repeated constant silently made LFs vote the other label."""

from __future__ import annotations

import types
from types import SimpleNamespace as Row

import pytest

from labeling import ABSTAIN
from labeling.lf.loader import lfs_of_module
from labeling.scaffold import lf_module


def starter_lfs(labels):
    module = types.ModuleType("starter")
    exec(compile(lf_module("t", labels), "starter.py", "exec"), module.__dict__)
    return {lf.name[:3]: lf for lf in lfs_of_module(module)}, module


@pytest.mark.parametrize("labels", [["😀", "😡"], ["ok", "OK"], ["ß", "SS"], ["İyi", "Kötü"],
                                    ['c"d', "x"], ["a\\b", "x"], ["{x}", "y"],
                                    ["abstain", "vote"], ["Betrug", "in Ordnung"]])
def test_starter_module_runs_and_votes_each_label_it_names(labels):
    lfs, module = starter_lfs(labels)
    assert lfs["kw_"].label == 0 and lfs["re_"].label == 1
    assert module.ABSTAIN == ABSTAIN
    short = lfs["ver"]
    assert short(Row(text="a few words here")) == ABSTAIN
    assert short(Row(text="hi")) == 1


def test_emoji_labels_get_readable_distinct_names():
    lfs, module = starter_lfs(["😀", "😡"])
    assert module.GRINNING_FACE == 0 and module.POUTING_FACE == 1


@pytest.mark.parametrize("a, b", [("Fraud", "fraud"), ("\u00c4rger", "A\u0308rger")])
def test_init_refuses_one_label_written_two_ways(tmp_path, a, b):
    from labeling.errors import LabelingError
    from labeling.scaffold import init_task

    data = tmp_path / "msgs.csv"
    data.write_text("id,text,label\n" + "".join(
        f"{i},text {i},{[a, b, 'ok'][i % 3]}\n" for i in range(60)), encoding="utf-8")
    with pytest.raises(LabelingError) as info:
        init_task(data, tmp_path / "task")
    message = str(info.value)
    assert "\n" not in message and "msgs.csv: column 'label'" in message
    assert repr(a) in message and repr(b) in message and "--labels" in message
    assert not (tmp_path / "task").exists()
