"""`labeling show LF [CONFIG]`: the config as an argument, as every other command takes it
(before: "Got unexpected extra argument(s)"; only --config worked)."""

from __future__ import annotations

from typer.testing import CliRunner

from labeling.cli import app


def test_show_takes_the_config_as_an_argument(make_task):
    config = make_task()
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(config), "--no-progress"]).exit_code == 0
    by_option = runner.invoke(app, ["show", "kw_spam", "--config", str(config)])
    by_argument = runner.invoke(app, ["show", "kw_spam", str(config)])
    by_folder = runner.invoke(app, ["show", "kw_spam", str(config.parent), "--limit", "3"])
    assert by_argument.exit_code == 0, by_argument.output
    assert by_argument.output == by_option.output
    assert by_folder.exit_code == 0 and "kw_spam fires on" in by_folder.output


def test_show_refuses_the_test_split(make_task):
    """The LF loop reads train and dev: `show --split test --wrong` listed the test rows an
    LF gets wrong, with their gold, which is how LFs get tuned on test."""
    config = make_task()
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(config), "--no-progress"]).exit_code == 0
    for extra in ([], ["--wrong"]):
        result = runner.invoke(app, ["show", "kw_spam", str(config), "--split", "test", *extra])
        assert result.exit_code == 2
        assert result.output.startswith("error: the test split is for the final score")
        assert len(result.output.strip().splitlines()) == 1
    assert runner.invoke(app, ["show", "kw_spam", str(config), "--split", "train"]).exit_code == 0


def test_show_names_an_unknown_lf_and_a_split_without_gold_in_one_line(make_task):
    """The single-label loop raises the same LabelingError as the multi-label one (before:
    KeyError/ValueError, which `labeling show` turned into errors by catching every
    KeyError and ValueError from loading the run too)."""
    config = make_task()
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(config), "--no-progress"]).exit_code == 0
    for args, line in [(["nope"], "error: no LF named 'nope'; the task's LFs: kw_spam"),
                       (["kw_spam", "--conflicts", "nope"], "error: no LF named 'nope' (other)"),
                       (["kw_spam", "--wrong", "--split", "train"],
                        "error: the train split has no gold labels: choose dev")]:
        result = runner.invoke(app, ["show", *args, str(config)])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(line) and len(result.output.strip().splitlines()) == 1
