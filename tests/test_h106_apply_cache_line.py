"""`labeling apply` says, per split, how many LF columns the cache served and how many
were computed (docs/apply.md): a fast re-run and a real one look different."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli  # noqa: E402
from labeling.apply import apply_lfs  # noqa: E402
from labeling.lf import keyword_lf  # noqa: E402


def _line(result) -> str:
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("LF columns:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_apply_says_what_the_cache_served(make_task):
    config = make_task()
    # before: nothing told a cold apply from one served by the cache
    assert _line(cli("apply", config, "--no-progress")) == (
        "LF columns: train 0 from the cache, 3 computed; dev 0 from the cache, 3 computed; "
        "test 0 from the cache, 3 computed")
    assert _line(cli("apply", config, "--no-progress")) == (
        "LF columns: train 3 from the cache, 0 computed; dev 3 from the cache, 0 computed; "
        "test 3 from the cache, 0 computed")
    (config.parent / "lfs.py").write_text(DEFAULT_LFS.replace('"free"]', '"free", "win"]'),
                                          encoding="utf-8")
    assert _line(cli("apply", config, "--no-progress")).startswith(
        "LF columns: train 2 from the cache, 1 computed;")
    assert _line(cli("apply", config, "--no-progress", "--no-cache")) == (
        "LF columns: all computed (cache off)")


def test_a_column_cached_for_some_rows_only_counts_as_computed(tmp_path):
    lf = keyword_lf("spam", label=1)
    df = pd.DataFrame({"id": ["a", "b"], "text": ["spam here", "nothing"]})
    apply_lfs(df, [lf], 2, cache_dir=tmp_path)
    use: dict = {}
    grown = pd.concat([df, pd.DataFrame({"id": ["c"], "text": ["more spam"]})])
    apply_lfs(grown, [lf], 2, cache_dir=tmp_path, split="train", cache_use=use)
    assert use == {"train": {"reused": 0, "computed": 1}}
    apply_lfs(grown, [lf], 2, cache_dir=tmp_path, split="train", cache_use=use)
    assert use == {"train": {"reused": 1, "computed": 0}}


def test_a_multi_label_apply_says_it_too(tmp_path):
    from test_multilabel import LFS, _rows, _toml

    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(40, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(20, 2).to_csv(tmp_path / "dev.csv", index=False)
    config = _toml(tmp_path)
    text = config.read_text(encoding="utf-8").replace('test = "test.csv"\n', "")
    config.write_text(text.replace("cache = false", "cache = true"), encoding="utf-8")
    assert _line(cli("apply", config, "--no-progress")) == (
        "LF columns: train 0 from the cache, 3 computed; dev 0 from the cache, 3 computed")
    assert _line(cli("apply", config, "--no-progress")) == (
        "LF columns: train 3 from the cache, 0 computed; dev 3 from the cache, 0 computed")
