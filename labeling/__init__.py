"""labeling: programmatic, weakly supervised data labeling.

Write labeling functions, combine their votes with a label model, train a small
classifier on the result, export it. See the README for the pipeline and the CLI.
"""

from labeling.lf import (ABSTAIN, entity_lf, keyword_lf, labeling_function, matcher_lf,
                         regex_lf, spacy_lf)

__version__ = "0.1.0"

__all__ = ["ABSTAIN", "__version__", "entity_lf", "keyword_lf", "labeling_function",
           "matcher_lf", "regex_lf", "spacy_lf"]
