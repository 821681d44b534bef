"""`labeling show` after `labeling apply` but before `labeling fit` names the step to run
(it said only 'no finished run of task ... (missing probs.parquet)')."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

from labeling import pipeline  # noqa: E402


def test_show_before_fit_says_to_run_fit(make_task):
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    pipeline.step_apply(pipeline.load_task(config_path), progress=False)
    result = cli("show", "long_text", "-c", str(config_path))
    assert result.exit_code == 2, result.output
    assert "(missing probs.parquet); run `labeling fit` (or `labeling run`)" in \
           " ".join(result.output.split())
