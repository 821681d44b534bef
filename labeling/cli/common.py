"""What every ``labeling`` command shares: the Typer app, common options, the one-line
error handling and the multi-label dispatch.

Errors caused by input (config, data, LFs, models) print one line, ``error: ...``,
and exit with status 2; nothing already written is removed.

Each command imports what it needs inside its function: the pipeline pulls in torch,
scikit-learn and spaCy, and `labeling --help` or `labeling predict` should not wait for
what they do not use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from labeling.errors import LabelingError
from labeling.files import run_folder_lock

try:  # typer >= 0.22 carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # earlier typer: click itself
    from click.exceptions import NoArgsIsHelpError, UsageError


def _one_line(exc: UsageError, where: str):
    typer.echo(f"error: {exc.format_message().rstrip('.')} (see `{where} --help`)", err=True)
    return typer.Exit(exc.exit_code)


class OneLineUsageErrors(TyperGroup):
    """A usage error (an unknown command or option, a missing or malformed value) in one
    line, as every other input error: ``error: ... (see `labeling CMD --help`)``, status
    2. Typer's default is a usage line, a hint and a framed box: five lines on stderr.
    A command's errors surface in :meth:`invoke`; the group's own (``labeling --bogus``,
    an option before the command) in :meth:`make_context`."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:  # bare `labeling`: the help, as before
            raise
        except UsageError as exc:
            raise _one_line(exc, exc.ctx.command_path if exc.ctx else info_name) from None

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _one_line(exc, (exc.ctx or ctx).command_path) from None

    def get_command(self, ctx, cmd_name):
        """The command, its one-line summary in `labeling --help` being its docstring's
        first paragraph on one line (typer's rich list kept the docstring's line breaks:
        "each kind, and a" / "dev/test split")."""
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.help and not command.short_help:
            command.short_help = " ".join(command.help.split("\n\n")[0].split())
        return command


# Help texts are rich markup: a literal "[" is written "\\[" ("\\[apply]").
app = typer.Typer(cls=OneLineUsageErrors, add_completion=False, no_args_is_help=True,
                  help="Programmatic weak supervision: LFs -> label model -> small classifier.")


def _print_version(value: bool) -> None:
    """``labeling 0.1.0+3f2a9c1d04be``: the build a run records (the version number alone
    stays the same across builds)."""
    if value:
        from labeling.apply.applied import code_identity  # only here: it loads pandas

        typer.echo(f"labeling {code_identity()}")
        raise typer.Exit()


