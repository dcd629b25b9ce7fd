"""Recognising Entra object ids (GUIDs) in captured values."""

from __future__ import annotations

import re
from typing import Any

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_guid(text: Any) -> bool:
    """Whether ``text`` is exactly one GUID."""
    return isinstance(text, str) and len(text) == 36 and GUID.fullmatch(text) is not None
