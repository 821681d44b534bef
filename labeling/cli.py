"""The ``labeling`` command line: run the pipeline, or one step of it, and predict.

Errors caused by input (config, data, LFs, models) print one line, ``error: ...``,
and exit with status 2; nothing already written is removed.

Each command imports what it needs inside its function: the pipeline pulls in torch,
scikit-learn and spaCy, and `labeling --help` or `labeling predict` should not wait for
what they do not use.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import typer

from labeling.errors import LabelingError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Programmatic weak supervision: LFs -> label model -> small classifier.")

CONFIG_ARG = typer.Argument(None, help="Task config (labeling.toml) or its folder; "
                                       "default: ./labeling.toml")
ENGINE_OPT = typer.Option(None, "--engine", help="local (default) or dask.")
N_JOBS_OPT = typer.Option(None, "--n-jobs", help="Worker processes for row-wise LFs.")
SCHEDULER_OPT = typer.Option(None, "--scheduler",
                             help="Dask scheduler address (tcp://HOST:PORT); default: a LocalCluster.")
CACHE_OPT = typer.Option(None, "--cache/--no-cache",
                         help="Reuse cached LF columns (default: [apply] cache, on).")
FAULT_OPT = typer.Option(None, "--fault-tolerant/--strict",
                         help="Count LF exceptions and abstain instead of stopping "
                              "(default: [apply] fault_tolerant in the config).")


def user_errors(command):
    """Turn a LabelingError, or an OSError naming a file (a full disk, a read-only
    folder), into a one-line message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LabelingError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            if exc.filename is None:
                raise
            typer.echo(f"error: {exc.filename}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _task(config: Optional[Path]):
    from labeling.pipeline import load_task

    return load_task(config)


def _multilabel(task, step: str, **options) -> bool:
    """Run ``step`` the multi-label way when the task is multi-label (docs/multilabel.md);
    False for a single-label task."""
    if not task.config.multi_label:
        return False
    if step == "report":
        from labeling import distill_multilabel

        distill_multilabel.command(task)
    else:
        from labeling import multilabel_steps

        multilabel_steps.command(task, step, **options)
    return True


@app.command()
@user_errors
def run(config: Optional[Path] = CONFIG_ARG, fault_tolerant: Optional[bool] = FAULT_OPT,
        engine: Optional[str] = ENGINE_OPT, n_jobs: Optional[int] = N_JOBS_OPT,
        scheduler: Optional[str] = SCHEDULER_OPT, cache: Optional[bool] = CACHE_OPT,
        progress: bool = typer.Option(True, "--progress/--no-progress")):
    """Apply LFs, fit the label model, train, evaluate and export the end model."""
    from labeling import pipeline, report

    task = _task(config)
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
          progress: bool = typer.Option(True, "--progress/--no-progress")):
    """Apply the LFs to every split: L.parquet and lf_summary.csv."""
    from labeling import pipeline, report

    task = _task(config)
    if _multilabel(task, "apply", progress=progress, fault_tolerant=fault_tolerant,
                   engine=engine, n_jobs=n_jobs, cache=cache):
        return
    pipeline.step_apply(task, fault_tolerant=fault_tolerant, progress=progress, engine=engine,
                        n_jobs=n_jobs, scheduler=scheduler, cache=cache)
    report.print_lf_summary(task.run_dir)


@app.command()
@user_errors
def plan(config: Optional[Path] = CONFIG_ARG):
    """Before any LLM call: calls per prompt LF, cached, estimated tokens and cost."""
    from labeling import pipeline
    from labeling.llm import format_plan

    task = _task(config)
    if not pipeline.has_prompt_lfs(task):
        typer.echo("this task has no prompt LFs: nothing to plan")
        return
    settings = task.config.llm
    typer.echo(f"backend: {settings.resolve_backend()}"
               + (f", model {settings.model}" if settings.resolve_backend() == "openai" else "")
               + (f", budget ${settings.budget:.2f}" if settings.budget is not None else ""))
    typer.echo(format_plan(pipeline.plan(task)))


@app.command()
@user_errors
def fit(config: Optional[Path] = CONFIG_ARG):
    """Fit the label model (and majority vote) on L.parquet: probs.parquet."""
    from labeling import pipeline, report

    task = _task(config)
    if _multilabel(task, "fit"):
        return
    metrics = pipeline.step_fit(task)
    # The end model (and its export) in metrics.json was trained on the previous fit's
    # labels: its scores beside the new label model's would read as one consistent run.
    report.print_scores({k: v for k, v in metrics.items() if k != "end_model"})
    if "end_model" in metrics:
        report.console().print("end model: not shown (stale: trained before this fit); "
                               "run `labeling train` and `labeling export` to update it")


@app.command()
@user_errors
def train(config: Optional[Path] = CONFIG_ARG):
    """Train and evaluate the end model on the label model's soft labels."""
    from labeling import pipeline, report

    task = _task(config)
    if _multilabel(task, "train"):
        return
    pipeline.step_train(task)
    report.print_scores(pipeline.read_metrics(task.run_dir), splits=("dev",))


