"""Scores audit (h147): every printed number says whether it is held out."""

from labeling import report
from labeling.metrics import per_class_scores

LABELS = ["HUM", "LOC", "NUM"]


def _per_class(y_pred):
    return per_class_scores([0, 0, 1, 1, 2, 2], y_pred, len(LABELS))


def _printed(fn, *args) -> str:
    with report.console().capture() as capture:
        fn(*args)
    return capture.get()


def _header(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith("┃ class"))
    return [cell.strip() for cell in line.strip("┃").split("┃")]


def test_per_class_dev_table_marks_models_fit_on_dev_as_in_sample():
    metrics = {"labels": LABELS,
               "majority_vote": {"name": "mv", "dev": {"per_class": _per_class([0, 1, 1, 1, 2, 0])}},
               "label_model": {"name": "auto", "dev": {"per_class": _per_class([0, 0, 1, 1, 2, 0]),
                                                       "in_sample": True}},
               "end_model": {"name": "tfidf_logreg", "cv": 0.8,
                             "dev": {"per_class": _per_class([0, 0, 1, 1, 2, 2]),
                                     "in_sample": True}}}
    out = _printed(report.print_per_class, metrics, "dev")
    assert _header(out) == ["class", "gold rows", "majority vote", "label model*", "end model*"]
    assert "*: in-sample" in out
    # test is held out: no mark
    metrics = {key: ({**section, "test": {"per_class": section["dev"]["per_class"]}}
                     if isinstance(section, dict) else section) for key, section in metrics.items()}
    out = _printed(report.print_per_class, metrics, "test")
    assert _header(out) == ["class", "gold rows", "majority vote", "label model", "end model"]
    assert "in-sample" not in out
