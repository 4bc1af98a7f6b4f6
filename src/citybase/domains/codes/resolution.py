"""Resolution: from a code to its card (class, name, department, state, geometry, Beidou, lineage)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, or_, select

from citybase.domains.codes.model import BeidouCode, CodeCard, CodeState, LineageLink
from citybase.domains.objects import LifecycleState
from citybase.kernel.errors import NotFoundError
from citybase.standards import divisions
from citybase.standards.unified_code import UnifiedCode
from citybase.store.schema import city_object, code_lineage, code_registry, department, object_beidou

if TYPE_CHECKING:
    from citybase.domains.codes.service import CodeService


def registry_row(conn: Connection, code: str) -> Any:
    row = conn.execute(select(code_registry).where(code_registry.c.code == code)).first()
    if row is None:
        raise NotFoundError(f"code {code} was not issued by this platform")
    return row


def lineage(conn: Connection, code: str) -> tuple[list[LineageLink], list[LineageLink]]:
    """(came from, went to) of a code."""
    x = code_lineage
    rows = conn.execute(
        select(x).where(or_(x.c.from_code == code, x.c.to_code == code)).order_by(x.c.at, x.c.from_code, x.c.to_code)
    ).all()
    links = [LineageLink(r.from_code, r.to_code, r.kind, r.at, r.actor) for r in rows]
    return [link for link in links if link.to_code == code], [link for link in links if link.from_code == code]


def code_state(reg: Any, obj: Any) -> tuple[str, Any]:
    """A code is retired when the registry says so or its object was retired by other means."""
    if reg.state == CodeState.RETIRED or obj.state == LifecycleState.RETIRED:
        return CodeState.RETIRED.value, reg.retired_at or obj.valid_to
    return CodeState.ACTIVE.value, None


def card(svc: CodeService, parsed: UnifiedCode) -> CodeCard:
    with svc.store.read() as conn:
        reg = registry_row(conn, parsed.text)
        obj = conn.execute(select(city_object).where(city_object.c.id == reg.object_id)).first()
        if obj is None:  # pragma: no cover - the foreign key prevents it
            raise NotFoundError(f"the object of code {parsed.text} is gone")
        came_from, went_to = lineage(conn, parsed.text)
        bd = conn.execute(select(object_beidou).where(object_beidou.c.object_id == obj.id)).first()
        dept = None
        if obj.department_id is not None:
            dept = conn.execute(select(department).where(department.c.id == obj.department_id)).first()
    state, retired_at = code_state(reg, obj)
    cls = {c.code: c for c in svc.classes.all()}.get(obj.class_code)
    division = divisions.get(reg.division)
    return CodeCard(
        code=parsed.text,
        code_state=state,
        issued_at=reg.issued_at,
        retired_at=retired_at,
        division=reg.division,
        division_name=division.name if division else None,
        object_id=obj.id,
        class_code=obj.class_code,
        class_name=cls.name if cls else None,
        name=obj.name,
        state=obj.state,
        department_id=obj.department_id,
        department_code=dept.code if dept else None,
        department_name=dept.name if dept else None,
        geometry=obj.geom,
        attributes=obj.attributes or {},
        version=obj.version,
        beidou=BeidouCode(bd.code2d, bd.code3d, bd.height_m, bd.computed_at) if bd else None,
        came_from=came_from,
        went_to=went_to,
        replaced_by=[link.to_code for link in went_to] if state == CodeState.RETIRED else [],
        warnings=parsed.warnings,
    )
