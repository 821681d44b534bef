"""`labeling compare` after `apply` and `fit` without a `train` (h115).

Before: a run folder's files (data, LF modules) are recorded at `train`, its LFs at
`apply`. After an LF edit, `apply` and `fit`, compare printed the edited module as
`same`, the LF as `changed`, and explained it wrongly: "(their LF modules are the same:
what those LFs call changed, e.g. an installed library, ...)". Now the LFs shown are
those the end model was trained on, as its files are, and a note names the LFs applied
since."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from labeling import pipeline
from labeling.cli import app

LFS = '''from labeling import keyword_lf

HAM, SPAM = 0, 1
money = keyword_lf(["money", "cash"], label=SPAM, name="kw_money")
song = keyword_lf(["song", "love"], label=HAM, name="kw_song")
'''


def _task(root):
    rows = {"spam": "free money and cash now {}", "ham": "i love this song {}"}
    for split, n in (("train", 40), ("dev", 24), ("test", 12)):
        lines = ["id,text,label"] + [f"{split}{i},{rows[lab].format(i)},{lab}" for i in range(n)
                                     for lab in [("spam", "ham")[i % 2]]]
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "lfs.py").write_text(LFS, encoding="utf-8")
    (root / "labeling.toml").write_text(
        'name = "t"\nlabels = ["ham", "spam"]\nlfs = ["lfs.py"]\noutput_dir = "runs/t"\n'
        '[data]\ntrain = "train.csv"\ndev = "dev.csv"\ntest = "test.csv"\n'
        '[label_model]\nname = "mv"\n'
        '[end_model]\nname = "tfidf_logreg"\nparams = { learning_curve = false }\n',
        encoding="utf-8")
    return root / "labeling.toml"


def _steps(config, *steps):
    task = pipeline.load_task(config)
    for step in steps:
        getattr(pipeline, f"step_{step}")(task, **({"progress": False} if step == "apply" else {}))


def test_an_lf_applied_since_the_train_is_a_note_not_a_library_change(tmp_path):
    config = _task(tmp_path)
    _steps(config, "apply", "fit", "train")
    shutil.copytree(tmp_path / "runs" / "t", tmp_path / "runs" / "t-old")
    lfs = tmp_path / "lfs.py"
    lfs.write_text(lfs.read_text().replace('"cash"]', '"cash", "bitcoin"]'), encoding="utf-8")
    _steps(config, "apply", "fit")

    out = CliRunner().invoke(app, ["compare", str(tmp_path / "runs" / "t-old"),
                                   str(tmp_path / "runs" / "t")])
    assert out.exit_code == 0, out.output
    assert "their LF modules are the same" not in out.output
    assert "  lfs.py: same" in out.output  # the module the end model was trained with
    assert "LFs: 2 unchanged\n" in out.output
    assert ("note: B: applied since its last `labeling train` with other LFs (changed: "
            "kw_money)") in out.output

    _steps(config, "train")  # trained again: the change is the runs' own, no note
    out = CliRunner().invoke(app, ["compare", str(tmp_path / "runs" / "t-old"),
                                   str(tmp_path / "runs" / "t")])
    assert out.exit_code == 0, out.output
    assert "note:" not in out.output
    assert "  lfs.py: changed" in out.output and "changed: kw_money" in out.output
