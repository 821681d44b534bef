"""The exported model's commands: export, predict and serve."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from labeling.cli.common import (CONFIG_ARG, RUN_DIR_OPT, app, holding, multilabel_step, open_task,
                                 user_errors)
from labeling.errors import LabelingError


@app.command()
@user_errors
def export(config: Optional[Path] = CONFIG_ARG,
           out: Optional[Path] = typer.Option(None, help="Folder to export to "
                                                        "(default: <run dir>/model)."),
           run_dir: Optional[Path] = RUN_DIR_OPT,
           force: bool = typer.Option(False, "--force", help="Replace an earlier export "
                                      "in --out.")):
    """Export the trained end model (skops; ONNX too where it has one) with its model card."""
    from labeling import pipeline
    from labeling.config import home_path
    from labeling.export.folder import check_target

    out = None if out is None else home_path(out)  # "~/m" quoted: the home folder
    task = open_task(config, run_dir)
    if out is not None:
        check_target(out, task.run_dir / pipeline.MODEL_DIR, force)
    with holding(task, "export"):
        if not multilabel_step(task, "export", out=out):
            typer.echo(f"exported to {pipeline.step_export(task, out)}")


def check_runtime(runtime: str) -> None:
    """``--runtime`` of predict and serve, refused in one line naming the option."""
    if runtime not in ("sklearn", "onnx", "onnx_int8"):
        raise LabelingError(f"--runtime must be sklearn, onnx or onnx_int8, not {runtime!r}")


@app.command()
@user_errors
def predict(texts: list[str] = typer.Argument(None, help="Texts to classify."),
            model: Path = typer.Option(..., "--model", "-m", help="Exported model folder."),
            input: Optional[str] = typer.Option(None, "--input", "-i",
                                                help="CSV/TSV/JSONL/Parquet/.txt file, or - for stdin."),
            text_column: Optional[str] = typer.Option(
                None, help="Text column of a table input (default: `text`; a file without "
                           "it: the column the model's task read, named in its card)."),
            id_column: Optional[str] = typer.Option(
                None, help="Id column of a table input: each output line starts with the "
                           "row's id (default: the model's task's id column, else `id`, "
                           "when the table has it; \"\" for none)."),
            fmt: str = typer.Option("tsv", "--format", help="tsv (label, probability, "
                                    "text; the id first when the input has one), jsonl or "
                                    "csv (a header, every label's probability; for Excel)."),
            encoding: str = typer.Option("utf-8", help="Text encoding of a CSV/TSV/JSONL "
                                                       "input, e.g. latin-1."),
            runtime: str = typer.Option("sklearn", "--runtime",
                                        help="sklearn (model.skops), onnx (model.onnx) or "
                                             "onnx_int8 (model.int8.onnx, fine-tuned "
                                             "transformers).")):
    """Print each text's label and its probability (multi-label: its label set and every
    label's probability), from arguments, a file or stdin."""
    from labeling.config import home_path
    from labeling.export import load_exported
    from labeling.predict import text_batches, write_batches

    if fmt not in ("tsv", "jsonl", "csv"):
        raise LabelingError(f"--format must be tsv, jsonl or csv, not {fmt!r}")
    if fmt == "csv" and texts and input is not None:  # one table: one header, one columns set
        raise LabelingError("--format csv: give texts or --input, not both")
    check_runtime(runtime)
    try:
        "".encode(encoding)
    except LookupError:
        raise LabelingError(f"--encoding: unknown text encoding {encoding!r}") from None
    exported = load_exported(home_path(model), runtime)  # "~/m" quoted: the home folder
    written = write_batches(exported, [list(texts)] if texts else [], sys.stdout, fmt)
    ids = dict(id_column="id" if id_column is None else id_column,
               id_required=id_column is not None)
    if input is not None:
        source = input if input == "-" else str(home_path(input))
        trained_on = None if text_column else exported.card.get("text_column")
        written += write_batches(exported, text_batches(
            source, text_column or "text", encoding=encoding, trained_on=trained_on,
            trained_ids=exported.card.get("id_column"), **ids), sys.stdout, fmt)
    elif not texts and not sys.stdin.isatty():  # streamed: answers while the pipe is open
        written += write_batches(exported, text_batches("-", **ids), sys.stdout, fmt)
    if not written and input is not None:  # an empty file: nothing to answer, not an error
        typer.echo(f"{'<stdin>' if input == '-' else input}: no texts to classify (no row, "
                   "or only blank lines)", err=True)
    elif not written:
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
          body_timeout: float = typer.Option(30.0, help="Seconds without a byte of a "
                                                        "request's body before a 408."),
          max_batch: int = typer.Option(256, help="Most texts in one model call."),
          max_wait_ms: float = typer.Option(2.0, help="How long a batch waits for more "
                                                      "requests."),
          max_queue: int = typer.Option(16_384, help="Most texts waiting (503 beyond)."),
          model_process: bool = typer.Option(False, "--model-process/--no-model-process",
                                             help="Run the model in a process of its own "
                                                  "(for spare cores; docs/serve.md)."),
          workers: int = typer.Option(1, help="Server processes on the port, each loading "
                                              "the model (docs/serve.md)."),
          access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                          help="Log every request (uvicorn's access log)."),
          graceful_timeout: float = typer.Option(
              10.0, help="On SIGTERM/Ctrl+C, seconds the requests in flight have to finish "
                         "(then 503); keep it under your orchestrator's kill timeout."),
          log_format: str = typer.Option("text", help="Log lines as text, or json (one "
                                                      "object per line).")):
    """Serve an exported model over HTTP (Open Inference Protocol v2 and POST /predict)
    until SIGTERM or Ctrl+C (docs/serve.md)."""
    from labeling.config import home_path
    from labeling.serve import Limits, build_server, check_host, listening_message
    from labeling.serve import serve as run_server, serve_workers
    from labeling.serve.logs import check_log_format
    from labeling.serve.server import check_port, process_ending

    check_host(host, allow_remote)  # before loading the model: fail fast
    check_port(port)
    check_log_format(log_format)
    check_runtime(runtime)
    if not graceful_timeout > 0:
        raise LabelingError(f"--graceful-timeout must be a number of seconds > 0, not "
                            f"{graceful_timeout:g}")
    options = dict(model_dir=home_path(model), runtime=runtime, name=name, limits=Limits(
        max_body_bytes, max_texts, max_text_chars, body_timeout), max_batch=max_batch,
        max_wait_ms=max_wait_ms, max_queue=max_queue, model_process=model_process)
    if workers != 1:  # each worker process loads the model itself
        serve_workers(options, workers, host, port, allow_remote, access_log,
                      graceful_seconds=graceful_timeout, on_listen=lambda url, name, runtime:
                      typer.echo(listening_message(name, runtime, url)), log_format=log_format)
    else:
        server = build_server(**options)
        run_server(server, host, port, allow_remote, access_log, graceful_timeout,
                   on_listen=lambda url: typer.echo(listening_message(
                       server.name, server.exported.runtime, url)), log_format=log_format)
    process_ending()  # the exit that follows skips walking the model's objects
    typer.echo("stopped")
