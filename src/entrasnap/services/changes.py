"""Property-level differences between two versions of one object.

Arrays of scalars (include and exclude lists, ids, scopes) are compared as sets; arrays of objects
that carry an identifying key (``id``, else ``keyId`` for credentials, ``resourceAppId`` for required
permissions...: see ``MATCH_KEYS``) are matched by it; other arrays are compared in order, as a whole.
Paths are dotted (``conditions.users.excludeGroups``); an element matched by key appears as ``[key]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from operator import ne
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed", "members"]


@dataclass
class Change:
    """One property that differs. ``members`` changes list what a set-like array gained and lost.

    ``refs`` are the element keys in ``path`` that refer to other objects (an array matched by
    ``resourceAppId``, ``appId`` or ``tenantId``); keys that are an element's own identity (``id``,
    ``keyId``) are not references and are never looked up as names.
    """

    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    refs: tuple[str, ...] = ()
    object_ids: bool = False  # the values are directory object ids (never application or template ids)

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
REFERENCE_KEYS = frozenset({"resourceAppId", "tenantId", "appId"})  # match keys naming another object


def _match_key(before: list[Any], after: list[Any]) -> str | None:
    """The first of ``MATCH_KEYS`` that every element has, unique within each version."""
    if not all(isinstance(v, dict) for v in before) or not all(isinstance(v, dict) for v in after):
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


_ABSENT = object()


@lru_cache(maxsize=8192)
def is_noise_cached(path: str, noise: tuple[str, ...]) -> bool:
    """``is_noise`` remembered: a large diff asks about the same few paths of a type again and again."""
    return is_noise(path, noise)


def _differing_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys whose values differ (present on one side only included), sorted."""
    keys = list(before)
    if keys == list(after):  # the usual case: the same properties (in the same, canonical, order)
        return sorted(compress(keys, map(ne, after.values(), before.values())))
    differing = [k for k, v in before.items() if after.get(k, _ABSENT) != v]
    differing += after.keys() - before.keys()
    return sorted(differing)


def diff_values(before: Any, after: Any, path: str = "", refs: tuple[str, ...] = ()) -> list[Change]:
    """Every difference between two JSON values, most specific paths first-level last."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        # Most properties of a modified object are equal: find the differing ones in one pass.
        for key in _differing_keys(before, after):
            sub = f"{path}.{key}" if path else key
            if key not in before:
                if after[key] not in (None, [], {}):
                    changes.append(Change(sub, "added", after=after[key], refs=refs))
            elif key not in after:
                if before[key] not in (None, [], {}):
                    changes.append(Change(sub, "removed", before=before[key], refs=refs))
            else:
                changes += diff_values(before[key], after[key], sub, refs)
        return changes
    if before == after:
        return []
    if isinstance(before, list) and isinstance(after, list):
        return _diff_lists(before, after, path, refs)
    if before is None:
        return [Change(path, "added", after=after, refs=refs)]
    if after is None:
        return [Change(path, "removed", before=before, refs=refs)]
    return [Change(path, "changed", before=before, after=after, refs=refs)]


_STR = frozenset({str})


def _as_set(values: list[Any]) -> dict[Any, Any] | None:
    """A list of scalars as {comparison key: value} (strings compared case-insensitively); None otherwise."""
    if set(map(type, values)) <= _STR:  # lists of ids: the common case, without a Python step per element
        return dict(zip(map(str.lower, values), values, strict=True))
    if all(_scalar(v) for v in values):
        return {_set_key(v): v for v in values}
    return None


def _diff_lists(before: list[Any], after: list[Any], path: str, refs: tuple[str, ...] = ()) -> list[Change]:
    old, new = _as_set(before), _as_set(after)
    if old is not None and new is not None:
        gained, lost = new.keys() - old.keys(), old.keys() - new.keys()
        if not gained and not lost:
            return []  # same members in another order
        added = [new[k] for k in new if k in gained] if gained else []
        removed = [old[k] for k in old if k in lost] if lost else []
        return [Change(path, "members", before=before, after=after, added=added, removed=removed, refs=refs)]
    key_field = _match_key(before, after) if before or after else None
    if key_field is not None:
        old_by = {str(v[key_field]): v for v in before}
        new_by = {str(v[key_field]): v for v in after}
        changes: list[Change] = []
        for key in sorted(old_by.keys() | new_by.keys()):
            sub = f"{path}[{key}]"
            sub_refs = (*refs, key) if key_field in REFERENCE_KEYS else refs
            if key not in old_by:
                changes.append(Change(sub, "added", after=new_by[key], refs=sub_refs))
            elif key not in new_by:
                changes.append(Change(sub, "removed", before=old_by[key], refs=sub_refs))
            else:
                changes += diff_values(old_by[key], new_by[key], sub, sub_refs)
        return changes
    return [Change(path, "changed", before=before, after=after, refs=refs)]


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
        old, new = _list(children_before.get(name)), _list(children_after.get(name))
        if old == new:  # most children of a modified object are unchanged: one comparison in C
            continue
        child_changes = _diff_lists(old, new, name)
        for change in child_changes:
            change.object_ids = change.kind == "members"  # a child list of ids: members, owners...
        changes += child_changes
    return [c for c in changes if not is_noise(c.path, noise)] if noise else changes


def _list(value: Any) -> list[Any]:
    return value if type(value) is list else list(value or [])
