"""An external target reached over REST: its address, API key, control channel and the oracle's
tolerances (``chronex run --driver rest --target URL``). Errors name the file or option and the
value (``ConfigError``).

The target file is optional; without one the URL names the target and the oracle keeps its
defaults. With one:

```toml
[target]
external = true                 # required: a system outside Chronex
name = "acme-rest-uat"          # its identity in the run manifest
url = "http://10.1.2.3:8080"    # --target URL overrides it
api_key_env = "ACME_API_KEY"    # the environment variable holding the key (--api-key overrides)
control = "127.0.0.1:7001"      # optional, a Chronex mock's admin channel: reset and clock only

[oracle]                        # as for a FIX target (system/oracle/config.py)
clock_skew_ms = 5
```
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from system.gateways.fix.config import ConfigError
from system.oracle.compare import Tolerances
from system.oracle.config import control_of, oracle_settings, read_toml, table

ENV_KEY = "CHRONEX_API_KEY"


@dataclass(frozen=True)
class RestTargetConfig:
    name: str
    url: str  # base URL, no trailing slash
    host: str
    port: int
    api_key: str
    control: tuple[str, int] | None
    oracle: bool
    tolerances: Tolerances
    reply_wait_s: float
    source: str  # the target file ("" without one)
    sha256: str  # of the target file ("" without one)


def parse_url(text: str, what: str) -> tuple[str, str, int]:
    """``http(s)://HOST[:PORT][/PREFIX]`` -> (base URL, host, port); ValueError naming ``what``."""
    try:
        u = urlsplit(text.strip())
        port = u.port
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an http(s) URL") from None
    if u.scheme not in ("http", "https") or not u.hostname or u.query or u.fragment:
        raise ValueError(f"{what} {text!r} is not an http(s) URL (http://HOST:PORT)")
    port = port or (443 if u.scheme == "https" else 80)
    return text.strip().rstrip("/"), u.hostname, port


def load_rest_target(
    url: str | None, api_key: str | None, path: Path | None = None, *, oracle: bool = False
) -> RestTargetConfig:
    """The REST target named by ``url`` and/or the target file ``path`` (``url`` wins)."""
    t: dict[str, object] = {}
    o: dict[str, object] = {}
    src, sha, raw = "", "", b""
    if path is not None:
        src = str(path)
        raw, data = read_toml(path)
        t, o = table(data, "target", src), table(data, "oracle", src)
        if t.get("external") is not True:
            raise ConfigError(
                f"{src}: target.external: {t.get('external')!r}; a target file for an outside system "
                "says [target] external = true"
            )
        if "session" in data:
            raise ConfigError(f"{src}: session: a REST target has no FIX sessions (use --driver fix)")
        sha = hashlib.sha256(raw).hexdigest()
    where = f"{src}: " if src else ""
    text = url if url is not None else t.get("url")
    if not isinstance(text, str):
        raise ConfigError(f"{where}no URL for the REST target: give --target URL (or target.url)")
    try:
        base, host, port = parse_url(text, "--target" if url is not None else "target.url")
    except ValueError as e:
        raise ConfigError(f"{where}{e}") from None
    env = t.get("api_key_env", ENV_KEY)
    if not isinstance(env, str) or not env:
        raise ConfigError(f"{src}: target.api_key_env: {env!r} is not an environment variable name")
    key = api_key if api_key is not None else os.environ.get(env, "")
    if not key:
        raise ConfigError(f"{where}no API key for {base}: give --api-key KEY or set {env}")
    control = control_of(t, src)
    enabled, tolerances, wait = oracle_settings(o, src or "--oracle")
    name = t.get("name", base)
    return RestTargetConfig(
        name=str(name), url=base, host=host, port=port, api_key=key, control=control,
        oracle=oracle or enabled, tolerances=tolerances, reply_wait_s=wait, source=src, sha256=sha,
    )  # fmt: skip


__all__ = ["ENV_KEY", "RestTargetConfig", "load_rest_target", "parse_url"]
