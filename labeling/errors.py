"""Typed errors. Each names the file, row, column or LF at fault, in one line.

The CLI prints a :class:`LabelingError` as ``error: <message>`` and exits 2, with no
traceback; anything else is a bug and keeps its traceback.
"""


class LabelingError(Exception):
    """Base class for every error caused by the user's input, not by a bug."""


class ConfigError(LabelingError):
    """labeling.toml is missing, unparsable or invalid."""


class DataError(LabelingError):
    """A data file is missing, empty, not UTF-8 or lacks a required column or value."""


class LFLoadError(LabelingError):
    """An LF module failed to import or defines no usable LFs."""


class LFError(LabelingError):
    """An LF raised on a row, or returned a value outside the label set."""


class ModelLoadError(LabelingError):
    """An exported model is missing, altered, or carries an untrusted type."""
