"""An LF edited, added or removed after `labeling apply`: `fit` and `export` stop with one
line naming the LFs and the fix (`labeling apply`), instead of fitting the old votes and
writing a model card that lists LFs the model never learned from."""

from __future__ import annotations

import json
import sys
from pathlib import Path


from labeling import multilabel_steps, pipeline
from labeling.session import Session

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from test_multilabel_loop import write_project  # noqa: E402


def edit(config: Path, old: str, new: str) -> None:
    path = config.parent / "lfs.py"
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new), encoding="utf-8")


def test_fit_after_an_lf_edit_asks_for_apply_and_keeps_the_fit(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    probs = (config.parent / "run" / "probs.parquet").read_bytes()
    edit(config, '["song", "love"]', '["song"]')  # kw_ham, edited in place
    result = cli("fit", config)
    # before: exit 0, the label model refit on kw_ham's old votes
    one_error_line(result, "L.parquet", "changed: kw_ham", "run `labeling apply`")
    assert (config.parent / "run" / "probs.parquet").read_bytes() == probs  # nothing lost
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0


def test_added_and_removed_lfs_are_named(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    edit(config, 'ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")',
         'ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham2")')
    one_error_line(cli("fit", config), "new: kw_ham2", "gone: kw_ham")


def test_export_refuses_a_card_listing_lfs_that_were_not_applied(make_task):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    edit(config, "[\"subscribe\", \"channel\", \"free\"]", "[\"subscribe\"]")
    one_error_line(cli("export", config), "changed: kw_spam", "before `labeling export`")


def test_an_lf_memoizing_in_a_global_is_not_reported_as_changed(make_task):
    source = ("from labeling import ABSTAIN, labeling_function\n\nSEEN = {}\n\n\n"
              "@labeling_function()\ndef memo(x):\n    SEEN[x.text] = len(SEEN)\n"
              "    return 1 if 'channel' in x.text else ABSTAIN\n\n\n"
              "@labeling_function()\ndef loves(x):\n    return 0 if 'love' in x.text else ABSTAIN\n\n\n"
              "@labeling_function()\ndef song(x):\n    return 0 if 'song' in x.text else ABSTAIN\n")
    config = make_task(lf_source=source)
    session = Session(config)  # apply and fit in one process: the module's SEEN has grown
    session.apply()
    session.fit()
    assert cli("fit", config).exit_code == 0  # a fresh load: SEEN is empty, as at apply
    session.reload()
    session.fit()  # the reloaded LFs are the ones applied


def test_session_fit_after_reload_of_an_edited_lf_asks_for_apply(make_task):
    config = make_task()
    session = Session(config)
    session.apply()
    edit(config, '["song", "love"]', '["song"]')
    session.reload()
    try:
        session.fit()
    except Exception as exc:  # a LabelingError: the CLI prints it as one line
        assert "changed: kw_ham" in str(exc)
    else:
        raise AssertionError("fit ran on the votes of the LFs before the edit")
    session.apply(lfs=["kw_ham"])  # re-applying just the edited LF is enough
    session.fit()


def test_multilabel_fit_after_an_lf_edit_asks_for_apply(tmp_path):
    config = write_project(tmp_path / "ml")
    task = pipeline.load_task(config)
    multilabel_steps.step_apply(task)
    metrics = json.loads((config.parent / "runs" / "ml" / "metrics.json").read_text())
    assert "kw_joy_noisy" in metrics["applied_lfs"]
    edit(config, '["today", "now"]', '["today"]')
    one_error_line(cli("fit", config), "changed: kw_joy_noisy", "run `labeling apply`")
