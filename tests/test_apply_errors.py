"""How applying LFs fails: the LF's own exception type, one-line errors naming the LF
and the row (on every engine), a non-LF in an ``LFS`` list, a hung LF and Ctrl+C."""

from __future__ import annotations

import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from typer.testing import CliRunner

from labeling import ABSTAIN, keyword_lf, labeling_function
from labeling.apply import FaultLog, apply_lfs
from labeling.apply import watch as watch_module
from labeling.apply.dask_engine import local_cluster
from labeling.cli import app
from labeling.errors import LabelingError, LFError, LFLoadError
from labeling.lf.loader import load_lfs

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_benchmark  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": [f"t{i}" for i in range(n)]})


def raising_on(text: str, exc: BaseException, name: str = "breaks"):
    @labeling_function(name=name)
    def lf(x):
        if x.text == text:
            raise exc
        return ABSTAIN

    return lf


def one_error_line(result, *fragments) -> str:
    """The CLI's answer to bad input: exit 2, one line 'error: ...', no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- item 6: the LF's own exception type stays reachable --------------------------

class OddError(Exception):
    """A user's own exception class (defined where the LFs are)."""


@pytest.mark.parametrize("exc", [ValueError("bad value"), KeyError("missing"),
                                 OSError(5, "io"), OddError("odd")])
def test_lf_exception_is_catchable_by_its_own_type_and_as_lf_error(exc):
    with pytest.raises(type(exc)) as info:  # as snorkel's tests catch it
        apply_lfs(frame(), [raising_on("t2", exc)], 2, split="dev")
    error = info.value
    assert isinstance(error, LFError) and isinstance(error, LabelingError)
    assert error.__cause__ is exc
    message = str(error)
    assert message.startswith("LF 'breaks' raised ") and "dev row 3 (id=r2)" in message
    assert "\n" not in message
    again = pickle.loads(pickle.dumps(error))  # worker processes send it back pickled
    assert type(again) is type(error) and str(again) == message


def test_lf_exception_type_survives_worker_processes():
    df = frame(5000)  # more than one chunk: n_jobs=2 forks workers
    with pytest.raises(ValueError, match=r"'breaks' raised ValueError.*row 4322 \(id=r4321\)"):
        apply_lfs(df, [raising_on("t4321", ValueError("late"))], 2, n_jobs=2)


def test_exception_that_cannot_be_rebuilt_is_still_an_lf_error():
    exc = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    with pytest.raises(LFError, match=r"'breaks' raised UnicodeDecodeError.*row 2 \(id=r1\)"):
        apply_lfs(frame(), [raising_on("t1", exc)], 2)


def test_cli_prints_one_line_for_an_lf_exception(make_task):
    source = ("from labeling import labeling_function\n\n\n@labeling_function()\n"
              "def picky(x):\n    if 'beat' in x.text:\n        raise ValueError('no beats')\n"
              "    return -1\n")
    path = make_task(lf_source=source)
    result = CliRunner().invoke(app, ["apply", str(path), "--no-progress"])
    one_error_line(result, "LF 'picky' raised ValueError: no beats", "train row 11 (id=tr10)")


# --- item 19: a non-LF in an LFS list ------------------------------------------------

def test_non_lf_in_lfs_list_is_one_line_naming_module_index_and_type(tmp_path, make_task):
    source = ("from labeling import keyword_lf\n\n\ndef plain(x):\n    return -1\n\n\n"
              "LFS = [keyword_lf('song', label=0), plain, 'kw_spam']\n")
    (tmp_path / "mixed.py").write_text(source)
    with pytest.raises(LFLoadError, match=r"mixed\.py: LFS\[1\] is a function, not a "
                                          r"labeling function"):
        load_lfs(["mixed.py"], tmp_path)
    path = make_task(lf_source=source)
    result = CliRunner().invoke(app, ["apply", str(path), "--no-progress"])
    one_error_line(result, "lfs.py: LFS[1] is a function", "@labeling_function")


def test_non_lf_given_to_apply_lfs_names_its_index_and_type():
    with pytest.raises(LFError, match=r"lfs\[1\] is a str, not a labeling function"):
        apply_lfs(frame(), [keyword_lf("t1", label=0), "oops"], 2)


# --- items 19 and 10: the Dask engine ------------------------------------------------

def test_dask_lf_error_names_the_global_row_in_one_line(capfd):
    df = frame(30)
    with pytest.raises(ValueError) as info:
        apply_lfs(df, [raising_on("t24", ValueError("boom"))], 2, engine="dask", n_jobs=1,
                  partition_rows=10, split="train")
    message = str(info.value)
    assert isinstance(info.value, LFError)
    assert "train row 25 (id=r24)" in message, message  # not row 5 of its partition
    assert "\n" not in message
    # The worker logged no "Compute Failed" traceback: the error came back as a value.
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Compute Failed" not in err, err


def test_dask_fault_records_name_the_global_row():
    faults = FaultLog()
    L = apply_lfs(frame(30), [raising_on("t24", ValueError("boom"))], 2, engine="dask",
                  n_jobs=1, partition_rows=10, fault_tolerant=True, faults=faults,
                  split="train")
    assert faults.counts == {"breaks": 1}
    assert faults.first["breaks"].startswith("train row 25 (id=r24): ValueError: boom")
    assert (L == ABSTAIN).all()


