"""The model card as an operator deploying a colleague's model checks it (found by the
deploy walkthrough): it names the LFs behind the training labels, and now the sha256 of
the LF modules they came from, so the code can be matched as the data files can."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from labeling.export.card import card_markdown
from labeling.export.card_schema import validate_card
from labeling.export.provenance import training_files


def _cfg(tmp_path, lfs):
    for split in ("train", "dev"):
        (tmp_path / f"{split}.csv").write_text(f"id,text,label\n{split}1,a,ham\n")
    return SimpleNamespace(data=SimpleNamespace(train="train.csv", dev="dev.csv", test=None),
                           lfs=lfs, resolve=lambda p: tmp_path / p,
                           annotations_path=tmp_path / "none")


def test_the_card_hashes_the_lf_modules_that_labeled_the_train_rows(tmp_path):
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "spam.py").write_text("# LFs\n")
    (tmp_path / "more.py").write_text("# more LFs\n")
    files = training_files(_cfg(tmp_path, ["functions/spam.py", "more.py", "pkg.lfs"]),
                           {"dev_rows_trained_on": 1}, {})
    assert [k for k in files if k.startswith("lf")] == ["lf module 1", "lf module 2"]
    assert files["lf module 1"]["file"] == "spam.py" and files["lf module 2"]["sha256"] == (
        hashlib.sha256(b"# more LFs\n").hexdigest())
    card = validate_card({"labels": ["ham", "spam"], "training_files": files},
                         tmp_path / "model_card.json")
    text = card_markdown(card)
    assert ("- lf module 1 file spam.py (the labeling functions whose votes labeled the "
            "train rows): sha256 " + files["lf module 1"]["sha256"]) in text


def test_one_lf_module_is_named_without_a_number(tmp_path):
    (tmp_path / "spam.py").write_text("# LFs\n")
    files = training_files(_cfg(tmp_path, ["spam.py"]), {"dev_rows_trained_on": 1}, {})
    assert files["lf module"]["sha256"] == hashlib.sha256(b"# LFs\n").hexdigest()
