"""A disk that fills up while a cache is written: one line naming the cache file and
what to do, and no half-written temporary file left behind. The limit is the OS's
RLIMIT_FSIZE (a write past it fails with EFBIG, as one past a full disk fails with
ENOSPC: numpy's OSError names no file either way); before, a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")

LIMITED = r'''
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit: EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
{body}
'''


def _limited(body: str, limit: int, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LIMITED.format(body=body), str(limit),
                           *map(str, args)], capture_output=True, text=True, timeout=300)


APPLY = "sys.argv = ['labeling'] + sys.argv[2:]\nfrom labeling.cli import main\nmain()"


def test_apply_on_a_full_disk_names_the_cache_file(make_task):
    config = make_task()
    # apply first records the build of each LF's fingerprint in metrics.json (s16), a file
    # about as big as a cache file: that write is left out here (the next test has it)
    skip_record = ("import labeling.apply.applied as applied\n"
                   "applied.update_metrics = lambda *args, **kwargs: {}\n")
    done = _limited(skip_record + APPLY, 300, "apply", config, "--no-progress")
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "/cache/lf_columns/" in errors[0] and "could not be written" in errors[0]
    assert "--no-cache" in errors[0]
    cache = config.parent / "run" / "cache"
    assert not [p for p in cache.rglob("*") if ".tmp" in p.name]


def test_apply_on_a_disk_full_from_the_start_names_metrics_json(make_task):
    config = make_task()
    done = _limited(APPLY, 300, "apply", config, "--no-progress")
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith(f"error: {config.parent / 'run' / 'metrics.json'}: could not "
                                "be written")


def test_an_embedding_cache_save_on_a_full_disk_names_its_file(tmp_path):
    body = ("import numpy as np\n"
            "from labeling.errors import LabelingError\n"
            "from labeling.llm.embedding_cache import EmbeddingCache\n"
            "cache = EmbeddingCache(sys.argv[2], 'minilm-x')\n"
            "cache.table = {f'{i:040x}': np.ones(384, np.float32) for i in range(100)}\n"
            "try:\n    cache.save()\n"
            "except LabelingError as exc:\n    print('error:', exc)\n")
    done = _limited(body, 4000, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"error: {tmp_path / 'minilm-x.npz'}: could not be written")
    assert list(tmp_path.iterdir()) == []  # no temporary file left
