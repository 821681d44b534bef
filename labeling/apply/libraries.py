"""Whether code belongs to the standard library or an installed package, and which
build: LF fingerprints (:mod:`labeling.apply.fingerprint`) name such code by its version
and files' hashes instead of reading it, so upgrading or rebuilding a library
invalidates the LFs using it."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import platform
import site
import sys
import sysconfig


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= {*site.getsitepackages(), site.getusersitepackages()}
    return tuple(sorted(os.path.realpath(p) + os.sep for p in paths if p))


@functools.lru_cache(maxsize=None)
def library_top(module_name: str | None) -> str | None:
    """The top-level package of ``module_name`` when it is part of the standard library
    or an installed package (its code is named by version, not read); None for user
    code, including code whose module cannot be found."""
    if not module_name:
        return None
    top = module_name.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return top
    module = sys.modules.get(module_name) or sys.modules.get(top)
    file = getattr(module, "__file__", None)
    return top if file and os.path.realpath(file).startswith(_library_dirs()) else None


def library_version(top: str) -> str:
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return f"python {platform.python_version()}"
    return package_version(top)


@functools.lru_cache(maxsize=None)
def package_version(top: str) -> str:
    # Most distributions are named as their package: try that first, since mapping all
    # packages to their distributions reads every installed package's file list (~1 s).
    version = _distribution_version(top)
    for distribution in _distributions().get(top, []) if version is None else []:
        version = version or _distribution_version(distribution)
    return version or f"{top} {getattr(sys.modules.get(top), '__version__', 'unknown')}"


def _distribution_version(distribution: str) -> str | None:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    # a wheel built from changed code may keep its version number (labeling's own, a
    # team's rules package kept at 0.1.0): the hashes of its files (its RECORD, as
    # installers write it) tell the builds apart; none (some installers): the version
    record = dist.read_text("RECORD")
    if not record:
        return f"{distribution} {dist.version}"
    return f"{distribution} {dist.version} {hashlib.sha256(record.encode()).hexdigest()[:16]}"


@functools.lru_cache(maxsize=1)
def _distributions() -> dict:
    return importlib.metadata.packages_distributions()
