"""The pipeline's commands: run it whole, or one step (apply, plan, fit, train,
evaluate), and scaffold a new task (init)."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import Optional

import typer

from labeling.cli.common import (CACHE_OPT, CONFIG_ARG, ENGINE_OPT, FAULT_OPT, N_JOBS_OPT,
                                 PROGRESS_OPT, RUN_DIR_OPT, SCHEDULER_OPT, app, holding,
                                 multilabel_step, open_task, user_errors)
from labeling.errors import LabelingError


@app.command()
@user_errors
def run(config: Optional[Path] = CONFIG_ARG, fault_tolerant: Optional[bool] = FAULT_OPT,
        engine: Optional[str] = ENGINE_OPT, n_jobs: Optional[int] = N_JOBS_OPT,
        scheduler: Optional[str] = SCHEDULER_OPT, cache: Optional[bool] = CACHE_OPT,
        progress: bool = PROGRESS_OPT, run_dir: Optional[Path] = RUN_DIR_OPT):
    """Apply LFs, fit the label model, train, evaluate and export the end model."""
    task = open_task(config, run_dir)
    with holding(task, "run"):
        _run(task, fault_tolerant, engine, n_jobs, scheduler, cache, progress)


def _run(task, fault_tolerant, engine, n_jobs, scheduler, cache, progress):
    from labeling import pipeline, report

    report.console().print(f"task [bold]{task.config.name}[/]: {len(task.lfs)} LFs, "
                           + ", ".join(f"{s} {len(df)}" for s, df in task.splits.items()
                                       if df is not None))
    if task.config.multi_label:  # docs/multilabel.md
        from labeling import multilabel_steps

        metrics = multilabel_steps.run(task, progress=progress, fault_tolerant=fault_tolerant,
                                       engine=engine, n_jobs=n_jobs, cache=cache)
        report.console().print(multilabel_steps.summary(metrics, task.run_dir))
        return
    pipeline.step_apply(task, fault_tolerant=fault_tolerant, progress=progress, engine=engine,
                        n_jobs=n_jobs, scheduler=scheduler, cache=cache)
    report.print_lf_summary(task.run_dir)
    report.print_llm_stats(pipeline.read_metrics(task.run_dir))
    pipeline.step_fit(task)
    pipeline.step_train(task)
    out = pipeline.step_export(task)
    metrics = pipeline.read_metrics(task.run_dir)
    report.print_scores(metrics)
    report.print_timings(metrics)
    report.console().print(f"artifacts in {task.run_dir}; model exported to {out}")


@app.command()
@user_errors
def apply(config: Optional[Path] = CONFIG_ARG, fault_tolerant: Optional[bool] = FAULT_OPT,
        engine: Optional[str] = ENGINE_OPT, n_jobs: Optional[int] = N_JOBS_OPT,
        scheduler: Optional[str] = SCHEDULER_OPT, cache: Optional[bool] = CACHE_OPT,
          progress: bool = PROGRESS_OPT,
          lf: list[str] = typer.Option([], "--lf", help="Apply only this LF (repeat for "
                                       "more); the others keep their last apply's votes."),
          run_dir: Optional[Path] = RUN_DIR_OPT):
    """Apply the LFs to every split: L.parquet and lf_summary.csv."""
    from labeling import pipeline, report

    task = open_task(config, run_dir)
    with holding(task, "apply"):
        if multilabel_step(task, "apply", progress=progress, fault_tolerant=fault_tolerant,
                           engine=engine, n_jobs=n_jobs, cache=cache, only=lf or None):
            return
        pipeline.step_apply(task, fault_tolerant=fault_tolerant, progress=progress,
                            engine=engine, n_jobs=n_jobs, scheduler=scheduler, cache=cache,
                            only=lf or None)
    report.print_lf_summary(task.run_dir)
    from labeling.apply.applier import cache_use_line  # reused or computed, per split

    typer.echo(cache_use_line(pipeline.read_metrics(task.run_dir)["lfs"].get("cache_use")))
    from labeling.apply.applied import kept_changed

    parts = kept_changed(task)  # their rows above are the old votes: edited, or upgraded
    if parts:
        edited = parts == [f"changed: {parts[0].removeprefix('changed: ')}"]
        what = ("edited since: " + parts[0].removeprefix("changed: ") if edited
                else f"that changed since ({'; '.join(parts)})")
        report.console().print(f"[yellow]note:[/] kept the last apply's votes of LFs {what}; "
                               "apply them too (--lf) before `labeling fit`", highlight=False)


@app.command()
@user_errors
def plan(config: Optional[Path] = CONFIG_ARG, run_dir: Optional[Path] = RUN_DIR_OPT):
    """Before any LLM call: calls per prompt LF, cached, estimated tokens and cost."""
    from labeling import pipeline
    from labeling.llm import format_plan

    task = open_task(config, run_dir)
    if not pipeline.has_prompt_lfs(task):
        typer.echo("this task has no prompt LFs: nothing to plan")
        return
    settings = task.config.llm
    typer.echo(f"backend: {settings.resolve_backend()}"
               + (f", model {settings.model}" if settings.resolve_backend() == "openai" else "")
               + (f", budget ${settings.budget:.4f}" if settings.budget is not None else ""))
    typer.echo(format_plan(pipeline.plan(task), settings.budget))


@app.command()
@user_errors
def fit(config: Optional[Path] = CONFIG_ARG, run_dir: Optional[Path] = RUN_DIR_OPT):
    """Fit the label model (and majority vote) on L.parquet: probs.parquet."""
    from labeling import pipeline, report

    task = open_task(config, run_dir)
    with holding(task, "fit"):
        if multilabel_step(task, "fit"):
            return
        metrics = pipeline.step_fit(task)
    # The end model (and its export) in metrics.json was trained on the previous fit's
    # labels: its scores beside the new label model's would read as one consistent run.
    # dev only, as train and dev print: test is for `labeling evaluate`, not the LF loop
    report.print_scores({k: v for k, v in metrics.items() if k != "end_model"},
                        splits=("dev",))
    if (metrics.get("end_model") or {}).get("stale"):  # not when this fit changed nothing
        report.console().print("end model: not shown (stale: trained before this fit); "
                               "run `labeling train` and `labeling export` to update it")


@app.command()
@user_errors
def train(config: Optional[Path] = CONFIG_ARG, run_dir: Optional[Path] = RUN_DIR_OPT):
    """Train the end model on the label model's soft labels, and the gold-only baseline;
    dev scores only (test: `labeling evaluate`)."""
    task = open_task(config, run_dir)
    with holding(task, "train"):
        if multilabel_step(task, "train"):
            return
        _train(task)


def _train(task):
    from labeling import pipeline, report
    from labeling.train.auto import FIT_ONCE

    # Minutes on a large train split (MiniLM embeds every new text): a spinner says what
    # runs, on a terminal only and erased after, so an error stays the output's one line;
    # not for a fine-tune, whose own progress bar the spinner would break into lines
    name, has_dev = task.config.end_model.name, task.gold("dev") is not None
    spinner = contextlib.nullcontext() if name in FIT_ONCE else report.console().status(
        f"training the end model ({name}) on the soft labels of "
        f"{len(task.splits['train']):,} train rows"
        + (" and the dev gold, with its gold-only baseline" if has_dev else ""))
    with spinner:
        pipeline.step_train(task)
    metrics = pipeline.read_metrics(task.run_dir)
    report.print_scores(metrics, splits=("dev",))
    report.console().print(f"trained in {metrics.get('timings_s', {}).get('train', 0):.1f} s")


@app.command()
@user_errors
def evaluate(config: Optional[Path] = CONFIG_ARG, run_dir: Optional[Path] = RUN_DIR_OPT):
    """The final scores on dev and test (the LF loop's commands show dev only)."""
    from labeling import pipeline, report
    from labeling.apply import applied
    from labeling.artifacts import metrics_to_evaluate

    task = open_task(config, run_dir)
    if multilabel_step(task, "evaluate"):
        return
    if not pipeline.read_metrics(task.run_dir).get("label_model"):
        raise LabelingError(f"{task.run_dir}: nothing to evaluate; run `labeling fit` first")
    try:  # the scores are of the LFs as applied: after an edit, not of the LFs on disk
        applied.check(task, "evaluate")
    except LabelingError as exc:
        typer.echo("note: " + str(exc).replace(
            "run `labeling apply` before `labeling evaluate`", "the scores below are of the "
            "LFs it applied; `labeling run` scores the LFs now"))
    report.print_scores(metrics_to_evaluate(task, pipeline.END_MODEL_FILE,
                                            pipeline.STALE_END_MODEL))


@app.command()
@user_errors
def init(data: Path = typer.Argument(..., help="A CSV/TSV/JSONL/Parquet file of texts."),
         directory: Path = typer.Option(Path("."), "--dir", help="Where to write the task."),
         name: Optional[str] = typer.Option(None, help="Task name (default: the file's "
                                                       "name, accents dropped)."),
         labels: Optional[str] = typer.Option(None, help="Comma-separated labels (default: "
                                                         "the label column's values)."),
         text_column: Optional[str] = typer.Option(None, help="The file's text column "
                                                   "(default: 'text', in any case)."),
         label_column: Optional[str] = typer.Option(None, help="The file's gold label "
                                                    "column (default: 'label', in any "
                                                    "case; empty cells: unlabeled rows)."),
         id_column: Optional[str] = typer.Option(None, help="Id column (default: 'id', in any "
                                                 "case, when the file has one; \"\" for "
                                                 "none)."),
         dev_file: Optional[Path] = typer.Option(None, "--dev", help="A dev file with gold "
                                                "labels (default: split one off the data)."),
         seed: int = typer.Option(0, help="Seed of the dev/test split."),
         encoding: str = typer.Option("utf-8", help="The data file's text encoding "
                                      "(CSV/TSV/JSONL), e.g. latin-1.")):
    """Scaffold a new task: labeling.toml, an LF module with one LF of each kind, and a
    dev/test split of the labeled rows when no dev file is given."""
    from labeling.scaffold import init_task

    written = init_task(data, directory, name, labels.split(",") if labels else None,
                        text_column, label_column, id_column, dev_file, seed, encoding,
                        say=typer.echo)
    for path in written:
        typer.echo(f"wrote {path}")
    # a line to paste into a shell: the folder quoted ("Données été"), no "cd ." for here
    here = directory.resolve() == Path.cwd().resolve()
    cd = "" if here else f"cd {shlex.quote(str(directory))} && "
    typer.echo(f"next: {cd}labeling dev   (edit {written[1].name} and save)")
