"""What `labeling fit` and `run` print for a k-class task without positive_label."""

from labeling import report

PER_CLASS = [{"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}] * 3


def _fit_metrics(end_model=None):
    metrics = {"labels": ["a", "b", "c"],
               "majority_vote": {"name": "mv", "dev": {"accuracy": 0.6, "macro_f1": 0.5}},
               "label_model": {"name": "auto", "chosen": "weighted_vote",
                               "dev": {"accuracy": 0.7, "macro_f1": 0.6, "in_sample": True}}}
    if end_model is not None:
        metrics["end_model"] = end_model
    return metrics


def _printed(capsys) -> str:
    return " ".join(capsys.readouterr().out.split())  # as printed, wrapped to the terminal


def test_fit_footnote_names_no_end_model_and_is_a_whole_sentence(capsys):
    report.print_scores(_fit_metrics(), splits=("dev",))
    out = _printed(capsys)
    assert "* in-sample: fit on these dev rows (a label model that learns from dev)" in out
    assert "the end model was not cross-validated" not in out  # there is none yet
    assert not out.rstrip().endswith("test is")
    assert "`labeling train` cross-validates the end model on dev" in out


def test_fit_footnote_with_a_stale_end_model_points_to_train(capsys):
    stale = {"name": "tfidf_logreg", "cv": 0.8, "stale": "trained before the latest fit",
             "dev": {"accuracy": 1.0, "macro_f1": 1.0, "in_sample": True}}
    report.print_scores(_fit_metrics(stale), splits=("dev",))
    out = _printed(capsys)
    assert "(the end model; a label model that learns from dev)" in out
    assert "dev CV score below" not in out  # a stale end model's CV is not printed below
    assert "`labeling train` cross-validates the end model on dev" in out


def test_card_metrics_table_of_a_k_class_task_has_no_f1_column_of_dashes():
    from labeling.export.card import _metrics_lines
    scores = {"accuracy": 0.8, "macro_f1": 0.7, "per_class": PER_CLASS}
    card = {"labels": ["a", "b", "c"], "in_sample": ["end_model.dev"],
            "metrics": {"end_model": {"dev": scores, "test": scores},
                        "gold_only": {"test": scores}}}
    lines = _metrics_lines(card)
    assert lines[0] == "| model | split | accuracy | macro F1 |"
    assert "| end_model | test | 0.800 | 0.700 |" in lines
    assert not any(" - |" in line for line in lines)
    assert "| gold_only | 0.50 / 0.50 / 0.50 | 0.50 / 0.50 / 0.50 | 0.50 / 0.50 / 0.50 |" in lines


def test_card_metrics_table_of_a_binary_task_keeps_its_f1_column():
    from labeling.export.card import _metrics_lines
    card = {"labels": ["ham", "spam"],
            "metrics": {"end_model": {"test": {"accuracy": 0.9, "f1": 0.8, "macro_f1": 0.85}}}}
    assert _metrics_lines(card)[:3] == ["| model | split | accuracy | F1 | macro F1 |",
                                        "|---|---|---|---|---|",
                                        "| end_model | test | 0.900 | 0.800 | 0.850 |"]


def test_run_per_class_test_table_has_the_gold_only_baseline(capsys):
    scores = {"accuracy": 0.8, "macro_f1": 0.7, "per_class": PER_CLASS}
    gold = [{"precision": 0.25, "recall": 0.75, "f1": 0.375, "support": 2}] * 3
    metrics = _fit_metrics({"name": "tfidf_logreg", "cv": 0.8, "test": scores,
                            "dev": {**scores, "in_sample": True}})
    metrics["gold_only"] = {"name": "tfidf_logreg", "cv": 0.7,
                            "test": {"accuracy": 0.7, "macro_f1": 0.6, "per_class": gold}}
    report.print_per_class(metrics, "test")
    out = capsys.readouterr().out
    assert "gold-only baseline" in out and "0.25 / 0.75 / 0.38" in out
    report.print_per_class(metrics, "dev")  # no dev scores: trained on all of dev
    assert "gold-only" not in capsys.readouterr().out


def test_distillation_report_per_class_table_has_the_gold_only_baseline():
    from labeling.distill import gold_only_rows
    from labeling.distill_output import per_class_lines
    gold = [{"precision": 0.25, "recall": 0.75, "f1": 0.375, "support": 2}] * 3
    metrics = {"gold_only": {"name": "tfidf_logreg", "n_dev": 30, "test": {
        "accuracy": 0.7, "macro_f1": 0.6, "per_class": gold}}}
    lines = per_class_lines({"labels": ["a", "b", "c"], "rows": gold_only_rows(metrics)})
    assert "| gold-only baseline (tfidf_logreg, 30 dev labels) | 0.25 / 0.75 / 0.38 |" \
           " 0.25 / 0.75 / 0.38 | 0.25 / 0.75 / 0.38 |" in lines


def test_app_score_table_of_a_k_class_task_has_no_f1_column_of_none():
    from labeling.review.overview import score_table
    scores = {"n": 3, "accuracy": 0.8, "macro_f1": 0.7, "per_class": PER_CLASS}
    table = score_table({"end_model": {"name": "tfidf_logreg", "test": scores}})
    assert list(table.columns) == ["model", "split", "n", "accuracy", "macro_f1"]
    binary = score_table({"end_model": {"name": "tfidf_logreg", "test": {
        "n": 3, "accuracy": 0.8, "f1": 0.6, "macro_f1": 0.7}}})
    assert list(binary["f1"]) == [0.6]


def test_dev_cv_numbers_print_with_three_digits_in_report_and_card():
    from labeling.distill_output import gold_budget_lines
    from labeling.export.card import _baseline_lines
    budget = {"gold_budget": {"end_model_cv": 0.79, "gold_only_cv": 0.7578, "n_dev": 300,
                              "metric": "accuracy"}}
    assert gold_budget_lines(budget)[0] == ("Dev CV (accuracy): end model 0.790, gold-only "
                                            "baseline 0.758 (300 dev labels, same model "
                                            "family and folds).")
    card = {"cv": {"metric": "accuracy", "end_model": 0.79, "gold_only": 0.7578},
            "gold_only": {"n_dev": 300}}
    assert _baseline_lines(card)[2] == ("Dev CV (accuracy): end model 0.790, gold-only "
                                        "baseline 0.758 (300 dev labels, same model "
                                        "family and folds).")


def test_app_overview_says_the_dev_cv_scores_with_three_digits():
    from labeling.review.overview import gold_budget
    metrics = {"end_model": {"name": "tfidf_logreg", "cv": 0.79},
               "gold_only": {"cv": 0.7578, "metric": "accuracy", "n_dev": 300,
                             "text": "the pipeline beats ..."}}
    assert gold_budget(metrics)["cv_text"] == ("Dev CV (accuracy): end model 0.790, gold-only "
                                               "baseline 0.758 (300 dev labels, same model "
                                               "family and folds).")
