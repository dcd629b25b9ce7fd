"""Names for ids in one snapshot, and the loading of a type's object records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from entrasnap.services.report_model import Ref
from entrasnap.services.timeline import SnapshotView

KIND = {
    "users": "user",
    "groups": "group",
    "servicePrincipals": "service principal",
    "applications": "application",
    "directoryRoleTemplates": "role",
    "roleDefinitions": "role",
    "directoryRoles": "role",
    "namedLocations": "named location",
    "authenticationStrengthPolicies": "authentication strength",
    "administrativeUnits": "administrative unit",
    "conditionalAccessPolicies": "policy",
    "devices": "device",
    "authenticationContextClassReferences": "authentication context",
    "termsOfUseAgreements": "terms of use",
    "accessPackages": "access package",
    "accessPackageCatalogs": "catalog",
}
EXTRA_NAME_TYPES = ("termsOfUseAgreements", "customAuthenticationExtensions")


class Names:
    """Resolves ids (object ids, appIds, role template ids...) to names from the snapshot itself."""

    def __init__(self, view: SnapshotView) -> None:
        self.view = view
        self._names = dict(view.names())
        for key in EXTRA_NAME_TYPES:
            for oid, _, name in view.entries(key):
                if name:
                    self._names.setdefault(oid.lower(), (key, name))

    def ref(self, object_id: str, kind: str = "") -> Ref:
        hit = self._names.get(str(object_id).lower())
        if hit is None:
            return Ref(str(object_id), None, kind)
        return Ref(str(object_id), hit[1], kind or KIND.get(hit[0], ""))

    def type_of(self, object_id: str) -> str | None:
        hit = self._names.get(str(object_id).lower())
        return hit[0] if hit else None

    def name(self, object_id: str) -> str | None:
        hit = self._names.get(str(object_id).lower())
        return hit[1] if hit else None


def records(view: SnapshotView, key: str) -> Iterator[dict[str, Any]]:
    """Every object record of a type in the snapshot (empty when not captured)."""
    for _, digest, _ in view.entries(key):
        record = view.cache.get(digest)
        if isinstance(record, dict):
            yield record


def objects(view: SnapshotView, key: str) -> list[dict[str, Any]]:
    """Every Graph object of a type in the snapshot."""
    return [r["object"] for r in records(view, key) if isinstance(r.get("object"), dict)]
