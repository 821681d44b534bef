"""`labeling evaluate` (and Session.evaluate) reprint the scores fit and train computed;
after a gold label is corrected they were the old gold's, shown without a word. Now the
gold each step scored against is recorded (metrics.json gold_at_fit, gold_at_train) and
a change stops evaluate with one line naming the file and the step to run again."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.session import Session  # noqa: E402


def flip_first_label(path) -> None:
    frame = pd.read_csv(path)
    frame.loc[0, "label"] = "spam" if frame.loc[0, "label"] == "ham" else "ham"
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("split", ["test", "dev"])
def test_evaluate_after_a_gold_correction_names_the_file_and_the_step(make_task, split):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    assert cli("evaluate", config).exit_code == 0
    flip_first_label(config.parent / f"{split}.csv")
    one_error_line(cli("evaluate", config), f"{split}.csv: the {split} gold changed since the "
                   "last `labeling fit`", "run `labeling fit` again")
    with pytest.raises(LabelingError, match=f"the {split} gold changed"):
        Session(config).evaluate()
    assert cli("run", config, "--no-progress").exit_code == 0
    assert cli("evaluate", config).exit_code == 0  # rescored on the corrected gold