def test_dask_local_cluster_serves_no_dashboard():
    with local_cluster(1) as cluster:
        me = psutil.Process(os.getpid())
        listening = {c.laddr for c in me.net_connections() if c.status == psutil.CONN_LISTEN}
        assert 8787 not in {address.port for address in listening}, listening
        assert {address.ip for address in listening} == {"127.0.0.1"}, listening
        # The scheduler's HTTP server (distributed sets its bound port) serves no page
        # of a dashboard.
        http = cluster.scheduler.http_server
        assert http.address == "127.0.0.1"
        for page in ("status", "info/main/workers.html", "json/counts.json"):
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(f"http://127.0.0.1:{http.port}/{page}", timeout=10)
            assert info.value.code == 404, page


def test_dask_apply_lfs_listens_on_no_dashboard_port():
    """The same through apply_lfs (what users call): the ports this process listens on
    while the Dask engine runs, sampled by a thread; an LF sleeps on one row so the
    cluster lives while it is sampled."""
    import time

    listening: set = set()
    done = threading.Event()

    def sample():
        me = psutil.Process(os.getpid())
        while not done.is_set():
            listening.update(c.laddr for c in me.net_connections()
                             if c.status == psutil.CONN_LISTEN)
            time.sleep(0.05)

    @labeling_function()
    def lingers(x):
        if x.text == "t1":
            time.sleep(0.5)
        return ABSTAIN

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        apply_lfs(frame(20), [lingers], 2, engine="dask", n_jobs=1, partition_rows=10)
    finally:
        done.set()
        sampler.join(timeout=10)
    assert listening, "the sampler saw no scheduler port: the test proves nothing"
    assert 8787 not in {address.port for address in listening}, listening


# --- item 20: a hung LF and Ctrl+C -----------------------------------------------------

def test_slow_row_is_reported_with_its_lf_and_row(monkeypatch, capsys):
    import time

    monkeypatch.setattr(watch_module, "STALL_SECONDS", 0.2)

    @labeling_function()
    def slow(x):
        if x.text == "t1":
            time.sleep(1.5)
        return ABSTAIN

    apply_lfs(frame(), [slow], 2, split="dev")
    assert "still running LF 'slow' on dev row 2 (id=r1)" in capsys.readouterr().err


HANGING_LFS = '''\
import time

from labeling import keyword_lf, labeling_function

spam = keyword_lf(["subscribe", "channel"], label=1, name="kw_spam")


@labeling_function()
def sleepy(x):
    if "beat" in x.text:
        while True:  # never returns on this row
            time.sleep(1)
    return -1
'''

# The real CLI, with the watchdog's delay shortened so the test need not wait 10 s.
CLI_WITH_SHORT_WATCH = (
    "import sys; import labeling.apply.watch as w; w.STALL_SECONDS = 0.5; "
    "from labeling.cli import main; sys.argv = ['labeling', 'apply', sys.argv[1], "
    "'--no-progress']; main()")


def test_ctrl_c_on_a_hung_lf_says_where_it_stopped_and_exits_130(make_task):
    path = make_task(lf_source=HANGING_LFS)
    process = subprocess.Popen([sys.executable, "-c", CLI_WITH_SHORT_WATCH, str(path)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr],
                              daemon=True)
    reader.start()
    seen = []
    try:
        while not any("still running" in line for line in seen):
            seen.append(lines.get(timeout=120))  # a bound, in case it never comes
        stalled = next(line for line in seen if "still running" in line)
        assert "LF 'sleepy'" in stalled and "train row 11 (id=tr10)" in stalled, stalled
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        process.kill()
    reader.join(timeout=10)
    while not lines.empty():
        seen.append(lines.get())
    stderr = "".join(seen)
    assert code == 130, stderr
    interrupted = [line for line in seen if line.startswith("interrupted")]
    assert len(interrupted) == 1, stderr
    assert "LF 'sleepy'" in interrupted[0] and "train row 11 (id=tr10)" in interrupted[0]
    assert "Traceback" not in stderr


# --- item 27: the apply benchmark's identity check ------------------------------------

def test_benchmark_identity_check_sees_a_column_swap():
    bench = load_benchmark("apply")
    L = np.array([[0, 1, -1], [1, -1, 0]], dtype=np.int8)
    swapped = L[:, [1, 0, 2]]  # same sum, different matrix
    assert bench.same_matrices({"a": L, "b": L.copy()})
    assert not bench.same_matrices({"a": L, "b": swapped})
    assert not bench.same_matrices({"a": L, "b": L[:1]})


def test_a_whole_split_lf_is_said_to_run_on_all_rows_in_one_call():
    # before: "still running LF 're_x' on train for 10 s", for a regex running over a
    # 500k-row split in one call, read like a hang (found by the scale walkthrough)
    w = watch_module.Watch(lambda i: f"train row {i + 1}", "train")
    w.follow("re_x")
    assert w.where() == "LF 're_x' on train (all its rows in one call)"
    w.follow("slow", positions=[0, 1], done=[0])
    assert w.where() == "LF 'slow' on train row 2"
