"""Match a parsed address (tree level → value) against the :class:`.match_index.MatchIndex` (database-free).

1. Look the query's names up per level: exact key, alias (old/common name), else misspellings
   (RapidFuzz ratio ≥ 0.6). A road name not among the roads is tried among the compounds and back.
2. Candidates: the nodes with the anchor names (road and compound, else community, town, district)
   and those reached from them walking down the query's deeper levels (``MatchIndex.descend``: the
   children of a node are sorted by level and name, so each step is a bisection). A wrong or missing
   district therefore does not lose a unique road and number.
3. Every candidate is scored (plain Python: the walk leaves a handful of rows, where numpy's per-call
   cost would dominate): the weighted share of the query's levels that agree
   (a misspelt name counts part), minus a little for each detail level (building, unit …) the node
   has but the query did not give. A level the query gives below the node's own level counts as
   missing, so an address that is not in the registry scores low and shows how far it got.
4. Two nodes that are not on one path and score within 0.02 of each other make the answer ambiguous:
   its score is capped below the confidence threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citybase.domains.addresses.match_index import DEPTH, LEVELS, NUMBER_KIND, MatchIndex, NameHit, name_key

WEIGHT = {
    "province": 0.5,
    "city": 0.5,
    "district": 1.0,
    "town": 1.0,
    "community": 1.0,
    "road": 3.0,
    "door_number": 3.0,
    "compound": 3.0,
    "building": 2.0,
    "unit": 1.5,
    "floor": 1.0,
    "room": 1.5,
}
CONFIDENT = 0.85  # at or above: a match to act on; below: look at it (or send it to the review queue)
AMBIGUOUS_MARGIN = 0.02
_SHALLOW_CAP = 0.75  # the highest score of a node above the deepest level the query asks for
_DETAIL_FROM = DEPTH["door_number"]
_LABEL = {
    "province": "省",
    "city": "市",
    "district": "区县",
    "town": "乡镇街道",
    "community": "社区村",
    "road": "路",
    "door_number": "门牌",
    "compound": "小区",
    "building": "楼栋",
    "unit": "单元",
    "floor": "楼层",
    "room": "户室",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    node_id: int
    level: str  # the deepest level of the node
    score: float
    path: dict[str, str]  # level → registry name
    lon: float | None
    lat: float | None
    differences: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        return "; ".join(self.differences)


@dataclass(frozen=True, slots=True)
class MatchResult:
    query: dict[str, str]  # the levels matched on (from the parser, or given)
    status: str  # matched | ambiguous | partial | unmatched
    best: Candidate | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0

    @property
    def level(self) -> str | None:
        return self.best.level if self.best else None

    @property
    def explanation(self) -> str:
        if self.best is None:
            return "no registry address shares a road, compound, community, town or district with the input"
        return self.best.explanation


Looked = tuple[str, list[NameHit], dict[int, float]]  # key, hits, name id → similarity


def _lookup(index: MatchIndex, level: str, value: str) -> Looked:
    """Key and name hits of ``value`` at ``level``, cached per (level, value) on the index: a batch
    repeats its roads and numbers, and the key, the look-up and the similarity map are made once."""
    cache = index.hit_cache
    found = cache.get((level, value))
    if found is None:
        key = name_key(level, value)
        hits = index.names[level].lookup(key, fuzzy=level not in NUMBER_KIND and level not in ("province", "city"))
        found = (key, hits, {h.name_id: h.similarity for h in hits})
        if len(cache) >= 100_000:  # about 40 MB at most
            cache.clear()
        cache[(level, value)] = found
    return found


def _hits(
    index: MatchIndex, query: dict[str, str]
) -> tuple[dict[str, str], dict[str, list[NameHit]], dict[str, dict[int, float]]]:
    """Keys, name hits and similarities per level; ``query`` may move a road to the compounds (and
    back) when only that fits (road and compound names share one key form)."""
    keys: dict[str, str] = {}
    hits: dict[str, list[NameHit]] = {}
    sims: dict[str, dict[int, float]] = {}
    for lvl, v in query.items():
        keys[lvl], hits[lvl], sims[lvl] = _lookup(index, lvl, v)
    for a, b in (("road", "compound"), ("compound", "road")):  # a road written where a compound is, and back
        if a in keys and not hits[a] and b not in keys:
            _, alt, alt_sims = _lookup(index, b, query[a])
            if alt:
                keys[b], hits[b], sims[b], query[b] = keys.pop(a), alt, alt_sims, query.pop(a)
                del hits[a], sims[a]
    return keys, hits, sims


def _candidates(index: MatchIndex, keys: dict[str, str], hits: dict[str, list[NameHit]]) -> list[int]:
    """The anchor nodes and the nodes reached from them by walking down the query's deeper levels.

    Anchors: the nodes named like the query's road and compound, else its deepest community, town or
    district. Each deeper level of the query is looked for among the descendants (through levels the
    query leaves out). A number (door plate, building, unit, floor, room) is exact: when it is not
    found the walk stops, so an address that is not in the registry ends at the last node that is.
    A deeper name the registry does not know (a compound written differently) is stepped over.
    Rows come back sorted (ties in the score are broken by row order).
    """
    anchors = [lvl for lvl in ("road", "compound") if hits.get(lvl)]
    if not anchors:
        anchors = [lvl for lvl in ("community", "town", "district") if hits.get(lvl)][:1]
    if not anchors:
        return []
    omitted = [lvl not in keys for lvl in LEVELS]
    asked = sorted(keys, key=DEPTH.__getitem__)
    found: set[int] = set()
    for anchor in anchors:
        frontier = index.node_list(anchor, [h.name_id for h in hits[anchor]])
        found.update(frontier)
        for lvl in asked:
            if DEPTH[lvl] <= DEPTH[anchor]:
                continue
            ids = [h.name_id for h in hits.get(lvl, ())]
            reached = index.descend(frontier, DEPTH[lvl], ids, omitted) if ids else []
            if not reached:
                if lvl in NUMBER_KIND:
                    break
                continue
            found.update(reached)
            frontier = reached
    return sorted(found)


def _off_path(top: list[int], top_depth: int, other: list[int], other_depth: int) -> bool:
    """True when ``other`` (name ids on its path) is neither ``top``, an ancestor nor a descendant of it."""
    for j in range(min(top_depth, other_depth) + 1):
        a, b = top[j], other[j]
        if a != b and a >= 0 and b >= 0:
            return True
    return False


_SHAPES: dict[tuple[str, ...], tuple[int, list[tuple[int, float]], list[tuple[int, float]]]] = {}


def _shape(levels: tuple[str, ...]) -> tuple[int, list[tuple[int, float]], list[tuple[int, float]]]:
    """Deepest depth, (depth, weight) of each given level and the penalties of the detail levels the
    node may have that the query left out: the same for every query that gives these levels (cached)."""
    found = _SHAPES.get(levels)
    if found is None:
        deepest = max(DEPTH[lvl] for lvl in levels)
        weights = [(DEPTH[lvl], WEIGHT[lvl]) for lvl in levels]
        # detail levels the node has but the query left out: a little each; more below what was asked
        pen = [
            (DEPTH[lvl], 0.08 if DEPTH[lvl] > deepest else 0.03)
            for lvl in LEVELS[_DETAIL_FROM:]
            if lvl not in levels and not _implied(lvl, dict.fromkeys(levels, ""))
        ]
        found = _SHAPES[levels] = (deepest, weights, pen)
    return found


def _scores(
    index: MatchIndex, rows: list[int], keys: dict[str, str], sims: dict[str, dict[int, float]], *, many: int = 64
) -> tuple[list[float], list[int], list[list[int]]]:
    """Score, depth and path name ids of each candidate row (see the module doc). Plain Python: the
    walk leaves a handful of rows, where numpy's per-call cost would dominate."""
    deepest, weights, pen = _shape(tuple(keys))
    given = [(j, w, sims[lvl]) for (j, w), lvl in zip(weights, keys, strict=True)]
    if len(rows) > many:
        return _scores_numpy(index, rows, deepest, given, pen)
    depth = index.rows_depth(rows)
    paths = index.rows_names(rows)
    out = []
    for path, d in zip(paths, depth, strict=True):
        matched = total = 0.0
        for j, w, level_sims in given:
            v = path[j]
            if v >= 0:
                total += w
                matched += w * level_sims.get(v, 0.0)
            elif j > d:  # asked for below this node: missing
                total += w
        score = matched / total if total else 0.0
        extra = 0.0  # summed in order, as ``sum()`` did: the same floats as before
        for j, p in pen:
            if path[j] >= 0:
                extra += p
        score -= extra
        if d < deepest:  # the node lies above the deepest level asked for
            score = min(score, _SHALLOW_CAP)
        out.append(min(max(score, 0.0), 1.0))
    return out, depth, paths


