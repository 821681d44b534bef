"""`labeling dev` on a task without dev gold (`labeling init --labels a,b` on a file of
texts only) says in one line that nothing is scored and how to get dev labels; before it
printed "label model (auto: chose ...) on dev: cv -" and "majority vote (mv) on dev: "
with nothing after it (h121)."""

import io

from rich.console import Console

from labeling.dev_loop import TABLE_DONE, watch


def test_dev_without_dev_gold_says_nothing_is_scored(make_task):
    config = make_task(dev=False, config={"data": {"dev": make_task.DELETE},
                                          "label_model": {"name": "mv",
                                                          "params": make_task.DELETE}})
    out = io.StringIO()
    watch(config, interval=0.01, max_rounds=1,
          console=Console(file=out, width=200, highlight=False))
    text = out.getvalue()
    assert TABLE_DONE in text and "error" not in text, text
    assert ("label model (mv) and majority vote: not scored, no dev gold labels (no "
            "data.dev, or no label in it): label dev rows (data.dev, or in `labeling app`) "
            "for dev accuracy and scores") in text
    assert "on dev: " not in text  # before: "majority vote (mv) on dev: " and nothing
