"""Fingerprints: what an LF's votes depend on, hashed, for the label-matrix cache.

:func:`lf_fingerprint` hashes the LF object and everything reachable from it that can
change its votes (docs/lf_cache.md lists it): the bytecode of its function and of every
user function it calls, transitively through globals, closures, default arguments,
methods and preprocessors; the content of the values they read (containers, regexes,
dataclasses, enums, NumPy/pandas data, user objects); resources; the label count;
and for spaCy LFs the pipeline's identity (:func:`labeling.lf.nlp.spacy_content`).
Code from the standard library or an installed package is named by its package's
version instead of being read. ``own=True`` takes an LF's own part: labeling's code is
named too (without a version), so that part stays the same across labeling upgrades.

What has no content to hash (a lock, a C object, a generator) raises
:class:`NotFingerprintable`: the applier then does not cache that LF and says so. A file
the LF opens while it runs is not seen (files read at import time are: their content
is in the module's values).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import fractions
import functools
import hashlib
import logging
import pathlib
import re
import sys
import types
import uuid

import numpy as np
import pandas as pd
from snorkel.map.core import BaseMapper

from labeling.apply.fingerprint_imports import function_imports
from labeling.apply.libraries import library_top, library_version
from labeling.lf import nlp as spacy_lfs

FORMAT = "2"  # bump when what a fingerprint covers changes: old cache entries are misses

_ATOMS = (type(None), bool, int, float, complex, str, bytes)
_ATOM_TYPES = frozenset(_ATOMS)  # exact types: their repr is their whole content
# Types whose repr is their whole content (no addresses, no truncation).
_BY_REPR = (range, slice, datetime.date, datetime.time, datetime.timedelta, datetime.timezone,
            decimal.Decimal, fractions.Fraction, uuid.UUID, pathlib.PurePath,
            type(Ellipsis), type(NotImplemented))
_BUILTIN_CALLABLES = (types.BuiltinFunctionType, types.MethodDescriptorType,
                      types.WrapperDescriptorType, types.MethodWrapperType,
                      types.ClassMethodDescriptorType)
# Class-body entries that describe the class rather than hold behaviour.
_CLASS_METADATA = {"__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                   "__annotations__", "__dataclass_fields__", "__dataclass_params__",
                   "__match_args__", "__slots__", "__orig_bases__", "__parameters__",
                   "_abc_impl", "__abstractmethods__", "__firstlineno__",
                   "__static_attributes__"}
_STRUCTURAL = (types.MemberDescriptorType, types.GetSetDescriptorType,
               type(collections.namedtuple("_Pair", "a").a))  # slots, namedtuple fields
_LRU_CACHED = type(functools.lru_cache(maxsize=None)(len))
_DICT_ONLY_BASES = (object, types.SimpleNamespace)  # C bases with no state of their own
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: classes defined in Python (or C heap types)


class NotFingerprintable(Exception):
    """Something an LF reads has no content to hash: the LF is not cached."""


def lf_fingerprint(lf, cardinality: int | None = None, own: bool = False) -> str:
    """sha256 of everything ``lf``'s votes depend on, given ``cardinality`` classes;
    ``own``: all but labeling's own code (what the LF's author wrote and set).

    Raises :class:`NotFingerprintable` naming what it could not hash.
    """
    encoder = _Encoder(own)
    encoder.emit("lf", FORMAT, sys.version, repr(cardinality))
    try:
        encoder.value(lf)
    except RecursionError:
        raise NotFingerprintable("its values are nested too deeply to hash") from None
    return encoder.hexdigest()


class _Encoder:
    """Feeds a value's content, depth first, into one hash. Each object is encoded once
    (later visits emit a back reference), so cycles terminate; encoded objects are kept
    alive until the end, so their ids are never reused for another object meanwhile."""

    def __init__(self, own: bool = False):
        self.own = own
        self._hash = hashlib.sha256()
        self._seen: dict = {}
        self._alive: list = []
        self._where: list[str] = []

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def emit(self, *parts: str) -> None:
        for part in parts:  # length-prefixed: no two sequences of parts hash alike
            data = part.encode("utf-8", "surrogatepass")
            self._hash.update(len(data).to_bytes(8, "little"))
            self._hash.update(data)

    def fail(self, what: str):
        where = " > ".join(self._where[-2:])
        raise NotFingerprintable(f"{where + ': ' if where else ''}{what} has no content to hash")

    def value(self, obj, where: str | None = None, names: frozenset | None = None) -> None:
        """Encode ``obj``. ``names``: the names the code reading ``obj`` uses, which
        selects the attributes of a user module that matter."""
        kind = type(obj)
        if kind in _ATOMS:
            self.emit(kind.__name__, obj.hex() if kind is bytes else
                      obj if kind is str else repr(obj))
            return
        key = (id(obj), names) if isinstance(obj, types.ModuleType) else id(obj)
        if key in self._seen:
            self.emit("ref", str(self._seen[key]))
            return
        self._seen[key] = len(self._seen)
        self._alive.append(obj)
        if where is not None:
            self._where.append(where)
        try:
            self._dispatch(obj, kind, names)
        finally:
            if where is not None:
                self._where.pop()

    def _dispatch(self, obj, kind, names) -> None:
        hook = getattr(kind, "__lf_fingerprint__", None)
        if hook is not None and not isinstance(obj, type):
            self.emit("hooked")
            self.value(kind)
            self.value(hook(obj), "__lf_fingerprint__")
        elif isinstance(obj, (list, tuple)):
            self._sequence(obj, kind)
        elif isinstance(obj, (set, frozenset)):
            self._set(obj, kind)
        elif isinstance(obj, dict):
            self._dict(obj, kind)
        elif isinstance(obj, enum.Enum):
            self.emit("enum member", obj.name)
            self.value(kind)
        elif isinstance(obj, re.Pattern):
            self.emit("regex", repr(obj.pattern), str(obj.flags))
        elif isinstance(obj, (np.ndarray, np.generic, np.dtype)):
            self._numpy(obj)
        elif isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            self._pandas(obj)
        elif isinstance(obj, _BY_REPR):
            self.emit(kind.__qualname__, repr(obj))
        elif isinstance(obj, types.FunctionType):
            self._function(obj)
        elif isinstance(obj, types.MethodType):
            self.emit("method")
            self.value(obj.__func__)
            self.value(obj.__self__, "self")
        elif isinstance(obj, _BUILTIN_CALLABLES):
            self._builtin(obj)
        elif isinstance(obj, functools.partial):
            self.emit("partial")
            self.value(kind)
            for part in (obj.func, obj.args, obj.keywords):
                self.value(part)
        elif isinstance(obj, (staticmethod, classmethod)):
            self.emit(kind.__name__)
            self.value(obj.__func__)
        elif isinstance(obj, property):
            self.emit("property")
            for accessor in (obj.fget, obj.fset, obj.fdel):
                self.value(accessor)
        elif isinstance(obj, functools.cached_property):
            self.emit("cached_property")
            self.value(obj.func)
        elif isinstance(obj, _LRU_CACHED):
            self.emit("lru_cache")  # what it caches is not an input; what it wraps is
            self.value(obj.__wrapped__)
            if obj is spacy_lfs.default_nlp:  # which model it loads depends on what is installed
                self.value(spacy_lfs.pipeline_identity(obj()), "default_nlp()")
        elif isinstance(obj, types.CodeType):
            self._code(obj)
        elif isinstance(obj, types.ModuleType):
            self._module(obj, names)
        elif isinstance(obj, type):
            self._class(obj)
        elif isinstance(obj, (logging.Logger, logging.LoggerAdapter)):
            self.emit("logger")  # logging never votes (its name holds the module's)
        elif kind is object:
            self.emit("object()")  # a sentinel: only its identity within a run matters
        elif kind.__module__.partition(".")[0] == "spacy":
            content = spacy_lfs.spacy_content(obj)
            if content is None:
                self.fail(f"a spaCy {kind.__qualname__}")
            self.emit("spacy", kind.__qualname__)
            self.value(content)
        else:
            self._instance(obj, kind)

    # --- data ----------------------------------------------------------------------

    def _subclass(self, obj, kind, base) -> None:
        """For subclasses of built-in containers: their class and instance attributes."""
        if kind is not base:
            self.value(kind)
            self.value(getattr(obj, "__dict__", None))

    def _sequence(self, obj, kind) -> None:
        self.emit("list" if isinstance(obj, list) else "tuple", str(len(obj)))
        self._subclass(obj, kind, list if isinstance(obj, list) else tuple)
        if _all_atoms(obj):  # word lists: one string, fast (repr is exact for atoms)
            self.emit(repr(list(obj)))
            return
        for item in obj:
            self.value(item)

    def _set(self, obj, kind) -> None:
        # Iteration order varies with PYTHONHASHSEED: encode each item on its own, sorted.
        self.emit("set", str(len(obj)))
        self._subclass(obj, kind, set if isinstance(obj, set) else frozenset)
        if _all_atoms(obj):  # the usual word set: no sub-hashes (reprs escape \x1f)
            self.emit("\x1f".join(sorted(map(repr, obj))))
            return
        digests = []
        for item in obj:
            encoder = _Encoder(self.own)
            encoder._where = [*self._where, "set item"]
            encoder.value(item)
            digests.append(encoder.hexdigest())
        self.emit(*sorted(digests))

    def _dict(self, obj, kind) -> None:
        # Insertion order is kept: an LF may depend on it (first matching rule wins).
        self.emit("dict", str(len(obj)))
        self._subclass(obj, kind, dict)
        if isinstance(obj, collections.defaultdict):
            self.value(obj.default_factory, "default_factory")
        if _all_atoms(obj) and _all_atoms(obj.values()):  # lexicons: one string, fast
            self.emit(repr(list(obj.items())))
            return
        for key, item in obj.items():
            self.value(key)
            self.value(item, str(key)[:40])

    def _numpy(self, obj) -> None:
        if isinstance(obj, np.dtype):
            self.emit("dtype", str(obj))
        elif obj.dtype.hasobject:
            self.emit("object array", repr(np.shape(obj)))
            self.value(obj.tolist())
        else:
            self.emit("array", str(obj.dtype), repr(np.shape(obj)))
            self._hash.update(np.ascontiguousarray(obj).tobytes())

    def _pandas(self, obj) -> None:
        self.emit(type(obj).__name__, repr(obj.shape))
        self.value([str(t) for t in (obj.dtypes if isinstance(obj, pd.DataFrame) else [obj.dtype])])
        self.value(list(obj.columns) if isinstance(obj, pd.DataFrame) else getattr(obj, "name", None))
        try:
            hashes = pd.util.hash_pandas_object(obj, index=not isinstance(obj, pd.Index))
        except TypeError:
            self.fail(f"a {type(obj).__name__} holding unhashable values")
        self._hash.update(hashes.to_numpy().tobytes())

    # --- code ------------------------------------------------------------------------

    def _code(self, code: types.CodeType) -> None:
        """The bytecode and constants (nested functions and comprehensions included);
        not the file name or line numbers: moving code does not change what it does."""
        self.emit("code", code.co_name, repr((code.co_argcount, code.co_posonlyargcount,
                                              code.co_kwonlyargcount, code.co_flags)),
                  *code.co_varnames, "|", *code.co_names, "|", *code.co_freevars)
        self._hash.update(code.co_code)
        self._hash.update(getattr(code, "co_exceptiontable", b""))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self._code(const)
            else:
                self.value(const)

    def _library(self, module_name) -> str | None:
        """The version code of ``module_name`` is named by (not read), or None."""
        if self.own and str(module_name).partition(".")[0] == "labeling":
            return "labeling"  # installed or not: its build is not the LF's own part
        top = library_top(module_name)
        return None if top is None else library_version(top)

    def _function(self, f: types.FunctionType) -> None:
        version = self._library(f.__module__)
        if version is not None:  # its code is named; what a factory made it with is not
            self.emit("library function", str(f.__module__), f.__qualname__, version)
            self._cells(f, _names(f.__code__))  # entity_lf's labels, installed or not
            return
        code = f.__code__
        self.emit("function", f.__qualname__)
        self._code(code)
        self.value(f.__defaults__, f"{f.__qualname__} defaults")
        self.value(f.__kwdefaults__, f"{f.__qualname__} defaults")
        self.value(getattr(f, "__dict__", None) or None, f.__qualname__)
        names = _names(code)
        module_globals = f.__globals__
        for name in sorted(names & module_globals.keys()):
            self.emit("global", name)
            self.value(module_globals[name], f"global {name} of {f.__qualname__}", names)
        for name, module in function_imports(f):  # `from my_words import WORDS` in its body
            self.emit("import", name)
            self.value(module, f"import {name} in {f.__qualname__}", names)
        self._cells(f, names)

    def _cells(self, f: types.FunctionType, names: frozenset) -> None:
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                contents = cell.cell_contents
            except ValueError:  # not assigned yet
                self.emit("empty cell", name)
                continue
            self.emit("cell", name)
            self.value(contents, f"closure variable {name} of {f.__qualname__}", names)

    def _builtin(self, obj) -> None:
        owner = getattr(obj, "__objclass__", None)
        self.emit("builtin", str(getattr(obj, "__module__", None) or getattr(owner, "__qualname__", "")),
                  getattr(obj, "__qualname__", repr(obj)))
        bound = getattr(obj, "__self__", None)
        if bound is not None and not isinstance(bound, types.ModuleType):
            self.value(bound, "bound to")  # e.g. WORDS.get: the dict's content matters

    def _module(self, module: types.ModuleType, names: frozenset | None) -> None:
        version = self._library(module.__name__)
        if version is not None:
            self.emit("library module", module.__name__, version)
            return
        attributes = vars(module)
        if names is None:  # reached as data, not from code: all of it
            names = frozenset(attributes)
        self.emit("module")
        for name in sorted(names & attributes.keys()):
            if not (name.startswith("__") and name.endswith("__")):
                self.emit("attribute", name)
                self.value(attributes[name], name, names)

    def _class(self, cls: type) -> None:
        version = self._library(cls.__module__)
        if version is not None:
            self.emit("library class", cls.__module__, cls.__qualname__, version)
            return
        self.emit("class", cls.__qualname__)
        for base in cls.__bases__:
            self.value(base, f"{cls.__qualname__} base")
        is_enum = issubclass(cls, enum.Enum)
        if is_enum:
            for member in cls:
                self.emit("member", member.name)
                self.value(member.value, member.name)
        for name, attr in sorted(vars(cls).items()):
            if (name in _CLASS_METADATA or isinstance(attr, _STRUCTURAL)
                    or is_enum and (isinstance(attr, cls) or name.startswith("_") and name.endswith("_")
                                    and not name.startswith("__"))):
                continue
            self.emit("class attribute", name)
            self.value(attr, f"{cls.__qualname__}.{name}")

    def _instance(self, obj, kind: type) -> None:
        """A plain object: its class and its attributes. Objects of C types (other than
        namespace-like ones) hold state no attribute shows: they have no fingerprint."""
        state = getattr(obj, "__dict__", None)
        slots = [s for c in kind.__mro__ for s in _slot_names(c)]
        hidden = [c for c in kind.__mro__ if not c.__flags__ & _HEAPTYPE and c not in _DICT_ONLY_BASES]
        if hidden or (state is None and not slots):
            self.fail(f"a {kind.__module__}.{kind.__qualname__} object")
        self.emit("object")
        self.value(kind)
        skip = ("_cache",) if isinstance(obj, BaseMapper) else ()  # snorkel's memo: results
        for name in sorted(state or ()):
            if name not in skip:
                self.emit("attribute", name)
                self.value(state[name], name)
        for name in slots:
            if hasattr(obj, name):
                self.emit("slot", name)
                self.value(getattr(obj, name), name)


def _all_atoms(items) -> bool:
    return set(map(type, items)) <= _ATOM_TYPES


def _slot_names(cls: type) -> list[str]:
    slots = vars(cls).get("__slots__", ())
    slots = [slots] if isinstance(slots, str) else list(slots)
    return [s for s in slots if s not in ("__dict__", "__weakref__")]


def _names(code: types.CodeType) -> frozenset:
    """Global and attribute names used by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return frozenset(names)
