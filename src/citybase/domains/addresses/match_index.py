"""The in-memory match index over the standard address registry (database-free).

Every registry node is one row. Per tree level the index keeps a table of distinct names and, per
row, the id of the name on its path at that level (``-1`` where the path has no such level), in one
``int32`` matrix: 48 bytes a row, about 0.3 GB for five million nodes. Names are compared by a *key*
(folded text; numbers in one form, 三号楼 = 3号楼 = 3栋; the suffix of a division name dropped, 樊城区 =
樊城). For the levels a query is anchored on (road, compound, community, town, district) the rows are
sorted by name id once (``numpy.argsort``), so the rows under a name are one slice. Misspelt names are
found through a character → name-id inverted index and scored with RapidFuzz; aliases (old and common
names, renames) map to the current name.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from citybase.domains.addresses.normalise import canonical, clean
from citybase.domains.addresses.tree import LEVELS

DEPTH = {name: i for i, name in enumerate(LEVELS)}
NUMBER_KIND = {"door_number": "roadno", "building": "houseno", "unit": "cellno", "floor": "floorno", "room": "roomno"}
ANCHORS = ("road", "compound", "community", "town", "district")
_DIVISION_SUFFIX = re.compile(
    r"(?:街道办事处|居民委员会|村民委员会|居委会|村委会|自治州|特别行政区|街道|社区|"
    r"省|市|区|县|镇|乡|村|旗)$"
)
FUZZY_MIN = 0.6  # RapidFuzz ratio below which two names are not taken as one misspelt


class RecordLike(Protocol):
    """What the index reads from an ``AddressRecord`` of the registry (see docs/addresses.md)."""

    @property
    def id(self) -> int: ...
    @property
    def level(self) -> str: ...
    @property
    def parts(self) -> dict[str, str]: ...
    @property
    def aliases(self) -> dict[str, tuple[str, ...]]: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def lat(self) -> float | None: ...


@lru_cache(maxsize=200_000)
def name_key(level: str, name: str) -> str:
    """The comparison key of a name at ``level`` (see the module doc)."""
    value = clean(name)
    if level in NUMBER_KIND:
        return canonical(NUMBER_KIND[level], value)
    if level in ("province", "city", "district", "town", "community"):
        stem = _DIVISION_SUFFIX.sub("", value)
        return stem if len(stem) >= 2 else value
    return value


@dataclass(frozen=True, slots=True)
class NameHit:
    name_id: int
    similarity: float  # 1 exact or alias, below 1 a misspelling
    via: str  # "exact" | "alias" | "fuzzy"


class LevelNames:
    """Distinct names of one level: display text, key, aliases, and a character index for typos."""

    def __init__(self) -> None:
        self.display: list[str] = []
        self.by_display: dict[str, int] = {}
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.by_alias: dict[str, set[int]] = defaultdict(set)
        self._chars: dict[str, NDArray[np.int32]] | None = None
        self._keys: list[str] = []
        self._sorted: list[str] | None = None
        self._found: dict[tuple[str, bool, int], list[NameHit]] = {}  # lookups already answered

    def add(self, level: str, name: str) -> int:
        found = self.by_display.get(name)
        if found is not None:
            return found
        nid = len(self.display)
        self.display.append(name)
        self.by_display[name] = nid
        key = name_key(level, name)
        self.by_key[key].append(nid)
        self._keys.append(key)
        self._chars = None
        self._sorted = None
        if self._found:
            self._found.clear()
        return nid

    def add_alias(self, level: str, alias: str, nid: int) -> None:
        self.by_alias[name_key(level, alias)].add(nid)
        if self._found:
            self._found.clear()

    def clear_cache(self) -> None:
        """Forget the answered look-ups (the benchmark times cold look-ups)."""
        self._found.clear()

    def sorted_display(self) -> list[str]:
        """The display names in sorted order (for prefix search)."""
        if self._sorted is None:
            self._sorted = sorted(self.display)
        return self._sorted

    def key(self, nid: int) -> str:
        return self._keys[nid]

    def lookup(self, key: str, *, fuzzy: bool = True, limit: int = 8) -> list[NameHit]:
        """Names equal to ``key``, else those that once had it as a name, else the closest misspellings.

        Answers are cached per key (a batch repeats its roads and numbers; a misspelling costs a
        RapidFuzz scan): the list returned is shared, callers must not change it."""
        found = self._found.get((key, fuzzy, limit))
        if found is None:
            found = self._lookup(key, fuzzy, limit)
            if len(self._found) >= 100_000:
                self._found.clear()
            self._found[(key, fuzzy, limit)] = found
        return found

    def _lookup(self, key: str, fuzzy: bool, limit: int) -> list[NameHit]:
        hits = [NameHit(n, 1.0, "exact") for n in self.by_key.get(key, ())]
        seen = {h.name_id for h in hits}
        hits += [NameHit(n, 1.0, "alias") for n in self.by_alias.get(key, ()) if n not in seen]
        if hits or not fuzzy or len(key) < 2:
            return hits
        return self._fuzzy(key, limit)

    def _fuzzy(self, key: str, limit: int) -> list[NameHit]:
        if self._chars is None:
            index: dict[str, array[int]] = defaultdict(lambda: array("i"))
            for nid, k in enumerate(self._keys):
                for c in set(k):
                    index[c].append(nid)
            self._chars = {c: np.frombuffer(a, dtype=np.int32) for c, a in index.items()}
        lists = [self._chars[c] for c in set(key) if c in self._chars]
        if not lists:
            return []
        counts = np.bincount(np.concatenate(lists), minlength=len(self._keys))
        need = max(1, len(set(key)) // 2)
        cand = np.flatnonzero(counts >= need)
        if len(cand) > 200:  # the names sharing the most characters
            cand = cand[np.argsort(-counts[cand], kind="stable")[:200]]
        ids = cand.tolist()
        if not ids:
            return []
        # one C call for the ratios (the same values as fuzz.ratio one by one), then the same filter
        ratios = process.cdist([key], [self._keys[n] for n in ids], scorer=fuzz.ratio, dtype=np.float64)[0] / 100.0
        keep = np.flatnonzero(ratios >= FUZZY_MIN).tolist()
        scored = [(float(ratios[k]), ids[k]) for k in keep]
        scored.sort(key=lambda x: -x[0])
        return [NameHit(n, s, "fuzzy") for s, n in scored[:limit]]


class MatchIndex:
    """Rows = registry nodes; ``cols[row, level]`` = name id on the node's path (``-1``: none)."""

    def __init__(self, records: Iterable[RecordLike]) -> None:
        self.names = {lvl: LevelNames() for lvl in LEVELS}
        cols = array("i")
        node_ids = array("q")
        depth = array("b")
        lon = array("d")
        lat = array("d")
        for r in records:
            row = [-1] * len(LEVELS)
            for lvl, name in r.parts.items():
                if lvl in DEPTH and name:
                    nid = self.names[lvl].add(lvl, name)
                    row[DEPTH[lvl]] = nid
                    for alias in r.aliases.get(lvl, ()):
                        self.names[lvl].add_alias(lvl, alias, nid)
            cols.extend(row)
            node_ids.append(int(r.id))
            depth.append(DEPTH.get(r.level, len(LEVELS) - 1))
            lon.append(np.nan if r.lon is None else float(r.lon))
            lat.append(np.nan if r.lat is None else float(r.lat))
        n = len(node_ids)
        self.cols: NDArray[np.int32] = np.frombuffer(cols, dtype=np.int32).reshape(n, len(LEVELS)).copy()
        self.node_ids: NDArray[np.int64] = np.frombuffer(node_ids, dtype=np.int64).copy()
        self.depth: NDArray[np.int8] = np.frombuffer(depth, dtype=np.int8).copy()
        self.lon: NDArray[np.float64] = np.frombuffer(lon, dtype=np.float64).copy()
        self.lat: NDArray[np.float64] = np.frombuffer(lat, dtype=np.float64).copy()
        self._by_id = np.argsort(self.node_ids, kind="stable")
        self._sorted_ids = self.node_ids[self._by_id]
        self._order: dict[str, tuple[NDArray[np.int32], NDArray[np.int64]]] = {}
        for lvl in ANCHORS:
            col = self.cols[:, DEPTH[lvl]]
            order = np.argsort(col, kind="stable").astype(np.int32)
            starts = np.searchsorted(col[order], np.arange(len(self.names[lvl].display) + 1))
            self._order[lvl] = (order, starts.astype(np.int64))
        self.scan_cache: Any = None  # the registry scan's name table (scan.py), built on first use
        self.hit_cache: dict[tuple[str, str], Any] = {}  # (level, value) → name hits (matcher.py)
        self.parent = _parents(self.cols, self.depth)
        kids = np.argsort(self.parent, kind="stable").astype(np.int32)
        self._kids = kids
        self._kid_start = np.searchsorted(self.parent[kids], np.arange(n + 1)).astype(np.int64)
        # the same children, within each parent sorted by (depth, own name id): the children of a node
        # at one level with one name are then one slice, found by bisection (``kids_named``)
        own = self.cols[np.arange(n), self.depth.astype(np.intp)].astype(np.int64) if n else np.empty(0, np.int64)
        key = (self.depth.astype(np.int64) << 32) + own + 1
        by_key = np.lexsort((key, self.parent)).astype(np.int32)
        self._kid_key: NDArray[np.int64] = key[by_key]
        self._kids_by_key = by_key
        # Python-level views for the per-query walk: indexing a memoryview gives a plain int without
        # numpy's per-call cost (the walk touches a handful of nodes per query)
        self._mv_cols = self.cols.reshape(-1).data
        self._mv_depth = self.depth.data
        self._mv_node_ids = self.node_ids.data
        self._mv_lon = self.lon.data
        self._mv_lat = self.lat.data
        self._mv_kid_start = self._kid_start.data
        self._mv_kid_key = self._kid_key.data
        self._mv_kids_by_key = self._kids_by_key.data
        self._width = len(LEVELS)
        # node rows of each anchor level by name id (the road 人民路 itself, not what lies under it)
        self._nodes: dict[str, tuple[NDArray[np.int32], NDArray[np.int64]]] = {}
        for lvl in ANCHORS:
            rows = np.flatnonzero(self.depth == DEPTH[lvl]).astype(np.int32)
            rows = rows[np.argsort(self.cols[rows, DEPTH[lvl]], kind="stable")]
            starts = np.searchsorted(self.cols[rows, DEPTH[lvl]], np.arange(len(self.names[lvl].display) + 1))
            self._nodes[lvl] = (rows, starts.astype(np.int64))

    def children(self, row: int) -> NDArray[np.int32]:
        return self._kids[self._kid_start[row] : self._kid_start[row + 1]]

    def kid_range(self, row: int) -> tuple[int, int]:
        """The slice of ``row``'s children in the (depth, name)-sorted child list."""
        starts = self._mv_kid_start
        return starts[row], starts[row + 1]

    def kids_keyed(self, lo: int, hi: int, first: int, last: int) -> list[int]:
        """Children in the slice ``lo:hi`` (of ``kid_range``) whose key lies in ``[first, last)``."""
        keys = self._mv_kid_key
        a = bisect_left(keys, first, lo, hi)
        b = bisect_left(keys, last, a, hi)
        return self._mv_kids_by_key[a:b].tolist() if b > a else []

    def descend(
        self, frontier: list[int], j: int, ids: Sequence[int], through: Sequence[bool], budget: int = 20_000
    ) -> list[int]:
        """Descendants of the rows ``frontier`` at depth ``j`` named one of ``ids``, reached through
        nodes of the depths where ``through`` is true; stops after ``budget`` children looked at.

        Within each parent the children are sorted by (depth, name), so every step is a few
        bisections over a plain memoryview: the walk touches a handful of nodes per query, where
        numpy's per-call cost would dominate."""
        keys, kids, starts, depths = self._mv_kid_key, self._mv_kids_by_key, self._mv_kid_start, self._mv_depth
        wanted = [(j << 32) + n + 1 for n in sorted(set(ids))]
        out: list[int] = []
        stack = list(frontier)
        while stack and budget > 0:
            row = stack.pop()
            lo, hi = starts[row], starts[row + 1]
            if lo == hi:
                continue
            budget -= hi - lo
            for k in wanted:
                a = bisect_left(keys, k, lo, hi)
                if a < hi and keys[a] == k:
                    b = bisect_left(keys, k + 1, a, hi)
                    out += kids[a:b].tolist()
            for d in range(depths[row] + 1, j):
                if through[d]:
                    a = bisect_left(keys, d << 32, lo, hi)
                    b = bisect_left(keys, (d + 1) << 32, a, hi)
                    if b > a:
                        stack += kids[a:b].tolist()
        return out

    @staticmethod
    def kid_key(depth: int, name_id: int) -> int:
        """The sort key of a child at ``depth`` named ``name_id`` (see ``kids_keyed``)."""
        return (depth << 32) + name_id + 1

    def row_names(self, row: int) -> list[int]:
        """The name ids on the path of ``row``, one per level (``-1``: none), as plain ints."""
        w = self._width
        return self._mv_cols[row * w : row * w + w].tolist()

    def rows_names(self, rows: Sequence[int]) -> list[list[int]]:
        """``row_names`` of each of ``rows`` (one call for a candidate set)."""
        w, cols = self._width, self._mv_cols
        return [cols[r * w : r * w + w].tolist() for r in rows]

    def rows_depth(self, rows: Sequence[int]) -> list[int]:
        depth = self._mv_depth
        return [depth[r] for r in rows]

    def row_depth(self, row: int) -> int:
        return self._mv_depth[row]

    def node_list(self, level: str, name_ids: Sequence[int]) -> list[int]:
        """``nodes_named`` as a list of plain ints (for the per-query walk)."""
        rows, starts = self._nodes[level]
        out: list[int] = []
        for n in name_ids:
            out += rows[starts[n] : starts[n + 1]].tolist()
        return out

    def nodes_named(self, level: str, name_ids: Sequence[int]) -> NDArray[np.int32]:
        """The nodes of an anchor ``level`` that carry one of ``name_ids``."""
        rows, starts = self._nodes[level]
        parts = [rows[starts[n] : starts[n + 1]] for n in name_ids]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.node_ids)

    def clear_caches(self) -> None:
        """Forget the cached name look-ups of every level (see ``LevelNames.lookup``)."""
        for table in self.names.values():
            table.clear_cache()
        self.hit_cache.clear()

    def rows_under(self, level: str, name_ids: Sequence[int]) -> NDArray[np.int32]:
        """Rows whose path has one of ``name_ids`` at ``level`` (an anchor level)."""
        order, starts = self._order[level]
        parts = [order[starts[n] : starts[n + 1]] for n in name_ids]
        if not parts:
            return np.empty(0, dtype=np.int32)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def row(self, node_id: int) -> int | None:
        k = int(np.searchsorted(self._sorted_ids, node_id))
        if k < len(self._by_id) and self._sorted_ids[k] == node_id:
            return int(self._by_id[k])
        return None

    def path(self, row: int, names: list[int] | None = None) -> dict[str, str]:
        """Level → display name on the path of ``row`` (``names``: its ``row_names`` when at hand)."""
        ids = self.row_names(row) if names is None else names
        return {lvl: self.names[lvl].display[n] for lvl, n in zip(LEVELS, ids, strict=True) if n >= 0}

    def node_id(self, row: int) -> int:
        return self._mv_node_ids[row]

    def point(self, row: int) -> tuple[float, float]:
        """Lon, lat of ``row`` (NaN where the node has no point)."""
        return self._mv_lon[row], self._mv_lat[row]

    def memory_bytes(self) -> int:
        """Bytes held by the arrays and (approximately) the name tables."""
        arrays = self.cols.nbytes + self.node_ids.nbytes + self.depth.nbytes + self.lon.nbytes + self.lat.nbytes
        arrays += sum(o.nbytes + s.nbytes for o, s in (*self._order.values(), *self._nodes.values()))
        arrays += self.parent.nbytes + self._kids.nbytes + self._kid_start.nbytes
        arrays += self._kid_key.nbytes + self._kids_by_key.nbytes
        names = sum(len(t.display) * 200 + len(t.by_alias) * 120 for t in self.names.values())
        return int(arrays + self._by_id.nbytes + self._sorted_ids.nbytes + names)