@app.callback()
def _global_options(version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")):
    """Programmatic weak supervision: LFs -> label model -> small classifier."""

CONFIG_ARG = typer.Argument(None, help="Task config (labeling.toml) or its folder; "
                                       "default: ./labeling.toml")
ENGINE_OPT = typer.Option(None, "--engine", help="local (default) or dask.")
N_JOBS_OPT = typer.Option(None, "--n-jobs", help="Worker processes for row-wise LFs.")
SCHEDULER_OPT = typer.Option(None, "--scheduler",
                             help="Dask scheduler address (tcp://HOST:PORT); default: a LocalCluster.")
CACHE_OPT = typer.Option(None, "--cache/--no-cache",
                         help="Reuse cached LF columns (default: \\[apply] cache, on).")
PROGRESS_OPT = typer.Option(True, "--progress/--no-progress",
                            help="Progress bars of the LFs' rows and of prompt LFs' calls.")
RUN_DIR_OPT = typer.Option(None, "--run-dir",
                           help="Run folder to use instead of the config's output_dir "
                                "(e.g. the config in a read-only checkout).")
FAULT_OPT = typer.Option(None, "--fault-tolerant/--strict",
                         help="Count LF exceptions and abstain instead of stopping "
                              "(default: \\[apply] fault_tolerant in the config).")


def user_errors(command):
    """Turn a LabelingError, an OSError naming a file (a full disk, a read-only
    folder) or pyarrow's error on a damaged Parquet file into a one-line message and
    exit status 2; a Ctrl+C (or SIGTERM) outside a step's :func:`holding` into one line
    saying the command did not finish, and status 130 (143)."""

    name = command.__name__.removesuffix("_command")  # suggest_command: `labeling suggest`

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as exc:  # not in a step (holding's): loading, reading
            raise interrupted(exc, name, "did not finish") from None
        except LabelingError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            if exc.filename is None:
                raise
            typer.echo(f"error: {exc.filename}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        except ValueError as exc:  # pyarrow's ArrowInvalid: a damaged Parquet file,
            if type(exc).__module__ != "pyarrow.lib":  # its path in the message
                raise
            typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def open_task(config: Optional[Path], run_dir: Optional[Path] = None):
    """The task of ``config`` (a labeling.toml or its folder; default ./labeling.toml),
    with its run folder moved to ``run_dir`` (``--run-dir``: relative to the current
    folder) when given."""
    try:
        with sigterm_raises():  # seconds: torch, the data, the LF modules (spaCy)
            from labeling.pipeline import load_task

            task = load_task(config)
    except KeyboardInterrupt as exc:  # said by user_errors, naming what it was doing
        exc.during = f"loading the task ({config or 'labeling.toml'}, its data and LF modules)"
        raise
    task.config = task.config.with_run_dir(run_dir)
    return task


@contextlib.contextmanager
def holding(task, command: str):
    """The task's run folder held for ``command`` (one writer at a time; a second one
    stops with one line naming the first: :func:`labeling.files.run_folder_lock`);
    ``report`` and ``cache`` create none (they need a run). Meanwhile a SIGTERM stops the
    command as Ctrl+C does (:func:`sigterm_as_interrupt`)."""
    with sigterm_as_interrupt(command), run_folder_lock(task.run_dir, command,
                                                        create=command not in ("report", "cache")):
        yield


class Terminated(KeyboardInterrupt):
    """A SIGTERM, raised where the command was, as Ctrl+C raises KeyboardInterrupt."""


@contextlib.contextmanager
def sigterm_raises():
    """Meanwhile a SIGTERM (a CI job's timeout or cancel, `kill`) raises
    :class:`Terminated` where the main thread is, as Ctrl+C raises KeyboardInterrupt:
    ``finally`` blocks run (temporary files removed, what prompt LFs spent recorded),
    apply says which LF and row it was on. Python's default ends the process on the
    spot. Forked workers (apply's ``--n-jobs``) keep the default: the parent ends them
    with SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def stop(signum, frame):
        if os.getpid() != owner:  # a forked worker: end as before
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(exc: KeyboardInterrupt, command: str,
                outcome: str = "did not finish; the files of the steps it finished are kept"):
    """The one line a Ctrl+C or SIGTERM ends ``command`` with, and its exit (130, 143):
    ``stopped by Ctrl+C: `labeling run` did not finish; ...``; when it came while
    loading the task (``exc.during``, set by :func:`open_task`), that and that nothing
    was written. typer's own exit 130 says nothing."""
    how, status = (("SIGTERM", 128 + signal.SIGTERM) if isinstance(exc, Terminated)
                   else ("Ctrl+C", 128 + signal.SIGINT))
    during = getattr(exc, "during", None)
    typer.echo(f"stopped by {how} while {during}: `labeling {command}` did not start; "
               "nothing was written" if during else
               f"stopped by {how}: `labeling {command}` {outcome}", err=True)
    return typer.Exit(status)


@contextlib.contextmanager
def sigterm_as_interrupt(command: str):
    """A SIGTERM stops ``command`` as Ctrl+C does (:func:`sigterm_raises`), the exit
    status still 143; either ends with one line saying the command did not finish
    (`stopped by Ctrl+C: ...`, status 130: :func:`interrupted`)."""
    with sigterm_raises():
        try:
            yield
        except KeyboardInterrupt as exc:
            raise interrupted(exc, command) from None


def multilabel_step(task, step: str, **options) -> bool:
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
