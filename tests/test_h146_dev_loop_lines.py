"""`labeling dev` piped to a file or `tee` (rich's 80 columns): an error stays one line,
and so does each score line (h146). Before, rich wrapped them at word boundaries: the
one-line error of an LF raising on a row came out as three lines, and `[accuracy
+0.011; f1` / `+0.015]` broke a score line in two."""

import io

from rich.console import Console

from labeling.dev_loop import Snapshot, render, watch

BROKEN = '''\
from labeling import ABSTAIN, labeling_function

HAM, SPAM = 0, 1


@labeling_function()
def fragile_lf_with_a_long_name(x):
    raise ValueError("this LF cannot handle any of the rows it is given at all")
'''


def test_an_error_is_one_line_at_80_columns(make_task):
    config = make_task(lf_source=BROKEN,
                       config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    out = io.StringIO()
    watch(config, console=Console(file=out, width=80, highlight=False), max_rounds=1)
    lines = out.getvalue().splitlines()
    error = [line for line in lines if line.startswith("error:")]
    assert len(error) == 1 and len(error[0]) > 80, lines
    assert "fragile_lf_with_a_long_name" in error[0] and error[0].endswith("instead"), lines
    assert lines[1].startswith("dev table (error)"), lines


def test_a_score_line_with_its_changes_is_one_line_at_60_columns():
    import pandas as pd

    lfs = pd.DataFrame({"coverage": [0.5], "dev_accuracy": [0.8]}, index=pd.Index(["a"], name="lf"))
    scores = {"label_model": {"name": "snorkel", "accuracy": 0.826, "f1": 0.808},
              "majority_vote": {"name": "mv", "accuracy": 0.814, "f1": 0.79}}
    before = {k: {**v, "accuracy": v["accuracy"] - 0.011, "f1": v["f1"] - 0.015}
              for k, v in scores.items()}
    out = io.StringIO()
    render(Snapshot(lfs, scores), Snapshot(lfs, before), Console(file=out, width=60))
    lines = out.getvalue().splitlines()
    line = next(line for line in lines if line.startswith("label model (snorkel)"))
    assert line.endswith("[accuracy +0.011; f1 +0.015]"), lines


def test_the_table_says_which_lfs_raised_and_abstained(make_task):
    """With [apply] fault_tolerant = true, an LF raising on rows abstains there: the dev
    table said nothing of it (the LF just showed low coverage); `labeling apply` prints a
    faults line, and so does the loop now."""
    config = make_task(lf_source=BROKEN.replace(
        'raise ValueError', 'if "song" in x.text:\n        raise ValueError') + "    return ABSTAIN\n",
        config={"label_model": {"name": "mv", "params": make_task.DELETE},
                "apply": {"fault_tolerant": True}})
    out = io.StringIO()
    watch(config, console=Console(file=out, width=80, highlight=False), max_rounds=1)
    lines = out.getvalue().splitlines()
    fault = [line for line in lines if line.startswith("faults:")]
    assert len(fault) == 1, lines
    assert fault[0].startswith("faults: LF 'fragile_lf_with_a_long_name' raised on "), fault
    assert "ValueError: this LF cannot handle" in fault[0], fault