def _scores_numpy(
    index: MatchIndex,
    rows: list[int],
    deepest: int,
    given: list[tuple[int, float, dict[int, float]]],
    pen: list[tuple[int, float]],
) -> tuple[list[float], list[int], list[list[int]]]:
    """``_scores`` for many rows (a road and a building number without a door plate can reach a
    thousand): the same operations in the same order on whole columns, so the same floats."""
    cols = index.cols[rows]
    depth = index.depth[rows].astype(np.int64)
    matched = np.zeros(len(rows))
    total = np.zeros(len(rows))
    for j, w, sims in given:
        v = cols[:, j]
        present = v >= 0
        sim = np.zeros(len(rows))
        for nid, similarity in sims.items():
            sim[v == nid] = similarity
        total = total + np.where(present | (j > depth), w, 0.0)
        matched = matched + np.where(present, w * sim, 0.0)
    score = np.where(total > 0, matched / np.where(total > 0, total, 1.0), 0.0)
    extra = np.zeros(len(rows))
    for j, p in pen:
        extra = extra + np.where(cols[:, j] >= 0, p, 0.0)
    score = score - extra
    score = np.where(depth < deepest, np.minimum(score, _SHALLOW_CAP), score)
    return np.clip(score, 0.0, 1.0).tolist(), depth.tolist(), cols.tolist()


