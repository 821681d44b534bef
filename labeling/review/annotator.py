"""Who gave a label, and two annotators on one example.

Why: a team labels on one machine, in several tabs at once. The store keeps one label per
example (the latest), so without a name recorded nobody could tell who gave a label; and a
tab that showed an example before someone else labeled it replaced that label unseen
(its annotator never learned the two disagreed). Now each label records the name typed in
the app's sidebar, the pages say who gave the label shown and when, and a click on an
example whose label another annotator changed after the page was shown is refused once
with a warning naming them (saving again replaces it).

``record``: :meth:`labeling.gold.AnnotationStore.record` (a dict, or None).
"""

from __future__ import annotations

import time

import pandas as pd

MAX_NAME = 60


def clean_name(value) -> str | None:
    """The annotator's name as stored: stripped, at most 60 characters, None when blank."""
    name = " ".join(str(value or "").split())[:MAX_NAME]
    return name or None


def when(record: dict) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(record["updated_at"]))


def with_times(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (rows of :meth:`labeling.gold.AnnotationStore.table`) with ``updated_at``
    as UTC datetimes: the store keeps seconds since 1970, which the app's table column
    read as milliseconds (every label "given" on 1970-01-21)."""
    return table.assign(updated_at=pd.to_datetime(table["updated_at"], unit="s", utc=True))


def byline(record: dict | None) -> str:
    """`` (alice, 2026-12-07 08:01 UTC)``: who gave the stored label and when; empty
    without a record."""
    if record is None:
        return ""
    return f" ({record.get('annotator') or 'no name'}, {when(record)})"


def changed_meanwhile(example_id: str, seen: dict | None, now: dict | None,
                      me: str | None) -> str | None:
    """One line when the example's label changed after the page showed it (``seen``: its
    record then, ``now``: its record at the click) and not by ``me``: the click is then
    not saved, so that a label another annotator gave is not replaced unseen. None when
    saving is fine (unchanged, removed since, or changed by ``me`` in another tab)."""
    if now is None or seen == now or (me is not None and now.get("annotator") == me):
        return None
    who = now.get("annotator") or "someone without a name"
    return (f"{example_id} was labeled {now.get('label_name')} by {who} at {when(now)} "
            "after this page showed it, so your label was not saved; save it again to "
            "replace theirs.")


def by_annotator(names) -> str:
    """``dana 12 · bob 3 · no name 2``: how many stored annotations each annotator gave
    (``names``: the table's ``annotator`` column), most first."""
    counts: dict[str, int] = {}
    for name in names:
        key = (clean_name(name) if isinstance(name, str) else None) or "no name"  # NaN: none
        counts[key] = counts.get(key, 0) + 1
    return " · ".join(f"{n} {c}" for n, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])))


def save_unless_changed(example_id: str, seen: dict | None, read, write,
                        me: str | None) -> str | None:
    """A label button's save: None when saved, else the one line saying why not.

    ``read()``: the example's record now; ``write(expect)``: the store's write made only
    if the stored record is still ``expect`` (checked and written in one transaction,
    :meth:`labeling.gold.AnnotationStore.set`), True when written. So two clicks close
    together cannot both pass the check (:func:`changed_meanwhile`) with the later one
    replacing the other unseen: the write of the one that lost is refused."""
    now = read()
    if note := changed_meanwhile(example_id, seen, now, me):
        return note
    if write(now):
        return None
    return changed_meanwhile(example_id, seen, read(), me) or (
        f"{example_id} was changed while your click was being saved, so your label was not "
        "saved; save it again.")
