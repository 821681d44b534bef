"""Fingerprints: what an LF's votes depend on, hashed, for the label-matrix cache.

An LF's fingerprint covers its class and name, its function's source (or bytecode),
the simple values it reads from globals and closures, its resources and settings,
and its preprocessors. Editing one LF changes only that LF's fingerprint. It cannot
see everything (a helper function the LF calls, a file it reads): ``--no-cache``
recomputes everything.
"""

from __future__ import annotations

import hashlib
import inspect
import types

import numpy as np
import pandas as pd

_SIMPLE = (str, int, float, bool, bytes, type(None))


def _stable(value, depth: int = 0) -> str:
    """repr for plain data; type name for anything else (object reprs hold addresses)."""
    if isinstance(value, _SIMPLE):
        return repr(value)
    if depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
        items = [_stable(v, depth + 1) for v in value]
        return f"{type(value).__name__}[{', '.join(sorted(items) if isinstance(value, (set, frozenset)) else items)}]"
    if depth < 4 and isinstance(value, dict):
        return "{" + ", ".join(f"{_stable(k)}: {_stable(v, depth + 1)}"
                               for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
    if depth < 4 and isinstance(value, types.CodeType):  # nested functions, comprehensions
        return f"code({value.co_code.hex()}, {_stable(value.co_consts, depth + 1)})"
    if hasattr(value, "pattern") and hasattr(value, "flags"):  # compiled regex
        return f"re({value.pattern!r}, {value.flags})"
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def function_fingerprint(f) -> str:
    f = getattr(f, "__func__", f)
    code = getattr(f, "__code__", None)
    if code is None:
        return _stable(f)
    # The compiled code is what runs; the source adds what bytecode hides (names of
    # globals, default values). Both: the source alone is read from the file now, which
    # may have been edited since ``f`` was loaded from it.
    parts = [_stable(code)]
    try:
        parts.append(inspect.getsource(f))
    except (OSError, TypeError):
        pass
    module_globals = getattr(f, "__globals__", {})
    parts += [f"{n}={_stable(module_globals[n])}" for n in code.co_names
              if n in module_globals and isinstance(module_globals[n], _SIMPLE)]
    for cell in f.__closure__ or ():
        try:
            parts.append(_stable(cell.cell_contents))
        except ValueError:  # empty cell
            parts.append("<empty>")
    return "\n".join(parts)


def lf_fingerprint(lf) -> str:
    """sha256 of everything the LF's votes depend on that can be seen from Python."""
    parts = [type(lf).__module__, type(lf).__qualname__, lf.name,
             function_fingerprint(lf._f), _stable(getattr(lf, "_resources", {})),
             _stable(getattr(lf, "fingerprint_extra", None))]
    for attr in ("pattern", "label", "column"):
        if hasattr(lf, attr):
            parts.append(f"{attr}={_stable(getattr(lf, attr))}")
    for pre in getattr(lf, "_pre", []):
        parts.append(getattr(pre, "name", type(pre).__qualname__))
        parts.append(function_fingerprint(getattr(pre, "_f", None) or type(pre).__call__))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """A uint64 content hash per row (all columns, not the index)."""
    if len(df) == 0:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)


def frame_digest(df: pd.DataFrame) -> str | None:
    """A digest of ``df``'s content from its raw Arrow/NumPy buffers (fast: no per-row
    work), or None when a column has no such buffers (object dtype). Equal digests mean
    equal content; equal content stored differently may digest differently, which only
    costs a cache miss."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    digest.update(str(len(df)).encode())
    for column in df.columns:
        array = df[column].array
        if hasattr(array, "__arrow_array__"):
            chunked = array.__arrow_array__()
            for chunk in getattr(chunked, "chunks", [chunked]):
                digest.update(f"{chunk.offset}:{len(chunk)}".encode())
                for buffer in chunk.buffers():
                    if buffer is not None:
                        digest.update(memoryview(buffer))
        elif df[column].dtype != object and hasattr(array, "to_numpy"):
            digest.update(np.ascontiguousarray(array.to_numpy()).view(np.uint8))
        else:
            return None
    return digest.hexdigest()
