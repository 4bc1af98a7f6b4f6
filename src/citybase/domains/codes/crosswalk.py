"""The crosswalk: each department's own (legacy) identifiers mapped to unified codes.

Many-to-one: several departments, and several records of one department, may name the same object;
but a (department, legacy id) pair names exactly one code, so mapping it to another code is a
conflict, not an update. New entries must point at active codes; entries whose code retired later
are reported by the health report with what replaced the code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from citybase.domains.access import Actor, Department, record_audit
from citybase.domains.codes.model import CodeState, CrosswalkEntry
from citybase.domains.codes.resolution import code_state, lineage, registry_row
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.store.schema import city_object, code_crosswalk, code_registry, department

if TYPE_CHECKING:
    from citybase.domains.codes.service import CodeService

MAX_LEGACY_ID = 100


def legacy_id_of(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_LEGACY_ID:
        raise InvalidInputError("bad legacy id", issues=[Issue("legacy_id", f"1-{MAX_LEGACY_ID} characters required")])
    return text


def department_of(svc: CodeService, ref: str | int) -> Department:
    """A department by code, or by id when given a number (or an all-digit string no code matches)."""
    if isinstance(ref, str):
        try:
            return svc.access.department(ref)
        except NotFoundError:
            if not ref.isdigit():
                raise
            ref = int(ref)
    return svc.access.department(ref)


def _entry(row: Any, dept: Department) -> CrosswalkEntry:
    return CrosswalkEntry(dept.id, dept.code, row.legacy_id, row.code, row.code_state, row.created_at, row.created_by)


def _select() -> Any:
    x, r, o = code_crosswalk, code_registry, city_object
    return (
        select(
            x.c.department_id,
            x.c.legacy_id,
            x.c.code,
            x.c.created_at,
            x.c.created_by,
            r.c.state.label("reg_state"),
            o.c.state,
        )
        .join(r, r.c.code == x.c.code)
        .join(o, o.c.id == r.c.object_id)
    )


class _Row:
    def __init__(self, row: Any) -> None:
        self.legacy_id, self.code = row.legacy_id, row.code
        self.created_at, self.created_by = row.created_at, row.created_by
        retired = CodeState.RETIRED.value
        self.code_state = retired if retired in (row.reg_state, row.state) else CodeState.ACTIVE.value


def put(svc: CodeService, actor: Actor, ref: str | int, legacy_id: str, code: str) -> CrosswalkEntry:
    dept = department_of(svc, ref)
    if not actor.may_write_department(dept.id):
        raise PermissionDeniedError(f"the crosswalk of department {dept.code} is kept by that department")
    legacy = legacy_id_of(legacy_id)
    text = svc.validate(code).text
    x = code_crosswalk
    with svc.store.write() as conn:
        reg = registry_row(conn, text)
        obj = conn.execute(
            select(city_object.c.state, city_object.c.valid_to).where(city_object.c.id == reg.object_id)
        ).first()
        state, _ = code_state(reg, obj)
        if state == CodeState.RETIRED:
            _, went_to = lineage(conn, text)
            instead = f"; map to its successor {', '.join(w.to_code for w in went_to)}" if went_to else ""
            raise ConflictError(f"code {text} is retired{instead}")
        current = conn.execute(select(x.c.code).where(x.c.department_id == dept.id, x.c.legacy_id == legacy)).scalar()
        if current is None:
            try:
                conn.execute(
                    x.insert().values(
                        department_id=dept.id, legacy_id=legacy, code=text, created_at=svc.now(), created_by=actor.name
                    )
                )
            except IntegrityError:  # a concurrent writer mapped it first
                raise ConflictError(f"legacy id {legacy!r} of {dept.code} was mapped meanwhile; look it up") from None
            record_audit(
                conn, actor, "crosswalk.put", "code", text, detail={"department": dept.code, "legacy_id": legacy}
            )
        elif current != text:
            raise ConflictError(
                f"legacy id {legacy!r} of department {dept.code} already maps to code {current}, not {text}",
                issues=[
                    Issue(
                        "legacy_id",
                        f"maps to {current}; one legacy id names one object: remove the entry first if it was wrong",
                    )
                ],
            )
    return get(svc, dept.id, legacy)


def get(svc: CodeService, ref: str | int, legacy_id: str) -> CrosswalkEntry:
    dept = department_of(svc, ref)
    legacy = legacy_id_of(legacy_id)
    x = code_crosswalk
    with svc.store.read() as conn:
        row = conn.execute(_select().where(x.c.department_id == dept.id, x.c.legacy_id == legacy)).first()
    if row is None:
        raise NotFoundError(f"department {dept.code} has no legacy id {legacy!r} in the crosswalk")
    return _entry(_Row(row), dept)


def delete(svc: CodeService, actor: Actor, ref: str | int, legacy_id: str) -> None:
    dept = department_of(svc, ref)
    if not actor.may_write_department(dept.id):
        raise PermissionDeniedError(f"the crosswalk of department {dept.code} is kept by that department")
    legacy = legacy_id_of(legacy_id)
    x = code_crosswalk
    with svc.store.write() as conn:
        code = conn.execute(select(x.c.code).where(x.c.department_id == dept.id, x.c.legacy_id == legacy)).scalar()
        if code is None:
            raise NotFoundError(f"department {dept.code} has no legacy id {legacy!r} in the crosswalk")
        conn.execute(x.delete().where(x.c.department_id == dept.id, x.c.legacy_id == legacy))
        record_audit(
            conn, actor, "crosswalk.delete", "code", code, detail={"department": dept.code, "legacy_id": legacy}
        )


def for_code(svc: CodeService, code: str) -> list[CrosswalkEntry]:
    """Every legacy id of every department that names ``code``."""
    text = svc.validate(code).text
    x = code_crosswalk
    with svc.store.read() as conn:
        registry_row(conn, text)
        rows = conn.execute(
            _select()
            .add_columns(department.c.code.label("dept_code"), department.c.name.label("dept_name"))
            .join(department, department.c.id == x.c.department_id)
            .where(x.c.code == text)
            .order_by(x.c.department_id, x.c.legacy_id)
        ).all()
    return [_entry(_Row(r), Department(r.department_id, r.dept_code, r.dept_name, None, None)) for r in rows]
