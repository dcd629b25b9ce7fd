"""Match request paths to declared resources, case-insensitively, literal segments before parameters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from entrasnap.fakegraph.odata import GraphError, bad_request
from entrasnap.fakegraph.resource import Resource

# What a matched path addresses, relative to its resource.
Mode = str  # "collection", "item", "count", "delta", "ref", "item_ref", "cast", "singleton", "link"


@dataclass(frozen=True)
class Route:
    resource: Resource
    mode: Mode
    segments: tuple[str, ...]  # "{name}" marks a parameter

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]
    cast: str | None = None  # a type-cast segment such as microsoft.graph.user

    @property
    def resource(self) -> Resource:
        return self.route.resource

    @property
    def mode(self) -> Mode:
        return self.route.mode


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.strip("/").split("/") if s)


def routes_for(resource: Resource) -> list[Route]:
    base = _segments(resource.path)
    item = "{" + ("key" if "{id}" in resource.path else "id") + "}"
    out = []
    if resource.kind == "set":
        out += [
            Route(resource, "collection", base),
            Route(resource, "item", (*base, item)),
            Route(resource, "count", (*base, "$count")),
        ]
        if resource.delta:
            out.append(Route(resource, "delta", (*base, "delta")))
    elif resource.kind == "singleton":
        out.append(Route(resource, "singleton", base))
    elif resource.kind == "links":
        out += [
            Route(resource, "collection", base),
            Route(resource, "ref", (*base, "$ref")),
            Route(resource, "count", (*base, "$count")),
            Route(resource, "item_ref", (*base, item, "$ref")),
            Route(resource, "cast", (*base, "{cast}")),
            Route(resource, "item", (*base, item)),
        ]
    else:
        out += [Route(resource, "link", base), Route(resource, "ref", (*base, "$ref"))]
    return out


class Router:
    """Finds the route for a path; unknown paths fail as Graph fails them."""

    def __init__(self, resources: Iterable[Resource], extra: Iterable[Route] = ()) -> None:
        self.routes: dict[int, list[Route]] = {}
        for route in [r for res in resources for r in routes_for(res)] + list(extra):
            self.routes.setdefault(len(route.segments), []).append(route)
        for candidates in self.routes.values():
            # Literal segments win over parameters, earlier segments first (so /users/delta beats /users/{id}).
            candidates.sort(key=lambda r: tuple(s.startswith("{") for s in r.segments))
        self._prefixes = {
            r.segments[:n] for rs in self.routes.values() for r in rs for n in range(len(r.segments) + 1)
        }
        # Literal first and last segments (lower-cased) by path length, to narrow the candidates.
        self._ends: dict[int, tuple[set[str], set[str]]] = {
            length: (
                {r.segments[0].lower() for r in rs if not r.segments[0].startswith("{")},
                {r.segments[-1].lower() for r in rs if not r.segments[-1].startswith("{")},
            )
            for length, rs in self.routes.items()
            if length
        }
        self._narrowed: dict[tuple[int, str | None, str | None], list[tuple[Route, tuple[str, ...]]]] = {}

    def _candidates(self, lowered: tuple[str, ...]) -> list[tuple[Route, tuple[str, ...]]]:
        """The routes of this length whose first and last segments can match, in the same order as
        ``routes`` (with their literal segments lower-cased); computed once per (length, first, last)."""
        length = len(lowered)
        firsts, lasts = self._ends.get(length, (set(), set()))
        key = (
            length,
            lowered[0] if lowered and lowered[0] in firsts else None,
            lowered[-1] if lowered and lowered[-1] in lasts else None,
        )
        found = self._narrowed.get(key)
        if found is None:
            _, first, last = key
            found = self._narrowed[key] = [
                (r, tuple(s if s.startswith("{") else s.lower() for s in r.segments))
                for r in self.routes.get(length, [])
                if not r.segments
                or (
                    (r.segments[0].startswith("{") or r.segments[0].lower() == first)
                    and (r.segments[-1].startswith("{") or r.segments[-1].lower() == last)
                )
            ]
        return found

    def match(self, path: str, version: str) -> Match:
        segments = _segments(path)
        lowered = tuple(s.lower() for s in segments)
        wrong_version: Match | None = None
        for route, wanted in self._candidates(lowered):
            params: dict[str, str] = {}
            for want, got, low in zip(wanted, segments, lowered, strict=True):
                if want.startswith("{"):
                    if got.startswith("$") or (want == "{cast}" and not low.startswith("microsoft.graph.")):
                        break
                    params[want[1:-1]] = got
                elif want != low:
                    break
            else:
                cast = params.pop("cast", None)
                found = Match(route, params, cast)
                if version in route.resource.versions:
                    return found
                wrong_version = wrong_version or found
        raise self._not_found(segments, wrong_version)

    def _not_found(self, segments: tuple[str, ...], wrong_version: Match | None) -> GraphError:
        if wrong_version is not None:
            return bad_request(f"Resource not found for the segment '{segments[-1]}'.")
        for n in range(1, len(segments) + 1):
            if not any(self._prefix_matches(prefix, segments[:n]) for prefix in self._by_length(n)):
                return bad_request(f"Resource not found for the segment '{segments[n - 1]}'.")
        return bad_request(f"Resource not found for the segment '{segments[-1] if segments else ''}'.")

    def _by_length(self, n: int) -> Iterable[tuple[str, ...]]:
        return (p for p in self._prefixes if len(p) == n) if n else ()

    @staticmethod
    def _prefix_matches(template: tuple[str, ...], segments: tuple[str, ...]) -> bool:
        return all(
            t.startswith("{") or t.lower() == s.lower() for t, s in zip(template, segments, strict=True)
        )
