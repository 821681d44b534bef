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
