"""Which LF is running on which row: said when one row takes long, and on Ctrl+C.

An LF is user code and can hang on one row (a backtracking regex, a network call
without a timeout). The applier tells a :class:`Watch` which LF it calls on which rows
and hands it the list the votes are appended to, so following costs nothing per row:
the current row is the one after the votes already in the list. A daemon thread looks
a few times a second; when one row has taken ``STALL_SECONDS`` it prints

    still running LF 'x' on train row 10 (id=tr10) for 10 s

and again at 20 s, 40 s, ... (an LF called once for the whole split, as keyword, regex
and prompt LFs are, is "on train (all its rows in one call)"). On Ctrl+C the applier prints where it stopped.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Sequence

from tqdm.auto import tqdm

STALL_SECONDS = 10.0  # read when a Watch starts, so a test (or a user) can change it


def say(message: str) -> None:
    """One line on stderr, above any progress bar."""
    tqdm.write(message, file=sys.stderr)


class Watch:
    """The LF being called and its row, for messages; a context manager running the
    stall thread. ``names`` turns a row position into ``"train row 11 (id=tr10)"``."""

    def __init__(self, names: Callable[[int], str], split: str | None):
        self._names = names
        self._split = split
        self._state: tuple | None = None  # replaced whole: the thread reads it unlocked
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, lf_name: str, positions: Sequence[int] | None = None,
               done: list | None = None) -> None:
        """``lf_name`` now runs on the rows at ``positions``, in order, appending its
        votes to ``done``; without them, on the whole split at once."""
        self._state = (lf_name, positions, done)

    def follow_elsewhere(self, description: str) -> None:
        """The rows are labeled in other processes (they watch themselves)."""
        self._state = (description,)

    def where(self) -> str | None:
        """``"LF 'x' on train row 10 (id=tr10)"``: where the run is now, if anywhere."""
        state = self._state
        if state is None:
            return None
        if len(state) == 1:
            return state[0]
        lf_name, positions, done = state
        if positions is None or done is None or len(done) >= len(positions):
            # one call for every row (a vectorised keyword or regex LF, a prompt LF): on a
            # big split it runs for a while without being stuck on any row
            return f"LF '{lf_name}' on {self._split or 'the data'} (all its rows in one call)"
        return f"LF '{lf_name}' on {self._names(int(positions[len(done)]))}"

    def __enter__(self) -> "Watch":
        stall = STALL_SECONDS
        self._thread = threading.Thread(target=self._report_stalls, args=(stall,),
                                        name="labeling-lf-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._stop.set()
        self._thread.join()
        if isinstance(exc, KeyboardInterrupt) and self.where() is not None:
            # Said here: the CLI ends a KeyboardInterrupt with exit 130 and no message.
            message = f"interrupted: {self.where()}"
            say(message)
            exc.add_note(message)

    def _report_stalls(self, stall: float) -> None:
        last, since, report_at = None, time.monotonic(), stall
        while not self._stop.wait(min(1.0, stall / 4)):
            state = self._state
            if state is None or len(state) == 1:
                continue
            # The same state object with as many votes: still on the same row.
            key = (id(state), len(state[2]) if state[2] is not None else -1)
            now = time.monotonic()
            if key != last:
                last, since, report_at = key, now, stall
                continue
            if now - since >= report_at:
                where = self.where()
                if where is not None:
                    say(f"still running {where} for {now - since:.0f} s")
                report_at *= 2