@app.command()
@user_errors
def evaluate(config: Optional[Path] = CONFIG_ARG):
    """The final scores on dev and test (the LF loop's commands show dev only)."""
    from labeling import pipeline, report

    task = _task(config)
    if _multilabel(task, "evaluate"):
        return
    metrics = pipeline.read_metrics(task.run_dir)
    if not metrics.get("label_model"):
        raise LabelingError(f"{task.run_dir}: nothing to evaluate; run `labeling fit` first")
    report.print_scores(metrics)


@app.command()
@user_errors
def init(data: Path = typer.Argument(..., help="A CSV/TSV/JSONL/Parquet file of texts."),
         directory: Path = typer.Option(Path("."), "--dir", help="Where to write the task."),
         name: Optional[str] = typer.Option(None, help="Task name (default: the file's name)."),
         labels: Optional[str] = typer.Option(None, help="Comma-separated labels (default: "
                                                         "the label column's values)."),
         text_column: str = typer.Option("text"), label_column: str = typer.Option("label"),
         id_column: Optional[str] = typer.Option(None),
         dev_file: Optional[Path] = typer.Option(None, "--dev", help="A dev file with gold "
                                                "labels (default: split one off the data)."),
         seed: int = typer.Option(0, help="Seed of the dev/test split.")):
    """Scaffold a new task: labeling.toml, an LF module with one LF of each kind, and a
    dev/test split of the labeled rows when no dev file is given."""
    from labeling.scaffold import init_task

    written = init_task(data, directory, name, labels.split(",") if labels else None,
                        text_column, label_column, id_column, dev_file, seed)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: cd {directory} && labeling dev   (edit {written[1].name} and save)")


@app.command()
@user_errors
def dev(config: Optional[Path] = CONFIG_ARG,
        interval: float = typer.Option(0.3, help="Seconds between checks for saved files.")):
    """Watch the LF modules and the config: on each save re-apply what changed, refit
    the label model and print the dev table (never test). Ctrl+C stops."""
    from labeling.dev_loop import watch

    raise typer.Exit(watch(config, interval=interval))


@app.command()
@user_errors
def show(lf: str = typer.Argument(..., help="The LF's name."),
         config: Optional[Path] = typer.Option(None, "--config", "-c",
                                               help="Task config (default ./labeling.toml)."),
         wrong: bool = typer.Option(False, "--wrong", help="Only rows where it is wrong (gold)."),
         conflicts: Optional[str] = typer.Option(None, "--conflicts",
                                                 help="Only rows where it disagrees with this "
                                                      "LF (or 'any')."),
         split: str = typer.Option("dev", help="train, dev or test."),
         limit: int = typer.Option(20, help="Rows to print at most.")):
    """The rows an LF fires on (or gets wrong, or conflicts on), with gold and the label
    model's label, from the last fit."""
    from labeling import pipeline, report
    from labeling.review.project import load_run
    from labeling.session import lf_examples

    if wrong and conflicts:
        raise LabelingError("--wrong and --conflicts cannot be combined")
    kind = "wrong" if wrong else "conflicts" if conflicts else "fires"
    task = _task(config)
    if task.config.multi_label:  # votes on one label each, gold label sets
        from labeling.review import ml_show

        return ml_show.command(task, lf, kind, split, limit, conflicts)
    try:
        table = lf_examples(load_run(task.config.source, task.run_dir), lf, kind, split,
                            None if conflicts in (None, "any") else conflicts)
    except (KeyError, ValueError) as exc:
        raise LabelingError(str(exc).strip("'\"")) from None
    report.print_examples(table, lf, kind, split, limit, other=conflicts)


@app.command()
@user_errors
def export(config: Optional[Path] = CONFIG_ARG,
           out: Optional[Path] = typer.Option(None, help="Folder to export to "
                                                        "(default: <run dir>/model).")):
    """Export the trained end model (skops and ONNX) with its model card."""
    from labeling import pipeline

    task = _task(config)
    if not _multilabel(task, "export", out=out):
        typer.echo(f"exported to {pipeline.step_export(task, out)}")


@app.command("report")
@user_errors
def report_command(config: Optional[Path] = CONFIG_ARG,
                   config_opt: Optional[Path] = typer.Option(None, "--config", "-c",
                                                             help="Same as the argument.")):
    """Distillation report: end model vs label model vs each prompt LF on test
    (accuracy, latency per doc, cost per 1M docs): report.json and report.md."""
    from labeling import distill

    task = _task(config_opt or config)
    if _multilabel(task, "report"):
        return
    result = distill.build_report(task)
    distill.write_report(result, task.run_dir)
    distill.print_report(result)
    typer.echo(f"written: {task.run_dir / distill.REPORT_JSON}, {task.run_dir / distill.REPORT_MD}")


