"""JSON batching: ``POST /$batch`` with up to 20 requests, ``dependsOn`` ordering and 424 for failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from entrasnap.fakegraph.odata import GraphError, bad_request, error_body, new_request_id
from entrasnap.fakegraph.state import JSON

MAX_REQUESTS = 20

# Runs one inner request: (method, path, query, headers, body) -> (status, headers, body).
Runner = Callable[[str, str, dict[str, str], dict[str, str], Any], tuple[int, dict[str, str], Any]]


def _validate(payload: Any) -> list[JSON]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    requests: list[JSON] = payload["requests"]
    if not requests:
        raise bad_request("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "method", "url")
        ):
            raise bad_request("Invalid batch payload format.")
        key = item["id"].lower()
        if key in seen:
            raise bad_request(f"Batch request steps must have unique ids; '{item['id']}' is repeated.")
        seen.add(key)
        if "body" in item and not any(k.lower() == "content-type" for k in (item.get("headers") or {})):
            raise bad_request(
                "Write request id : " + item["id"] + " does not contain Content-Type header or body."
            )
    for item in requests:
        for dependency in item.get("dependsOn") or []:
            if str(dependency).lower() not in seen:
                raise bad_request(f"Request '{item['id']}' depends on unknown request '{dependency}'.")
    return requests


def run_batch(payload: Any, run: Runner) -> JSON:
    """Execute a batch; raises GraphError for a malformed one (the whole batch fails with 400)."""
    requests = _validate(payload)
    outcome: dict[str, int] = {}
    responses: list[JSON] = []
    for item in requests:
        failed = [d for d in item.get("dependsOn") or [] if outcome.get(str(d).lower(), 200) >= 400]
        if failed:
            outcome[item["id"].lower()] = 424
            responses.append(
                {
                    "id": item["id"],
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": error_body(
                        "FailedDependency",
                        "Dependent request '" + "', '".join(map(str, failed)) + "' failed.",
                        new_request_id(),
                    ),
                }
            )
            continue
        split = urlsplit(item["url"] if item["url"].startswith("/") else "/" + item["url"])
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        try:
            status, out_headers, body = run(
                item["method"].upper(), split.path, query, headers, item.get("body")
            )
        except GraphError as error:
            status, out_headers, body = error.status, dict(error.headers), error.body(new_request_id())
        outcome[item["id"].lower()] = status
        entry: JSON = {"id": item["id"], "status": status, "headers": out_headers}
        if body is not None:
            entry["body"] = body
        responses.append(entry)
    return {"responses": responses}
