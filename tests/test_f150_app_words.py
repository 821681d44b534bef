"""What the app says to an annotator (helper f150, 2026-12-08): the Overview's gold
budget lines say what ``labeling run`` says, and plainly."""

from __future__ import annotations

from labeling.review import overview
from labeling.train.gold_budget import dev_cv_text, nested_end_cv
from labeling.train.learning_curve import labels_worth


def _metrics(gold_rows, pipe_rows) -> dict:
    curve = {"sizes": [20, 40, 80], "metric": "f1", "seeds": len(gold_rows),
             "scored_on": "rest of dev", "gold_only": gold_rows, "pipeline": pipe_rows}
    return {"end_model": {"cv": 0.9473, "cv_nested": {"end_model": 0.9426},
                          "label_mode": "soft"},
            "gold_only": {"cv": 0.9421, "metric": "f1", "n_dev": 264,
                          "text": "The LFs and the gold-only baseline tie (0.943 vs 0.942).",
                          "loud": False},
            "learning_curve": {"curve": curve, "worth": labels_worth(curve)}}


def test_the_overview_dev_cv_line_is_the_one_labeling_run_prints():
    """Before: 'end model 0.947' next to a verdict stating the nested 0.943, as if one
    number printed twice, differently (the CLI was fixed in f29c1cb, the app was not)."""
    metrics = _metrics([[0.9, 0.92, 0.93]] * 3, [[0.8, 0.85, 0.9]] * 3)
    line = overview.gold_budget(metrics)["cv_text"]
    end = metrics["end_model"]
    assert line == dev_cv_text("f1", end["cv"], 0.9421, 264, nested_end_cv(end)) + "."
    assert f"{end['cv_nested']['end_model']:.3f}" in line


def test_lfs_worth_nothing_is_said_plainly():
    """Before: 'worth about 0 hand labels (0 to 0 in 3 of 3 subsamples; gold-only alone
    was better in 3)'."""
    metrics = _metrics([[0.9, 0.92, 0.93]] * 3, [[0.8, 0.85, 0.9]] * 3)
    assert metrics["learning_curve"]["worth"]["labels"] == 0
    text = overview.gold_budget(metrics)["worth"]
    assert "added nothing over the dev labels alone" in text, text
    assert "as good or better in 3 of 3" in text and "0 to 0" not in text


def test_lfs_worth_labels_keep_the_curve_line():
    metrics = _metrics([[0.7, 0.8, 0.9]] * 3, [[0.85, 0.86, 0.87]] * 3)
    worth = metrics["learning_curve"]["worth"]
    assert worth["labels"] > 0
    assert overview.gold_budget(metrics)["worth"] == worth["text"]


def test_one_subsample_where_lfs_help_keeps_the_curve_line():
    metrics = _metrics([[0.9, 0.92, 0.93], [0.9, 0.92, 0.93], [0.7, 0.8, 0.9]],
                       [[0.8, 0.85, 0.9], [0.8, 0.85, 0.9], [0.85, 0.86, 0.87]])
    worth = metrics["learning_curve"]["worth"]
    assert worth["labels"] == 0 and worth["high"] > 0
    assert overview.gold_budget(metrics)["worth"] == worth["text"]


def test_multilabel_show_with_no_rows_prints_one_line(capsys):
    """Before: `labeling show LF --wrong` with 0 matching rows printed an empty table
    (its header and borders) under 'is wrong on 0 dev rows'."""
    import pandas as pd

    from labeling.review import ml_show

    empty = pd.DataFrame(columns=["id", "vote", "gold", "label_model", "p_joy", "text"])
    ml_show.print_examples(empty, "kw_joy", "joy", "wrong", "dev", 20)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == ["kw_joy (votes on joy: +joy applies, -joy does not) is wrong on 0 dev "
                     "rows"], lines


ALWAYS_LFS = '''\
from labeling import ABSTAIN, keyword_lf, labeling_function

HAM, SPAM = 0, 1

spam_words = keyword_lf(["subscribe", "channel", "free"], label=SPAM, name="kw_spam")


@labeling_function()
def always_ham(x):  # a prompt LF that always answers: no row uncovered
    return HAM
'''


def _annotate_page(make_task, tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from labeling import pipeline

    config = make_task(lf_source=ALWAYS_LFS,
                       config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    pipeline.run(pipeline.load_task(config), progress=False)
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    entry = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
    at = AppTest.from_file(entry, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def test_annotate_opens_on_a_slice_with_rows(make_task, tmp_path, monkeypatch):
    """Before: with an LF answering every row, the page opened on train's 'uncovered'
    slice: 'Nothing to label here' and '0 of 0 examples'; the picker said no counts."""
    at = _annotate_page(make_task, tmp_path, monkeypatch)
    picker = at.selectbox(key="ann_slice")
    assert picker.value != "uncovered", picker.value
    assert not [i.value for i in at.info if "Nothing to label here" in i.value]
    assert "of 0 examples" not in at.get("progress")[0].proto.text
    assert any(o.startswith("uncovered (0 rows)") for o in picker.options), picker.options
    assert any(o.startswith("all (") and "rows)" in o for o in picker.options), picker.options
    # the user's pick is kept, empty or not
    picker.select("uncovered").run()
    at.selectbox(key="ann_split").select("dev").run()
    assert at.selectbox(key="ann_slice").value == "uncovered"
    assert [i.value for i in at.info if "Nothing to label here" in i.value]
