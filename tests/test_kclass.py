"""k-class reporting (#15): a 3-class task without positive_label. `run`, `fit`, the model
card and `labeling report` show macro-F1 and per-class precision/recall/F1 (never `F1 -`
or nan), and a yes/no prompt LF voting one class is scored one-vs-rest on that class."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling import distill, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402

LABELS = ["sports", "politics", "promo"]
TEXTS = {
    "sports": ["the team won the match", "a great goal in the final", "the match ended late",
               "our team scored twice", "the coach praised the team", "goal after goal"],
    "politics": ["the vote in parliament", "the minister resigned", "a new law was passed",
                 "the election results", "parliament debated the law", "voters went to vote"],
    "promo": ["subscribe to my channel", "please subscribe now", "subscribe for free gifts",
              "free stuff subscribe today", "my channel wants you to subscribe",
              "subscribe and share"],
}

KCLASS_LFS = '''\
from labeling import keyword_lf

SPORTS, POLITICS, PROMO = 0, 1, 2
sports = keyword_lf(["team", "match", "goal"], label=SPORTS, name="kw_sports")
politics = keyword_lf(["vote", "law", "parliament", "minister"], label=POLITICS,
                      name="kw_politics")
promo = keyword_lf(["subscribe", "channel", "free"], label=PROMO, name="kw_promo")
'''

# A yes/no prompt that votes PROMO or nothing: the fake server says yes on "subscribe".
PROMPT_LFS = KCLASS_LFS + '''
from labeling import ABSTAIN
from labeling.llm import prompt_lf

llm_is_promo = prompt_lf("llm_is_promo", "Is this self-promotion? {text}",
                         answers={"yes": PROMO, "no": ABSTAIN})
'''


def frames() -> dict[str, pd.DataFrame]:
    rows = [(t, lab) for lab in LABELS for t in TEXTS[lab]]

    def frame(prefix, part):
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(len(part))],
                             "text": [t for t, _ in part], "label": [lab for _, lab in part]})

    return {"train": frame("tr", rows + [(t.upper(), lab) for t, lab in rows]),
            "dev": frame("dv", rows[::2]), "test": frame("te", rows[1::2])}


def kclass_task(make_task, lf_source=KCLASS_LFS, **config) -> Path:
    f = frames()
    return make_task(train=f["train"], dev=f["dev"], test=f["test"], lf_source=lf_source,
                     config={"name": "three", "labels": LABELS,
                             "positive_label": make_task.DELETE,
                             "label_model": {"name": "mv", "params": make_task.DELETE},
                             "end_model": {"name": "tfidf_logreg",
                                           "params": {"learning_curve": False}}, **config})


def test_kclass_frames_have_every_class_in_each_split():
    for df in frames().values():
        assert set(df["label"]) == set(LABELS)


@pytest.fixture(scope="module")
def kclass_run(tmp_path_factory):
    """The 3-class task run once through the CLI: (config, run output, metrics)."""
    from conftest import default_config, write_task

    config = default_config() | {"name": "three", "labels": LABELS,
                                 "label_model": {"name": "mv", "params": {}},
                                 "end_model": {"name": "tfidf_logreg",
                                               "params": {"learning_curve": False}}}
    config.pop("positive_label")
    path = write_task(tmp_path_factory.mktemp("kclass"), frames(), KCLASS_LFS, config)
    result = CliRunner().invoke(app, ["run", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    return path, result.output, metrics


def test_run_prints_macro_f1_and_a_per_class_table_not_a_dash(kclass_run):
    _, output, metrics = kclass_run
    assert "macro-F1" in output
    table = output[output.index("scores"):output.index("per class on dev")]
    for line in table.splitlines():
        if line.startswith("│ majority vote") or line.startswith("│ label model") \
                or line.startswith("│ end model"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            assert "-" not in cells[1:], line  # every score present, F1 included
    assert "per class on dev" in output and "per class on test" in output
    for label in LABELS:
        assert f"│ {label}" in output
    end = metrics["end_model"]["test"]
    per = end["per_class"]
    assert len(per) == 3 and all(set(c) == {"precision", "recall", "f1", "support"} for c in per)
    assert sum(c["support"] for c in per) == end["n"]
    assert np.mean([c["f1"] for c in per]) == pytest.approx(end["macro_f1"])
    for key in ("majority_vote", "label_model"):
        assert len(metrics[key]["dev"]["per_class"]) == 3


def test_fit_shows_macro_f1_and_per_class(kclass_run):
    path, _, _ = kclass_run
    result = CliRunner().invoke(app, ["fit", str(path)])
    assert result.exit_code == 0, result.output
    assert "dev macro-F1" in result.output and "per class on dev" in result.output
    assert "│ -" not in result.output.split("per class")[0]


def test_card_has_no_nan_and_shows_per_class(kclass_run):
    path, _, _ = kclass_run
    card = (path.parent / "run" / "model" / "MODEL_CARD.md").read_text()
    assert "nan" not in card
    assert "Per class on test" in card and all(label in card for label in LABELS)


def test_report_scores_a_one_class_prompt_one_vs_rest(fake_openai, make_task, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-kclass")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = kclass_task(make_task, lf_source=PROMPT_LFS, llm={"progress": False})
    task = pipeline.load_task(config)
    pipeline.run(task, progress=False)
    report = distill.build_report(task, n_single=3)
    row = next(r for r in report["rows"] if "llm_is_promo" in r["name"])
    y = np.asarray(task.gold("test"))
    votes = (pd.read_parquet(task.run_dir / "L.parquet").xs("test", level="split")
             ["llm_is_promo"].to_numpy())
    promo = LABELS.index("promo")
    hit, gold = votes == promo, y == promo
    assert row["scored_as"] == "one_vs_rest" and "promo" in row["name"]
    assert row["precision"] == pytest.approx((hit & gold).sum() / hit.sum())
    assert row["recall"] == pytest.approx((hit & gold).sum() / gold.sum())
    assert row["accuracy"] is None  # no class to count its abstentions as
    # The old rule (abstentions = the train-majority class) gave a share, not a score.
    assert report["f1_column"] == "test macro-F1"
    # its only prompt is one-vs-rest: no note on counting abstentions as a class
    assert not any(note.startswith("A prompt LF used as a classifier")
                   for note in report["notes"])
    assert distill.ONE_VS_REST_NOTE in report["notes"]
    md = distill.format_markdown(report)
    assert "one-vs-rest" in md and "nan" not in md
    assert f"| {row['f1']:.3f} (F1 of promo) |" in md  # the macro-F1 column's one-class cell



def test_report_notes_speak_of_prompt_lfs_only_when_the_task_has_one(kclass_run):
    path, _, _ = kclass_run  # keyword LFs only
    notes = distill.build_report(pipeline.load_task(path), n_single=3)["notes"]
    assert not any("prompt LF" in note for note in notes)
    assert any("Label model and majority vote" in note for note in notes)
