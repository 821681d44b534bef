"""``labeling init``: a new task from one data file, ready for ``labeling dev``.

It writes ``labeling.toml``, an LF module with one LF of each kind (keyword, regex,
Python function, prompt) to edit, and, when the file has gold labels but no dev split
is given, splits the labeled rows into dev and test (stratified, seeded) and keeps the
rest as train. Nothing existing is overwritten.
"""

from __future__ import annotations

import codecs
import json
import re
import shlex
import unicodedata
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from labeling.data import (check_ids, check_some_text, check_texts, check_unique_ids,
                           column_list, columns_note, label_form, near_column, read_table)
from labeling.errors import LabelingError
from labeling.files import file_in_the_way
from labeling.lf.core import name_part
from labeling.scaffold.dev_file import dev_gold as _dev_gold

DEV_SHARE, TEST_SHARE, MAX_DEV = 0.2, 0.2, 500
SPLIT_FILES = ("train", "dev", "test")

LF_TEMPLATE = '''\
"""Labeling functions for the '{name}' task: each votes a label or abstains.

Edit and save while `labeling dev` runs: it re-applies what changed and prints the dev table.
"""

from labeling import ABSTAIN, keyword_lf, labeling_function, regex_lf
from labeling.llm import prompt_lf

{constants}

# A keyword list: votes when any word occurs (case-insensitive, whole words).
{first_lower}_words = keyword_lf([{first_words}], label={first_const}, name="kw_{first_lower}")

# A regex: votes when it matches anywhere in the text.
{second_lower}_pattern = regex_lf(r"{second_regex}", label={second_const}, name="re_{second_lower}")


# Any Python: return a label or ABSTAIN.
@labeling_function()
def very_short(x):
    return {second_const} if len(x.text.split()) < 3 else ABSTAIN


# A prompt to an LLM (or the offline local backend): the answer maps to a vote.
# Offline (no endpoint), the local backend compares each text with the answers'
# descriptions; without them, with the question and "not: " + the question, which
# rarely clears its margin: uncomment and describe both answers' texts.
asks_{first_lower} = prompt_lf(
    "asks_{first_lower}",
    {question},
    answers={{"yes": {first_const}, "no": ABSTAIN}},
    # descriptions={{"yes": {first_says}, "no": "what other texts say"}},
)
'''


def _identifier(label: str) -> str:
    """A Python name for ``label``: its words, or for a label without any ("😀") its
    characters' Unicode names (``grinning_face``)."""
    # a word character Python does not take in a name ("²" of "m²") by its Unicode name
    spelled = re.sub(r"\w", lambda m: m[0] if ("_" + m[0]).isidentifier()
                     else f"_{unicodedata.name(m[0], '')}_", label)
    name = name_part(spelled).lower()
    return name if not name[0].isdigit() else f"label_{name}"


def _constants(labels: list[str]) -> list[str]:
    """The labels' constant names, distinct ("ok" and "OK", "ß" and "SS" would both be
    OK/SS, the second overwriting the first) and never the imported ABSTAIN."""
    bases = [_identifier(label).upper() for label in labels]
    consts: list[str] = []
    for k, base in enumerate(bases):
        const = base if bases.count(base) == 1 and base != "ABSTAIN" else f"{base}_{k}"
        while const in consts or const in bases[k + 1:]:
            const += "_"
        consts.append(const)
    return consts


def lf_module(name: str, labels: list[str]) -> str:
    """The starter LF module's source for ``labels``."""
    consts = _constants(labels)
    constants = "\n".join(f"{c} = {k}  # {label!r}" for k, (c, label) in
                          enumerate(zip(consts, labels)))
    first, second = labels[0], labels[1]
    shown = first.replace("'", "").replace("{", "{{").replace("}", "}}")  # a prompt template
    return LF_TEMPLATE.format(
        name=name, constants=constants, first_const=consts[0], second_const=consts[1],
        question=_python_string(f"Is this text an example of '{shown}'? Answer yes or no."
                                "\nText: {text}"),
        first_says=_python_string(f"what a '{first}' text says"),
        first_lower=_identifier(first), second_lower=_identifier(second),
        first_words=", ".join(json.dumps(w) for w in (_identifier(first), "example")),
        second_regex=re.escape(_identifier(second)).replace('"', r"\""))


def _python_string(text: str) -> str:
    """``text`` as a Python string literal (a JSON string is one), keeping accents."""
    return json.dumps(text, ensure_ascii=False)


