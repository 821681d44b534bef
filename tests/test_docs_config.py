"""docs/config.md against labeling/config.py: the page's ```toml block loads as a task
config (with its commented `# key = value` lines too), and names every key the config
models know, table by table, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from labeling.config import TaskConfig, load_config

CONFIG_MD = Path(__file__).resolve().parents[1] / "docs" / "config.md"
KEY = re.compile(r"^\s*(?:#\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def the_block() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", CONFIG_MD.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/config.md: expected one ```toml block"
    return blocks[0]


def documented_keys() -> set[str]:
    """``table.key`` of every line ``key = ...`` or ``# key = ...`` of the block."""
    keys, table = set(), ""
    for line in the_block().splitlines():
        header = re.match(r"^\[([a-z_.]+)\]", line)
        if header:
            table = header.group(1) + "."
            continue
        key = KEY.match(line)
        if key:
            keys.add(table + key.group(1))
    return keys


def model_keys(model: type[BaseModel] = TaskConfig, prefix: str = "") -> set[str]:
    """Every key a config file may hold: the fields of TaskConfig and of its tables."""
    keys = set()
    for name, field in model.model_fields.items():
        if field.exclude:  # base_dir, source: set by load_config, not by the file
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and name not in ("prices",):
            keys |= model_keys(sub, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_the_page_names_every_config_key_and_only_those():
    keys = model_keys()
    assert {"name", "data.train", "apply.cache", "llm.budget", "export.int8_scales"} <= keys
    assert documented_keys() == keys


def test_the_block_loads_as_written_and_with_its_commented_keys(tmp_path):
    block = the_block()
    (tmp_path / "plain.toml").write_text(block, encoding="utf-8")
    assert load_config(tmp_path / "plain.toml").name == "youtube"
    uncommented = "\n".join(re.sub(r"^(\s*)#\s*(?=[A-Za-z_]+\s*=)", r"\1", line)
                            for line in block.splitlines())
    assert uncommented != block
    (tmp_path / "all.toml").write_text(uncommented, encoding="utf-8")
    cfg = load_config(tmp_path / "all.toml")
    assert cfg.llm.budget == 2.0 and cfg.apply.scheduler == "tcp://HOST:PORT"
