"""`[end_model] name = "module:Class"` (a class, not a factory) and `candidates =
"one_name"` (a string, not a list) get one line saying what to write
(labeling.train.user_model, labeling.train.auto)."""

from __future__ import annotations

import pytest

from labeling import pipeline
from labeling.errors import LabelingError
from labeling.train.auto import end_model_options
from labeling.train.user_model import make_user_model


def _train(make_task, end_model):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE},
                               "end_model": end_model})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    with pytest.raises(LabelingError) as info:
        pipeline.step_train(task)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("params", [{}, {"C": 2.0}])
def test_a_class_is_refused_saying_to_pass_a_function(params):
    # before: "is an estimator, not a function: it takes no params", or a clone error
    with pytest.raises(ValueError, match=r"^end model 'sklearn\.linear_model:LogisticRegression"
                                         r"': pass a function returning an estimator \(def "
                                         r"make\(\): return LogisticRegression\(\)\), not the "
                                         r"class$"):
        make_user_model("sklearn.linear_model:LogisticRegression", **params)


def test_a_class_in_the_config_is_refused_naming_the_config(make_task):
    message = _train(make_task, {"name": "sklearn.linear_model:LogisticRegression",
                                 "params": {"C": 2.0}})
    assert "labeling.toml: end_model: end model 'sklearn.linear_model:LogisticRegression': " \
        "pass a function" in message and message.endswith("not the class")


def test_candidates_as_a_string_is_refused_saying_to_write_a_list(make_task):
    with pytest.raises(ValueError, match=r'^candidates = "tfidf_logreg" is one name; write a '
                                         r'list: candidates = \["tfidf_logreg"\]$'):
        end_model_options("auto", {"candidates": "tfidf_logreg"})
    # before: "candidates must be some of ..., got ['t', 'f', 'i', 'd', 'f', '_', ...]"
    message = _train(make_task, {"name": "auto", "params": {"candidates": "tfidf_logreg"}})
    assert message.endswith('labeling.toml: end_model: candidates = "tfidf_logreg" is one name; write a '
                            'list: candidates = ["tfidf_logreg"]')
    assert end_model_options("auto", {"candidates": ["tfidf_logreg"]})["candidates"] == [
        "tfidf_logreg"]
