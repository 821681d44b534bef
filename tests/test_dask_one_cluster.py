"""`--engine dask` with no scheduler: one LocalCluster per apply, used by every split,
closed at the end, also when a split fails (a cluster per split started a worker
process per n_jobs for each split, each importing labeling and torch)."""

import pytest

pytest.importorskip("distributed")

from distributed import LocalCluster  # noqa: E402

from labeling import pipeline  # noqa: E402
from labeling.apply import dask_engine  # noqa: E402
from labeling.errors import LFError  # noqa: E402

RAISES_ON_DEV = '''
from labeling import ABSTAIN, labeling_function


@labeling_function()
def raises_on_dev(x):
    if x.id.startswith("dv"):
        raise ValueError("boom")
    return ABSTAIN
'''


@pytest.fixture
def started(monkeypatch):
    """The clusters the apply starts: in-process ones (threads), so the test is quick."""
    clusters = []

    def counting(n_workers):
        clusters.append(LocalCluster(n_workers=1, processes=False, dashboard_address=None))
        return clusters[-1]

    monkeypatch.setattr(dask_engine, "local_cluster", counting)
    return clusters


def test_one_cluster_serves_every_split_and_is_closed(make_task, started):
    task = pipeline.load_task(make_task())
    pipeline.step_apply(task, progress=False, engine="dask", n_jobs=2, cache=False)
    assert len(started) == 1  # train, dev and test: row-wise LF long_text on each
    assert started[0].status.name == "closed"


def test_the_cluster_is_closed_when_a_split_fails(make_task, started):
    task = pipeline.load_task(make_task(lf_source=RAISES_ON_DEV))
    with pytest.raises(LFError, match="raises_on_dev"):
        pipeline.step_apply(task, progress=False, engine="dask", n_jobs=2, cache=False)
    assert len(started) == 1
    assert started[0].status.name == "closed"


def test_a_call_outside_an_apply_still_closes_its_own(make_task, started):
    import numpy as np

    from labeling.apply import apply_lfs

    frame = make_task.frames()["dev"]
    task = pipeline.load_task(make_task())
    for _ in range(2):
        apply_lfs(frame, task.lfs, 2, engine="dask", n_jobs=1)
    assert len(started) == 2 and all(c.status.name == "closed" for c in started)
    assert not dask_engine._SHARED
    np.testing.assert_array_equal(  # and votes as the local engine gives
        apply_lfs(frame, task.lfs, 2), apply_lfs(frame, task.lfs, 2, engine="dask"))


MULTI_LABEL_LFS = '''
from labeling import ABSTAIN, labeling_function
from labeling.lf.core import APPLIES, for_label


@labeling_function()
def says_happy(x):
    return APPLIES if "happy" in x.text else ABSTAIN


joy = for_label("joy", says_happy)
'''


def test_a_multi_label_apply_starts_one_cluster_too(tmp_path, started):
    # session 18: the multi-label apply still started one per split
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_multilabel_prompts import _task

    from labeling.multilabel_steps.apply import step_apply

    task = pipeline.load_task(_task(tmp_path / "t", lfs=MULTI_LABEL_LFS))
    step_apply(task, progress=False, engine="dask", n_jobs=2, cache=False)
    assert len(started) == 1
    assert started[0].status.name == "closed"
