"""`labeling dev` holds the run folder for each save's apply and fit, under its own
name (r100): the multi-label table's steps ran without the lock, and a single-label
save named itself `labeling apply (notebook)` to a second writer."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_loop import write_project  # noqa: E402

from labeling import dev_loop  # noqa: E402
from labeling.config import load_config  # noqa: E402
from labeling.files import run_folder_lock  # noqa: E402


def _one_round(config: Path) -> str:
    console = Console(record=True, width=300)
    dev_loop.watch(config, interval=0.01, console=console, max_rounds=1)
    return console.export_text()


def test_a_multi_label_save_stops_while_another_command_writes(tmp_path):
    config = write_project(tmp_path / "p")
    run_dir = load_config(config).run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_folder_lock(run_dir, "run"):
        text = _one_round(config)
    assert "in use by `labeling run`" in text, text
    assert not (run_dir / "L.parquet").exists() and not list(run_dir.glob("L*.parquet"))
    assert "in use by" not in _one_round(config)  # released


def test_a_save_names_itself_labeling_dev_to_a_second_writer(make_task):
    from labeling.session import Session

    session = Session(make_task(), holder="dev ({step})")
    with session.holding("apply"):
        with open(session.task.run_dir / ".lock", encoding="utf-8") as lock:
            assert lock.read().startswith("`labeling dev (apply)` (pid ")
