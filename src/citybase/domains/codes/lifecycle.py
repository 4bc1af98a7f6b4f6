"""Lifecycle and lineage of codes: activate, retire, merge (N -> 1), split (1 -> N), building nodes.

Each operation is one transaction: objects change through an ``ObjectService`` bound to it (so the
object rules, versions and audit are the object service's own), codes are issued for new objects,
retired codes are marked in the registry and lineage rows say which codes a code came from and went
to. A retired code stays resolvable and names its replacements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import shapely
from sqlalchemy import Connection, update

from citybase.domains.access import Actor, record_audit
from citybase.domains.codes.bound import objects_in
from citybase.domains.codes.model import CodeCard, CodeState, LineageKind, Part
from citybase.domains.codes.numbering import beidou_codes, representative_points
from citybase.domains.codes.resolution import registry_row
from citybase.domains.objects import UNSET, CityObject, LifecycleState, NewObject, ObjectChanges, ObjectService
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue
from citybase.store.schema import code_lineage, code_registry, object_beidou

if TYPE_CHECKING:
    from citybase.domains.codes.service import CodeService

BUILDING_CLASS = "050101"


def _live(conn: Connection, objs: ObjectService, code: str) -> CityObject:
    obj = objs.get(registry_row(conn, code).object_id)
    if obj.state == LifecycleState.RETIRED:
        raise ConflictError(f"code {code} is retired; a retired code does not change")
    return obj


def _retire_codes(conn: Connection, codes: Sequence[str], svc: CodeService) -> None:
    conn.execute(
        update(code_registry)
        .where(code_registry.c.code.in_(list(codes)))
        .values(state=CodeState.RETIRED.value, retired_at=svc.now())
    )


def _link(
    conn: Connection, pairs: Sequence[tuple[str, str]], kind: LineageKind, actor: Actor, svc: CodeService
) -> None:
    at = svc.now()
    conn.execute(
        code_lineage.insert(),
        [{"from_code": f, "to_code": t, "kind": kind.value, "at": at, "actor": actor.name} for f, t in pairs],
    )


def change_state(svc: CodeService, actor: Actor, code: str, target: LifecycleState, *, change: str) -> CodeCard:
    code = svc.validate(code).text
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        obj = _live(conn, objs, code)
        objs.update(actor, obj.id, obj.version, ObjectChanges(state=target.value), change=change)
        if target == LifecycleState.RETIRED:
            _retire_codes(conn, [code], svc)
        record_audit(conn, actor, f"code.{change}", "code", code)
    return svc.resolve(code)


def _new_object(part: Part, like: CityObject, *, geometry: Any = None, state: str | None = None) -> NewObject:
    """A merge's or split's new object: the part's values, else ``geometry``, else those of ``like``."""
    return NewObject(
        class_code=part.class_code or like.class_code,
        name=part.name,
        geometry=part.geometry if part.geometry is not None else geometry,
        attributes=dict(like.attributes if part.attributes is None else part.attributes),
        department_id=like.department_id,
        parent_id=like.parent_id,
        state=state or like.state,
    )


def merge(svc: CodeService, actor: Actor, codes: Sequence[str], into: Part) -> CodeCard:
    """Retire N codes and give their successor (one new object) a new code."""
    texts = [svc.validate(c).text for c in codes]
    if len(set(texts)) < 2:
        raise InvalidInputError("nothing to merge", issues=[Issue("codes", "give at least two different codes")])
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        sources = [_live(conn, objs, t) for t in texts]
        if len({s.department_id for s in sources}) > 1:
            raise InvalidInputError(
                "cannot merge",
                issues=[Issue("codes", "the objects belong to different departments; each keeps its own (一数一源)")],
            )
        if into.class_code is None and len({s.class_code for s in sources}) > 1:
            raise InvalidInputError(
                "cannot merge",
                issues=[Issue("class_code", "the objects are of different classes: give the class of the result")],
            )
        shapes = [s.geometry for s in sources if s.geometry is not None]
        union = shapely.union_all(shapes) if shapes else None
        planned = all(s.state == LifecycleState.PLANNED for s in sources)
        state = (LifecycleState.PLANNED if planned else LifecycleState.ACTIVE).value
        new = objs.create(actor, _new_object(into, sources[0], geometry=union, state=state))
        (made,) = svc.assign_in(conn, actor, [new.id])
        for s in sources:
            objs.update(actor, s.id, s.version, ObjectChanges(state=LifecycleState.RETIRED.value), change="merge")
        _retire_codes(conn, texts, svc)
        _link(conn, [(t, made.code) for t in texts], LineageKind.MERGE, actor, svc)
        record_audit(conn, actor, "code.merge", "code", made.code, detail={"from": texts})
    return svc.resolve(made.code)