def _check_distinct(labels: list[str], data: Path, column: str) -> None:
    """Labels found in the file are not one label written two ways ("Fraud" and "fraud",
    "Ärger" with a combined or a separate accent): each would be a class of its own."""
    seen: dict[str, str] = {}
    for label in labels:
        key = label_form(label).casefold()
        if key in seen:
            raise LabelingError(f"{data}: column {column!r} has {seen[key]!r} and {label!r}, "
                                "labels that differ only in case or in how an accent is "
                                "encoded: write them one way, or pass --labels")
        seen[key] = label


def _toml_string(value) -> str:
    return json.dumps(str(value))


def config_text(name: str, labels: list[str], files: dict[str, str], text_column: str,
                label_column: str, id_column: str | None, encoding: str = "utf-8") -> str:
    lines = [f"name = {_toml_string(name)}",
             "labels = [" + ", ".join(_toml_string(label) for label in labels) + "]",
             f"positive_label = {_toml_string(labels[1])}" if len(labels) == 2 else
             "# positive_label = \"...\"   # optional: F1 of this label picks the models; "
             "without it, accuracy does and the tables show macro-F1",
             f"lfs = [{_toml_string(f'functions/{name}.py')}]",
             f"output_dir = {_toml_string(f'runs/{name}')}", "", "[data]"]
    lines += [f"{split} = {_toml_string(path)}" for split, path in files.items()]
    if "test" not in files:  # --dev FILE: no split was made, so no test set either
        lines.append('# test = "..."   # gold rows for the final scores only (run, evaluate, '
                     "report)")
    if codecs.lookup(encoding).name != "utf-8":
        lines.append(f"encoding = {_toml_string(encoding)}")
    lines += [f"text_column = {_toml_string(text_column)}",
              f"label_column = {_toml_string(label_column)}"]
    lines.append(f"id_column = {_toml_string(id_column)}" if id_column else
                 'id_column = ""   # no column \'id\': ids are <split>-<row number>')
    lines += ["", "[label_model]", 'name = "auto"', "", "[end_model]", 'name = "auto"', ""]
    return "\n".join(lines)


def _write_rows(rows: pd.DataFrame, path: Path) -> None:
    """A split as CSV, JSONL (one object per row, missing keys left out) or Parquet."""
    if path.suffix == ".parquet":
        rows.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        with open(path, "w", encoding="utf-8") as out:
            for row in rows.to_dict("records"):
                out.write(json.dumps({k: v for k, v in row.items() if not _absent(v)},
                                     ensure_ascii=False) + "\n")
    else:  # with a BOM, as Excel's "CSV UTF-8": without one, Excel shows "café" as "cafÃ©"
        rows.to_csv(path, index=False, encoding="utf-8-sig")


def _absent(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


# letters NFKD does not split into a Latin letter and a mark
_LATIN = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o",
                        "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th"})


