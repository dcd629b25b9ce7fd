"""How failed reads become type statuses: never an empty, 'ok' type."""

from __future__ import annotations

import pytest

from entrasnap.collect import classify


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            "forbidden",
        ),
        (400, "AadPremiumLicenseRequired", "The tenant needs an AAD Premium 2 license.", "unlicensed"),
        (
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
            "unlicensed",
        ),
        (400, "FeatureNotEnabled", "This feature is not enabled for the tenant.", "unavailable"),
        (501, "NotImplemented", "This operation target is not yet supported.", "unavailable"),
        (500, "InternalServerError", "Something broke.", "error"),
        (400, "Request_UnsupportedQuery", "Invalid filter clause.", "error"),
    ],
)
def test_failures_map_to_statuses(status: int, code: str, message: str, expected: str) -> None:
    got, detail = classify(status, code, message, "Policy.Read.All")
    assert got == expected
    assert detail["code"] == code and detail["message"] == message and detail["status"] == status
    assert ("permission" in detail) == (expected == "forbidden")
