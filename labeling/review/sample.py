"""A small copy of a task: every k-th row of each split, same LFs, run folder in ``out_dir``.

Why: the app's tests (and a quick look at the app) need a real run with every artifact
-- label matrix, probabilities, metrics, end model, prompt-LF stats -- but the bundled
task takes about a minute and a half to run; a few hundred rows take seconds and go
through exactly the same code.
"""

from __future__ import annotations

import json
from pathlib import Path

from labeling import multilabel_steps, pipeline
from labeling.config import load_config
from labeling.data import read_table

SAMPLE_SIZES = {"train": 240, "dev": 100, "test": 100}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_sample_project(source_config: Path | str, out_dir: Path | str,
                         sizes: dict[str, int] | None = None,
                         label_model: str | None = None,
                         end_model: str | None = None) -> Path:
    """Write ``out_dir/labeling.toml`` and the sampled data; return the config path.

    Rows are every k-th row of each split (deterministic, keeps the class mix roughly);
    the LF files are referenced where they are, by absolute path. ``label_model`` and
    ``end_model`` replace the configured names (and drop the end model's params).
    """
    cfg = load_config(source_config)
    out = Path(out_dir)
    (out / "data").mkdir(parents=True, exist_ok=True)
    sizes = {**SAMPLE_SIZES, **(sizes or {})}
    data = {"text_column": cfg.data.text_column, "label_column": cfg.data.label_column}
    if cfg.data.id_column:
        data["id_column"] = cfg.data.id_column
    for split in ("train", "dev", "test"):
        rel = getattr(cfg.data, split)
        if rel is None:
            continue
        frame = read_table(cfg.resolve(rel), cfg.data.encoding)  # sample is written as UTF-8
        step = max(1, len(frame) // sizes[split])
        frame.iloc[::step].head(sizes[split]).to_csv(out / "data" / f"{split}.csv", index=False)
        data[split] = f"data/{split}.csv"
    top = {"name": cfg.name, "labels": cfg.labels, "lfs": [str(cfg.resolve(p)) for p in cfg.lfs],
           "output_dir": f"runs/{cfg.name}", "seed": cfg.seed}
    if cfg.positive_label:
        top["positive_label"] = cfg.positive_label
    if cfg.multi_label:
        top["multi_label"] = True
    lm = {"name": label_model or cfg.label_model.name, "params": cfg.label_model.params}
    tables = {"data": data, "apply": {"fault_tolerant": cfg.apply.fault_tolerant, "cache": False},
              "label_model": lm,
              "end_model": {"name": end_model, "params": {}} if end_model else
                           {"name": cfg.end_model.name, "params": cfg.end_model.params}}
    lines = [f"{k} = {_toml(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines += ["", f"[{name}]"] + [f"{k} = {_toml(v)}" for k, v in table.items()]
    path = out / "labeling.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ensure_sample_run(source_config: Path | str, out_dir: Path | str, **kwargs) -> Path:
    """The sample project with a finished run (built once per ``out_dir``); its config path."""
    out = Path(out_dir)
    path = out / "labeling.toml"
    done = out / ".run-complete"
    if not done.is_file():
        path = write_sample_project(source_config, out, **kwargs)
        task = pipeline.load_task(path)
        if task.config.multi_label:
            multilabel_steps.run(task, progress=False)
        else:
            pipeline.run(task, progress=False)
        done.write_text("ok\n", encoding="utf-8")
    return path
