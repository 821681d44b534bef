"""The API key stays out of a run's files: a user who writes the key itself where the
config wants the NAME of its variable (``[llm] api_key_env``) is refused, in a message
that does not repeat it (the settings are copied into metrics.json)."""

from __future__ import annotations

import json

import pytest

from labeling.config import load_config
from labeling.errors import ConfigError
from labeling.llm import LLMSettings

MARKER = "sk-H63MARKER-zq81x"


def test_the_key_written_as_api_key_env_is_refused_and_not_echoed(tmp_path):
    config = tmp_path / "labeling.toml"
    config.write_text(f'name = "t"\nlabels = ["ham", "spam"]\nlfs = ["lfs.py"]\n[data]\n'
                      f'train = "train.csv"\n[llm]\napi_key_env = "{MARKER}"\n')
    with pytest.raises(ConfigError, match="llm.api_key_env: .*NAME of the environment variable") \
            as refused:
        load_config(config)
    assert MARKER not in str(refused.value)
    assert LLMSettings(api_key_env="MY_KEY_2").api_key_env == "MY_KEY_2"


def test_a_key_inside_base_url_is_masked_in_what_a_run_writes(tmp_path):
    url = f"https://me:{MARKER}@gateway.example/v1?api-key={MARKER}"
    public = LLMSettings(base_url=url).public()
    assert MARKER not in json.dumps(public)
    assert public["base_url"] == "https://***@gateway.example/v1?api-key=***"
    assert LLMSettings(base_url=url).endpoint_url() == url  # requests still go to it


GROQ_LIKE = "gsk_H65marker0q81xZ7pW2"  # letters, digits, underscores: a valid-looking name


def test_a_key_that_passes_for_a_variable_name_is_not_written_or_printed(monkeypatch):
    # before: api_key_env = "gsk_..." (or a hex key starting with a letter) passed the
    # name check and went into metrics.json with the settings, and a 401 printed it
    monkeypatch.delenv(GROQ_LIKE, raising=False)
    settings = LLMSettings(api_key_env=GROQ_LIKE)
    assert GROQ_LIKE not in json.dumps(settings.public())
    assert settings.public()["api_key_env"] == "***"
    assert settings.shown_key_env() == "***"
    monkeypatch.setenv("my_key", "x")  # a lower-case name the environment has is a name
    assert LLMSettings(api_key_env="my_key").public()["api_key_env"] == "my_key"
    assert LLMSettings().public()["api_key_env"] == "OPENAI_API_KEY"


def test_the_notebook_refusal_does_not_repeat_the_key():
    # before: pydantic's ValidationError quoted input_value='sk-...' outside load_config
    with pytest.raises(ValueError) as refused:
        LLMSettings(api_key_env=MARKER)
    assert MARKER not in str(refused.value)


def test_a_task_config_built_in_python_does_not_quote_the_key():
    # before: TaskConfig(..., llm={"api_key_env": "sk-..."}) or a stray api_key key
    # quoted the value in pydantic's message (load_config already did not; found in review)
    from labeling.config import TaskConfig

    for llm in ({"api_key_env": MARKER}, {"api_key": MARKER}):
        with pytest.raises(ValueError) as refused:
            TaskConfig(name="t", labels=["ham", "spam"], lfs=["lfs.py"],
                       data={"train": "train.csv"}, llm=llm)
        assert MARKER not in str(refused.value)


def test_an_upper_case_hex_key_in_api_key_env_is_not_shown(monkeypatch):
    # before: 32 upper-case hex digits matched the capitals-only name rule and were
    # written to metrics.json as the variable's name
    hex_key = "F86D081884C7D659A2FEAA0C55AD0159"
    monkeypatch.delenv(hex_key, raising=False)
    assert LLMSettings(api_key_env=hex_key).public()["api_key_env"] == "***"
    split_key = "F86D0818_84C7D659_A2FEAA0C_55AD0159"  # found in review: passed as words
    monkeypatch.delenv(split_key, raising=False)
    assert LLMSettings(api_key_env=split_key).public()["api_key_env"] == "***"
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_KEY2", "MY_LLM_GATEWAY_TOKEN",
                 "GROQ_KEY_20250101000000"):
        assert LLMSettings(api_key_env=name).shown_key_env(env={}) == name
