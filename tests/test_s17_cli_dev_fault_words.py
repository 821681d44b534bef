"""`labeling dev`'s line for an LF raising on a row names what to do in the loop (h135):
before, it said `call apply(fault_tolerant=True)`, the notebook's call, in a terminal
watcher that has no such call and no --fault-tolerant flag."""

import functools
import io
from pathlib import Path

from rich.console import Console

import labeling.dev_loop

RAISING = '''
from labeling import ABSTAIN, labeling_function

@labeling_function()
def boom(x):
    raise ValueError("no")
'''


def test_dev_loop_says_set_fault_tolerant_in_the_config(make_task):
    config = make_task(lf_source=RAISING,
                       config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    out = io.StringIO()
    watch = functools.partial(labeling.dev_loop.watch, max_rounds=1, interval=0.01)
    watch(config, console=Console(file=out, width=300))
    text = out.getvalue()
    assert "LF 'boom' raised ValueError: no on train row 1" in text, text
    assert "set [apply] fault_tolerant = true in the config" in text
    assert "call apply(" not in text and "--fault-tolerant" not in text


def test_multi_label_dev_loop_says_set_fault_tolerant_in_the_config(tmp_path):
    # f138: a multi-label task's steps run outside Session, so the loop printed the CLI's
    # "use --fault-tolerant", a flag `labeling dev` does not have
    from labeling.config import load_config
    from labeling.review.sample import write_sample_project

    repo = Path(__file__).resolve().parents[1]
    config = write_sample_project(repo / "data" / "goemotions" / "labeling.toml",
                                  tmp_path / "p", sizes={"train": 40, "dev": 20, "test": 20},
                                  label_model="mv", end_model="tfidf_logreg")
    (tmp_path / "p" / "extra_lfs.py").write_text(RAISING + '\nfrom labeling.lf.core import '
                                                 'for_label\nboom_joy = for_label("joy", boom)\n')
    first = load_config(config).lfs[0]
    text = config.read_text()
    assert f'lfs = ["{first}"]' in text
    config.write_text(text.replace(f'lfs = ["{first}"]', f'lfs = ["{first}", "extra_lfs.py"]'))
    assert load_config(config).multi_label
    out = io.StringIO()
    labeling.dev_loop.watch(config, max_rounds=1, interval=0.01,
                            console=Console(file=out, width=400))
    text = out.getvalue()
    assert "LF 'boom' raised ValueError: no on train row 1" in text, text
    assert "set [apply] fault_tolerant = true in the config" in text
    assert "call apply(" not in text and "--fault-tolerant" not in text
