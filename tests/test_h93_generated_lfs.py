"""LF modules that build their LFs in loops: a family kept in a list, tuple or dict is
collected (it was silently left out unless the list was named LFS), and names repeated
by a loop get one short error naming them."""

import pytest

from labeling.errors import LFLoadError
from labeling.lf.loader import load_lfs

MODULE = '''
from labeling import ABSTAIN, keyword_lf, labeling_function, regex_lf

WORDS = ["free", "gift", "prize"]
first = keyword_lf("subscribe", label=1)
SPAM_LFS = [keyword_lf(w, label=1, name=f"kw_{w}") for w in WORDS]
HAM = {w: regex_lf(w, label=0, name=f"re_{w}") for w in ("song", "voice")}
PAIR = (first, SPAM_LFS[0])   # already collected: once
last = labeling_function(name="short")(lambda x: 0 if len(x.text) < 5 else ABSTAIN)
'''


def _load(tmp_path, text):
    (tmp_path / "lfs.py").write_text(text, encoding="utf-8")
    return load_lfs(["lfs.py"], tmp_path)


def test_lfs_in_top_level_containers_are_collected_in_order(tmp_path):
    names = [lf.name for lf in _load(tmp_path, MODULE)]
    assert names == ["keyword_subscribe", "kw_free", "kw_gift", "kw_prize", "re_song",
                     "re_voice", "short"]


def test_an_lfs_list_still_chooses(tmp_path):
    names = [lf.name for lf in _load(tmp_path, MODULE + "LFS = SPAM_LFS[:2]\n")]
    assert names == ["kw_free", "kw_gift"]


def test_names_repeated_by_a_loop_are_one_short_error(tmp_path):
    text = ("from labeling import keyword_lf\n"
            "LFS = [keyword_lf([w, w + 's'], label=1, name=f'kw_{w[0]}') for w in\n"
            "       ['apple', 'avocado', 'banana', 'berry', 'cherry', 'cake', 'date', 'dill',"
            " 'egg', 'eel', 'fig', 'fish']]\n")
    with pytest.raises(LFLoadError) as err:
        _load(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("LF names must be unique across modules; repeated: kw_a "
                              "(lfs.py, 2 times); kw_b (lfs.py, 2 times);")
    assert "kw_f" not in message and "; and 1 more; give each LF its own name" in message


def test_apply_lfs_names_repeated_names_briefly():
    """The notebook path (apply_lfs on a list built in a loop): the first five repeated
    names with their counts, not 150 names on one line."""
    import pandas as pd

    from labeling import keyword_lf
    from labeling.apply.applier import apply_lfs
    from labeling.errors import LFError

    lfs = [keyword_lf([f"w{i}", f"v{i}"], label=1, name=f"kw_{i // 3}") for i in range(24)]
    with pytest.raises(LFError) as err:
        apply_lfs(pd.DataFrame({"text": ["w1"]}), lfs, 2)
    assert str(err.value) == ("LF names must be unique; repeated: kw_0 (3 times), kw_1 (3 "
                              "times), kw_2 (3 times), kw_3 (3 times), kw_4 (3 times), and 3 "
                              "more; give each LF its own name (name=f\"...\" in a loop)")
