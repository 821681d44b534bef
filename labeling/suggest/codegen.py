"""Accepted proposals as code in a module the user owns, and the config loading it.

An accepted proposal is appended to ``<folder of the first LF module>/<task>_suggested.py``
as the ``keyword_lf`` / ``regex_lf`` / ``prompt_lf`` call a person would write, under a
comment saying where it came from (the miner, or the LLM model and its rationale) and
what it scored on dev. A prompt template is written one line per literal, as the
bundled LF modules write theirs. The file is created with
its imports and label constants when missing, and the config's ``lfs`` list gains it.
Everything written is checked: string literals are parsed back (``ast.literal_eval``) to
the exact value, comment text cannot end its line (an LLM's rationale is data), and the
new file must import and yield the LF with the proposal's votes (see
:func:`labeling.suggest.store.accept`), else the old file is put back.
"""

from __future__ import annotations

import ast
import re
import tomllib
from datetime import date
from pathlib import Path

from labeling.errors import ConfigError
from labeling.files import atomic_write
from labeling.suggest.proposal import Proposal


def module_path(config) -> tuple[Path, str]:
    """(absolute path, the entry to list in ``lfs``) of the task's suggested-LF module:
    next to the first ``.py`` LF module, else in ``functions/``."""
    first = next((e for e in config.lfs if e.endswith(".py")), None)
    folder = Path(first).parent if first else Path("functions")
    entry = (folder / f"{config.name}_suggested.py").as_posix()
    return config.resolve(entry), entry


def label_constants(labels: list[str]) -> list[str]:
    """Python names for the labels (``SPAM``), or ``LABEL_<i>`` where a name will not do."""
    names = []
    for i, label in enumerate(labels):
        name = re.sub(r"\W+", "_", str(label)).strip("_").upper()
        if not name.isidentifier() or name in names or name in {"ABSTAIN", "LABELS"}:
            name = f"LABEL_{i}"
        names.append(name)
    return names


def header(task_name: str, labels: list[str]) -> str:
    consts = label_constants(labels)
    return (f'"""LFs accepted from `labeling suggest` for the task {task_name!r}.\n\n'
            "Each was proposed, scored on dev and accepted by you; edit or delete them like "
            "any LF.\n\"\"\"\n\n"
            "from labeling import ABSTAIN, keyword_lf, regex_lf  # noqa: F401\n"
            "from labeling.llm import prompt_lf  # noqa: F401\n\n"
            f"{', '.join(consts)} = {', '.join(str(i) for i in range(len(labels)))}"
            f"{',' if len(labels) == 1 else ''}  # positions in the config's labels\n")


def literal(value: str) -> str:
    """A Python string literal for ``value``: raw when it holds a backslash (a regex reads
    better so), always exact."""
    raw = (f'r"{value}"', f"r'{value}'") if "\\" in value else ()
    for candidate in (*raw, f'"{value}"'):
        try:
            if "\n" not in candidate and ast.literal_eval(candidate) == value:
                return candidate
        except (SyntaxError, ValueError):
            continue
    return repr(value)


