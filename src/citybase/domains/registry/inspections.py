"""House safety inspections (房屋安全鉴定, "一房一档"): each inspection is kept; the latest grade becomes the
house's ``safety_grade`` through a new house version (change ``inspect``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.access import Actor, record_audit
from citybase.domains.registry.houses import SAFETY_GRADES, house_row, now, require_writer, update_house_in
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.store.house_tables import house_inspection


def _check(record: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    issues: list[Issue] = []
    raw_day = payload.get("inspected_on")
    day: date | None = None
    try:
        day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
    except ValueError:
        issues.append(Issue("inspected_on", f"{raw_day!r} is not a date (YYYY-MM-DD)", record))
    if day is not None and day > now().date():
        issues.append(Issue("inspected_on", f"{day} is in the future", record))
    grade = str(payload.get("grade") or "").strip().upper()
    if grade not in SAFETY_GRADES:
        issues.append(Issue("grade", f"{payload.get('grade')!r} is not one of {', '.join(SAFETY_GRADES)}", record))
    inspector = str(payload.get("inspector") or "").strip()
    if not inspector or len(inspector) > 100:
        issues.append(Issue("inspector", "required, up to 100 characters", record))
    department = str(payload.get("department") or "").strip() or None
    findings = str(payload.get("findings") or "").strip() or None
    if findings is not None and len(findings) > 4000:
        issues.append(Issue("findings", "up to 4000 characters", record))
    unknown = sorted(set(payload) - {"inspected_on", "grade", "inspector", "department", "findings"})
    issues += [Issue(k, "not an inspection field", record) for k in unknown]
    if issues:
        raise InvalidInputError("invalid inspection", issues=issues)
    return {"inspected_on": day, "grade": grade, "inspector": inspector, "department": department, "findings": findings}


def add_inspection_in(conn: Connection, actor: Actor, house_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Record one inspection; a grade from the newest inspection becomes the house's safety grade."""
    require_writer(actor)
    values = _check(f"house {house_id}", payload)
    current = house_row(conn, house_id=house_id)
    new_id = conn.execute(
        house_inspection.insert()
        .values(house_id=house_id, **values, recorded_at=now(), recorded_by=actor.name)
        .returning(house_inspection.c.id)
    ).scalar_one()
    latest = conn.execute(
        select(house_inspection.c.grade)
        .where(house_inspection.c.house_id == house_id)
        .order_by(house_inspection.c.inspected_on.desc(), house_inspection.c.id.desc())
        .limit(1)
    ).scalar_one()
    if latest != current["safety_grade"]:
        update_house_in(conn, actor, house_id, current["version"], {"safety_grade": latest}, change="inspect")
    record_audit(conn, actor, "house.inspect", "house", str(house_id), detail={"grade": values["grade"]})
    return {"id": int(new_id), "house_id": house_id, **values, "inspected_on": values["inspected_on"].isoformat()}


def inspections(conn: Connection, house_id: int) -> list[dict[str, Any]]:
    q = (
        select(house_inspection)
        .where(house_inspection.c.house_id == house_id)
        .order_by(house_inspection.c.inspected_on.desc(), house_inspection.c.id.desc())
    )
    return [
        {
            "id": r.id,
            "inspected_on": r.inspected_on.isoformat(),
            "grade": r.grade,
            "inspector": r.inspector,
            "department": r.department,
            "findings": r.findings,
            "recorded_by": r.recorded_by,
        }
        for r in conn.execute(q)
    ]