@app.command()
@user_errors
def predict(texts: list[str] = typer.Argument(None, help="Texts to classify."),
            model: Path = typer.Option(..., "--model", "-m", help="Exported model folder."),
            input: Optional[str] = typer.Option(None, "--input", "-i",
                                                help="CSV/TSV/JSONL/Parquet/.txt file, or - for stdin."),
            text_column: str = typer.Option("text", help="Text column of a table input."),
            id_column: str = typer.Option("id", help="Id column of a table input: when the "
                                                     "table has it, each output line starts "
                                                     "with the row's id."),
            fmt: str = typer.Option("tsv", "--format", help="tsv (label, probability, text; the id first when the input has one) or jsonl."),
            runtime: str = typer.Option("sklearn", "--runtime",
                                        help="sklearn (model.skops), onnx (model.onnx) or "
                                             "onnx_int8 (model.int8.onnx, fine-tuned "
                                             "transformers).")):
    """Print a label and its probability for each text (arguments, a file, or stdin)."""
    from labeling.export import load_exported
    from labeling.predict import text_batches, write_batches

    if fmt not in ("tsv", "jsonl"):
        raise LabelingError(f"--format must be tsv or jsonl, not {fmt!r}")
    if runtime not in ("sklearn", "onnx", "onnx_int8"):
        raise LabelingError(f"--runtime must be sklearn, onnx or onnx_int8, not {runtime!r}")
    exported = load_exported(model, runtime)
    written = write_batches(exported, [list(texts)] if texts else [], sys.stdout, fmt)
    if input is not None:
        written += write_batches(exported, text_batches(input, text_column, id_column),
                                 sys.stdout, fmt)
    elif not texts and not sys.stdin.isatty():  # streamed: answers while the pipe is open
        written += write_batches(exported, text_batches("-"), sys.stdout, fmt)
    if not written:
        typer.echo("no texts to classify (pass texts, --input FILE, or pipe lines to stdin)",
                   err=True)


@app.command()
@user_errors
def serve(model: Path = typer.Option(..., "--model", "-m", help="Exported model folder."),
          host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback only "
                                                     "unless --allow-remote)."),
          port: int = typer.Option(8000, help="Port (0: any free port)."),
          allow_remote: bool = typer.Option(False, "--allow-remote",
                                            help="Allow a non-loopback --host (no auth!)."),
          runtime: str = typer.Option("sklearn", "--runtime", help="sklearn, onnx or "
                                                                  "onnx_int8 (as predict)."),
          name: Optional[str] = typer.Option(None, help="Model name in /v2/models/NAME "
                                                        "(default: the card's task)."),
          max_body_bytes: int = typer.Option(1 << 20, help="Largest request body."),
          max_texts: int = typer.Option(1024, help="Most texts in one request."),
          max_text_chars: int = typer.Option(10_000, help="Longest text, in characters."),
          max_batch: int = typer.Option(256, help="Most texts in one model call."),
          max_wait_ms: float = typer.Option(2.0, help="How long a batch waits for more "
                                                      "requests."),
          max_queue: int = typer.Option(16_384, help="Most texts waiting (503 beyond)."),
          model_process: bool = typer.Option(False, "--model-process/--no-model-process",
                                             help="Run the model in a process of its own "
                                                  "(for spare cores; docs/serve.md)."),
          access_log: bool = typer.Option(False, "--access-log/--no-access-log")):
    """Serve an exported model over HTTP (Open Inference Protocol v2 and POST /predict)
    until SIGTERM or Ctrl+C (docs/serve.md)."""
    from labeling.serve import Limits, build_server, check_host
    from labeling.serve import serve as run_server

    check_host(host, allow_remote)  # before loading the model: fail fast
    server = build_server(model, runtime, name, Limits(max_body_bytes, max_texts,
                                                       max_text_chars),
                          max_batch, max_wait_ms, max_queue, model_process)
    run_server(server, host, port, allow_remote, access_log,
               on_listen=lambda url: typer.echo(
                   f"serving {server.name} ({server.exported.runtime}) on {url}  "
                   f"(POST {url}/predict, {url}/v2/models/{server.name}/infer; Ctrl+C stops)"))
    typer.echo("stopped")


@app.command("suggest")
@user_errors
def suggest_command(config: Optional[Path] = CONFIG_ARG,
                    label: Optional[str] = typer.Option(None, help="Only LFs voting this label."),
                    n: int = typer.Option(10, "--n", help="How many proposals to show."),
                    source: str = typer.Option("offline", help="offline (mined from the data), "
                                                               "llm (the [llm] endpoint) or all."),
                    accept: list[str] = typer.Option([], help="Accept proposal ID (of the last "
                                                              "suggestions): append its LF."),
                    reject: list[str] = typer.Option([], help="Reject proposal ID: never "
                                                              "proposed again.")):
    """Propose LFs where the current ones are weakest, scored on dev (never test); accept
    or reject them (docs/suggest.md)."""
    from labeling.suggest.show import command

    command(_task(config), label, n, source, accept, reject)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
