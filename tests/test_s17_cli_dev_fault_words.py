"""`labeling dev`'s line for an LF raising on a row names what to do in the loop (h135):
before, it said `call apply(fault_tolerant=True)`, the notebook's call, in a terminal
watcher that has no such call and no --fault-tolerant flag."""

import functools
import io

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