def task_name(stem: str) -> str:
    """A task name (``[A-Za-z0-9_.-]+``) for a data file's name: accents dropped
    ("commentaires été" -> "commentaires_ete"), other characters "_"; "task" for a name
    of no Latin letter or digit ("σχόλια", "評論")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", stem.translate(_LATIN))
                    if not unicodedata.combining(c))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", plain)
    return name if name.strip("_.-") else "task"


def found_column(frame: pd.DataFrame, default: str, flag: str, data: Path) -> str:
    """The column named ``default`` in any case (a spreadsheet's ``Text``, ``LABEL``), for
    a role whose flag was not given; ``default`` when the file has none, for the caller's
    check to name the file's columns. Two spellings of it are refused."""
    found = [c for c in map(str, frame.columns) if c.casefold() == default]
    if default in found or not found:
        return default
    if len(found) > 1:
        raise LabelingError(f"{data}: columns {', '.join(map(repr, found))} both read as "
                            f"'{default}': pass {flag} with the one to use")
    return found[0]


def _text_hint(frame: pd.DataFrame, others) -> str:
    """``, e.g. --text-column body (the longest texts)`` for an error on a missing text
    column: the column of strings, not the id or label one, with the longest values."""
    lengths = {str(c): frame[c].map(lambda v: len(v) if isinstance(v, str) else 0).mean()
               for c in frame.columns if str(c) not in others}
    lengths = {c: n for c, n in lengths.items() if n > 0}
    if not lengths:
        return ""
    best = max(lengths, key=lengths.get)
    return f", e.g. --text-column {shlex.quote(best)} (the longest texts)"


def _too_few_labels(data: Path, frame: pd.DataFrame, column: str, labels: list[str],
                    given: bool) -> str:
    """The one line for fewer than two labels: given so, or a label column missing (its
    flag named beside --labels: a user with a ``category`` column wants --label-column,
    --labels would make every row unlabeled) or holding fewer than two values."""
    if given:
        return f"--labels {','.join(labels)}: a task needs two or more labels"
    if column not in frame.columns:
        return (f"{data}: no column {column!r} {columns_note(frame.columns, column)}: pass "
                "--label-column NAME for the file's gold labels, or --labels a,b,... for a "
                "file without any")
    held = f"only {labels[0]!r}" if labels else "no label (all cells empty)"
    return (f"{data}: column {column!r} holds {held}: a task needs two or more labels; "
            "give them with --labels a,b,...")


def _id_hint(frame: pd.DataFrame, id_column: str | None, others) -> str:
    """With no ``id`` column, a line naming the file's columns that look like ids
    (``msg_id``, ``DocID``: a name ending in "id", its values distinct): row-number ids
    would silently replace them."""
    if id_column:
        return ""
    named = [c for c in map(str, frame.columns) if c not in others
             and re.search(r"id$", c.strip(), re.IGNORECASE) and frame[c].notna().all()
             and frame[c].is_unique]
    return (f"ids: row numbers (<split>-<n>), as the file has no column 'id'; pass "
            f"--id-column {shlex.quote(named[0])} to use its {named[0]!r}" if named else "")


def _check_known(gold: pd.Series, labels: list[str], path: Path, column: str) -> None:
    known = {label_form(label) for label in labels}  # as load_split matches them
    unknown = sorted(g for g in set(gold) if label_form(g) not in known)
    if unknown:
        raise LabelingError(f"{path}: column {column!r} has labels not in --labels: "
                            f"{', '.join(unknown)}")


def init_task(data: Path, directory: Path, name: str | None = None,
              labels: list[str] | None = None, text_column: str | None = None,
              label_column: str | None = None, id_column: str | None = None,
              dev: Path | None = None, seed: int = 0,
              encoding: str = "utf-8", say=None) -> list[Path]:
    """Write a new task in ``directory`` for ``data`` (CSV/TSV/JSONL in ``encoding``);
    returns the files written. The dev/test split it writes is UTF-8; ``say`` (a
    callable) gets one line saying how the rows were split, and one naming a text or
    label column found under another case than ``text``/``label``."""
    data, directory = Path(data).resolve(), Path(directory).resolve()
    name = name or task_name(data.stem)
    config = directory / "labeling.toml"
    lf_file = directory / "functions" / f"{name}.py"
    for path in (config, lf_file):
        if path.exists():
            raise LabelingError(f"{path}: already exists; init never overwrites")
    if (file := file_in_the_way(directory)) is not None:  # not "<dir>/data: Not a directory"
        raise LabelingError(f"--dir {directory}: " + ("a file" if file == directory else
                                                      f"{file} is a file") + ", not a folder")
    try:
        "".encode(encoding)
    except LookupError:
        raise LabelingError(f"--encoding: unknown text encoding {encoding!r} (e.g. "
                            '"utf-8", "latin-1", "cp1252")') from None
    frame = read_table(data, encoding, 'pass --encoding (e.g. "latin-1") or re-save it '
                                       "as UTF-8")
    if frame.empty:  # not "no column 'text' (columns: )" or "'body' is empty in all 0 rows"
        raise LabelingError(f"{data}: no rows (" + (f"only the header: {column_list(frame.columns)}"
                                                   if len(frame.columns) else "empty") + ")")
    given = text_column
    found = {role: found_column(frame, role, f"--{role}-column", data)
             for role, column in (("text", text_column), ("label", label_column))
             if column is None}  # not given: the role's name, in any case
    for role, column in found.items():
        if column != role and say is not None:
            say(f"{role} column: {column!r} (--{role}-column to choose another)")
    text_column, label_column = found.get("text", text_column), found.get("label", label_column)
    dev_frame = None
    if dev is not None:  # read now: the config must fit it too (its gold, its columns)
        dev = Path(dev).resolve()
        dev_frame = read_table(dev, encoding, 'pass --encoding (e.g. "latin-1") or re-save '
                                              "it as UTF-8")
        if "label" in found and label_column not in frame.columns:  # gold in dev only
            label_column = found_column(dev_frame, "label", "--label-column", dev)
            if label_column != "label" and say is not None:
                say(f"label column: {label_column!r} of {dev.name} (--label-column to "
                    "choose another)")
    if id_column is None:  # the config's default id column; or Excel's "ID"
        id_column = "id" if "id" in frame.columns else near_column("id", frame.columns)
        hint = _id_hint(frame, id_column, {text_column, label_column})
        if hint and say is not None:
            say(hint)
    if not id_column and "id" in frame.columns:  # the task would refuse it (docs/data.md)
        raise LabelingError(f"{data}: --id-column \"\" (row-number ids), but the file has a "
                            "column 'id': rename it, or leave out --id-column to use it")
    if text_column not in frame.columns and given is None:  # none fits: name the columns
        raise LabelingError(f"{data}: no column 'text' in any case (columns: "
                            f"{column_list(frame.columns)}); pass --text-column NAME"
                            + _text_hint(frame, {id_column, label_column}))
    for column, flag in ((text_column, "--text-column"), (id_column, "--id-column")):
        if column and column not in frame.columns:
            raise LabelingError(f"{data}: no column {column!r} "
                                f"{columns_note(frame.columns, column)}; pass {flag}")
    for role, column in (("text", text_column), ("label", label_column)):
        if role in frame.columns and column != role:  # as the task would refuse it
            raise LabelingError(f"{data}: a column '{role}' besides --{role}-column "
                                f"'{column}', which is read as '{role}': rename one of them")
    # checked here, on the user's file: the split files written below would stringify a
    # number into a text, and part a repeated id's rows between train and test
    check_texts(frame[text_column], data, text_column)
    check_some_text(frame[text_column], data, text_column, "(--text-column)")
    if id_column:
        check_ids(frame[id_column], data, id_column)
        check_unique_ids(frame[id_column], data, id_column)
    gold = (frame[label_column].dropna().astype(str).str.strip() if label_column in frame
            else pd.Series(dtype=str))
    gold = gold[gold != ""]  # an empty cell is an unlabeled row
    given_labels = bool(labels)
    dev_gold = (_dev_gold(dev_frame, dev, text_column, label_column, id_column)
                if dev_frame is not None else pd.Series(dtype=str))
    if not labels:
        labels = sorted(set(gold) | set(dev_gold))
        _check_distinct(labels, data if dev_frame is None else f"{data} and {dev}",
                        label_column)
    if len(labels) < 2:
        raise LabelingError(_too_few_labels(data if dev_frame is None else dev,
                                            frame if dev_frame is None else dev_frame,
                                            label_column, labels, given_labels))
    files, written = {"train": str(data)}, []
    if dev is not None:
        _check_known(dev_gold, labels, dev, label_column)
        files["dev"] = str(dev)
    elif len(gold):
        _check_known(gold, labels, data, label_column)
        labeled = frame.loc[gold.index]
        n_dev = min(MAX_DEV, max(len(labels) * 2, int(len(labeled) * DEV_SHARE)))
        if len(labeled) < 2 * n_dev:  # dev, then test from the rest: sklearn's traceback
            raise LabelingError(f"{data}: {len(labeled)} labeled rows are too few to split "
                                f"off a dev and a test set of {n_dev} each; label at least "
                                f"{2 * n_dev} rows, or pass --dev FILE")
        counts = gold.value_counts()
        stratify = gold if counts.min() >= 2 else None
        rest, dev_rows = train_test_split(labeled, test_size=n_dev, random_state=seed,
                                          stratify=stratify)
        test_rows = rest.sample(n=min(len(rest), n_dev), random_state=seed)
        train_rows = frame.drop(index=list(dev_rows.index) + list(test_rows.index))
        # the source's format: a CSV would turn JSONL/Parquet lists into strings "['a']"
        suffix = {".jsonl": ".jsonl", ".ndjson": ".jsonl", ".parquet": ".parquet"}.get(
            data.suffix.lower(), ".csv")
        for split in SPLIT_FILES:  # all checked before any is written
            if (directory / "data" / f"{split}{suffix}").exists():
                raise LabelingError(f"{directory / 'data' / f'{split}{suffix}'}: already "
                                    "exists; init never overwrites")
        unused = len(labeled) - len(dev_rows) - len(test_rows)
        if say is not None:
            say(f"{len(labeled)} of {len(frame)} rows have a label: dev {len(dev_rows)}, test "
                f"{len(test_rows)}" + (f"; the other {unused} labeled rows go to train, "
                                       "whose labels are not used (--dev FILE: choose the "
                                       "dev rows yourself)" if unused else ""))
        for split, rows in (("train", train_rows), ("dev", dev_rows), ("test", test_rows)):
            path = directory / "data" / f"{split}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_rows(rows, path)
            files[split] = f"data/{path.name}"
            written.append(path)
    elif say is not None:  # `labeling dev` would score nothing: say so before it does
        say(f"no gold label in {data.name}: no dev or test split; LF accuracy and scores "
            "need labeled dev rows (--dev FILE, or label rows in `labeling app`)")
    lf_file.parent.mkdir(parents=True, exist_ok=True)
    lf_file.write_text(lf_module(name, labels), encoding="utf-8")
    # the split files are written as UTF-8; unsplit, the task reads the user's files
    config.write_text(config_text(name, labels, files, text_column, label_column, id_column,
                                  "utf-8" if written else encoding), encoding="utf-8")
    return [config, lf_file, *written]
