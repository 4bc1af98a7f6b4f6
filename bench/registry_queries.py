"""Statistics queries for ``bench_registry.py``: the registry's ``PopulationStats`` against hand-written SQL.

The hand-written SQL knows the bench tree's fixed shape (community → building → unit → floor → room;
every home is a room) and joins the levels directly; ``PopulationStats`` cannot assume a depth and walks
the tree with recursive CTEs (``registry.subtree``). A second baseline sends the same recursive CTE as
raw SQL through the bare driver, which separates the price of the general query from that of the layers
(SQLAlchemy, the read transaction, Python post-processing). All sides read the same citybase tables.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from citybase.domains.access import SYSTEM
from citybase.domains.registry import PopulationStats
from citybase.domains.registry.population_stats import SCHOOL_AGE, years_before
from citybase.store import Store

UP_TO_BUILDING = """JOIN address_node rm ON rm.id = {col}
JOIN address_node fl ON fl.id = rm.parent_id
JOIN address_node un ON un.id = fl.parent_id
JOIN address_node bd ON bd.id = un.parent_id"""

JOINED = {
    "residents_by_community": f"""SELECT bd.parent_id, r.residence_type, count(*) FROM residence r
{UP_TO_BUILDING.format(col="r.address_node_id")}
WHERE r.move_out IS NULL GROUP BY bd.parent_id, r.residence_type""",
    "school_age_by_zone": f"""SELECT m.zone_id, count(*) FROM person p
JOIN residence r ON r.person_id = p.id AND r.move_out IS NULL
{UP_TO_BUILDING.format(col="r.address_node_id")}
JOIN enrolment_zone_member m ON m.address_node_id = bd.parent_id
WHERE p.birth_date > {{p}} AND p.birth_date <= {{p}} GROUP BY m.zone_id""",
    "households_per_building": """SELECT un.parent_id, count(*) FROM household h
JOIN address_node rm ON rm.id = h.address_node_id
JOIN address_node fl ON fl.id = rm.parent_id
JOIN address_node un ON un.id = fl.parent_id
WHERE h.state = 'active' GROUP BY un.parent_id""",
}


def _tree(roots: str) -> str:
    return f"""WITH RECURSIVE t(id, root) AS (SELECT id, id FROM address_node WHERE {roots}
UNION ALL SELECT c.id, t.root FROM address_node c JOIN t ON c.parent_id = t.id)"""


RECURSIVE = {
    "residents_by_community": _tree("level = 'community'") + """
SELECT t.root, r.residence_type, count(*) FROM residence r JOIN t ON t.id = r.address_node_id
WHERE r.move_out IS NULL GROUP BY t.root, r.residence_type""",
    "school_age_by_zone": _tree("id IN (SELECT address_node_id FROM enrolment_zone_member)") + """
SELECT m.zone_id, count(DISTINCT p.id) FROM person p JOIN residence r ON r.person_id = p.id
JOIN t ON t.id = r.address_node_id JOIN enrolment_zone_member m ON m.address_node_id = t.root
WHERE r.move_out IS NULL AND p.birth_date > {p} AND p.birth_date <= {p} GROUP BY m.zone_id""",
    "households_per_building": _tree("level = 'building'") + """
SELECT t.root, count(*) FROM household h JOIN t ON t.id = h.address_node_id
WHERE h.state = 'active' GROUP BY t.root""",
}
QUERIES = tuple(JOINED)


def school_dates(at: date) -> tuple[date, date]:
    """(oldest excluded, youngest included) birth dates of 6-14 year olds, as ``PopulationStats`` computes."""
    return years_before(at, SCHOOL_AGE[1] + 1), years_before(at, SCHOOL_AGE[0])


def citybase_side(stats: PopulationStats, name: str, at: date) -> Callable[[], dict[Any, int]]:
    """The registry call, its answer reduced to {key: count} for the comparison."""
    if name == "residents_by_community":
        return lambda: {(c["community_id"], t): n for c in stats.by_community(SYSTEM) for t, n in c["by_type"].items()}
    if name == "school_age_by_zone":
        return lambda: {z["zone_id"]: z["children"] for z in stats.school_age_by_zone(SYSTEM, at) if z["children"]}
    return lambda: {b["building_id"]: b["households"] for b in stats.households_per_building(SYSTEM)}


def sql_side(raw: Any, kind: str, sql: str, at: date) -> Callable[[], dict[Any, int]]:
    """One hand-written statement through the bare driver connection."""
    mark = "?" if kind == "sqlite" else "%s"
    text = sql.replace("{p}", mark)
    params: tuple[Any, ...] = ()
    if "{p}" in sql:
        oldest, youngest = school_dates(at)
        params = (oldest.isoformat(), youngest.isoformat()) if kind == "sqlite" else (oldest, youngest)

    def run() -> dict[Any, int]:
        cur = raw.cursor()
        cur.execute(text, params)
        got = cur.fetchall()
        raw.commit()
        return {(int(r[0]), r[1]) if len(r) == 3 else int(r[0]): int(r[-1]) for r in got}

    return run


def time_queries(store: Store, repetitions: int, at: date | None = None) -> list[dict[str, Any]]:
    """Each query ``repetitions`` times per side, the sides taking turns (order rotating each round);
    medians in seconds, and whether all sides gave the same counts."""
    at = at or date.today()
    stats = PopulationStats(store)
    raw: Any = store.engine.raw_connection()
    out = []
    try:
        for name in QUERIES:
            sides = {"citybase": citybase_side(stats, name, at),
                     "sql_joined": sql_side(raw, store.name, JOINED[name], at),
                     "sql_recursive": sql_side(raw, store.name, RECURSIVE[name], at)}
            times: dict[str, list[float]] = {s: [] for s in sides}
            answers: dict[str, dict[Any, int]] = {}
            errors: dict[str, str] = {}
            order = list(sides)
            for rep in range(repetitions):
                for side in order[rep % len(order):] + order[:rep % len(order)]:
                    if side in errors:
                        continue
                    t0 = time.perf_counter()
                    try:
                        answers[side] = sides[side]()
                    except Exception as exc:  # a failing side is reported, the others still measured
                        errors[side] = f"{type(exc).__name__}: {str(exc)[:300]}"
                        _rollback(raw)
                        continue
                    times[side].append(time.perf_counter() - t0)
            med = {s: statistics.median(v) if v else None for s, v in times.items()}
            ref = answers.get("citybase") or answers.get("sql_joined") or {}
            out.append({"query": name, "median_s": med, "all_s": times, "rows": len(ref), "total": sum(ref.values()),
                        "errors": errors, "same_answer": all(a == ref for a in answers.values()),
                        "differs": sorted(s for s, a in answers.items() if a != ref),
                        "ratio_joined": _ratio(med["sql_joined"], med["citybase"]),
                        "ratio_recursive": _ratio(med["sql_recursive"], med["citybase"])})
    finally:
        raw.close()
    return out


def _ratio(baseline: float | None, citybase: float | None) -> float | None:
    return baseline / citybase if baseline and citybase else None


def _rollback(raw: Any) -> None:
    with contextlib.suppress(Exception):  # the connection may be gone; the error is already recorded
        raw.rollback()
