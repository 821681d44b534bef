"""An LF module failing to import names its own line, not the line of a library file
that has the same name (h146). Before, the traceback's frames were matched by file
name only: `functions/nlp.py` building snorkel's SpacyPreprocessor without the spaCy
model said "failed to import (line 72)", the line in snorkel's preprocess/nlp.py."""

import pytest

from labeling.errors import LabelingError
from labeling.lf.loader import load_lfs

NLP = '''\
from snorkel.preprocess.nlp import SpacyPreprocessor

ABSTAIN = -1

spacy = SpacyPreprocessor(text_field="text", doc_field="doc", language="xx_no_such_model_h146")
'''


@pytest.mark.parametrize("entry", ["functions/nlp.py", "nlp"])
def test_the_line_is_the_modules_own(tmp_path, entry, monkeypatch):
    folder = tmp_path / "functions"
    folder.mkdir()
    (folder / "nlp.py").write_text(NLP)
    if entry == "nlp":  # a dotted module name, found on the path
        monkeypatch.syspath_prepend(str(folder))
    with pytest.raises(LabelingError) as caught:
        load_lfs([entry], tmp_path)
    message = str(caught.value)
    assert "failed to import (line 5): OSError" in message, message