def _ranked(
    index: MatchIndex, rows: list[int], keys: dict[str, str], sims: dict[str, dict[int, float]], limit: int
) -> tuple[list[int], tuple[list[float], list[int], list[list[int]]]]:
    """The rows worth ranking and their scores. With one answer asked, the rows above the deepest level
    asked (ancestors on the walk, capped at ``_SHALLOW_CAP``) are scored only when no deeper row scores
    more than the cap plus the ambiguity margin: otherwise they can be neither the answer nor its rival,
    and leaving them out changes no answer."""
    if limit == 1 and len(rows) <= 64:
        deepest = _shape(tuple(keys))[0]
        deep = [r for r in rows if index.row_depth(r) >= deepest]
        if deep and len(deep) < len(rows):
            scored = _scores(index, deep, keys, sims)
            if max(scored[0]) > _SHALLOW_CAP + AMBIGUOUS_MARGIN:
                return deep, scored
    return rows, _scores(index, rows, keys, sims)


def _implied(level: str, given: dict[str, str]) -> bool:
    """A room number implies its floor (502室 is on 5层): a floor left out is no difference."""
    return level == "floor" and "room" in given


def _differences(
    index: MatchIndex,
    row: int,
    names: list[int],
    query: dict[str, str],
    hits: dict[str, list[NameHit]],
    path: dict[str, str],
) -> tuple[str, ...]:
    """What differs between the query and the registry node ``row`` (``names``: its name ids, ``path``:
    its names)."""
    depth = index.row_depth(row)
    out: list[str] = []
    for lvl in LEVELS:
        given = query.get(lvl)
        if given is None:
            name = path.get(lvl)
            if name is not None and DEPTH[lvl] >= _DETAIL_FROM and not _implied(lvl, query):
                out.append(f"{_LABEL[lvl]} {name} 未给出 (not in the input)")
            continue
        name, label = path.get(lvl), _LABEL[lvl]
        if name is None:
            if DEPTH[lvl] > depth:
                out.append(f"{label} {given} 在 {path[LEVELS[depth]]} 下未找到 (not in the registry)")
            else:
                out.append(f"{label} {given} 不在标准地址路径上 (not on the registry path)")
            continue
        nid = names[DEPTH[lvl]]
        hit = next((h for h in hits.get(lvl, ()) if h.name_id == nid), None)
        if hit is None:
            out.append(f"{label} {given} ≠ {name} (differs)")
        elif hit.via == "alias":
            out.append(f"{label} {given} 为曾用名/别名 → {name} (alias)")
        elif hit.via == "fuzzy":
            out.append(f"{label} {given} ≈ {name} (typo)")
    return tuple(out)


