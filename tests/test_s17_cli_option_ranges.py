"""Out-of-range numbers on the LF loop's commands stop with one usage line (h135).
Before, `labeling show LF --limit -3` printed "(first -3)" and every row but the last
three (a Python slice), and `labeling dev --interval -1` printed a traceback
(ValueError: sleep length must be non-negative)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402


@pytest.mark.parametrize("args, option", [
    (["show", "kw_spam", "--limit", "-3"], "--limit"),
    (["show", "kw_spam", "--limit", "0"], "--limit"),
    (["dev", "--interval", "-1"], "--interval"),
])
def test_out_of_range_option_is_one_usage_line(make_task, args, option):
    config = make_task()
    result = cli(*args[:2], config, *args[2:]) if args[0] == "show" else \
        cli(args[0], config, *args[1:])
    one_error_line(result, f"Invalid value for '{option}'")
