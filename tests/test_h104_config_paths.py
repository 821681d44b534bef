"""labeling.toml's paths as a user writes them: `~/...`, relative to the config (also the
local model's folder), a folder with spaces and accents, a file saved on Windows (CRLF)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.config import load_config
from labeling.errors import ConfigError
from labeling.llm.errors import LLMError
from labeling.llm.local import LocalBackend
from labeling.pipeline import load_task

LF_MODULE = '''from labeling import keyword_lf
spam = keyword_lf(["subscribe"], label=1, name="kw_sub")
'''


def _write_crlf(path: Path, text: str) -> None:
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home é"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_tilde_paths_are_the_home_folder(tmp_path, home, monkeypatch):
    corpus, lfs = home / "corpus", home / "règles"
    corpus.mkdir()
    lfs.mkdir()
    rows = "id,text,label\n" + "".join(f"r{i},subscribe now {i},{'ham spam'.split()[i % 2]}\n"
                                       for i in range(6))
    (corpus / "train.csv").write_text(rows, encoding="utf-8")
    (lfs / "mes_lfs.py").write_text(LF_MODULE, encoding="utf-8")
    project = tmp_path / "Projets clients" / "Données été"
    project.mkdir(parents=True)
    _write_crlf(project / "labeling.toml", '''name = "t"
labels = ["ham", "spam"]
lfs = ["~/règles/mes_lfs.py"]
output_dir = "~/runs/t"
annotations = "~/notes.sqlite"

[data]
train = "~/corpus/train.csv"
dev = "~/corpus/train.csv"

[llm]
cache_path = "~/llm.sqlite"
''')
    monkeypatch.chdir(tmp_path)

    config = load_config(project / "labeling.toml")
    assert config.run_dir == home / "runs" / "t"
    assert config.annotations_path == home / "notes.sqlite"
    assert config.llm_cache_path == home / "llm.sqlite"
    assert config.resolve(config.data.train) == corpus / "train.csv"

    task = load_task(project / "labeling.toml")  # reads the data and imports the LFs
    assert [lf.name for lf in task.lfs] == ["kw_sub"]
    assert len(task.splits["train"]) == 6
    assert not (project / "~").exists()


def test_local_model_is_relative_to_the_config_file(tmp_path, monkeypatch):
    project = tmp_path / "Données été"
    (project / "modèles" / "minilm").mkdir(parents=True)
    _write_crlf(project / "labeling.toml", '''name = "t"
labels = ["ham", "spam"]
lfs = ["x.py"]
[data]
train = "train.csv"
[llm]
local_model = "modèles/minilm"
''')
    monkeypatch.chdir(tmp_path)  # not the project folder

    config = load_config(project / "labeling.toml")
    assert config.llm.local_model == project / "modèles" / "minilm"


def test_a_missing_local_model_folder_is_one_line_naming_it(tmp_path, monkeypatch):
    """Before: a traceback from huggingface_hub ("Repo id must use alphanumeric chars")."""
    project = tmp_path / "Données été"
    project.mkdir()
    (project / "labeling.toml").write_text('''name = "t"
labels = ["ham", "spam"]
lfs = ["x.py"]
[data]
train = "train.csv"
[llm]
local_model = "modèles/minilm"
''', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(project / "labeling.toml")  # loads: a task without prompt LFs runs

    with pytest.raises(LLMError) as info:
        LocalBackend(config.llm.local_model).embed(["a text"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{project / 'modèles' / 'minilm'}: no such model folder")


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path):
    """Windows editors (Notepad before 2019) save UTF-8 with a BOM; before: 'not valid
    TOML: Invalid statement (at line 1, column 1)' for a file that looks right."""
    path = tmp_path / "labeling.toml"
    _write_crlf(path, '\ufeffname = "t"\nlabels = ["ham", "spam"]\nlfs = ["règles.py"]\n'
                      '[data]\ntrain = "données.csv"\n')
    config = load_config(path)
    assert config.name == "t" and config.lfs == ["règles.py"]


