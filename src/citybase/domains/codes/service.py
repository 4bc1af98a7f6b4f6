"""The code service (赋码): assigns, resolves and governs the unified codes of city objects.

Assigning a code does not write a new object version: the code is the object's identity, given once
and never changed, and ``code_registry.issued_at`` records when. Versions written after that carry
the code (``city_object_version.code``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import AccessService, Actor, Permission, record_audit
from citybase.domains.codes import bulk, crosswalk, health, labels, lifecycle, resolution
from citybase.domains.codes.model import (
    Assignment,
    CodeCard,
    CrosswalkEntry,
    HealthReport,
    Part,
    Selection,
)
from citybase.domains.codes.numbering import representative_points
from citybase.domains.codes.writing import Batch, DivisionLocator, code_batch
from citybase.domains.jobs import Job, JobService
from citybase.domains.objects import LifecycleState, ObjectService
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.kernel.geo import BBox
from citybase.standards import beidou3d
from citybase.standards.unified_code import DEFAULT_SCHEME, CodeScheme, UnifiedCode
from citybase.store import Store
from citybase.store.counters import wkb
from citybase.store.schema import city_object, object_beidou

ASSIGN_JOB = "codes.assign"
MAX_IMMEDIATE = 10_000


class CodeService:
    def __init__(
        self,
        store: Store,
        objects: ObjectService,
        jobs: JobService,
        access: AccessService,
        *,
        locate: DivisionLocator,
        public_base_url: str,
        scheme: CodeScheme = DEFAULT_SCHEME,
    ) -> None:
        self.store = store
        self.objects = objects
        self.classes = objects.classes
        self.jobs = jobs
        self.access = access
        self.locate = locate
        self.public_base_url = public_base_url.rstrip("/")
        self.scheme = scheme
        self.chunk = bulk.CHUNK
        self.workers = bulk.WORKERS

    # --- assignment ------------------------------------------------------------------------------
    def assign(self, actor: Actor, object_id: int, *, height: float | None = None) -> Assignment:
        """Give one object its code (and Beidou code; a 3D one too when ``height`` in metres is given)."""
        if height is not None and not math.isfinite(height):
            raise InvalidInputError("bad height", issues=[Issue("height", "must be a finite number of metres")])
        with self.store.write() as conn:
            (done,) = self.assign_in(conn, actor, [object_id])
            if height is not None:
                self._set_height(conn, object_id, height)
        return done

    def assign_many(self, actor: Actor, object_ids: Sequence[int]) -> list[Assignment]:
        """Code the given objects in one transaction: all of them, or (on any error) none."""
        if not object_ids:
            raise InvalidInputError("nothing to code", issues=[Issue("object_ids", "give at least one object id")])
        if len(object_ids) > MAX_IMMEDIATE:
            raise InvalidInputError(
                "too many objects",
                issues=[Issue("object_ids", f"at most {MAX_IMMEDIATE} at once; code more with a bulk job (a filter)")],
            )
        if len(set(object_ids)) != len(object_ids):
            raise InvalidInputError("duplicate ids", issues=[Issue("object_ids", "each object id only once")])
        with self.store.write() as conn:
            return self.assign_in(conn, actor, object_ids)

    def assign_in(self, conn: Connection, actor: Actor, object_ids: Sequence[int]) -> list[Assignment]:
        """Code objects inside the caller's transaction (merge and split use it for their new objects)."""
        t = city_object
        rows = conn.execute(
            select(t.c.id, t.c.class_code, t.c.department_id, wkb(t.c.geom), t.c.code, t.c.state)
            .where(t.c.id.in_(list(object_ids)))
            .order_by(t.c.id)
            .with_for_update()  # objects first, then counters: the lock order of bulk runs too
        ).all()
        found = {r.id: r for r in rows}
        issues = [Issue("object_ids", f"no object {i}") for i in object_ids if i not in found]
        issues += [
            Issue("object_ids", f"object {r.id} already has code {r.code}; a code is given once")
            for r in rows
            if r.code is not None
        ]
        issues += [Issue("object_ids", f"object {r.id} is retired") for r in rows if r.state == LifecycleState.RETIRED]
        if issues:
            raise ConflictError("cannot code these objects; nothing was coded", issues=issues)
        for r in rows:
            if not actor.may_write_department(r.department_id):
                raise PermissionDeniedError(
                    f"object {r.id} belongs to department {r.department_id}; "
                    "its codes are requested by that department (一数一源)"
                )
        batch = Batch(
            [r.id for r in rows],
            [r.class_code for r in rows],
            [r.department_id for r in rows],
            [None if r[3] is None else bytes(r[3]) for r in rows],
            [None] * len(rows),
        )
        coded = code_batch(conn, self.scheme, self.locate, batch, actor.name)
        for object_id, code in zip(coded.ids, coded.codes, strict=True):
            record_audit(conn, actor, "code.assign", "code", code, detail={"object_id": object_id})
        return [Assignment(i, c, b) for i, c, b in zip(coded.ids, coded.codes, coded.beidou, strict=True)]

    def _set_height(self, conn: Connection, object_id: int, height: float) -> None:
        """Add the 3D code (GB/T 39409 Annex C) for an ellipsoidal height in metres."""
        raw = conn.execute(select(wkb(city_object.c.geom)).where(city_object.c.id == object_id)).scalar()
        xs, ys = representative_points([None if raw is None else bytes(raw)])
        if not math.isfinite(xs[0]):
            raise InvalidInputError("no position", issues=[Issue("height", "the object has no geometry to code in 3D")])
        code3d = beidou3d.encode3d(float(xs[0]), float(ys[0]), height)
        b = object_beidou
        conn.execute(update(b).where(b.c.object_id == object_id).values(code3d=code3d, height_m=height))

    def submit_bulk(self, actor: Actor, selection: Selection) -> Job:
        """Code every uncoded object the selection matches, as a resumable job (see ``bulk``)."""
        dept = selection.department_id
        if not (actor.can(Permission.WRITE_ANY_OBJECTS) or (dept is not None and actor.may_write_department(dept))):
            raise PermissionDeniedError(
                "a department codes its own objects only: set the department filter to your department (一数一源)"
            )
        if selection.class_code is not None:
            self.classes.get(selection.class_code)
        params = {**selection.as_params(), "actor": actor.name}
        return self.jobs.submit(actor, ASSIGN_JOB, params)

    def run_bulk(self, selection: Selection, *, actor_name: str = "system", progress: Any = None) -> dict[str, Any]:
        """Code a selection in this thread, without a job (bench, tests, scripts)."""
        return bulk.run(self, selection, actor_name, {}, progress)

    def job_handler(self) -> Any:
        return bulk.make_handler(self)

    # --- resolution ------------------------------------------------------------------------------
    def validate(self, code: str) -> UnifiedCode:
        """Check any code (also one we did not issue): layout, check character, division, class."""
        return self.scheme.validate(code, known_classes={c.code for c in self.classes.all()})

    def resolve(self, code: str) -> CodeCard:
        """The card of a code we issued; a retired or merged code says what replaced it."""
        return resolution.card(self, self.validate(code))

    def object_code(self, object_id: int) -> CodeCard:
        with self.store.read() as conn:
            code = conn.execute(select(city_object.c.code).where(city_object.c.id == object_id)).scalar()
        if code is None:
            raise NotFoundError(f"object {object_id} has no code (or does not exist)")
        return self.resolve(code)

    # --- lifecycle and lineage -------------------------------------------------------------------
    def activate(self, actor: Actor, code: str) -> CodeCard:
        return lifecycle.change_state(self, actor, code, LifecycleState.ACTIVE, change="activate")

    def retire(self, actor: Actor, code: str) -> CodeCard:
        return lifecycle.change_state(self, actor, code, LifecycleState.RETIRED, change="retire")

    def merge(self, actor: Actor, codes: Sequence[str], into: Part) -> CodeCard:
        return lifecycle.merge(self, actor, codes, into)

    def split(self, actor: Actor, code: str, parts: Sequence[Part]) -> list[CodeCard]:
        return lifecycle.split(self, actor, code, parts)

    # --- building business nodes (工程规划许可 / 房屋面积测绘 / 竣工验收备案) ---------------------------
    def planning_permit(
        self, actor: Actor, part: Part, *, permit_no: str, permit_date: str, department_id: int | None = None
    ) -> CodeCard:
        return lifecycle.planning_permit(self, actor, part, permit_no, permit_date, department_id)

    def area_survey(
        self, actor: Actor, code: str, *, area_m2: float, survey_date: str, geometry: Any = None
    ) -> CodeCard:
        return lifecycle.area_survey(self, actor, code, area_m2, survey_date, geometry)

    def completion_acceptance(self, actor: Actor, code: str, *, acceptance_date: str) -> CodeCard:
        return lifecycle.completion_acceptance(self, actor, code, acceptance_date)

    # --- crosswalk -------------------------------------------------------------------------------
    def map_legacy(self, actor: Actor, department: str | int, legacy_id: str, code: str) -> CrosswalkEntry:
        return crosswalk.put(self, actor, department, legacy_id, code)

    def lookup_legacy(self, department: str | int, legacy_id: str) -> CrosswalkEntry:
        return crosswalk.get(self, department, legacy_id)

    def unmap_legacy(self, actor: Actor, department: str | int, legacy_id: str) -> None:
        crosswalk.delete(self, actor, department, legacy_id)

    def legacy_ids(self, code: str) -> list[CrosswalkEntry]:
        return crosswalk.for_code(self, code)

    # --- labels and health -----------------------------------------------------------------------
    def label_url(self, code: str) -> str:
        return labels.code_url(self.public_base_url, code)

    def label_svg(self, code: str) -> str:
        return labels.label_svg(self.resolve(code), self.label_url(code))

    def label_png(self, code: str, *, scale: int = 8) -> bytes:
        self.resolve(code)
        return labels.qr_png(self.label_url(code), scale=scale)

    def label_sheet(self, class_code: str, bbox: BBox, *, limit: int = labels.SHEET_LIMIT) -> str:
        return labels.sheet(self, class_code, bbox, limit)

    def health(self, actor: Actor, department: str | int | None = None) -> HealthReport:
        actor.require(Permission.READ)
        if actor.kind == "anonymous":
            raise PermissionDeniedError("the code health report is for departments: log in or use an API key")
        dept = None if department is None else self.access.department(department).id
        return health.report(self, dept)

    # --- helpers for the modules -----------------------------------------------------------------
    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
