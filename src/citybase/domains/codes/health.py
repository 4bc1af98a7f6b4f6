"""The code health report of a department (or of the whole platform).

Problems it finds, each with a count and up to ``SAMPLES`` examples:

- ``uncoded``: live objects without a code;
- ``duplicate_legacy_ids``: one code named by several legacy ids of the same department (duplicate
  records in the department's own system);
- ``retired_crosswalk``: crosswalk entries pointing at a retired code (with what replaced it);
- ``retired_parent``: live objects whose parent object is retired;
- ``division_mismatch``: codes whose division is not where the object's geometry now lies;
- ``stale_beidou``: stored Beidou codes that no longer match the object's geometry.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, func, or_, select

from citybase.domains.codes.model import CodeState, HealthProblem, HealthReport
from citybase.domains.codes.numbering import beidou_codes, representative_points
from citybase.domains.objects import LifecycleState
from citybase.store.counters import wkb
from citybase.store.schema import city_object, code_crosswalk, code_lineage, code_registry, object_beidou

if TYPE_CHECKING:
    from citybase.domains.codes.service import CodeService

SAMPLES = 20
CHUNK = 20_000
RETIRED = LifecycleState.RETIRED.value


def report(svc: CodeService, department_id: int | None) -> HealthReport:
    t = city_object
    mine: list[Any] = [] if department_id is None else [t.c.department_id == department_id]
    live = [*mine, t.c.state != RETIRED]
    with svc.store.read() as conn:
        objects = conn.execute(select(func.count()).select_from(t).where(*live)).scalar_one()
        coded = conn.execute(select(func.count()).select_from(t).where(*live, t.c.code.is_not(None))).scalar_one()
        problems = [
            _uncoded(conn, live),
            _duplicates(conn, department_id),
            _retired_crosswalk(conn, department_id),
            _retired_parent(conn, live),
            *_geometry_checks(svc, conn, live),
        ]
    return HealthReport(department_id, svc.now(), objects, coded, problems)


def _uncoded(conn: Connection, live: list[Any]) -> HealthProblem:
    t = city_object
    conds = [*live, t.c.code.is_(None)]
    n = conn.execute(select(func.count()).select_from(t).where(*conds)).scalar_one()
    rows = conn.execute(select(t.c.id, t.c.class_code, t.c.name).where(*conds).order_by(t.c.id).limit(SAMPLES))
    return HealthProblem(
        "uncoded",
        "live objects without a code",
        n,
        [{"object_id": r.id, "class_code": r.class_code, "name": r.name} for r in rows],
    )


def _crosswalk_scope(department_id: int | None) -> list[Any]:
    return [] if department_id is None else [code_crosswalk.c.department_id == department_id]


def _duplicates(conn: Connection, department_id: int | None) -> HealthProblem:
    x = code_crosswalk
    groups = (
        select(x.c.department_id, x.c.code, func.count().label("n"))
        .where(*_crosswalk_scope(department_id))
        .group_by(x.c.department_id, x.c.code)
        .having(func.count() > 1)
        .subquery()
    )
    n = conn.execute(select(func.count()).select_from(groups)).scalar_one()
    samples = []
    for g in conn.execute(select(groups).order_by(groups.c.department_id, groups.c.code).limit(SAMPLES)):
        ids = (
            conn.execute(
                select(x.c.legacy_id)
                .where(x.c.department_id == g.department_id, x.c.code == g.code)
                .order_by(x.c.legacy_id)
            )
            .scalars()
            .all()
        )
        samples.append({"department_id": g.department_id, "code": g.code, "legacy_ids": list(ids)})
    return HealthProblem("duplicate_legacy_ids", "codes named by several legacy ids of one department", n, samples)


def _replacements(conn: Connection, codes: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if codes:
        rows = conn.execute(
            select(code_lineage.c.from_code, code_lineage.c.to_code)
            .where(code_lineage.c.from_code.in_(codes))
            .order_by(code_lineage.c.to_code)
        )
        for r in rows:
            out[r.from_code].append(r.to_code)
    return out


def _retired_crosswalk(conn: Connection, department_id: int | None) -> HealthProblem:
    x, r, t = code_crosswalk, code_registry, city_object
    base = (
        select(x.c.department_id, x.c.legacy_id, x.c.code)
        .join(r, r.c.code == x.c.code)
        .join(t, t.c.id == r.c.object_id)
        .where(*_crosswalk_scope(department_id), or_(r.c.state == CodeState.RETIRED.value, t.c.state == RETIRED))
    )
    n = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(base.order_by(x.c.department_id, x.c.legacy_id).limit(SAMPLES)).all()
    instead = _replacements(conn, [row.code for row in rows])
    return HealthProblem(
        "retired_crosswalk",
        "crosswalk entries that point at a retired code",
        n,
        [
            {
                "department_id": row.department_id,
                "legacy_id": row.legacy_id,
                "code": row.code,
                "replaced_by": instead.get(row.code, []),
            }
            for row in rows
        ],
    )


def _retired_parent(conn: Connection, live: list[Any]) -> HealthProblem:
    t = city_object
    p = t.alias("parent")
    base = (
        select(t.c.id, t.c.code, t.c.name, p.c.id.label("parent_id"), p.c.code.label("parent_code"))
        .join(p, p.c.id == t.c.parent_id)
        .where(*live, p.c.state == RETIRED)
    )
    n = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(base.order_by(t.c.id).limit(SAMPLES)).all()
    instead = _replacements(conn, [row.parent_code for row in rows if row.parent_code])
    return HealthProblem(
        "retired_parent",
        "live objects whose parent object is retired",
        n,
        [
            {
                "object_id": row.id,
                "code": row.code,
                "name": row.name,
                "parent_id": row.parent_id,
                "parent_code": row.parent_code,
                "parent_replaced_by": instead.get(row.parent_code, []),
            }
            for row in rows
        ],
    )


def _geometry_checks(svc: CodeService, conn: Connection, live: list[Any]) -> list[HealthProblem]:
    """Division and Beidou code against the current geometry, chunk by chunk (vectorised)."""
    t, b = city_object, object_beidou
    mismatch: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    counts = [0, 0]
    after = 0
    while True:
        rows = conn.execute(
            select(t.c.id, t.c.code, wkb(t.c.geom), b.c.code2d)
            .outerjoin(b, b.c.object_id == t.c.id)
            .where(*live, t.c.code.is_not(None), t.c.geom.is_not(None), t.c.id > after)
            .order_by(t.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        after = rows[-1].id
        xs, ys = representative_points([bytes(r[2]) for r in rows])
        located = np.asarray(svc.locate(conn, xs, ys), dtype="U6").tolist()
        now_codes = beidou_codes(xs, ys)
        for r, div, bd in zip(rows, located, now_codes, strict=True):
            if r.code[:6] != div:
                counts[0] += 1
                if len(mismatch) < SAMPLES:
                    mismatch.append({"object_id": r.id, "code": r.code, "division": r.code[:6], "located_in": div})
            if r.code2d is not None and r.code2d != bd:
                counts[1] += 1
                if len(stale) < SAMPLES:
                    stale.append({"object_id": r.id, "code": r.code, "stored": r.code2d, "current": bd})
    return [
        HealthProblem(
            "division_mismatch", "codes whose division is not where the geometry now lies", counts[0], mismatch
        ),
        HealthProblem("stale_beidou", "Beidou codes that no longer match the geometry", counts[1], stale),
    ]
