"""A label model class of yours may not take a built-in model's name: it replaced the
built-in in the registry (the majority-vote baseline fit makes, too) and its dev
scores were then marked held-out (labeling.models.base.LabelModel.__init_subclass__)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS  # noqa: E402
from labeling import models  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.models import REGISTRY, LabelModel, MajorityVote  # noqa: E402

BUILT_IN_CLASSES = {name: REGISTRY[name] for name in models.BUILT_IN}


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
def test_a_class_of_yours_with_a_built_in_name_is_refused(name):
    with pytest.raises(TypeError, match=rf"^Mine: name = '{name}' is a built-in label "
                                        r"model's; choose another"):
        type("Mine", (LabelModel,), {"name": name, "__module__": "lfs"})
    assert REGISTRY[name] is BUILT_IN_CLASSES[name]  # the built-in stays


def test_an_lf_module_defining_one_fails_to_load_naming_its_file_and_line(make_task):
    from labeling import pipeline

    source = DEFAULT_LFS + (
        "\n\nfrom labeling.models import LabelModel\n\n\n"
        "class MyVote(LabelModel):\n    name = 'mv'\n")
    config = make_task(lf_source=source)
    with pytest.raises(LabelingError, match=r"lfs\.py: failed to import \(line \d+\): "
                                            r"TypeError: MyVote: name = 'mv' is a built-in"):
        pipeline.load_task(config)
    assert REGISTRY["mv"] is MajorityVote


def test_a_subclass_of_a_built_in_with_a_name_of_its_own_is_registered():
    kind = type("Slow", (MajorityVote,), {"name": "f109_slow_vote", "__module__": "lfs"})
    try:
        assert REGISTRY["f109_slow_vote"] is kind and REGISTRY["mv"] is MajorityVote
    finally:
        del REGISTRY["f109_slow_vote"]


def test_a_built_in_name_set_after_the_class_is_refused_by_session_fit():
    from labeling.session_models import label_model_choice

    class Later(LabelModel):
        name = "f109_later"

    Later.name = "mv"  # not through the class body: the registry keeps the built-in
    try:
        with pytest.raises(LabelingError) as info:
            label_model_choice(Later(), 2)
        # before: "(yours replaced it in this process: restart the kernel)", which it had not
        assert str(info.value) == ("label_model=Later(...): its name 'mv' is a built-in label "
                                   "model's; choose another")
        assert REGISTRY["mv"] is MajorityVote
    finally:
        del REGISTRY["f109_later"]
