"""The LF loop's commands: dev (watch and re-score on save), show (an LF's rows),
report, suggest, and the review app."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labeling.cli.common import (CONFIG_ARG, RUN_DIR_OPT, app, holding, multilabel_step, open_task,
                                 user_errors)
from labeling.errors import LabelingError


@app.command()
@user_errors
def dev(config: Optional[Path] = CONFIG_ARG,
        interval: float = typer.Option(0.3, min=0.01,
                                       help="Seconds between checks for saved files."),
        run_dir: Optional[Path] = RUN_DIR_OPT):
    """Watch the LF modules and the config: on each save re-apply what changed, refit
    the label model and print the dev table (never test). Ctrl+C stops."""
    from labeling.dev_loop import watch

    raise typer.Exit(watch(config, interval=interval, run_dir=run_dir))


@app.command()
@user_errors
def show(lf: str = typer.Argument(..., help="The LF's name."),
         config: Optional[Path] = CONFIG_ARG,
         config_opt: Optional[Path] = typer.Option(None, "--config", "-c",
                                                   help="Same as the argument."),
         wrong: bool = typer.Option(False, "--wrong", help="Only rows where it is wrong (gold)."),
         conflicts: Optional[str] = typer.Option(None, "--conflicts",
                                                 help="Only rows where it disagrees with this "
                                                      "LF (or 'any')."),
         split: str = typer.Option("dev", help="train or dev (test is for the final score)."),
         limit: int = typer.Option(20, min=1, help="Rows to print at most."),
         run_dir: Optional[Path] = RUN_DIR_OPT):
    """The rows an LF fires on (or gets wrong, or conflicts on), with gold and the label
    model's label, from the last fit."""
    from labeling import report
    from labeling.apply import applied
    from labeling.artifacts import L_FILE, PROBS_FILE, check_step_order
    from labeling.review.project import load_run
    from labeling.session import lf_examples

    if wrong and conflicts:
        raise LabelingError("--wrong and --conflicts cannot be combined")
    kind = "wrong" if wrong else "conflicts" if conflicts else "fires"
    task = open_task(config_opt or config, run_dir)
    if task.config.multi_label:  # votes on one label each, gold label sets
        from labeling.review import ml_show

        return ml_show.command(task, lf, kind, split, limit, conflicts)
    run = load_run(task.config.source, task.run_dir)
    # the rows of the LFs on disk now, as Session.examples: not the votes of an LF as it
    # was before an edit, nor the label model of a fit older than the last apply
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit")], "show")
    applied.check(task, "show")
    table = lf_examples(run, lf, kind, split,
                        None if conflicts in (None, "any") else conflicts)
    report.print_examples(table, lf, kind, split, limit, other=conflicts,
                          lf_names=run.lf_names)


@app.command("report")
@user_errors
def report_command(config: Optional[Path] = CONFIG_ARG,
                   config_opt: Optional[Path] = typer.Option(None, "--config", "-c",
                                                             help="Same as the argument."),
                   run_dir: Optional[Path] = RUN_DIR_OPT):
    """Distillation report: end model vs label model vs each prompt LF on test
    (accuracy, latency per doc, cost per 1M docs): report.json and report.md."""
    from labeling import distill

    task = open_task(config_opt or config, run_dir)
    with holding(task, "report"):
        if multilabel_step(task, "report"):
            return
        result = distill.build_report(task)
        distill.write_report(result, task.run_dir)
    distill.print_report(result)
    typer.echo(f"written: {task.run_dir / distill.REPORT_JSON}, {task.run_dir / distill.REPORT_MD}")


@app.command("suggest")
@user_errors
def suggest_command(config: Optional[Path] = CONFIG_ARG,
                    label: Optional[str] = typer.Option(None, help="Only LFs voting this label."),
                    n: int = typer.Option(10, "--n", help="How many proposals to show."),
                    source: str = typer.Option("offline", help="offline (mined from the data), "
                                                               "llm (the \\[llm] endpoint) or all."),
                    accept: list[str] = typer.Option([], help="Accept proposal ID (of the last "
                                                              "suggestions): append its LF."),
                    reject: list[str] = typer.Option([], help="Reject proposal ID: never "
                                                              "proposed again."),
                    run_dir: Optional[Path] = RUN_DIR_OPT):
    """Propose LFs where the current ones are weakest, scored on dev (never test); accept
    or reject them (docs/suggest.md)."""
    from labeling.suggest.show import command

    command(open_task(config, run_dir), label, n, source, accept, reject)


@app.command("app")
@user_errors
def app_command(project: Optional[Path] = typer.Argument(
                    None, help="Project folder or its labeling.toml; default: the current folder."),
                port: Optional[int] = typer.Option(None, help="Port (default: a free one)."),
                run_dir: Optional[Path] = typer.Option(None, "--run-dir",
                                                       help="Show this run folder instead of "
                                                            "the config's output_dir."),
                browser: bool = typer.Option(True, "--browser/--no-browser",
                                             help="Open a browser tab.")):
    """Start the review app (Streamlit) on 127.0.0.1 over the task's latest run."""
    from labeling.review import launch

    port = port or launch.free_port()
    typer.echo(f"review app: {launch.url(port)}  (Ctrl+C to stop)")
    env = launch.app_environment(project or Path("."), run_dir)
    raise typer.Exit(launch.serve(port, env, open_browser=browser))
