"""The task config, ``labeling.toml``, validated with pydantic.

Relative paths in the file are relative to the file's folder. Unknown keys are
errors (a typo should not be silently ignored). Every key, with its default:
docs/config.md (tests/test_docs_config.py keeps the two in step).

    name = "youtube"
    labels = ["ham", "spam"]          # class index = position in this list
    positive_label = "spam"           # optional: F1 is reported for this class
    lfs = ["functions/youtube_spam.py"]
    output_dir = "runs/youtube"

    [data]
    train = "data/youtube/train.csv"  # CSV, TSV, JSONL or Parquet; gold labels ignored
    dev = "data/youtube/dev.csv"      # gold labels required
    test = "data/youtube/test.csv"    # gold labels required
    text_column = "text"
    label_column = "label"
    id_column = "id"
    encoding = "utf-8"                # of CSV/TSV/JSONL files, e.g. "latin-1"; see docs/data.md

    [apply]
    fault_tolerant = false            # true: an LF raising on a row abstains there
    engine = "local"                  # or "dask"
    n_jobs = 1
    cache = true

    [label_model]
    name = "auto"                     # see labeling.models.available()
    params = {}

    [end_model]
    name = "auto"                     # dev CV over labeling.train.AUTO_CANDIDATES, or
                                      # one of them: tfidf_logreg, minilm_logreg, ...
    params = {}                       # label_mode, dev_weight, n_folds, n_repeats,
                                      # min_gain, decision_bias; model params (C)

    [llm]                             # prompt LFs; see labeling.llm.LLMSettings
    backend = "auto"                  # endpoint if OPENAI_BASE_URL/OPENAI_API_KEY set, else local
    model = "gpt-4o-mini"
    budget = 2.0                      # USD; a run that would exceed it stops before any call
"""

from __future__ import annotations

import difflib
import os
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError,
                      field_validator, model_validator)

from labeling.errors import ConfigError
from labeling.files import file_in_the_way
from labeling.llm.settings import LLMSettings

DEFAULT_CONFIG = "labeling.toml"
# labeling.train.auto.AUTO_CANDIDATES, written out: config sits below train (tests check
# the two agree); their params tables' model_path is relative to the config file
_AUTO_CANDIDATES = ("tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg")


