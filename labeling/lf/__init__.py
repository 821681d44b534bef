"""The authoring API: what users write in ``functions/<task>.py``."""

from labeling.lf.core import ABSTAIN, PatternLF, keyword_lf, labeling_function, regex_lf
from labeling.lf.nlp import entity_lf, matcher_lf, spacy_lf

__all__ = ["ABSTAIN", "PatternLF", "entity_lf", "keyword_lf", "labeling_function",
           "matcher_lf", "regex_lf", "spacy_lf"]
