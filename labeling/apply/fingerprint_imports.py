"""The modules an LF's function imports in its body (``from my_words import WORDS`` or
``import my_helpers`` inside the function), for its fingerprint
(:mod:`labeling.apply.fingerprint`).

Why: such a module is not among the function's globals, so before this its content
was not hashed: an edit to ``my_words.py`` left the LF's fingerprint as it was and the
next apply served the old words' votes from the cache. A module of your own is
imported here if the LF has not imported it yet (the LF imports it when it runs
anyway); a module of the standard library or an installed package is not imported, only
named by its version, as the fingerprint names such code.
"""

from __future__ import annotations

import dis
import functools
import importlib
import importlib.util
import os
import sys
import types

from labeling.apply.libraries import _library_dirs, library_version


def function_imports(f: types.FunctionType) -> list[tuple[str, object]]:
    """``(module name, what stands for it)`` for each module ``f``'s code (and the code
    nested in it) imports: the module object, or a library's version string, or None
    when it cannot be found (the LF raises ImportError when it runs, every time)."""
    package = f.__globals__.get("__package__") or None
    out: dict[str, object] = {}
    for name, level in _imported_names(f.__code__):
        try:
            name = importlib.util.resolve_name("." * level + name, package) if level else name
        except (ImportError, ValueError):  # a relative import outside a package
            continue
        if name and name not in out:
            out[name] = _module_or_version(name)
    return sorted(out.items())


@functools.lru_cache(maxsize=4096)  # code objects compare by content: one scan each
def _imported_names(code: types.CodeType) -> tuple[tuple[str, int], ...]:
    """``(name, level)`` of every IMPORT_NAME in ``code`` and its nested code objects."""
    out, before = [], []
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            level = before[-2].argval if len(before) >= 2 else 0
            out.append((instruction.argval, level if isinstance(level, int) else 0))
        before = (before + [instruction])[-2:]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += _imported_names(const)
    return tuple(out)


def _module_or_version(name: str):
    # a library is named by its version whether or not it was imported yet: `import
    # spacy` in an LF's body fingerprinted otherwise before and after the first parse
    top = name.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return library_version(top)
    module = sys.modules.get(name)
    if module is not None:
        file = getattr(module, "__file__", None)
        where = [file] if file else list(getattr(module, "__path__", None) or [])
        return library_version(top) if _in_libraries(where) else module
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing is imported
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    where = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    if _in_libraries(where):
        return library_version(top)
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 (any error of user code): the LF raises it too
        return None


def _in_libraries(where: list) -> bool:
    """Whether every one of the paths ``where`` is in site-packages or the standard library."""
    return bool(where) and all(os.path.realpath(p).startswith(_library_dirs()) for p in where)
