"""An LF importing a library in its body fingerprints the same before and after that
library is first imported in the process (h146's finding, session 18): `import spacy`
inside an LF (snorkel's `spacy_doc`/`default_nlp` path) was named by spaCy's version
before the first parse and by the module object after, so `Session(cfg).fit()` after a
session's apply said 'applied with other LFs than the task's now (changed: has_person)'
and the column cache missed those LFs once per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    from labeling.apply.fingerprint import lf_fingerprint
    import body_imports
    assert "spacy" not in sys.modules
    before = lf_fingerprint(body_imports.uses_spacy, 2)
    import spacy  # noqa: F401  (the first parse of a spaCy LF imports it)
    print(before == lf_fingerprint(body_imports.uses_spacy, 2))
''')


def test_a_library_imported_in_an_lfs_body_fingerprints_the_same_once_imported(tmp_path):
    (tmp_path / "body_imports.py").write_text(textwrap.dedent('''
        from snorkel.labeling import labeling_function

        @labeling_function()
        def uses_spacy(x):
            import spacy
            return 1 if spacy.blank("en")(x.text).ents else -1
    '''))
    probe = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True,
                           text=True)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "True"
