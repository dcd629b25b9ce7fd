"""How a failed read is recorded: forbidden, unlicensed, unavailable or error, never as "no objects"."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

# Graph's answers to a tenant that lacks the licence for a feature.
UNLICENSED_CODES = frozenset(
    {
        "AadPremiumLicenseRequired",
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Authentication_RequestFromUnsupportedUserRole",
        "TenantNotLicensed",
    }
)
# Answers meaning the feature is not set up in this tenant (e.g. B2C-only APIs in a workforce tenant).
UNAVAILABLE_CODES = frozenset(
    {"FeatureNotEnabled", "NotSupported", "Tenant_NotSupported", "BadRequest_FeatureNotEnabled"}
)

STATUSES = ("ok", "forbidden", "unlicensed", "unavailable", "error")


class TypeFailure(Exception):
    """A type could not be read completely; carries its status and what Graph said."""

    def __init__(self, status: str, error: JSON) -> None:
        super().__init__(error.get("message", status))
        self.status = status
        self.error = error


def classify(status: int, code: str, message: str, permission: str) -> tuple[str, JSON]:
    """The status a failed read gives its type, with the details the user needs to fix it."""
    error: JSON = {"status": status, "code": code, "message": message}
    lowered = message.lower()
    if code in UNLICENSED_CODES or "licen" in lowered or "premium" in lowered:
        return "unlicensed", error
    if status == 403:
        error["permission"] = permission
        return "forbidden", error
    if code in UNAVAILABLE_CODES or status == 501:
        return "unavailable", error
    return "error", error