def test_a_config_in_a_windows_code_page_names_the_line(tmp_path):
    path = tmp_path / "labeling.toml"
    path.write_bytes('name = "t"\r\nlabels = ["ham", "spam"]\r\n# données\r\n'.encode("cp1252"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (f"{path}: not valid TOML: line 3 is not UTF-8 text (byte 0xe9); "
                               "save the file as UTF-8")


def test_end_model_path_is_relative_to_the_config_file(tmp_path, home, monkeypatch):
    project = tmp_path / "Données été"
    project.mkdir()
    (project / "labeling.toml").write_text('''name = "t"
labels = ["ham", "spam"]
lfs = ["x.py"]
[data]
train = "train.csv"
[end_model]
name = "minilm_logreg"
params = { model_path = "modèles/minilm", C = 2.0 }
''', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(project / "labeling.toml")
    assert config.end_model.params == {"model_path": str(project / "modèles" / "minilm"),
                                       "C": 2.0}
    (project / "labeling.toml").write_text(
        (project / "labeling.toml").read_text(encoding="utf-8").replace(
            '"modèles/minilm"', '"~/minilm"'), encoding="utf-8")
    assert load_config(project / "labeling.toml").end_model.params["model_path"] == str(
        home / "minilm")


def _end_model_params(tmp_path, end_model: str) -> dict:
    (tmp_path / "labeling.toml").write_text('name = "t"\nlabels = ["ham", "spam"]\n'
                                            'lfs = ["x.py"]\n[data]\ntrain = "train.csv"\n'
                                            f'[end_model]\n{end_model}\n', encoding="utf-8")
    return load_config(tmp_path / "labeling.toml").end_model.params


def test_auto_candidates_model_path_is_relative_to_the_config_file(tmp_path, home,
                                                                   monkeypatch):
    """docs/config.md: before, a candidate's table under name = "auto" kept
    "models/minilm", read from whatever folder the command ran in."""
    monkeypatch.chdir(tmp_path.parent)
    params = _end_model_params(tmp_path, 'name = "auto"\nparams = { candidates = '
                               '["minilm_logreg", "tfidf_minilm_avg", "mine.py:make"], '
                               'minilm_logreg = { model_path = "models/minilm" }, '
                               'tfidf_minilm_avg = { model_path = "~/minilm", C = 2.0 }, '
                               '"mine.py:make" = { model_path = "org/bert" } }')
    assert params["minilm_logreg"] == {"model_path": str(tmp_path / "models" / "minilm")}
    assert params["tfidf_minilm_avg"] == {"model_path": str(home / "minilm"), "C": 2.0}
    assert params["mine.py:make"] == {"model_path": "org/bert"}  # yours: as written


def test_an_end_model_of_yours_keeps_its_model_path_as_written(tmp_path):
    """Before: a hub id of a model of yours became <config folder>/distilbert-base-uncased."""
    params = _end_model_params(tmp_path, 'name = "models.py:make_bert"\n'
                               'params = { model_path = "distilbert-base-uncased" }')
    assert params == {"model_path": "distilbert-base-uncased"}


def test_configs_auto_candidates_are_the_trainers():
    from labeling.config import _AUTO_CANDIDATES
    from labeling.train.auto import AUTO_CANDIDATES

    assert _AUTO_CANDIDATES == AUTO_CANDIDATES


def test_a_quoted_tilde_run_dir_is_the_home_folder(tmp_path, home, monkeypatch):
    """`labeling run --run-dir "~/Runs clients/t"`: quoted for its space, so the shell
    leaves the ~; before, a folder named "~" was made in the current folder."""
    (tmp_path / "labeling.toml").write_text(
        'name = "t"\nlabels = ["ham", "spam"]\nlfs = ["x.py"]\n[data]\ntrain = "t.csv"\n',
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(tmp_path / "labeling.toml")
    assert config.with_run_dir("~/Runs clients/t").run_dir == home / "Runs clients" / "t"
    assert config.with_run_dir("runs/x").run_dir == tmp_path / "runs" / "x"
    assert config.with_annotations("~/notes.sqlite").annotations_path == home / "notes.sqlite"
