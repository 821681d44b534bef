"""`labeling train` on a large split runs for minutes: on a terminal a spinner says what
it trains while it runs, and the output ends with how long it took."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def test_train_says_what_it_trains_and_how_long_it_took(tmp_path, monkeypatch):
    spam = ["subscribe to my channel", "check out my video", "free money here", "visit my page"]
    ham = ["i love this song", "great video", "best song ever", "her voice is amazing"]
    train = [(f"t{i}", f"{(spam + ham)[i % 8]} {i}") for i in range(60)]
    (tmp_path / "train.csv").write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in train))
    dev = [(f"d{i}", f"{(spam + ham)[i % 8]} d{i}", "spam" if i % 8 < 4 else "ham")
           for i in range(24)]
    (tmp_path / "dev.csv").write_text("id,text,label\n" + "".join(f"{i},{t},{y}\n" for i, t, y in dev))
    (tmp_path / "lfs.py").write_text(
        "from labeling import keyword_lf\n"
        "spammy = keyword_lf(['subscribe', 'check', 'free', 'visit'], label=1, name='spammy')\n"
        "hammy = keyword_lf(['song', 'video', 'voice'], label=0, name='hammy')\n")
    (tmp_path / "labeling.toml").write_text(
        'name = "t"\nlabels = ["ham", "spam"]\npositive_label = "spam"\nlfs = ["lfs.py"]\n'
        'output_dir = "runs"\n[data]\ntrain = "train.csv"\ndev = "dev.csv"\n'
        '[label_model]\nname = "mv"\n[end_model]\nname = "tfidf_logreg"\n')
    for step in ("apply", "fit"):
        assert cli(step, tmp_path, *(["--no-progress"] if step == "apply" else [])).exit_code == 0
    from rich.console import Console

    from labeling import report

    # as on a terminal (the spinner is drawn only there)
    monkeypatch.setattr(report, "console", lambda: Console(force_terminal=True, width=200))
    result = cli("train", tmp_path)
    assert result.exit_code == 0, result.output
    assert "training the end model (tfidf_logreg) on the soft labels of 60 train rows" in result.output
    assert "trained in " in result.output.splitlines()[-1]


def test_no_spinner_over_a_fine_tunes_own_progress_bar_and_no_dev_words_without_dev(
        tmp_path, monkeypatch):
    # before: the spinner wrapped stderr, so the fine-tune's tqdm bar printed one line per
    # refresh; and it spoke of "the dev gold" on a task without one (found in review)
    from rich.console import Console

    from labeling import pipeline, report
    from labeling.cli import pipeline_commands

    monkeypatch.setattr(report, "console", lambda: Console(force_terminal=True, width=200))
    statuses = []
    real_status = Console.status
    monkeypatch.setattr(Console, "status",
                        lambda self, text, **kw: statuses.append(text) or real_status(self, text, **kw))
    monkeypatch.setattr(pipeline, "step_train", lambda task: None)
    monkeypatch.setattr(pipeline, "read_metrics", lambda run_dir: {})
    monkeypatch.setattr(report, "print_scores", lambda *a, **k: None)

    class Task:
        def __init__(self, name, dev):
            self.config = type("C", (), {"end_model": type("E", (), {"name": name})()})()
            self.splits, self._dev, self.run_dir = {"train": [0] * 5}, dev, tmp_path

        def gold(self, split):
            return self._dev

    for name, dev in (("minilm_finetune", [1]), ("tfidf_logreg", None)):
        monkeypatch.setattr(pipeline_commands, "open_task", lambda c, *_, t=Task(name, dev): t)
        monkeypatch.setattr(pipeline_commands, "multilabel_step", lambda task, step: False)
        pipeline_commands.train(tmp_path)
    assert statuses == ["training the end model (tfidf_logreg) on the soft labels of 5 train "
                        "rows"]
