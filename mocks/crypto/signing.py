"""The three request-signing schemes the crypto mocks check, shared by the servers and by the
clients that talk to them (tests, steps, the bench), so both sides compute one thing.

- ``binance``: hex HMAC-SHA256 of the whole parameter string (query string, then the body), key
  the API secret; sent as the ``signature`` parameter, the key in ``X-MBX-APIKEY``.
- ``coinbase``: base64 HMAC-SHA256 of ``timestamp + METHOD + path + body``, key the
  base64-decoded secret; headers ``CB-ACCESS-KEY/-SIGN/-TIMESTAMP/-PASSPHRASE``.
- ``okx``: base64 HMAC-SHA256 of ``timestamp + METHOD + path + body`` (the ISO-8601 timestamp,
  the path with its query string), key the secret as text; headers ``OK-ACCESS-*``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime

__all__ = ["binance", "coinbase", "iso_ms", "okx", "verify"]


def binance(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def coinbase(secret_b64: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """Raises ``ValueError`` if the secret is not base64 (Coinbase secrets are)."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except binascii.Error as e:
        raise ValueError(f"secret is not base64: {e}") from None
    msg = (timestamp + method.upper() + path + body).encode()
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def okx(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    msg = (timestamp + method.upper() + path + body).encode()
    return base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()


def verify(expected: str, given: str, *, fold_case: bool = False) -> bool:
    """Constant-time comparison; Binance's hex signature is not case sensitive."""
    if fold_case:
        expected, given = expected.lower(), given.lower()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def iso_ms(t_ns: int) -> str:
    """OKX's timestamp form: ``2020-12-08T09:08:57.715Z`` (UTC, milliseconds)."""
    dt = datetime.fromtimestamp(t_ns // 1_000_000_000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{(t_ns // 1_000_000) % 1000:03d}Z"
