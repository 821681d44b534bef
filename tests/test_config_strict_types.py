"""A config value of the wrong TOML type is a one-line error naming the key, never coerced
(pydantic's lax mode read `fault_tolerant = "yes"` as true and `n_jobs = "2"` as 2)."""

from __future__ import annotations

import pytest

from labeling.config import load_config
from labeling.errors import ConfigError


@pytest.mark.parametrize("section, key, value", [
    ("apply", "fault_tolerant", "yes"),
    ("apply", "n_jobs", "2"),
    ("apply", "cache", 1),
    ("llm", "timeout", "60"),
    ("llm", "max_retries", 2.0),
    ("llm", "progress", "false"),
    (None, "seed", "0"),
    (None, "multi_label", 0),
])
def test_a_value_of_the_wrong_type_names_its_key(make_task, section, key, value):
    path = make_task(config={section: {key: value}} if section else {key: value})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert (f"{section}.{key}" if section else key) in message


def test_the_right_types_still_load(make_task):
    config = load_config(make_task(config={"apply": {"fault_tolerant": True, "n_jobs": 2},
                                           "llm": {"timeout": 60, "budget": 1.5},
                                           "seed": 3}))
    assert config.apply.fault_tolerant is True and config.apply.n_jobs == 2
    assert config.llm.timeout == 60.0 and config.seed == 3
