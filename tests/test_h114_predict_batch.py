"""`labeling predict` in a nightly batch job (the h114 walkthrough): a failed write of the
answers (a full disk) is a one-line error and exit status 2, not a traceback."""

from __future__ import annotations

import errno
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.errors import DataError
from labeling.export import export_model, load_exported
from labeling.predict import write_batches
from labeling.train.end_model import train_end_model

CLI = [sys.executable, "-c", "from labeling.cli import main; main()"]
TEXTS = ["check out my channel", "subscribe to me", "lovely song", "great video",
         "visit my page", "nice voice"] * 4


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    y = np.array([1, 1, 0, 0, 1, 0] * 4)
    model = train_end_model(TEXTS, np.eye(2)[y], np.ones(len(y), bool))
    return export_model(model, tmp_path_factory.mktemp("h114") / "model",
                        {"task": "spam", "labels": ["ham", "spam"]})


class FullDisk(io.StringIO):
    name = "predictions.tsv"

    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_write_is_a_one_line_error(model_dir):
    with pytest.raises(DataError, match=r"^cannot write the predictions to predictions.tsv: "
                                        r"No space left on device; the output is incomplete$"):
        write_batches(load_exported(model_dir), [["a", "b"]], FullDisk())


def test_a_reader_that_went_away_is_not_a_write_error(model_dir):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        write_batches(load_exported(model_dir), [["a"]], Gone())


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_predict_to_a_full_disk_exits_2_with_one_line(model_dir, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,text\n" + "".join(f"r{i},{t}\n" for i, t in enumerate(TEXTS * 50)))
    with open("/dev/full", "w") as full:
        done = subprocess.run([*CLI, "predict", "-m", str(model_dir), "-i", str(source)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    # before: exit status 1 and a 40-line rich traceback ending in OSError: [Errno 28]
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: cannot write the predictions to <stdout>: No space left on device; the "
        "output is incomplete"], done.stderr
