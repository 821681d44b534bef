"""The annotate pages' queue: which example to show, and what skip, save and back do.

Why a trail: with "hide labeled" on, a saved example leaves the queue, so "back" as a
step back in the queue never returned to it (it went to the queue's previous, or last,
unlabeled example) and a wrong label could not be corrected from there. Now every
example moved past (saved or skipped) is pushed on a trail; "back" shows the last one
again, labeled or not, and saving or skipping a labeled one returns to where the queue
was.
``state`` is ``st.session_state`` (any mutable mapping); ``prefix`` keeps pages apart.
"""

from __future__ import annotations

from collections.abc import MutableMapping


def current(state: MutableMapping, prefix: str, queue: list,
            ids: list) -> tuple[str, int | None] | None:
    """(example id, its position in ``queue`` or None when it is no longer there), or
    None when there is nothing to show. ``ids``: the slice's examples, labeled or not."""
    back_to = state.get(f"{prefix}_back_to")
    if back_to is not None and back_to in ids:
        return back_to, (queue.index(back_to) if back_to in queue else None)
    if not queue:
        return None
    position = state.get(f"{prefix}_pos", 0) % len(queue)
    return queue[position], position


def moved_on(state: MutableMapping, prefix: str, example_id: str, advance: bool) -> None:
    """After a save or a skip of ``example_id``: an example "back" returned to goes back
    to the queue where it was; else it joins the trail and the queue moves on when
    ``advance`` (a skip, or a save with labeled examples kept in the queue)."""
    if state.get(f"{prefix}_back_to") == example_id:
        state[f"{prefix}_back_to"] = None
        return
    state[f"{prefix}_trail"] = [*state.get(f"{prefix}_trail", []), example_id]
    if advance:
        state[f"{prefix}_pos"] = state.get(f"{prefix}_pos", 0) + 1


def back(state: MutableMapping, prefix: str, queue: list) -> None:
    """The last example moved past (its place in ``queue`` when it is still there, else
    shown by itself), or else the queue's previous one."""
    trail = list(state.get(f"{prefix}_trail", []))
    state[f"{prefix}_back_to"] = None
    if not trail:
        state[f"{prefix}_pos"] = state.get(f"{prefix}_pos", 0) - 1
        return
    example_id = trail.pop()
    state[f"{prefix}_trail"] = trail
    if example_id in queue:
        state[f"{prefix}_pos"] = queue.index(example_id)
    else:
        state[f"{prefix}_back_to"] = example_id


def show_again(state: MutableMapping, prefix: str, example_id: str) -> None:
    """Show ``example_id`` next, labeled or not (a click on it was refused: another
    annotator labeled it after the page showed it, and its annotator should see that)."""
    state[f"{prefix}_back_to"] = example_id