def index_level(index: MatchIndex, row: int) -> str:
    return LEVELS[index.row_depth(row)]


def _candidate(
    index: MatchIndex,
    row: int,
    names: list[int],
    score: float,
    query: dict[str, str],
    hits: dict[str, list[NameHit]],
    extra: tuple[str, ...] = (),
) -> Candidate:
    """The candidate ``row`` with its differences from the query (one path read for both)."""
    lon, lat = index.point(row)
    path = index.path(row, names)
    return Candidate(
        index.node_id(row),
        index_level(index, row),
        round(float(score), 4),
        path,
        None if math.isnan(lon) else lon,
        None if math.isnan(lat) else lat,
        _differences(index, row, names, query, hits, path) + extra,
    )


def match_levels(index: MatchIndex, query: dict[str, str], *, limit: int = 5) -> MatchResult:
    """Best registry node for ``query`` (tree level → value), with up to ``limit`` candidates."""
    query = {k: v for k, v in query.items() if k in DEPTH and v}
    keys, hits, sims = _hits(index, query)
    rows = _candidates(index, keys, hits) if keys else []
    if not rows:
        return MatchResult(query, "unmatched", None)
    rows, (score, depth, paths) = _ranked(index, rows, keys, sims, limit)
    order = sorted(range(len(rows)), key=lambda k: (-score[k], depth[k]))  # stable: ties by row
    first = order[0]
    top, best_score = rows[first], score[first]
    near = [k for k in order[1:200] if score[k] >= best_score - AMBIGUOUS_MARGIN]
    top_path = paths[first]
    rivals = sum(_off_path(top_path, depth[first], paths[k], depth[k]) for k in near)
    extra: tuple[str, ...] = ()
    if rivals:
        status = "ambiguous"
        best_score = min(best_score, CONFIDENT - 0.05)
        extra = (f"{rivals + 1} 个候选同样相近 (ambiguous: {rivals + 1} registry addresses fit equally)",)
    elif depth[first] < _shape(tuple(keys))[0] or best_score < CONFIDENT:
        status = "partial"
    else:
        status = "matched"
    best = _candidate(index, top, top_path, best_score, query, hits, extra)
    others = [_candidate(index, rows[k], paths[k], score[k], query, hits) for k in order[1:limit]]
    return MatchResult(query, status, best, (best, *others))


def result_json(result: MatchResult) -> dict[str, Any]:
    def cand(c: Candidate) -> dict[str, Any]:
        return {
            "node_id": c.node_id,
            "level": c.level,
            "score": c.score,
            "path": c.path,
            "lon": c.lon,
            "lat": c.lat,
            "explanation": c.explanation,
        }

    return {
        "status": result.status,
        "score": round(result.score, 4),
        "level": result.level,
        "explanation": result.explanation,
        "query": result.query,
        "best": cand(result.best) if result.best else None,
        "candidates": [cand(c) for c in result.candidates],
    }
