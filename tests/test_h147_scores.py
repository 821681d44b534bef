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


def _budget_metrics() -> dict:
    """A run whose end model's own CV (0.947, its weak weight picked on the folds that
    score it) is not the nested score the verdict states (0.943): the bundled task's."""
    return {"end_model": {"name": "tfidf_minilm_avg", "label_mode": "soft", "cv": 0.9473,
                          "cv_nested": {"end_model": 0.9426, "gold_only": 0.9421,
                                        "gain": 0.0005, "se": 0.0191}},
            "gold_only": {"cv": 0.9421, "metric": "f1", "n_dev": 264, "verdict": "tie",
                          "text": "the pipeline only ties the gold-only baseline on dev CV "
                                  "(0.943 vs 0.942 f1)"}}


def test_dev_cv_line_says_which_end_model_cv_the_verdict_states():
    out = " ".join(_printed(report.print_gold_budget, _budget_metrics()).split())
    assert ("Dev CV (f1): end model 0.947 (its weak weight picked on these folds; on folds "
            "it was not picked on: 0.943), gold-only baseline 0.942") in out
    assert "(0.943 vs 0.942 f1)" in out  # the verdict's numbers: both on the line above


def test_report_md_dev_cv_line_says_which_end_model_cv_the_verdict_states():
    from labeling.distill import gold_budget
    from labeling.distill_output import gold_budget_lines
    line = gold_budget_lines({"gold_budget": gold_budget(_budget_metrics())})[0]
    assert "end model 0.947 (its weak weight picked on these folds; on folds it was not " \
           "picked on: 0.943), gold-only baseline 0.942" in line


def test_dev_cv_line_of_the_gold_only_choice_has_no_nested_score():
    metrics = _budget_metrics()
    metrics["end_model"]["label_mode"] = "gold_only"
    out = " ".join(_printed(report.print_gold_budget, metrics).split())
    assert "Dev CV (f1): end model 0.947, gold-only baseline 0.942" in out


def test_auto_choosing_dawid_skene_learns_nothing_from_dev_so_its_dev_scores_are_held_out():
    import numpy as np

    from labeling.models import fit_on_dev
    from labeling.models.auto import AutoLabelModel
    from labeling.models.dawid_skene import DawidSkene

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    L = np.where(rng.random((300, 4)) < 0.6, np.where(rng.random((300, 4)) < 0.8, y[:, None],
                                                       1 - y[:, None]), -1)
    L_dev, y_dev = L[:60], y[:60]
    auto = AutoLabelModel(cardinality=2, candidates=("dawid_skene",)).fit(L[60:], y_dev, L_dev)
    assert auto.chosen_ == "dawid_skene"  # over mv, which is always scored too
    alone = DawidSkene(cardinality=2).fit(L[60:])  # no dev gold at all
    assert np.allclose(auto.predict_proba(L_dev), alone.predict_proba(L_dev))
    assert not fit_on_dev({"name": "auto", "chosen": "dawid_skene", "dev": {}})
    assert fit_on_dev({"name": "dawid_skene", "dev": {}})  # named: dev rows enter its EM
    assert fit_on_dev({"name": "auto", "chosen": "weighted_vote", "dev": {}})
    assert not fit_on_dev({"name": "auto", "chosen": "mv", "dev": {}})
