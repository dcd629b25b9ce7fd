"""Property-level differences between two versions of one object.

Arrays of scalars (include and exclude lists, ids, scopes) are compared as sets; arrays of objects
that carry an identifying key (``id``, else ``keyId`` for credentials, ``resourceAppId`` for required
permissions...: see ``MATCH_KEYS``) are matched by it; other arrays are compared in order, as a whole.
Paths are dotted (``conditions.users.excludeGroups``); an element matched by key appears as ``[key]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed", "members"]


@dataclass
class Change:
    """One property that differs. ``members`` changes list what a set-like array gained and lost."""

    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.kind == "members":
            out["added"] = self.added
            out["removed"] = self.removed
        else:
            if self.kind != "added":
                out["before"] = self.before
            if self.kind != "removed":
                out["after"] = self.after
        return out


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


# Keys that identify the elements of an array of objects, tried in order: the first one every element has,
# with distinct values, is used to match elements between versions.
MATCH_KEYS = ("id", "keyId", "resourceAppId", "tenantId", "appId", "name")


def _match_key(before: list[Any], after: list[Any]) -> str | None:
    """The first of ``MATCH_KEYS`` that every element has, unique within each version."""
    if not all(isinstance(v, dict) for v in before + after):
        return None
    for key in MATCH_KEYS:
        if all(_unique_by(values, key) for values in (before, after)):
            return key
    return None


def _unique_by(values: list[dict[str, Any]], key: str) -> bool:
    found = [v.get(key) for v in values]
    return all(_scalar(f) and f is not None for f in found) and len({str(f) for f in found}) == len(found)


def _set_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def is_noise(path: str, noise: Iterable[str]) -> bool:
    """A path is noise when it, or a property above it, is declared noise (``a.b`` covers ``a.b.c``)."""
    for declared in noise:
        if path == declared or path.startswith(declared + ".") or path.startswith(declared + "["):
            return True
    return False


def diff_values(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every difference between two JSON values, most specific paths first-level last."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in sorted(set(before) | set(after)):
            sub = f"{path}.{key}" if path else key
            if key not in before:
                if after[key] not in (None, [], {}):
                    changes.append(Change(sub, "added", after=after[key]))
            elif key not in after:
                if before[key] not in (None, [], {}):
                    changes.append(Change(sub, "removed", before=before[key]))
            else:
                changes += diff_values(before[key], after[key], sub)
        return changes
    if isinstance(before, list) and isinstance(after, list):
        return _diff_lists(before, after, path)
    if before is None:
        return [Change(path, "added", after=after)]
    if after is None:
        return [Change(path, "removed", before=before)]
    return [Change(path, "changed", before=before, after=after)]


def _diff_lists(before: list[Any], after: list[Any], path: str) -> list[Change]:
    if all(_scalar(v) for v in before) and all(_scalar(v) for v in after):
        old = {_set_key(v): v for v in before}
        new = {_set_key(v): v for v in after}
        added = [new[k] for k in new if k not in old]
        removed = [old[k] for k in old if k not in new]
        if not added and not removed:
            return []  # same members in another order
        return [Change(path, "members", before=before, after=after, added=added, removed=removed)]
    key_field = _match_key(before, after) if before + after else None
    if key_field is not None:
        old_by = {str(v[key_field]): v for v in before}
        new_by = {str(v[key_field]): v for v in after}
        changes: list[Change] = []
        for key in sorted(set(old_by) | set(new_by)):
            sub = f"{path}[{key}]"
            if key not in old_by:
                changes.append(Change(sub, "added", after=new_by[key]))
            elif key not in new_by:
                changes.append(Change(sub, "removed", before=old_by[key]))
            else:
                changes += diff_values(old_by[key], new_by[key], sub)
        return changes
    return [Change(path, "changed", before=before, after=after)]


def diff_records(before: dict[str, Any], after: dict[str, Any], noise: Iterable[str] = ()) -> list[Change]:
    """Differences between two object records: the object's properties, then its children.

    Children appear under their own name (``members``, ``owners``, ``rules[...]``); properties declared
    as ``noise`` are left out (pass no noise to see everything).
    """
    noise = tuple(noise)
    changes = diff_values(before.get("object", {}), after.get("object", {}))
    children_before = before.get("children") or {}
    children_after = after.get("children") or {}
    for name in sorted(set(children_before) | set(children_after)):
        changes += _diff_lists(list(children_before.get(name, [])), list(children_after.get(name, [])), name)
    return [c for c in changes if not is_noise(c.path, noise)]
