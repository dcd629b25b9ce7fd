"""The record chain as ``check`` sees it: snapshot records and forget's tombstones, linked by
``sequence`` and ``previous`` (docs/FORMAT.md, "Snapshot record" and "Retention and prune").

For every sequence from 1 to the highest, the link is the record with that sequence, else the
tombstone ``forgotten/<sequence>.json``; neither means a record was removed without ``forget``. Each
link's ``previous`` must be the hash of the link before it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from entrasnap.store.canonical import HASH_RE

TOMBSTONE_RE = re.compile(r"^forgotten/(\d{10})\.json$")
TOMBSTONE_FIELDS = ("id", "tenant", "started", "forgotten", "by")


@dataclass
class Link:
    """A record (``hash`` of its stored bytes) or a tombstone (the ``hash`` it names) in the chain."""

    key: str
    hash: str
    sequence: int | None = None
    previous: str | None = None
    tombstone: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def sequence_of(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def previous_of(value: Any) -> str | None:
    return value if isinstance(value, str) and HASH_RE.match(value) else None


def parse_tombstone(key: str, raw: bytes) -> Link | str:
    """A tombstone as a link, or what is wrong with it."""
    match = TOMBSTONE_RE.match(key)
    if match is None:
        return "unexpected file among the tombstones"
    try:
        data = json.loads(raw)
    except ValueError:
        return "tombstone damaged: not JSON"
    if not isinstance(data, dict):
        return "tombstone damaged: not a JSON object"
    sequence = sequence_of(data.get("sequence"))
    if sequence != int(match.group(1)):
        return f"tombstone damaged: its sequence {data.get('sequence')!r} is not the one its name gives"
    hash_hex = data.get("hash")
    if not (isinstance(hash_hex, str) and HASH_RE.match(hash_hex)):
        return "tombstone damaged: no record hash"
    previous = data.get("previous")
    if previous is not None and previous_of(previous) is None:
        return f"tombstone damaged: previous {previous!r} is not a sha256"
    info = {name: data.get(name) for name in TOMBSTONE_FIELDS}
    return Link(key, hash_hex, sequence, previous, tombstone=True, info={"sequence": sequence, **info})


def chain_problems(records: list[Link], tombstones: list[Link]) -> tuple[list[tuple[str, str]], Link | None]:
    """(file, message) for every break in the chain, and the chain's head (None when it has none)."""
    problems: list[tuple[str, str]] = []
    by_hash = {link.hash: link for link in records}
    by_sequence: dict[int, list[Link]] = defaultdict(list)
    for link in records:
        if link.sequence is not None:
            by_sequence[link.sequence].append(link)
    stones = {t.sequence: t for t in tombstones if t.sequence is not None}
    top = max([*by_sequence, *stones], default=0)
    links: dict[int, Link] = {}
    for sequence in range(1, top + 1):
        holders, stone = by_sequence.get(sequence, []), stones.get(sequence)
        if len(holders) > 1:
            keys = ", ".join(r.key for r in holders)
            problems.append(
                (
                    "snapshots/",
                    f"sequence {sequence} is claimed by {len(holders)} records ({keys}): a record "
                    "was inserted or copied",
                )
            )
        elif holders:
            links[sequence] = holders[0]
            if stone is not None and stone.hash != holders[0].hash:
                problems.append(
                    (
                        stone.key,
                        f"names another record (hash {stone.hash[:16]}…) than {holders[0].key}, "
                        f"which holds sequence {sequence}",
                    )
                )
        elif stone is not None:
            links[sequence] = stone
        else:
            problems.append(("snapshots/", _gap(sequence, by_sequence, by_hash)))
    for sequence, link in sorted(links.items()):
        problems.extend(_link(link, links.get(sequence - 1), sequence - 1 in links or sequence == 1, by_hash))
    return problems, links.get(top)


def _gap(sequence: int, by_sequence: dict[int, list[Link]], by_hash: dict[str, Link]) -> str:
    successor = by_sequence.get(sequence + 1, [])
    named = by_hash.get(successor[0].previous or "") if len(successor) == 1 else None
    if named is not None and named.sequence is None:
        return f"sequence {sequence} is {named.key}, which is damaged (see above)"
    after = f"; {successor[0].key} (sequence {sequence + 1}) follows the gap" if successor else ""
    return f"no record and no tombstone has sequence {sequence}: a snapshot record was removed{after}"


def _link(
    link: Link, before: Link | None, known: bool, by_hash: dict[str, Link]
) -> Iterator[tuple[str, str]]:
    """What is wrong with ``link``'s ``previous`` (``known``: the link before it is unambiguous)."""
    sequence = link.sequence or 0
    if sequence == 1:
        if link.previous is not None:
            yield (
                link.key,
                (
                    f"sequence 1 names a predecessor (hash {link.previous[:16]}…): earlier records "
                    "were removed and renumbered"
                ),
            )
        return
    if link.previous is None:
        yield link.key, f"sequence {sequence} but no previous hash: the chain is cut here"
        return
    if before is None or not known or before.hash == link.previous:
        return  # a gap or a duplicate is reported once, above
    named = by_hash.get(link.previous)
    if named is not None:
        yield (
            link.key,
            (
                f"sequence {sequence} names {named.key} (sequence {named.sequence}) as its "
                f"predecessor, not {before.key} (sequence {sequence - 1}): records were reordered "
                "or renumbered"
            ),
        )
    else:
        yield (
            before.key,
            (
                f"sequence {sequence - 1} does not match the hash its successor {link.key} "
                f"(sequence {sequence}) recorded ({link.previous[:16]}…, this one has "
                f"{before.hash[:16]}…): one of the two was altered, replaced or renumbered after "
                "the successor was committed"
            ),
        )
