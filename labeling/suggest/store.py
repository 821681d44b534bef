"""What the user said about proposals: the last ones shown, the rejected, the accepted.

One JSON file in the run folder, ``suggestions.json``::

    {"last": {id: record}, "rejected": {id: {...}}, "accepted": {id: {...}}}

``last`` holds the proposals of the latest ``labeling suggest`` (with their dev scores
and examples), so ``--accept ID`` / ``--reject ID`` can name one; rejected and accepted
ids are never proposed again (an id is a hash of what the LF matches and votes, so the
same LF mined again has the same id).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from labeling.errors import LabelingError
from labeling.files import atomic_write

STORE_FILE = "suggestions.json"


class SuggestionStore:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / STORE_FILE
        self.data = {"last": {}, "rejected": {}, "accepted": {}}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise LabelingError(f"{self.path}: not valid JSON ({exc}); delete it to "
                                    "forget past rejections") from None
            for key in self.data:
                if isinstance(loaded.get(key), dict):
                    self.data[key] = loaded[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(self.data, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")

    @property
    def excluded(self) -> set[str]:
        """Ids never to propose again."""
        return set(self.data["rejected"]) | set(self.data["accepted"])

    def remember(self, rows: list[dict]) -> None:
        """Keep ``rows`` (scored proposals) as the last ones shown."""
        self.data["last"] = {r["proposal"].id: record(r) for r in rows}
        self.save()

    def get(self, proposal_id: str) -> dict:
        """The last suggestions' ``proposal_id``, unless it was accepted already (a second
        accept appended the same LF again, which the label model counts twice)."""
        done = self.data["accepted"].get(proposal_id)
        if isinstance(done, dict):
            raise LabelingError(f"proposal {proposal_id} was accepted already, as LF "
                                f"{done.get('name')} in {done.get('file')} ({done.get('when')}); "
                                "edit or delete it there")
        record_ = self.data["last"].get(proposal_id)
        if record_ is None:
            shown = ", ".join(self.data["last"]) or "none"
            raise LabelingError(f"no proposal {proposal_id!r} among the last suggestions "
                                f"({shown}); run `labeling suggest` first")
        return record_

    def reject(self, proposal_id: str) -> dict:
        rec = self.get(proposal_id)
        self.data["rejected"][proposal_id] = {"what": rec["what"],
                                              "label": rec["proposal"]["label"],
                                              "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.save()
        return rec

    def mark_accepted(self, proposal_id: str, name: str, file: str) -> None:
        self.data["accepted"][proposal_id] = {"name": name, "file": file,
                                              "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.save()


def record(row: dict) -> dict:
    """A scored proposal as JSON-ready data (no vote arrays)."""
    p = row["proposal"]
    out = {"id": p.id, "what": p.describe(), "proposal": p.to_dict()}
    for key, value in row.items():
        if key in ("proposal", "votes", "held_mask") or isinstance(value, np.ndarray):
            continue
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out
