"""An LF module saved as cp1252 by a Windows editor ("straße" with byte 0xdf): one line
naming the file, the line and the byte, and saying to save it as UTF-8."""

import pytest

from labeling.errors import LFLoadError
from labeling.lf.loader import load_lfs


def test_lf_module_not_in_utf8_names_file_line_and_byte(tmp_path):
    module = tmp_path / "rules.py"
    module.write_bytes('from labeling import keyword_lf\r\n\r\n'
                       'street = keyword_lf(["straße"], label=0)\r\n'.encode("cp1252"))
    with pytest.raises(LFLoadError) as info:
        load_lfs([str(module)], tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{module}: line 3: not valid UTF-8 (byte 0xdf)")
    assert "save it as UTF-8" in message


def test_lf_module_with_a_bom_and_crlf_loads(tmp_path):
    module = tmp_path / "rules.py"
    module.write_bytes(b"\xef\xbb\xbf" + 'from labeling import keyword_lf\r\n'
                       'street = keyword_lf(["straße"], label=0)\r\n'.encode("utf-8"))
    assert [lf.name for lf in load_lfs([str(module)], tmp_path)] == ["keyword_straße"]
