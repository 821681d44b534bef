"""Labeling functions for the GoEmotions Ekman task: 7 labels (anger, disgust, fear, joy,
sadness, surprise, neutral), several per comment (data/goemotions/README.md).

The 28-label keyword lists and regexes of goemotions28.py, grouped by Ekman's mapping
(data/goemotions/ekman_mapping.json): one LF per group and cue list, voting APPLIES
for the group; the neutral LF as there.
"""

import importlib.util
import json
from pathlib import Path

# goemotions28.py, by path: LF modules are loaded by path, not from a package
_spec = importlib.util.spec_from_file_location("goemotions28_cues",
                                               Path(__file__).with_name("goemotions28.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
KEYWORDS, REGEXES, emotion_lfs, neutral_lf = (_base.KEYWORDS, _base.REGEXES,
                                              _base.emotion_lfs, _base.neutral_lf)

MAPPING = json.loads((Path(__file__).resolve().parents[1] / "data" / "goemotions"
                      / "ekman_mapping.json").read_text(encoding="utf-8"))
GROUP_OF = {emotion: group for group, emotions in MAPPING.items() for emotion in emotions}


def grouped(cues: dict) -> dict:
    out: dict[str, list] = {}
    for emotion, items in cues.items():
        out.setdefault(GROUP_OF[emotion], []).extend(items)
    return {group: list(dict.fromkeys(items)) for group, items in out.items()}


EMOTION_LFS = emotion_lfs(grouped(KEYWORDS), grouped(REGEXES))
LFS = EMOTION_LFS + [neutral_lf(EMOTION_LFS)]