def split(svc: CodeService, actor: Actor, code: str, parts: Sequence[Part]) -> list[CodeCard]:
    """Retire one code and give each part (a new object) a new code."""
    text = svc.validate(code).text
    if len(parts) < 2:
        raise InvalidInputError("nothing to split", issues=[Issue("parts", "give at least two parts")])
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        source = _live(conn, objs, text)
        ids = [objs.create(actor, _new_object(p, source)).id for p in parts]
        made = svc.assign_in(conn, actor, ids)
        objs.update(actor, source.id, source.version, ObjectChanges(state=LifecycleState.RETIRED.value), change="split")
        _retire_codes(conn, [text], svc)
        _link(conn, [(text, m.code) for m in made], LineageKind.SPLIT, actor, svc)
        record_audit(conn, actor, "code.split", "code", text, detail={"to": [m.code for m in made]})
    return [svc.resolve(m.code) for m in made]


# --- building business nodes ---------------------------------------------------------------------


def _day(value: str, field: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidInputError("bad date", issues=[Issue(field, f"{value!r} is not a date (YYYY-MM-DD)")]) from None


def _building(conn: Connection, objs: ObjectService, code: str) -> CityObject:
    obj = _live(conn, objs, code)
    if obj.class_code != BUILDING_CLASS:
        raise InvalidInputError(
            "not a building",
            issues=[Issue("code", f"code {code} is of class {obj.class_code}, not {BUILDING_CLASS} (building)")],
        )
    return obj


def planning_permit(
    svc: CodeService, actor: Actor, part: Part, permit_no: str, permit_date: str, department_id: int | None
) -> CodeCard:
    """工程规划许可: a planned building with its permit, coded at once."""
    if part.class_code not in (None, BUILDING_CLASS):
        raise InvalidInputError(
            "not a building",
            issues=[Issue("class_code", f"a planning permit is for class {BUILDING_CLASS} (building)")],
        )
    attributes = {**(part.attributes or {}), "permit_no": permit_no, "permit_date": _day(permit_date, "permit_date")}
    new = NewObject(
        BUILDING_CLASS, part.name, part.geometry, attributes, department_id, state=LifecycleState.PLANNED.value
    )
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        obj = objs.create(actor, new)
        (made,) = svc.assign_in(conn, actor, [obj.id])
        record_audit(conn, actor, "code.planning_permit", "code", made.code, detail={"permit_no": permit_no})
    return svc.resolve(made.code)


def area_survey(svc: CodeService, actor: Actor, code: str, area_m2: float, survey_date: str, geometry: Any) -> CodeCard:
    """房屋面积测绘: the surveyed floor area (and, if given, the surveyed footprint), same code."""
    text = svc.validate(code).text
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        obj = _building(conn, objs, text)
        attrs = {**obj.attributes, "surveyed_area_m2": area_m2, "survey_date": _day(survey_date, "survey_date")}
        changes = ObjectChanges(attributes=attrs, geometry=UNSET if geometry is None else geometry)
        objs.update(actor, obj.id, obj.version, changes, change="survey")
        if geometry is not None:
            refresh_beidou(conn, obj.id, geometry, svc)
        record_audit(conn, actor, "code.area_survey", "code", text)
    return svc.resolve(text)


def completion_acceptance(svc: CodeService, actor: Actor, code: str, acceptance_date: str) -> CodeCard:
    """竣工验收备案: the building becomes active, same code."""
    text = svc.validate(code).text
    with svc.store.write() as conn:
        objs = objects_in(conn, svc.store, svc.classes)
        obj = _building(conn, objs, text)
        attrs = {**obj.attributes, "acceptance_date": _day(acceptance_date, "acceptance_date")}
        changes = ObjectChanges(attributes=attrs, state=LifecycleState.ACTIVE.value)
        objs.update(actor, obj.id, obj.version, changes, change="acceptance")
        record_audit(conn, actor, "code.completion_acceptance", "code", text)
    return svc.resolve(text)


def refresh_beidou(conn: Connection, object_id: int, geometry: Any, svc: CodeService) -> None:
    """Recompute the stored 2D Beidou code after the geometry changed (a 3D code is dropped)."""
    xs, ys = representative_points([shapely.to_wkb(geometry)])
    (code2d,) = beidou_codes(xs, ys)
    if code2d is not None:
        conn.execute(
            update(object_beidou)
            .where(object_beidou.c.object_id == object_id)
            .values(code2d=code2d, code3d=None, height_m=None, computed_at=svc.now())
        )
