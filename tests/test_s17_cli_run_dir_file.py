"""`--run-dir` (or `export --out`, or `output_dir`) naming a file (h135): before, the
writing commands said `output folder is not writable (File exists)`, as if it were a
permission problem, `show` and `report` said there was no finished run, and `cache`
said `no run folder yet: nothing cached` (exit 0). Now each says it is a file."""

import sys
from pathlib import Path

import pytest

from labeling.errors import LabelingError
from labeling.files import check_writable

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402


@pytest.mark.parametrize("command", [["fit"], ["show", "kw_spam"], ["report"], ["cache"]])
@pytest.mark.parametrize("under", [False, True])
def test_run_dir_naming_a_file_says_so(make_task, tmp_path, command, under):
    config = make_task()
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    run_dir = afile / "run" if under else afile
    result = cli(*command, config, "--run-dir", run_dir)
    one_error_line(result, f"--run-dir {run_dir}: ", "a file, not a folder")
    assert afile.read_text() == "not a folder"


def test_output_folder_that_is_a_file(tmp_path):
    afile = tmp_path / "out"
    afile.write_text("x")
    with pytest.raises(LabelingError, match=r"out: output folder is a file, not a folder$"):
        check_writable(afile)
    with pytest.raises(LabelingError, match=r"output folder under .*out, which is a file"):
        check_writable(afile / "model")


def test_a_folder_is_still_created(tmp_path):
    check_writable(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize("command", [["report", "C"], ["cache", "C"], ["evaluate", "C"],
                                     ["suggest", "C"], ["show", "kw_spam", "C"],
                                     ["apply", "C", "--no-progress"]])
@pytest.mark.parametrize("under", [False, True])
def test_output_dir_in_the_config_naming_a_file_says_so(make_task, command, under):
    # f138: only apply said so; report said "no finished run", cache "nothing cached"
    # (exit 0), evaluate "nothing to evaluate" and suggest "not found"
    afile_name = "notes.txt"
    output_dir = f"{afile_name}/run" if under else afile_name
    config = make_task(config={"output_dir": output_dir})
    (config.parent / afile_name).write_text("not a folder")
    result = cli(*[config if arg == "C" else arg for arg in command])
    one_error_line(result, f"{config}: output_dir {output_dir}: ",
                   "a file, not a folder" if not under else "notes.txt is a file, not a folder")
    assert (config.parent / afile_name).read_text() == "not a folder"
