"""End and label models of your own (h105): ``[end_model] name = "file.py:function"``,
``Session.train(end_model=...)`` and ``Session.fit(label_model=...)``: the same CV, the
same family as gold-only baseline, metrics, export and predict as the built-in models;
one-line errors where a part cannot work. Before: "unknown end model", no notebook hook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).parent))
from labeling import pipeline  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.export import load_exported  # noqa: E402
from labeling.export.skops_io import load_model, save_model  # noqa: E402
from labeling.models import LabelModel  # noqa: E402
from labeling.session import Session  # noqa: E402
from labeling.train.auto import choose_end_model, end_model_options  # noqa: E402
from labeling.train.cross_validation import candidate_key, parse_key  # noqa: E402
from labeling.train.end_model import make_end_model  # noqa: E402
from labeling.train.user_model import UserEndModel, _load_function  # noqa: E402

FACTORIES = '''
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

FITS = []


def make_svm(C=0.5):
    return make_pipeline(TfidfVectorizer(), CalibratedClassifierCV(LinearSVC(C=C), cv=2))


def make_sgd(seed=0):
    FITS.append(seed)
    return make_pipeline(TfidfVectorizer(), SGDClassifier(loss="log_loss", random_state=seed))


def make_svc():
    return make_pipeline(TfidfVectorizer(), LinearSVC())


def make_knn():
    return make_pipeline(TfidfVectorizer(), KNeighborsClassifier())


class Lower(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [x.lower() for x in X]


def make_own_class():
    return make_pipeline(Lower(), TfidfVectorizer(), SGDClassifier(loss="log_loss"))
'''

SPAM = ["check out my channel", "subscribe to me", "visit my site now", "free money here",
        "check my video", "subscribe please"] * 2
HAM = ["nice song", "love this tune", "great voice", "best video ever", "so good",
       "beautiful music"] * 2


@pytest.fixture
def factories(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.py").write_text(FACTORIES, encoding="utf-8")
    return tmp_path


def own(name: str, base: Path, **params):
    options = end_model_options(name, params, base)
    return options["name"], options["params"]


def test_a_factory_file_is_read_relative_to_the_config_folder(factories, monkeypatch):
    monkeypatch.chdir("/")
    name, params = own("models/mine.py:make_svm", factories, C=0.3)
    assert name == "models/mine.py:make_svm"  # as written, in metrics and the card
    model = make_end_model(name, **params[name])
    assert isinstance(model, UserEndModel) and model.factory == name
    assert model.estimator.steps[-1][1].estimator.C == 0.3
    copy = clone(model)  # each CV fold fits a fresh clone
    assert copy is not model and copy.estimator is not model.estimator
    targets = np.array([[0.0, 1.0]] * len(SPAM) + [[1.0, 0.0]] * len(HAM))
    copy.fit(SPAM + HAM, targets)
    assert copy.classes_.tolist() == [0, 1]
    assert copy.predict_proba(["subscribe to my channel"]).shape == (1, 2)
    assert copy.predict(["subscribe please", "nice song"]).tolist() == [1, 0]


def test_candidate_keys_of_a_name_with_a_folder():
    for mode, weight in (("soft", None), ("hard", 0.3), ("soft", 0.0), ("soft", 1.0)):
        key = candidate_key("models/mine.py:make_svm", mode, weight)
        assert parse_key(key)[0] == "models/mine.py:make_svm"
        assert parse_key(key)[2] == (0.0 if mode == "soft" and weight == 0.0 else weight)


@pytest.mark.parametrize("name, message", [
    ("nope.py:f", r"nope.py not found \(a relative path is relative to labeling.toml's"),
    ("models/mine.py:make_nothing", r"has no 'make_nothing' \(its functions: .*make_svm"),
    ("models/mine.py:make_svc", r"has no predict_proba: wrap it, e\.g\. CalibratedClassifier"),
    ("models/mine.py:make_knn", r"KNeighborsClassifier\.fit takes no sample_weight"),
])
def test_a_factory_that_cannot_work_is_one_line(factories, name, message):
    name, params = own(name, factories)
    with pytest.raises(ValueError, match=message):
        make_end_model(name, **params[name])


def test_cv_and_gold_only_baseline_are_the_same_family(factories):
    name, params = own("models/mine.py:make_sgd", factories)
    texts = SPAM + HAM
    probs = np.array([[0.1, 0.9]] * len(SPAM) + [[0.8, 0.2]] * len(HAM))
    dev_texts = ["subscribe to my channel", "check out my page", "free video here",
                 "visit my channel", "lovely song", "great tune", "nice voice", "so lovely"]
    y_dev = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    model, report = choose_end_model(texts, probs, np.ones(len(texts), bool), dev_texts,
                                     y_dev, name=name, params=params, n_folds=2,
                                     n_repeats=2, seed=3)
    assert isinstance(model, UserEndModel)
    assert report["name"] == name
    assert f"{name}/gold_only" in report["cv_scores"]
    assert report["gold_only"]["name"] == name  # the same factory on the dev gold alone
    assert report["gold_only"]["cv"] == report["cv_scores"][f"{name}/gold_only"]
    fits = _load_function(name).__globals__["FITS"]
    assert fits and set(fits) == {3}  # the task's seed, every time


def test_saving_refuses_a_class_of_yours_and_loads_scikit_learn_parts(factories, tmp_path):
    name, params = own("models/mine.py:make_own_class", factories)
    model = make_end_model(name, **params[name]).fit(SPAM + HAM, [1] * 12 + [0] * 12)
    with pytest.raises(LabelingError, match=r"cannot save the end model: it holds "
                                            r"end_model_mine_[0-9a-f]{8}\.Lower, which labeling "
                                            r"does not load"):
        save_model(model, tmp_path / "a.skops")
    assert not (tmp_path / "a.skops").exists()
    name, params = own("models/mine.py:make_svm", factories)
    model = make_end_model(name, **params[name]).fit(SPAM + HAM, [1] * 12 + [0] * 12)
    save_model(model, tmp_path / "b.skops")
    loaded = load_model(tmp_path / "b.skops")
    assert np.allclose(loaded.predict_proba(HAM[:3]), model.predict_proba(HAM[:3]))


def test_config_names_a_factory_train_export_predict(make_task, factories, monkeypatch):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE},
                               "end_model": {"name": "models/mine.py:make_svm",
                                             "params": {"C": 0.4, "n_repeats": 1}}},
                       files={"models/mine.py": FACTORIES})
    monkeypatch.chdir(factories)  # another folder: the file is the config's
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    metrics = json.loads((task.run_dir / "metrics.json").read_text())
    assert metrics["end_model"]["name"] == "models/mine.py:make_svm"
    assert metrics["gold_only"]["name"] == "models/mine.py:make_svm"
    assert "cv" in metrics["gold_only"] and "test" in metrics["gold_only"]
    out = pipeline.step_export(task)
    card = json.loads((out / "model_card.json").read_text())
    assert card["end_model"]["name"] == "models/mine.py:make_svm"
    assert "an end model of yours (models/mine.py:make_svm) has no ONNX export" in \
        card["onnx"]["error"]
    for module in [m for m in sys.modules if m.startswith("end_model_mine")]:
        del sys.modules[module]  # loading runs nothing of the factory's file
    exported = load_exported(out)
    assert exported.predict_proba(["subscribe to my channel"]).shape == (1, 2)
    assert not [m for m in sys.modules if m.startswith("end_model_mine")]


def test_a_factory_file_named_like_a_module_does_not_replace_it(tmp_path):
    import json

    (tmp_path / "json.py").write_text(FACTORIES, encoding="utf-8")
    name, params = own("json.py:make_svm", tmp_path)
    assert isinstance(make_end_model(name, **params[name]), UserEndModel)
    assert sys.modules["json"] is json and json.dumps([1]) == "[1]"


class HandVote(LabelModel):
    name = "h105_hand_vote"
    learned_state = {"class_balance_": ("k",)}

    def __init__(self, cardinality=2, weights=None):
        self.cardinality = cardinality
        self.weights = weights

    def fit(self, L, y_dev=None, L_dev=None):
        self.class_balance_ = np.full(self.cardinality, 1.0 / self.cardinality)
        return self

    def predict_proba(self, L):
        L = np.asarray(L)
        w = np.ones(L.shape[1]) if self.weights is None else np.asarray(self.weights)
        score = np.stack([((L == c) * w).sum(axis=1) for c in range(self.cardinality)], 1)
        score = score + 1e-3
        return score / score.sum(axis=1, keepdims=True)


class Unnamed(HandVote):
    pass


def test_notebook_label_model_and_end_model_of_your_own(make_task, factories):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    session = Session(config)
    session.apply()
    n = len(session.lf_names)
    scores = session.fit(label_model=HandVote(weights=np.array([2.0] + [1.0] * (n - 1))))
    assert scores["label_model"]["name"] == "h105_hand_vote"
    assert isinstance(session.label_model(), HandVote)
    assert session.label_model().weights == [2.0] + [1.0] * (n - 1)
    assert session.task.config.label_model.name == "mv"  # for that call only
    for bad, message in ((object(), "expected an instance of a labeling.models.LabelModel"),
                         (Unnamed(), "give the class a name of its own"),
                         (HandVote(cardinality=3), "cardinality 3, the task has 2"),
                         (HandVote(weights={1, 2}), "parameter weights is a set, which "
                                                    "label_model.json cannot hold")):
        with pytest.raises(LabelingError, match=message):
            session.fit(label_model=bad)

    sys.path.insert(0, str(factories / "models"))
    try:
        from mine import make_sgd  # noqa: PLC0415
    finally:
        sys.path.remove(str(factories / "models"))
    out = session.train(end_model=make_sgd, params={"n_repeats": 1})
    assert out["name"] == "notebook:make_sgd"
    assert out["gold_only"]["name"] == "notebook:make_sgd"
    assert "notebook:make_sgd/gold_only" in out["cv_scores"]
    assert session.task.config.end_model.name == "tfidf_logreg"
    assert set(session.evaluate().index) >= {"end_model", "gold_only"}
    session.export()
    with pytest.raises(LabelingError, match="pass a function returning an estimator"):
        session.train(end_model=UserEndModel)


def _prior_model(prior):
    class Prior(LabelModel):
        name = "h105_prior"
        learned_state = {"class_balance_": ("k",)}

        def fit(self, L, y_dev=None, L_dev=None):
            self.class_balance_ = np.asarray(prior, float)
            return self

        def predict_proba(self, L):
            return np.tile(self.class_balance_, (len(L), 1))

    return Prior(cardinality=2)


def test_an_edited_label_model_of_yours_is_fit_again_not_read_from_the_cache(tmp_path):
    from labeling.models.fit_cache import fit_cached

    L = np.array([[0, 1], [1, -1]])
    first = fit_cached(_prior_model([0.9, 0.1]), L, None, None, tmp_path)
    edited = fit_cached(_prior_model([0.2, 0.8]), L, None, None, tmp_path)  # same name
    assert first.class_balance_.tolist() == [0.9, 0.1]
    assert edited.class_balance_.tolist() == [0.2, 0.8]


def _doc_block(doc: str, section: str) -> str:
    text = (Path(__file__).parents[1] / "docs" / doc).read_text(encoding="utf-8")
    part = text[text.index(f"## {section}"):]
    return part.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_docs_examples_work(tmp_path):
    from labeling import models

    space: dict = {}
    exec(_doc_block("label_models.md", "Your own label model"), space)  # noqa: S102
    L = np.array([[1, 1, 0], [0, -1, -1], [-1, -1, -1]])
    model = space["HandVote"](weights=[1.0, 1.0, 3.0]).fit(L)
    assert model.predict(L).tolist() == [0, 0, 0]
    model.save(tmp_path / "lm.json")
    assert models.load(tmp_path / "lm.json").weights == [1.0, 1.0, 3.0]
    (tmp_path / "my_models.py").write_text(_doc_block("end_models.md", "Your own end model"),
                                           encoding="utf-8")
    name, params = own("my_models.py:make_svm", tmp_path, C=0.3)
    fitted = make_end_model(name, **params[name]).fit(SPAM + HAM, [1] * 12 + [0] * 12)
    assert fitted.predict_proba(HAM[:2]).shape == (2, 2)


def test_dev_scores_of_a_label_model_of_yours_are_in_sample_unless_it_says_otherwise():
    from labeling.models import fit_on_dev

    class ReadsDev(HandVote):
        name = "h105_reads_dev"

    class IgnoresDev(HandVote):
        name = "h105_ignores_dev"
        reads_dev_gold = False

    assert fit_on_dev({"name": "h105_reads_dev"})  # its fit was given y_dev
    assert fit_on_dev({"name": "h105_not_in_this_process"})
    assert not fit_on_dev({"name": "h105_ignores_dev"})
    assert not fit_on_dev({"name": "mv"}) and fit_on_dev({"name": "weighted_vote"})
    assert fit_on_dev({"name": "dawid_skene"})  # named: its EM clamps the dev rows
    # auto's dawid_skene is fit on the train votes alone (h147)
    assert not fit_on_dev({"name": "auto", "chosen": "dawid_skene"})
    assert fit_on_dev({"name": "auto", "chosen": "dawid_skene+dev"})


def test_an_estimator_that_cannot_fit_texts_says_so_in_one_line(factories):
    (factories / "models" / "bare.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\n"
        "def make_lr():\n    return LogisticRegression()\n", encoding="utf-8")
    name, params = own("models/bare.py:make_lr", factories)
    with pytest.raises(ValueError, match=r"^end model 'models/bare.py:make_lr': fit on 24 "
                                         r"rows raised ValueError: could not convert .*start "
                                         r"it with a vectorizer\)$"):
        make_end_model(name, **params[name]).fit(SPAM + HAM, [1] * 12 + [0] * 12)


def test_one_label_model_file_imported_twice_is_one_model(tmp_path):
    import importlib.util

    from labeling.session_models import label_model_choice

    (tmp_path / "my_lfs.py").write_text(
        "from labeling.models import LabelModel\n\n\n"
        "class Twice(LabelModel):\n    name = 'h105_twice'\n\n"
        "    def __init__(self, cardinality=2, w=1.0):\n"
        "        self.cardinality = cardinality\n        self.w = w\n", encoding="utf-8")
    classes = []
    for module_name in ("lfs_my_lfs_0", "functions_my_lfs"):  # the LF loader's, a notebook's
        spec = importlib.util.spec_from_file_location(module_name, tmp_path / "my_lfs.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        classes.append(module.Twice)
    choice = label_model_choice(classes[0](w=2.0), 2)  # the registry holds the second
    assert (choice.name, choice.params) == ("h105_twice", {"w": 2.0})


def test_auto_compares_a_function_of_yours_with_a_built_in_on_the_same_folds(factories):
    options = end_model_options("auto", {"candidates": ["tfidf_logreg",
                                                        "models/mine.py:make_svm"],
                                         "models/mine.py:make_svm": {"C": 0.2},
                                         "n_repeats": 2, "n_folds": 2}, factories)
    texts = SPAM + HAM
    probs = np.array([[0.1, 0.9]] * len(SPAM) + [[0.8, 0.2]] * len(HAM))
    dev_texts = ["subscribe to my channel", "check out my page", "free video here",
                 "visit my channel", "lovely song", "great tune", "nice voice", "so lovely"]
    y_dev = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    _, report = choose_end_model(texts, probs, np.ones(len(texts), bool), dev_texts, y_dev,
                                 seed=1, **options)
    keys = list(report["cv_scores"])
    assert keys[0] == "tfidf_logreg/gold_only" and "models/mine.py:make_svm/gold_only" in keys
    assert any(k.startswith("models/mine.py:make_svm/soft/") for k in keys)
    assert keys.index("tfidf_logreg/soft") < keys.index("models/mine.py:make_svm/gold_only")
    alone, alone_report = choose_end_model(texts, probs, np.ones(len(texts), bool), dev_texts,
                                           y_dev, seed=1, **{**options, "name": "auto",
                                                             "candidates": ["tfidf_logreg"]})
    for key, value in alone_report["cv_scores"].items():  # the built-in's folds unchanged
        assert report["cv_scores"][key] == value


def test_a_multi_label_task_refuses_models_of_yours_in_one_line(tmp_path):
    from test_multilabel_loop import write_project

    session = Session(write_project(tmp_path / "ml"))
    with pytest.raises(LabelingError, match=r"^label_model= is for single-label tasks"):
        session.fit(label_model=HandVote(cardinality=3))
    with pytest.raises(LabelingError, match=r"^end_model= is for single-label tasks"):
        session.train(end_model=lambda: None)
    with pytest.raises(LabelingError, match=r"^end_model= is for single-label tasks"):
        session.train(end_model="models.py:make_svm")


def test_a_multi_label_task_takes_a_built_in_name_in_the_notebook(tmp_path):
    """fit(label_model="dawid_skene") and train(end_model="tfidf_logreg") on a
    multi-label task were refused as models of yours; the config takes these names."""
    from test_multilabel_loop import write_project

    config = write_project(tmp_path / "ml")
    config.write_text(config.read_text(encoding="utf-8").replace(
        'name = "tfidf_logreg"', 'name = "minilm_logreg"'), encoding="utf-8")
    session = Session(config)
    session.apply()
    session.fit(label_model="dawid_skene")
    fitted = json.loads((session.task.run_dir / "metrics.json").read_text())[
        "multi_label"]["label_model"]
    assert fitted["name"] == "dawid_skene"
    assert set(fitted["chosen_per_label"].values()) == {"dawid_skene"}
    session.train(end_model="tfidf_logreg")
    trained = json.loads((session.task.run_dir / "metrics.json").read_text())[
        "multi_label"]["end_model"]
    assert trained["name"] == "tfidf_logreg"
