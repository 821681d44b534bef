"""The ``labeling`` command line: run the pipeline, or one step of it, and predict.

Errors caused by input (config, data, LFs, models) print one line, ``error: ...``,
and exit with status 2; nothing already written is removed.

Each command imports what it needs inside its function: the pipeline pulls in torch,
scikit-learn and spaCy, and `labeling --help` or `labeling predict` should not wait for
what they do not use. The commands live in modules by what they act on (the
pipeline, the LF loop, the exported model, the caches, two runs); importing them
registers them on ``app``.
"""

# Registration order is the order of `labeling --help`: the pipeline, the loop, the model.
from labeling.cli import pipeline_commands  # noqa: F401  isort: skip
from labeling.cli import review_commands  # noqa: F401  isort: skip
from labeling.cli import model_commands  # noqa: F401  isort: skip
from labeling.cli import cache_commands  # noqa: F401  isort: skip
from labeling.cli import compare_commands  # noqa: F401  isort: skip
from labeling.cli.common import app, user_errors

__all__ = ["app", "main", "user_errors"]


def main() -> None:
    app(prog_name="labeling")  # also under `python -m labeling.cli`, for its messages