def _parents(cols: NDArray[np.int32], depth: NDArray[np.int8]) -> NDArray[np.int32]:
    """Row of each node's parent (``-1`` for a root): the node whose path is this path less its own level,
    or less further levels where the registry has no node in between. Paths are compared by a 64-bit
    polynomial hash of their name ids (collisions are negligible at city scale: about 1e-6)."""
    n = len(depth)
    parent = np.full(n, -1, dtype=np.int32)
    if n == 0:
        return parent
    powers = (np.uint64(0x9E3779B97F4A7C15) ** np.arange(cols.shape[1], dtype=np.uint64)).astype(np.uint64)
    with np.errstate(over="ignore"):
        vals = (cols.astype(np.int64) + 2).astype(np.uint64)
        key = (vals * powers).sum(axis=1, dtype=np.uint64)
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        probe = key.copy()
        present = cols >= 0
        todo = np.arange(n)
        level = depth.astype(np.int64).copy()
        for _ in range(cols.shape[1]):
            # drop the deepest level still present at or above ``level`` from each unresolved path
            j = level[todo]
            ok = j >= 0
            todo, j = todo[ok], j[ok]
            if len(todo) == 0:
                break
            has = present[todo, j]
            probe[todo] -= np.where(has, (vals[todo, j] - np.uint64(1)) * powers[j], np.uint64(0))
            level[todo] = j - 1
            at = np.searchsorted(sorted_keys, probe[todo])
            at = np.minimum(at, n - 1)
            found = (sorted_keys[at] == probe[todo]) & has
            parent[todo[found]] = order[at[found]]
            todo = todo[~found]
    return parent
