"""Access tokens: fakegraph issues its own, with only the application permissions named, and accepts any.

A token it signed carries ``roles``; any other bearer token counts as holding every permission, so that
tests and demos can use any string. Tokens are JWTs signed with HS256 under a fixed, published key:
this is a fake service, and its tokens grant nothing anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from entrasnap.fakegraph.odata import GraphError

SIGNING_KEY = b"fakegraph-public-test-signing-key"
ISSUER_PREFIX = "https://sts.windows.net/"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
DEFAULT_APP_ID = "00000000-0000-0000-0000-00000000f4ce"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    tenant_id: str,
    roles: list[str],
    *,
    app_id: str = DEFAULT_APP_ID,
    lifetime: float = 3599.0,
    now: float | None = None,
) -> str:
    """A signed application token holding exactly ``roles``."""
    issued = int(now if now is not None else time.time())
    claims = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"{ISSUER_PREFIX}{tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
        "appid": app_id,
        "tid": tenant_id,
        "roles": sorted(roles),
        "idtyp": "app",
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app_id)),
        "fakegraph": True,
    }
    header = {"typ": "JWT", "alg": "HS256", "kid": "fakegraph"}
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(SIGNING_KEY, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


@dataclass(frozen=True)
class Principal:
    app_id: str
    permissions: frozenset[str] | None  # None: every permission


def _unauthorized(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
            'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def authenticate(authorization: str | None, tenant_id: str, now: float | None = None) -> Principal:
    """The caller behind an Authorization header, or a 401 GraphError."""
    if not authorization or not authorization.strip():
        raise _unauthorized("Access token is empty.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Access token validation failure. Invalid audience.")
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        return Principal(DEFAULT_APP_ID, None)
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return Principal(DEFAULT_APP_ID, None)
    if not isinstance(header, dict) or header.get("kid") != "fakegraph" or not isinstance(claims, dict):
        return Principal(
            str(claims.get("appid", DEFAULT_APP_ID)) if isinstance(claims, dict) else DEFAULT_APP_ID, None
        )
    expected = hmac.new(SIGNING_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(parts[2])):
        raise _unauthorized("Access token validation failure. Invalid signature.")
    if float(claims.get("exp", 0)) < (now if now is not None else time.time()):
        raise _unauthorized("Lifetime validation failed, the token is expired.")
    if claims.get("tid") not in (tenant_id, None):
        raise _unauthorized("Access token validation failure. Invalid audience.")
    return Principal(str(claims.get("appid", DEFAULT_APP_ID)), frozenset(claims.get("roles", [])))
