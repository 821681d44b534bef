"""The in-sample footnote of `labeling report`/`train` points to a held-out dev estimate
only when there is one: a fit-once end model (minilm_finetune) has no dev CV."""

from labeling import report


def _metrics(cv):
    end = {"name": "minilm_finetune", "dev": {"accuracy": 1.0, "f1": 1.0, "in_sample": True}}
    if cv is not None:
        end["cv"] = cv
    return {"end_model": end}


def test_cross_validated_end_model_points_to_its_cv(capsys):
    report.print_scores(_metrics(0.93), splits=("dev",))
    out = " ".join(capsys.readouterr().out.split())  # as printed, wrapped to the terminal
    assert "the end model's dev CV score below is the held-out estimate" in out


def test_fit_once_end_model_does_not_claim_a_held_out_estimate(capsys):
    report.print_scores(_metrics(None), splits=("dev",))
    out = " ".join(capsys.readouterr().out.split())
    assert "held-out estimate" not in out.replace("no dev score here is a held-out estimate", "")
    assert "was not cross-validated: no dev score here is a held-out estimate" in out


def test_a_stale_fit_once_end_model_is_not_promised_a_dev_cv(capsys):
    """Before: after `labeling fit` made a fine-tune stale, the footnote said "`labeling
    train` cross-validates the end model on dev", which a fit-once model never does."""
    metrics = _metrics(None)
    metrics["end_model"].update(stale=True, cv_skipped="minilm_finetune is fit once")
    report.print_scores(metrics, splits=("dev",))
    out = " ".join(capsys.readouterr().out.split())
    assert "cross-validates" not in out
    assert "`labeling train` refits the end model" in out
    metrics["end_model"].pop("cv_skipped")  # a cross-validated family keeps the pointer
    report.print_scores(metrics, splits=("dev",))
    assert "cross-validates the end model" in " ".join(capsys.readouterr().out.split())