def comment(text: str, width: int = 88) -> str:
    """``text`` as ``#`` lines: every line break or control character becomes a space, so
    nothing in it can end the comment and run as code."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    words, lines, line = flat.split(), [], "#"
    for word in words:
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#"
        line += " " + word
    lines.append(line)
    return "\n".join(lines)


def origin(record: dict, labels: list[str], metric: str) -> str:
    """Where the proposal came from and what it scored on dev (the comment above the LF)."""
    p = record["proposal"]
    lo, hi = record.get("dev_precision_low"), record.get("dev_precision_high")
    source = p["source"] or "unknown source"
    if source.startswith("llm:"):
        source = f"proposed by the LLM {source[4:]}"
    parts = [f"Accepted {date.today().isoformat()} from `labeling suggest` "
             f"({source}, id {record['id']}): votes {labels[p['label']]}"
             + (" when the LLM answers yes" if p.get("prompt") else "") + "."]
    if p.get("prompt"):
        parts.append("Scored with the endpoint's answers on every train and dev row (one "
                     "call per row; cached).")
    if record.get("dev_fires"):
        parts.append(f"On dev: fires on {record['dev_fires']} rows, {record['dev_correct']} "
                     f"right (precision {record['dev_precision']:.2f}, 95% interval "
                     f"{lo:.2f}-{hi:.2f}).")
    if "train_coverage" in record:
        parts.append(f"Covers {100 * record['train_coverage']:.1f}% of train.")
    if "lm_dev_after" in record:
        parts.append(f"Label model dev {metric} {record['lm_dev_before']:.3f} -> "
                     f"{record['lm_dev_after']:.3f}.")
    if p.get("rationale"):
        parts.append(f"Rationale: {p['rationale']}")
    return comment(" ".join(parts))


def lf_code(p: Proposal, name: str, labels: list[str]) -> str:
    """The call that builds the LF ``name`` from ``p``, assigned to a variable ``name``."""
    label = label_constants(labels)[p.label]
    if p.kind == "keyword":
        words = ", ".join(literal(w) for w in p.keywords)
        call = f'keyword_lf([{words}], label={label}, name="{name}")'
    elif p.kind == "regex":
        call = f'regex_lf({literal(p.pattern)}, label={label}, name="{name}")'
    else:
        descriptions = ", ".join(f'"{k}": {literal(v)}' for k, v in sorted(
            p.descriptions.items(), reverse=True))
        call = (f'prompt_lf(\n    "{name}",\n    {template_literal(p.template())},\n'
                f'    answers={{"yes": {label}, "no": ABSTAIN}},\n'
                + (f"    descriptions={{{descriptions}}},\n" if p.descriptions else "") + ")")
    return f"{name} = {call}\n"


def template_literal(template: str, indent: str = "    ") -> str:
    """``template`` as string literals, one per line (adjacent literals are joined by
    Python), each exact (:func:`literal`)."""
    pieces = re.split(r"(?<=\n)(?=.)", template, flags=re.DOTALL)
    return f"\n{indent}".join(literal(piece) for piece in pieces)


def unique_name(p: Proposal, taken: set[str]) -> str:
    base = p.default_name()
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def append_lf(path: Path, task_name: str, labels: list[str], block: str) -> str | None:
    """Append ``block`` to the module at ``path`` (created with its header if missing);
    returns the previous text (None if the file is new), for a rollback."""
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    text = old if old is not None else header(task_name, labels)
    text = text.rstrip("\n") + "\n\n" + block
    ast.parse(text)  # what we write always parses
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return old


def restore(path: Path, old: str | None) -> None:
    if old is None:
        path.unlink(missing_ok=True)
    else:
        with atomic_write(path) as tmp:
            tmp.write_text(old, encoding="utf-8")


def add_to_config(config_path: Path, entry: str) -> bool:
    """Add ``entry`` to the top-level ``lfs`` array of the TOML file (comments and layout
    elsewhere kept); False when it is there already. Raises ConfigError when the file
    has no ``lfs = [...]`` line this can edit safely."""
    text = config_path.read_text(encoding="utf-8")
    current = tomllib.loads(text)["lfs"]
    if entry in current:
        return False
    match = re.search(r"(?m)^lfs\s*=\s*\[", text)
    end = _array_end(text, match.end()) if match else None
    if end is None:
        raise ConfigError(f"{config_path}: cannot find the `lfs = [...]` line to add "
                          f"{entry!r} to; add it by hand")
    inner = text[match.end():end].rstrip()
    sep = "" if not inner.strip() or inner.rstrip().endswith(",") else ","
    new = text[:match.end()] + inner + f'{sep} "{entry}"' + text[end:]
    if tomllib.loads(new)["lfs"] != [*current, entry]:
        raise ConfigError(f"{config_path}: could not add {entry!r} to `lfs` safely; add it "
                          "by hand")
    with atomic_write(config_path) as tmp:
        tmp.write_text(new, encoding="utf-8")
    return True


def _array_end(text: str, start: int) -> int | None:
    """Index of the ``]`` closing the array whose ``[`` ends at ``start`` (strings and
    comments skipped), or None."""
    i, quote = start, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            i = text.find("\n", i)
            if i < 0:
                return None
        elif ch == "[":
            return None  # nested arrays: not an lfs list
        elif ch == "]":
            return i
        i += 1
    return None
