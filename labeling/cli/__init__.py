"""The ``labeling`` command line: run the pipeline, or one step of it, and predict.

Errors caused by input (config, data, LFs, models) print one line, ``error: ...``,
and exit with status 2; nothing already written is removed.

Each command imports what it needs inside its function: the pipeline pulls in torch,
scikit-learn and spaCy, and `labeling --help` or `labeling predict` should not wait for
what they do not use. The commands live in modules by what they act on (the
pipeline, the LF loop, the exported model, the caches, two runs); importing them
registers them on ``app``.
"""

import gc

# Registration order is the order of `labeling --help`: the pipeline, the loop, the model.
from labeling.cli import pipeline_commands  # noqa: F401  isort: skip
from labeling.cli import review_commands  # noqa: F401  isort: skip
from labeling.cli import model_commands  # noqa: F401  isort: skip
from labeling.cli import cache_commands  # noqa: F401  isort: skip
from labeling.cli import compare_commands  # noqa: F401  isort: skip
from labeling.cli.common import app, user_errors

__all__ = ["app", "main", "user_errors"]


def main() -> None:
    try:
        app(prog_name="labeling")  # also under `python -m labeling.cli`, for its messages
    finally:
        # every write is finished (and atomic) by now: the libraries' ~300k objects are
        # moved out of the garbage collector's sight, so the interpreter's exit does not
        # walk them in a last collection (3-4 s after the last line of a step on a busy
        # core; 0.5-0.7 s with it), as `labeling serve` does when it stops
        gc.freeze()
