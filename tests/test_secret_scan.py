"""The API-key scan used by the LLM tests finds a key in compressed files too: a byte
search of ``model.skops`` (deflated zip members) or of a compressed Parquet page would
pass with the key inside."""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from secret_scan import files_holding  # noqa: E402

SECRET = "sk_live_SECRET_0a1b2c3d4e5f60718293"


def old_scan_finds(path: Path) -> bool:
    """What the tests used to do."""
    return SECRET.encode() in path.read_bytes()


def deflated_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_key_in_a_deflated_zip_member_is_found(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(deflated_zip({"schema.json": b'{"x": 1}',
                                   "vocab.json": b'{"words": ["' + SECRET.encode() * 3 + b'"]}'}))
    assert not old_scan_finds(path)
    assert files_holding([path], SECRET) == [f"{path}!vocab.json"]


def test_key_in_a_real_skops_model_is_found(tmp_path):
    from labeling.export import save_model
    from labeling.train.end_model import train_end_model

    key = SECRET.lower()  # the TF-IDF vocabulary is lowercased; \w\w+ keeps it one token
    texts = [f"my key is {key} subscribe", "subscribe now", "love this song", "great song"]
    model = train_end_model(texts, np.eye(2)[[1, 1, 0, 0]], np.ones(4, bool))
    path = tmp_path / "model.skops"
    save_model(model, path)
    assert key.encode() not in path.read_bytes()
    assert files_holding([path], key)


def test_key_in_a_compressed_parquet_cell_and_column_name_is_found(tmp_path):
    path = tmp_path / "L.parquet"
    # the key is neither the least nor the greatest value: Parquet keeps those two per
    # column chunk uncompressed (statistics), where a byte search would see them
    frame = pd.DataFrame({"text": ["a fine one", f"leaked {SECRET} here", "zz fine too"],
                          "nested": [["a"], ["b", SECRET], ["zz"]]})
    frame.to_parquet(path, compression="gzip")
    assert not old_scan_finds(path)
    assert files_holding([path], SECRET) == [f"{path} [parquet column 'text', row 1]",
                                             f"{path} [parquet column 'nested', row 1]"]
    named = tmp_path / "named.parquet"
    pd.DataFrame({f"p_{SECRET}": [1.0]}).to_parquet(named, compression="zstd")
    # (column names are also in the uncompressed footer: the byte search sees them too)
    assert f"{named} [parquet column name 'p_{SECRET}']" in files_holding([named], SECRET)


def test_key_in_gzip_and_in_a_zip_inside_a_zip_is_found(tmp_path):
    gz = tmp_path / "log.gz"
    gz.write_bytes(gzip.compress(b"token=" + SECRET.encode()))
    outer = tmp_path / "outer.zip"
    outer.write_bytes(deflated_zip({"inner.zip": deflated_zip({"k.txt": SECRET.encode()})}))
    assert not old_scan_finds(gz) and not old_scan_finds(outer)
    assert files_holding([gz, outer], SECRET) == [f"{gz} [gunzipped]",
                                                  f"{outer}!inner.zip!k.txt"]


def test_plain_files_are_still_byte_searched_and_clean_files_pass(tmp_path):
    plain = tmp_path / "metrics.json"
    plain.write_text(f'{{"key": "{SECRET}"}}')
    clean = tmp_path / "clean.parquet"
    pd.DataFrame({"text": ["nothing here"]}).to_parquet(clean)
    assert files_holding([plain, clean], SECRET) == [str(plain)]
