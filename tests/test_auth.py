"""Tokens and permissions: 401 for missing or expired tokens, 403 without the permission, OAuth2 endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from entrasnap.fakegraph import auth
from entrasnap.fakegraph.service import RunningFakeGraph

SCOPE = "https://graph.microsoft.com/.default"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def get(fakegraph: RunningFakeGraph, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(fakegraph.url + path, headers=headers, timeout=30)


def test_permission_needed_403_then_200(fakegraph: RunningFakeGraph) -> None:
    denied = get(fakegraph, "/v1.0/users", fakegraph.token(["Application.Read.All"]))
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "Authorization_RequestDenied"
    assert error["message"] == "Insufficient privileges to complete the operation."
    allowed = get(fakegraph, "/v1.0/users", fakegraph.token(["User.Read.All"]))
    assert allowed.status_code == 200
    assert allowed.json()["value"]
    assert get(fakegraph, "/v1.0/groups", fakegraph.token(["User.Read.All"])).status_code == 403
    assert get(fakegraph, "/v1.0/groups", fakegraph.token(["GroupMember.Read.All"])).status_code == 200


def test_read_permission_does_not_allow_writes(fakegraph: RunningFakeGraph) -> None:
    token = fakegraph.token(["User.Read.All"])
    response = httpx.post(
        fakegraph.url + "/v1.0/users",
        headers={"Authorization": f"Bearer {token}"},
        json={"displayName": "x", "userPrincipalName": f"x@{fakegraph.store.domain}"},
        timeout=30,
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_missing_expired_and_forged_tokens_are_401(fakegraph: RunningFakeGraph) -> None:
    missing = get(fakegraph, "/v1.0/users", None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in missing.headers
    expired = auth.issue_token(fakegraph.tenant_id, ["User.Read.All"], lifetime=-60)
    response = get(fakegraph, "/v1.0/users", expired)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in response.json()["error"]["message"]
    good = fakegraph.token(["User.Read.All"])
    head, body, _ = good.split(".")
    forged = f"{head}.{body}.{'A' * 43}"
    assert get(fakegraph, "/v1.0/users", forged).status_code == 401
    other_tenant = auth.issue_token("11111111-1111-1111-1111-111111111111", ["User.Read.All"])
    assert get(fakegraph, "/v1.0/users", other_tenant).status_code == 401


def token_request(fakegraph: RunningFakeGraph, tenant: str, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", "scope": SCOPE, **form}
    return httpx.post(f"{fakegraph.url}/{tenant}/oauth2/v2.0/token", data=data, timeout=30)


def test_client_credentials_grant(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False)
    client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
    registered = httpx.post(
        f"{fake.url}/_fakegraph/clients",
        timeout=30,
        json={"clientId": client_id, "secret": "s3cret~value", "roles": ["User.Read.All"]},
    )
    assert registered.status_code == 200
    response = token_request(fake, fake.tenant_id, client_id=client_id, client_secret="s3cret~value")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    claims = claims_of(body["access_token"])
    assert claims["roles"] == ["User.Read.All"]
    assert claims["appid"] == client_id and claims["tid"] == fake.tenant_id
    assert get(fake, "/v1.0/users", body["access_token"]).status_code == 200
    assert get(fake, "/v1.0/groups", body["access_token"]).status_code == 403
    by_domain = token_request(fake, fake.store.domain, client_id=client_id, client_secret="s3cret~value")
    assert by_domain.status_code == 200


def test_client_credentials_errors(fakegraph_factory: Callable[..., RunningFakeGraph]) -> None:
    fake = fakegraph_factory(throttling=False)
    client_id = "0f7b3c4e-2f21-4d55-9a52-4a1f5f8a3f10"
    httpx.post(
        f"{fake.url}/_fakegraph/clients",
        json={"clientId": client_id, "secret": "right", "roles": []},
        timeout=30,
    )
    wrong = token_request(fake, fake.tenant_id, client_id=client_id, client_secret="wrong")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.json()["error_description"].startswith("AADSTS7000215")
    assert 7000215 in wrong.json()["error_codes"]
    unknown = token_request(
        fake, "99999999-9999-9999-9999-999999999999", client_id=client_id, client_secret="right"
    )
    assert unknown.status_code == 400
    assert unknown.json()["error_description"].startswith("AADSTS90002")
    bad_scope = token_request(
        fake,
        fake.tenant_id,
        client_id=client_id,
        client_secret="right",
        scope="https://graph.microsoft.com/User.Read.All",
    )
    assert bad_scope.status_code == 400
    assert bad_scope.json()["error"] == "invalid_scope"
    no_roles = token_request(fake, fake.tenant_id, client_id=client_id, client_secret="right").json()
    assert claims_of(no_roles["access_token"])["roles"] == []
    assert get(fake, "/v1.0/users", no_roles["access_token"]).status_code == 403
