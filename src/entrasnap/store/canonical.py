"""Canonical JSON and content hashes (see docs/FORMAT.md)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_bytes(value: Any) -> bytes:
    """The one byte string for a JSON value: sorted keys, no spaces, UTF-8, no NaN/Infinity."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def digest(data: bytes) -> str:
    """The sha256 hex digest that names stored content."""
    return hashlib.sha256(data).hexdigest()
