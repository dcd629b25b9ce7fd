"""Canonical JSON, content hashes and the compression of stored bytes (see docs/FORMAT.md)."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from typing import Any

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_bytes(value: Any) -> bytes:
    """The one byte string for a JSON value: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def digest(data: bytes) -> str:
    """The sha256 hex digest that names stored content."""
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def decompress(data: bytes) -> bytes:
    """Raises zlib.error on damaged input."""
    return zlib.decompress(data)


def object_key(hash_hex: str) -> str:
    """The backend key of an object: objects/<first two hex digits>/<hash>."""
    return f"objects/{hash_hex[:2]}/{hash_hex}"
