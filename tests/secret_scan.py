"""Where a secret (an API key) occurs in files, also inside compressed ones.

A byte search of a file misses a key inside a deflated zip member (``model.skops`` is a
zip), a gzip file, or a compressed Parquet page, so each file is searched as bytes and,
when it is one of those, decoded: every zip member (recursively), the gzip payload, and
every Parquet column name, schema metadata entry and string or bytes cell (nested lists
and structs included). SQLite stores text as is; the byte search covers it.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from typing import Iterable

import pyarrow.parquet as pq

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


def _in_value(value, needle: str) -> bool:
    """``needle`` in a decoded Parquet value (a str, bytes, or nested list/dict of them)."""
    if isinstance(value, str):
        return needle in value
    if isinstance(value, (bytes, bytearray)):
        return needle.encode() in value
    if isinstance(value, dict):
        return any(_in_value(k, needle) or _in_value(v, needle) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_in_value(v, needle) for v in value)
    return False


def _parquet_findings(data: bytes, secret: str, where: str) -> list[str]:
    found = []
    table = pq.read_table(io.BytesIO(data))
    for key, value in (table.schema.metadata or {}).items():
        if _in_value(key, secret) or _in_value(value, secret):
            found.append(f"{where} [parquet metadata]")
    for name in table.column_names:
        if secret in name:
            found.append(f"{where} [parquet column name {name!r}]")
        for row, value in enumerate(table.column(name).to_pylist()):
            if _in_value(value, secret):
                found.append(f"{where} [parquet column {name!r}, row {row}]")
    return found


def findings_in_bytes(data: bytes, secret: str, where: str) -> list[str]:
    """Places in ``data`` (named from ``where``) holding ``secret``, decoded or not."""
    found = [where] if secret.encode() in data else []
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                found += findings_in_bytes(archive.read(member), secret, f"{where}!{member}")
    elif data.startswith(_GZIP_MAGIC):
        found += findings_in_bytes(gzip.decompress(data), secret, f"{where} [gunzipped]")
    elif data.startswith(_PARQUET_MAGIC) and data.endswith(_PARQUET_MAGIC):
        found += _parquet_findings(data, secret, where)
    return found


def files_holding(paths: Iterable[Path], secret: str) -> list[str]:
    """Every place in ``paths`` that holds ``secret``: [] when it is written nowhere."""
    assert len(secret) >= 8, "a short needle would match by chance"
    return [hit for path in paths for hit in findings_in_bytes(Path(path).read_bytes(), secret,
                                                               str(path))]
