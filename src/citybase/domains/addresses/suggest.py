"""Type-ahead over the match index: what the user has typed so far → standard addresses that continue it.

The last registry name in the typed text (a road, compound, community, town or district) is the head;
the rest is walked down the tree (``人民路12号2`` → 人民路 → 12号 → buildings starting with ``2``). With no
known name in the text, the names that start with it are offered. No parsing, no database: a few
dictionary look-ups and numpy slices, well under a millisecond on a city.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from citybase.domains.addresses.match_index import ANCHORS, LEVELS, MatchIndex
from citybase.domains.addresses.normalise import clean, numerals_to_digits

_MAX_NAME = 16


@dataclass(frozen=True, slots=True)
class Suggestion:
    node_id: int
    level: str
    text: str  # the path's names joined: the standard full address
    lon: float | None
    lat: float | None


def _head(index: MatchIndex, q: str) -> tuple[str, list[int], int] | None:
    """The registry name in ``q`` that ends last (longest on a tie): level, name ids, end offset."""
    best: tuple[str, list[int], int] | None = None
    best_len = 0
    for end in range(len(q), 0, -1):
        for start in range(max(0, end - _MAX_NAME), end - 1):
            piece = q[start:end]
            for lvl in ANCHORS:
                nid = index.names[lvl].by_display.get(piece)
                if nid is not None and end - start > best_len:
                    best, best_len = (lvl, [nid], end), end - start
        if best is not None:
            return best
    return None


def _name(index: MatchIndex, row: int) -> str:
    d = int(index.depth[row])
    return index.names[LEVELS[d]].display[int(index.cols[row, d])]


def _descend(index: MatchIndex, nodes: list[int], tail: str) -> tuple[list[int], str]:
    """Follow whole child names at the start of ``tail`` down the tree (人民路 + 12号2 → 12号, "2")."""
    while tail and nodes:
        best: tuple[int, list[int]] = (0, [])
        for node in nodes:
            for kid in index.children(node):
                name = _name(index, int(kid))
                if tail.startswith(name) and len(name) >= best[0]:
                    best = (len(name), [*best[1], int(kid)] if len(name) == best[0] else [int(kid)])
        if not best[1]:
            break
        nodes, tail = best[1], tail[best[0] :]
    return nodes, tail


def _children(index: MatchIndex, nodes: list[int], tail: str, limit: int) -> list[int]:
    kids = [(int(k), _name(index, int(k))) for node in nodes for k in index.children(node)]
    picked = [(k, name) for k, name in kids if name.startswith(tail)]
    picked.sort(key=lambda x: (int(index.depth[x[0]]), _natural(x[1])))
    return [k for k, _ in picked[:limit]]


def _natural(name: str) -> tuple[int, str]:
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits[:9]) if digits else 0, name)


def _starting(index: MatchIndex, q: str, limit: int) -> list[int]:
    out: list[int] = []
    for lvl in ANCHORS:
        table = index.names[lvl]
        ordered = table.sorted_display()
        for name in ordered[bisect_left(ordered, q) :]:
            if not name.startswith(q) or len(out) >= limit:
                break
            out.extend(int(r) for r in index.nodes_named(lvl, [table.by_display[name]])[: limit - len(out)])
    return out


def suggest(index: MatchIndex, q: str, *, limit: int = 10) -> list[Suggestion]:
    q = clean(q)
    head = _head(index, q)
    if head is None:
        rows = _starting(index, q, limit)
    else:
        lvl, nids, end = head
        nodes, tail = _descend(index, [int(r) for r in index.nodes_named(lvl, nids)], numerals_to_digits(q[end:]))
        rows = [] if tail else nodes[:limit]
        rows += _children(index, nodes, tail, limit - len(rows))
    out = []
    for r in rows[:limit]:
        lon, lat = float(index.lon[r]), float(index.lat[r])
        out.append(
            Suggestion(
                int(index.node_ids[r]),
                LEVELS[int(index.depth[r])],
                "".join(index.path(r).values()),
                None if np.isnan(lon) else lon,
                None if np.isnan(lat) else lat,
            )
        )
    return out
