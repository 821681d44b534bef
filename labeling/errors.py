"""Typed errors. Each names the file, row, column or LF at fault, in one line.

The CLI prints a :class:`LabelingError` as ``error: <message>`` and exits 2, with no
traceback; anything else is a bug and keeps its traceback.
"""

import functools


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


def lf_error_from(cause: Exception, message: str) -> LFError:
    """An LFError carrying ``message`` that is also an instance of ``cause``'s class.

    Code written for snorkel catches an LF's own exception around the applier (``except
    ValueError``); the CLI catches LabelingError. Both must work, so the error is an
    instance of a subclass of both. A class that cannot be rebuilt from a message alone
    (UnicodeDecodeError needs five arguments) gives a plain LFError; ``__cause__`` holds
    the original either way (set by ``raise ... from cause``).
    """
    try:
        return _lf_error_class(type(cause))(message)
    except Exception:  # any class: its metaclass or constructor may refuse
        return LFError(message)


def _rebuild_lf_error(cause_type: type, message: str) -> LFError:
    """Unpickling (errors come back from worker processes pickled)."""
    return _lf_error_class(cause_type)(message)


@functools.cache
def _lf_error_class(cause_type: type) -> type:
    bases = (cause_type,) if issubclass(cause_type, LFError) else (LFError, cause_type)
    return type(f"LFError[{cause_type.__name__}]", bases, {
        "__module__": __name__,
        # The message as given: KeyError's own __str__ would quote it.
        "__str__": BaseException.__str__,
        "__reduce__": lambda self: (_rebuild_lf_error, (cause_type, str(self))),
    })


class ModelLoadError(LabelingError):
    """An exported model is missing, altered, or carries an untrusted type."""