# the explicit direction marks, overrides and isolates: "\u202emaps" shows as "spam"
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` (a tab, a line break, an escape: what
    rewrites a terminal or splits a one-line output; a bidirectional control, which
    shows a name as another), as Python writes it, or None."""
    for char in text:
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            return ascii(char)
    return None


class _Strict(BaseModel):
    # a refused value may be a key written in the wrong place: errors never quote it
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class DataConfig(_Strict):
    train: Path
    dev: Path | None = None
    test: Path | None = None
    text_column: str = "text"
    label_column: str = "label"
    id_column: str | None = "id"
    encoding: str = "utf-8"  # CSV, TSV and JSONL files; Parquet strings are always UTF-8

    @field_validator("encoding")
    @classmethod
    def _known_text_encoding(cls, name: str) -> str:
        try:
            "".encode(name)  # LookupError for unknown names and bytes-only codecs (base64)
        except LookupError:
            raise ValueError(f"unknown text encoding {name!r} (e.g. \"utf-8\", \"latin-1\", "
                             "\"cp1252\")") from None
        return name


class ApplyConfig(_Strict):
    fault_tolerant: StrictBool = False
    engine: Literal["local", "dask"] = "local"
    n_jobs: StrictInt = Field(default=1, ge=1)
    scheduler: str | None = None  # dask scheduler address; None: a LocalCluster
    cache: StrictBool = True            # per-LF column cache under <output_dir>/cache


class ExportConfig(_Strict):
    # "per_text": the int8 transformer file's activation scales per text, so a text's
    # answer does not depend on the texts it is run with (slower: docs/finetune.md)
    int8_scales: Literal["per_call", "per_text"] = "per_call"


class ModelChoice(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TaskConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    labels: list[str] = Field(min_length=2)
    positive_label: str | None = None
    multi_label: StrictBool = False  # gold is a set of labels per row; see docs/multilabel.md
    lfs: list[str] = Field(min_length=1)
    data: DataConfig
    output_dir: Path | None = None
    annotations: Path | None = None  # the app's annotation store; None: next to labeling.toml
    apply: ApplyConfig = Field(default_factory=ApplyConfig)
    label_model: ModelChoice = Field(default_factory=lambda: ModelChoice(name="auto"))
    end_model: ModelChoice = Field(default_factory=lambda: ModelChoice(name="auto"))
    llm: LLMSettings = Field(default_factory=LLMSettings)
    export: ExportConfig = Field(default_factory=ExportConfig)
    seed: StrictInt = 0
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    @model_validator(mode="after")
    def _labels_are_consistent(self) -> "TaskConfig":
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be unique, got {self.labels}")
        # gold names are matched in NFC: two spellings of one accent would be one label
        seen: dict[str, str] = {}
        for name in self.labels:
            if (twin := seen.setdefault(unicodedata.normalize("NFC", name), name)) != name:
                raise ValueError(f"labels {ascii(twin)} and {ascii(name)} are one label "
                                 "written with its accents encoded two ways; keep one")
        for name in self.labels:  # gold values are stripped, and split on ";" (multi-label)
            if (char := control_character(name)) is not None:
                raise ValueError(f"label {name!r} holds a control character ({char}); "
                                 "labels are printed one per field of one-line outputs")
            if not name.strip() or name != name.strip():
                raise ValueError(f"label {name!r}: empty or with spaces around it; gold "
                                 "values are stripped, so no gold row could name it")
            if self.multi_label and ";" in name:
                raise ValueError(f"label {name!r} holds ';', which joins the labels of a "
                                 "gold row in a multi-label task")
        if self.positive_label is not None and self.positive_label not in self.labels:
            raise ValueError(f"positive_label {self.positive_label!r} is not one of the "
                             f"labels {self.labels}")
        if self.multi_label and self.positive_label is not None:
            raise ValueError("positive_label has no meaning when multi_label = true "
                             "(every label is scored; remove it)")
        return self

    @model_validator(mode="after")
    def _paths_as_written_mean(self) -> "TaskConfig":
        """``~/`` in a path is the home folder, as in a shell (not a folder named "~" next
        to this file); ``[llm] local_model`` and ``[end_model] params.model_path`` are
        relative to this file like every other path, not to the current folder."""
        try:
            for owner, key in ((self.data, "train"), (self.data, "dev"), (self.data, "test"),
                               (self, "output_dir"), (self, "annotations"),
                               (self.llm, "cache_path"), (self.llm, "local_model")):
                if getattr(owner, key) is not None:
                    setattr(owner, key, Path(getattr(owner, key)).expanduser())
            self.lfs = [str(Path(e).expanduser()) if e.startswith("~") else e
                        for e in self.lfs]
            if self.llm.local_model is not None:
                self.llm.local_model = self.resolve(self.llm.local_model)
            for table in self._builtin_end_model_params():  # MiniLM's folder
                if isinstance(folder := table.get("model_path"), str):
                    table["model_path"] = str(self.resolve(folder))
        except RuntimeError as exc:  # no HOME, or ~user of no such user
            raise ValueError(f"a path starting with '~': {exc}") from None
        return self

    def _builtin_end_model_params(self) -> list[dict]:
        """The ``[end_model] params`` tables a built-in end model reads: flat for a named
        one, per candidate for ``auto``; never those of a model of yours (``file.py:fn``:
        its ``model_path`` may be a hub id, or mean what its author wants)."""
        params, name = self.end_model.params, self.end_model.name
        if name == "auto":  # labeling.train.auto.AUTO_CANDIDATES (train imports config)
            return [params[c] for c in _AUTO_CANDIDATES if isinstance(params.get(c), dict)]
        return [] if ":" in name else [params]  # labeling.train.user_model.is_user_model

    @property
    def cardinality(self) -> int:
        return len(self.labels)

    @property
    def positive_index(self) -> int | None:
        """Class index F1 is reported for: ``positive_label``, or class 1 of two."""
        if self.positive_label is not None:
            return self.labels.index(self.positive_label)
        return 1 if self.cardinality == 2 else None

    def resolve(self, path: Path | str) -> Path:
        path = Path(path).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def run_dir(self) -> Path:
        """The run folder; a file there (or in place of a folder above it) stops every
        command with one line, not "no finished run" or "nothing cached" (exit 0)."""
        folder = self.resolve(self.output_dir or Path("runs") / self.name)
        if (file := file_in_the_way(folder)) is not None:
            where = (f"output_dir {self.output_dir}" if self.output_dir is not None
                     else f"the run folder {folder} (output_dir not set)")
            raise ConfigError(f"{self.source}: {where}: "
                              + ("a file" if file == folder else f"{file} is a file")
                              + ", not a folder; give a folder (it is created when missing)")
        return folder

    def with_run_dir(self, run_dir: Path | str | None) -> "TaskConfig":
        """This config with its run folder at ``run_dir`` (``--run-dir``, relative to the
        current folder; ``~/`` when quoted, as a folder with spaces is), or itself when
        None."""
        if run_dir is None:
            return self
        folder = _absolute(run_dir)
        file = file_in_the_way(folder)
        if file is not None:  # not "output folder is not writable (File exists)"
            raise ConfigError(f"--run-dir {run_dir}: "
                              + ("a file" if file == folder else f"{file} is a file")
                              + ", not a folder; give a folder (it is created when missing)")
        return self.model_copy(update={"output_dir": folder})

    def with_annotations(self, path: Path | str | None) -> "TaskConfig":
        """This config reading and writing annotations at ``path`` (the app's
        ``--annotations``, relative to the current folder), or itself when None."""
        if path is None:
            return self
        return self.model_copy(update={"annotations": _absolute(path)})

    @property
    def annotations_path(self) -> Path:
        """Gold labels made in the app: ``annotations`` (relative to labeling.toml), else
        ``annotations.sqlite`` next to labeling.toml (human work: not in the run folder,
        which is disposable); the next run uses them as dev gold."""
        return self.resolve(self.annotations or "annotations.sqlite")

    @property
    def llm_cache_path(self) -> Path:
        """The prompt-LF response cache: ``[llm] cache_path``, else in the run folder."""
        if self.llm.cache_path is not None:
            return self.resolve(self.llm.cache_path)
        return self.run_dir / "cache" / "llm_responses.sqlite"


def _absolute(path: Path | str) -> Path:
    """A path given on the command line, from the current folder; ``~`` is the home
    folder also when the shell did not expand it (quoted: "~/Runs clients")."""
    return Path(os.path.abspath(home_path(path)))


def home_path(path: Path | str) -> Path:
    """A path given on the command line with a leading ``~`` the home folder, also when
    the shell did not expand it (quoted, as a folder with spaces is: "~/My models/m")."""
    return Path(os.path.expanduser(path))


def load_config(path: Path | str | None = None) -> TaskConfig:
    """Read and validate a task config (default: ``labeling.toml`` in the current folder)."""
    path = Path(path or DEFAULT_CONFIG)
    if path.is_dir():
        path = path / DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (pass the path to a labeling.toml)")
    data = path.read_bytes()
    try:  # -sig: Windows editors may start a UTF-8 file with a byte-order mark
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:  # e.g. saved as Windows-1252 ("ANSI")
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: not valid TOML: line {line} is not UTF-8 text (byte "
                          f"0x{data[exc.start]:02x}); save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return TaskConfig(**raw, base_dir=path.resolve().parent, source=path)
    except ValidationError as exc:
        errors = exc.errors()
        # a typo'd key is also a required key missing: name the typo, the cause
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")  # pydantic's tag for our checks
        raise ConfigError(f"{path}: {where}: {message}{_did_you_mean(first)}{more}") from None


def _did_you_mean(error: dict) -> str:
    """For an unknown key, the closest key its table has (``lf`` -> ``lfs``)."""
    if error["type"] != "extra_forbidden":
        return ""
    model: type[BaseModel] | None = TaskConfig
    for part in error["loc"][:-1]:
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation,
                                                                          BaseModel) else None
    if model is None:
        return ""
    known = [name for name, field in model.model_fields.items() if not field.exclude]
    close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
