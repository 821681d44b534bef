"""A sample run whose texts and ids hold Markdown and HTML, for the app's "data is shown
literally" tests (AppTest in test_app_pages.py, a real browser in test_browser.py).

Every text ends with ``TEXT_PAYLOAD`` and every id with ``ID_PAYLOAD``: a remote image
(a beacon if the page renders it), bold, an HTML image and a link. The image URLs point
at 127.0.0.1 port 1, where nothing listens: nothing can leave the machine even if a
page did render them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from labeling.review.sample import write_sample_project

BEACON = "http://127.0.0.1:1/img"
ID_BEACON = "http://127.0.0.1:1/id-img"
TEXT_PAYLOAD = (f" ![x]({BEACON}) **bold** <img src=\"{BEACON}-html\"> "
                "[link](http://127.0.0.1:1/link) :red[red]")
ID_PAYLOAD = f"-**b**![i]({ID_BEACON})"
# what a page's Markdown source holds when it would render the payloads (an escaped
# character has a backslash before it)
ACTIVE_MARKUP = re.compile(r"!\[[xi]\]\(|\*\*b(?:old)?\*\*|(?<!\\)<img|\[link\]\(|:red\[")
SIZES = {"train": 120, "dev": 60, "test": 60}


def ensure_hostile_run(source_config: Path | str, out_dir: Path | str) -> Path:
    """The hostile sample project with a finished run (built once per ``out_dir``)."""
    out = Path(out_dir)
    done = out / ".run-complete"
    path = out / "labeling.toml"
    if done.is_file():
        return path
    from labeling import pipeline

    # tfidf_logreg: the end model's choice is not what these tests look at
    path = write_sample_project(source_config, out, sizes=SIZES, end_model="tfidf_logreg")
    id_column = pipeline.load_task(path).config.data.id_column
    for csv in sorted((out / "data").glob("*.csv")):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        frame["text"] = frame["text"] + TEXT_PAYLOAD
        frame[id_column] = frame[id_column] + ID_PAYLOAD
        frame.to_csv(csv, index=False)
    pipeline.run(pipeline.load_task(path), progress=False)
    done.write_text("ok\n", encoding="utf-8")
    return path
