"""Labeling functions for the GoEmotions Ekman task: 7 labels (anger, disgust, fear, joy,
sadness, surprise, neutral), several per comment (data/goemotions/README.md).

The 28-label keyword lists and regexes of goemotions28.py, grouped by Ekman's mapping
(data/goemotions/ekman_mapping.json): one LF per group and cue list, voting APPLIES
for the group; then Ekman-level cues (MORE_KEYWORDS, MORE_REGEXES: general vocabulary of
anger and disgust, and a question mark for surprise, whose group holds curiosity and
confusion), one LF each; the neutral LF as there, over all of them. Kept because each
raised the end model's dev CV macro-F1 (docs/multilabel.md); fear and sadness lists
written the same way lowered it and were left out.
"""

import importlib.util
import json
from pathlib import Path

from labeling.lf.core import APPLIES, for_label, keyword_lf, regex_lf

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


MORE_KEYWORDS = {
    "disgust": [
        "disgusted", "disgust", "grossed out", "ewww", "icky", "nauseating", "nauseous",
        "puke", "vomit", "barf", "filthy", "despicable", "scum", "scumbag", "degenerate",
        "pervert", "creep", "cringy", "cringey", "cringeworthy", "yikes", "repugnant",
        "abhorrent", "appalling", "sickens", "rotten", "sick"],
    "anger": [
        "fuck", "fucked", "shit", "bullshit", "crap", "dumb", "moron", "morons", "idiots",
        "dumbass", "hated", "hates", "hating", "annoys", "pisses", "pissed off", "ffs",
        "stfu", "wtf", "outrageous", "disgrace", "hypocrite", "hypocrites", "liar", "liars",
        "selfish", "rude", "jerk", "trash", "garbage", "awful", "worst", "how dare",
        "shame on", "absurd", "insult", "insulting", "offensive", "unfair", "bs"],
}
MORE_REGEXES = {"surprise": [r"\?"]}  # a question: curiosity, confusion, surprise


def more_lfs() -> list:
    """One LF per Ekman-level cue list and regex, voting APPLIES for its group."""
    lfs = [for_label(label, keyword_lf(words, label=APPLIES, name=f"kw_{label}_more"))
           for label, words in MORE_KEYWORDS.items()]
    for label, patterns in MORE_REGEXES.items():
        lfs += [for_label(label, regex_lf(p, label=APPLIES, name=f"re_{label}_more{i}"))
                for i, p in enumerate(patterns)]
    return lfs


EMOTION_LFS = emotion_lfs(grouped(KEYWORDS), grouped(REGEXES)) + more_lfs()
LFS = EMOTION_LFS + [neutral_lf(EMOTION_LFS)]
