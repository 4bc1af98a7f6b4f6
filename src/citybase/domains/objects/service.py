"""City objects: create, change, retire, read as of any time; every change is a new version."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Float, String, and_, cast, func, select, update

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.objects.classes import ClassRegistry, ObjectClass
from citybase.domains.objects.model import (
    TRANSITIONS,
    CityObject,
    LifecycleState,
    NewObject,
    ObjectChanges,
    ObjectQuery,
    ObjectVersion,
    Page,
)
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.kernel.geo import check_geometries
from citybase.store import (
    Store,
    bbox_intersects,
    bulk_load,
    index_geometries,
    reserve_ids,
    text_match,
    window_order,
)
from citybase.store.schema import city_object, city_object_version, department

MAX_LIMIT = 10_000
PARENT_CHUNK = 10_000  # parent ids checked per query
_VERSIONED = (
    "code",
    "class_code",
    "name",
    "geom",
    "attributes",
    "department_id",
    "parent_id",
    "state",
    "valid_from",
    "valid_to",
)


def _now() -> datetime:
    return datetime.now(UTC)


_FROM_COLUMN = {"geometry": "geom"}
R = TypeVar("R", CityObject, ObjectVersion)
# Called inside a write transaction with the bboxes (old and new geometry) and class codes it changed.
ChangeHook = Callable[[Connection, list[tuple[float, float, float, float]], set[str]], None]


def _from_row(kind: type[R], m: Any, **renamed: str) -> R:
    """Build a result from a row: dataclass fields take the columns of the same name (or as renamed)."""
    names = {**_FROM_COLUMN, **renamed}
    values = {f.name: m[names.get(f.name, f.name)] for f in fields(kind)}
    values["attributes"] = values["attributes"] or {}
    return kind(**values)


def _object(m: Any) -> CityObject:
    return _from_row(CityObject, m)


def _version(m: Any) -> ObjectVersion:
    return _from_row(ObjectVersion, m)


def _object_from_version(m: Any) -> CityObject:
    """A past version read as the object it was then."""
    return _from_row(CityObject, m, id="object_id", updated_at="recorded_at", updated_by="recorded_by")


def _check_geometry_type(cls: ObjectClass, geom: BaseGeometry, record: str | int | None) -> None:
    if cls.geometry_type is None:
        return
    base = cls.geometry_type.removeprefix("Multi")
    if geom.geom_type.removeprefix("Multi") != base:
        raise InvalidInputError(
            "wrong geometry type",
            issues=[
                Issue(
                    "geometry",
                    f"class {cls.code} ({cls.name}) takes {base} or Multi{base}, not {geom.geom_type}",
                    record,
                )
            ],
        )


def _version_row(obj: dict[str, Any], *, change: str, actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "object_id": obj["id"],
        "version": obj["version"],
        **{k: obj[k] for k in _VERSIONED},
        "recorded_at": at,
        "recorded_by": actor.name,
        "change": change,
    }


class ObjectService:
    def __init__(self, store: Store, classes: ClassRegistry, on_change: ChangeHook | None = None) -> None:
        self.store = store
        self.classes = classes
        self.on_change = on_change  # told (in the write transaction) the bboxes and classes a write touched

    def _changed(self, conn: Connection, geoms: Sequence[BaseGeometry | None], class_codes: set[str]) -> None:
        if self.on_change is not None:
            boxes = [tuple(g.bounds) for g in geoms if g is not None and not g.is_empty]
            self.on_change(conn, boxes, class_codes)

    # --- validation ----------------------------------------------------------------------------
    def check(
        self, conn: Connection, actor: Actor, new: NewObject, record: int | None, known_departments: set[int]
    ) -> dict[str, Any]:
        """Validate one new object; every problem of the record is reported together, not just the first."""
        rows, issues = self.check_many(conn, actor, [new], [record], known_departments)
        if issues:
            raise InvalidInputError("invalid object", issues=issues[0])
        return rows[0]

    def check_many(
        self,
        conn: Connection,
        actor: Actor,
        news: Sequence[NewObject],
        records: Sequence[int | None],
        known_departments: set[int],
    ) -> tuple[list[dict[str, Any]], dict[int, list[Issue]]]:
        """:meth:`check` of many objects: the rows of the valid ones (in order) and {position: issues}
        of the others. Geometry is checked over arrays (``check_geometries``) and the batch shares one
        timestamp; a valid object the actor may not write raises PermissionDeniedError as in check."""
        geom_at = [i for i, new in enumerate(news) if new.geometry is not None]
        geom_issues = check_geometries([news[i].geometry for i in geom_at], [records[i] for i in geom_at])
        bad_geometry = {geom_at[j]: issue for j, issue in geom_issues.items()}
        states = {s.value for s in LifecycleState}
        now = _now()
        rows: list[dict[str, Any]] = []
        problems: dict[int, list[Issue]] = {}
        for i, (new, record) in enumerate(zip(news, records, strict=True)):
            issues: list[Issue] = []
            if not isinstance(new.name, str) or not new.name.strip() or len(new.name) > 300:
                issues.append(Issue("name", "1-300 characters required", record))
            cls: ObjectClass | None = None
            attributes = None
            try:
                cls = self.classes.get(new.class_code, record=record)
                attributes = cls.validate(new.attributes, record=record)
            except InvalidInputError as exc:
                issues.extend(exc.issues)
            if new.geometry is not None:
                if i in bad_geometry:
                    issues.append(bad_geometry[i])
                elif cls is not None:
                    try:
                        _check_geometry_type(cls, new.geometry, record)
                    except InvalidInputError as exc:
                        issues.extend(exc.issues)
            if new.state not in states:
                issues.append(Issue("state", f"must be one of {[s.value for s in LifecycleState]}", record))
            dept = new.department_id if new.department_id is not None else actor.department_id
            if dept is not None and dept not in known_departments:
                issues.append(Issue("department_id", f"no department {dept}", record))
            if issues:
                problems[i] = issues
                continue
            if not actor.may_write_department(dept):
                where = f"record {record}: " if record is not None else ""
                raise PermissionDeniedError(
                    f"{where}objects of department {dept} are written by that department only (一数一源)"
                )
            assert cls is not None
            rows.append(
                {
                    "code": None,
                    "class_code": cls.code,
                    "name": new.name.strip(),
                    "geom": new.geometry,
                    "attributes": attributes,
                    "department_id": dept,
                    "parent_id": new.parent_id,
                    "state": new.state,
                    "valid_from": new.valid_from or now,
                    "valid_to": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "updated_by": actor.name,
                }
            )
        return rows, problems

    def departments(self, conn: Connection) -> set[int]:
        return set(conn.execute(select(department.c.id)).scalars())

    def _check_parents(self, conn: Connection, rows: Sequence[dict[str, Any]], batch_ids: set[int]) -> None:
        wanted = {r["parent_id"] for r in rows if r["parent_id"] is not None} - batch_ids
        if not wanted:
            return
        ids = sorted(wanted)
        found: set[int] = set()
        for start in range(0, len(ids), PARENT_CHUNK):  # PostgreSQL takes at most 65,535 bound values
            chunk = ids[start : start + PARENT_CHUNK]
            found.update(conn.execute(select(city_object.c.id).where(city_object.c.id.in_(chunk))).scalars())
        for i, r in enumerate(rows):
            if r["parent_id"] is not None and r["parent_id"] not in found and r["parent_id"] not in batch_ids:
                raise InvalidInputError(
                    "invalid object",
                    issues=[Issue("parent_id", f"no object {r['parent_id']}", i if len(rows) > 1 else None)],
                )

    # --- writes ----------------------------------------------------------------------------------
    def create(self, actor: Actor, new: NewObject) -> CityObject:
        with self.store.write() as conn:
            row = self.check(conn, actor, new, None, self.departments(conn))
            self._check_parents(conn, [row], set())
            row["id"] = int(conn.execute(city_object.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]
            conn.execute(
                city_object_version.insert().values(
                    **_version_row(row, change="create", actor=actor, at=row["updated_at"])
                )
            )
            index_geometries(conn, city_object, [(row["id"], row["geom"])])
            record_audit(conn, actor, "object.create", "city_object", str(row["id"]))
            self._changed(conn, [row["geom"]], {row["class_code"]})
        return self.get(row["id"])

    def create_many(self, actor: Actor, news: Sequence[NewObject], *, validate: bool = True) -> list[int]:
        """Create many objects in one transaction; one bad record rejects the batch, naming every problem."""
        with self.store.write() as conn:
            return self.insert_batch(conn, actor, news, validate=validate)

    def insert_batch(
        self, conn: Connection, actor: Actor, news: Sequence[NewObject], *, validate: bool = True
    ) -> list[int]:
        """Like :meth:`create_many`, inside the caller's transaction (for resumable chunked loads)."""
        if validate:
            rows, problems = self.check_many(conn, actor, news, range(len(news)), self.departments(conn))
            issues = [issue for i in sorted(problems) for issue in problems[i]]
            if issues:
                raise InvalidInputError(f"{len(issues)} problem(s) in the batch; nothing was written", issues=issues)
        else:
            now = _now()  # one timestamp for the batch, as check_many does
            rows = [self._fast_row(actor, new, now) for new in news]
        ids = reserve_ids(conn, city_object, len(rows))
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        self._check_parents(conn, rows, set(ids))
        bulk_load(conn, city_object, rows)
        bulk_load(
            conn, city_object_version, [_version_row(r, change="create", actor=actor, at=r["updated_at"]) for r in rows]
        )
        record_audit(conn, actor, "object.bulk_create", "city_object", None, detail={"count": len(rows)})
        self._changed(conn, [r["geom"] for r in rows], {r["class_code"] for r in rows})
        return ids

    def _fast_row(self, actor: Actor, new: NewObject, now: datetime) -> dict[str, Any]:
        return {
            "code": None,
            "class_code": new.class_code,
            "name": new.name,
            "geom": new.geometry,
            "attributes": new.attributes,
            "department_id": new.department_id,
            "parent_id": new.parent_id,
            "state": new.state,
            "valid_from": new.valid_from or now,
            "valid_to": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "updated_by": actor.name,
        }

    def update(
        self, actor: Actor, object_id: int, expected_version: int, changes: ObjectChanges, *, change: str = "update"
    ) -> CityObject:
        """Apply changes if the object is still at ``expected_version`` (optimistic locking)."""
        with self.store.write() as conn:
            self.update_in(conn, actor, object_id, expected_version, changes, change=change)
        return self.get(object_id)

    def update_in(
        self,
        conn: Connection,
        actor: Actor,
        object_id: int,
        expected_version: int,
        changes: ObjectChanges,
        *,
        change: str = "update",
    ) -> int:
        """Like :meth:`update`, inside the caller's transaction (imports, rollbacks); returns the new version."""
        given = changes.given()
        current = self._current_row(conn, object_id)
        if not actor.may_write_department(current["department_id"]):
            raise PermissionDeniedError("objects are changed by their owning department only (一数一源)")
        if current["version"] != expected_version:
            raise ConflictError(
                f"object {object_id} is at version {current['version']}, "
                f"not {expected_version}: reload it and apply your change again"
            )
        if current["state"] == LifecycleState.RETIRED:
            raise ConflictError(f"object {object_id} is retired; retired objects do not change")
        row = dict(current)
        if "state" in given:
            row["state"] = self._transition(current["state"], given["state"])
            if row["state"] == LifecycleState.RETIRED:
                row["valid_to"] = _now()
        new = NewObject(
            class_code=row["class_code"],
            name=given.get("name", row["name"]),
            geometry=given.get("geometry", row["geom"]),
            attributes=given.get("attributes", row["attributes"]),
            department_id=row["department_id"],
            parent_id=given.get("parent_id", row["parent_id"]),
            state=row["state"],
            valid_from=given.get("valid_from", row["valid_from"]),
        )
        checked = self.check(conn, actor, new, None, self.departments(conn))
        self._check_parents(conn, [checked], set())
        now = _now()
        values = {k: checked[k] for k in ("name", "geom", "attributes", "parent_id", "valid_from")}
        values |= {
            "state": row["state"],
            "valid_to": row["valid_to"],
            "version": expected_version + 1,
            "updated_at": now,
            "updated_by": actor.name,
        }
        done = conn.execute(
            update(city_object)
            .where(city_object.c.id == object_id, city_object.c.version == expected_version)
            .values(**values)
        )
        if done.rowcount != 1:  # a concurrent writer won on PostgreSQL between read and update
            raise ConflictError(f"object {object_id} changed meanwhile; reload it and try again")
        row |= values
        conn.execute(city_object_version.insert().values(**_version_row(row, change=change, actor=actor, at=now)))
        index_geometries(conn, city_object, [(object_id, row["geom"])])
        self._changed(conn, [current["geom"], row["geom"]], {row["class_code"]})
        record_audit(
            conn,
            actor,
            f"object.{change}",
            "city_object",
            str(object_id),
            detail={"version": row["version"], "fields": sorted(given)},
        )
        return int(row["version"])

    def retire(self, actor: Actor, object_id: int, expected_version: int) -> CityObject:
        """Deleting retires: the object and its code stay readable, with valid_to set."""
        return self.update(
            actor, object_id, expected_version, ObjectChanges(state=LifecycleState.RETIRED.value), change="retire"
        )

    @staticmethod
    def _transition(current: str, wanted: str) -> str:
        try:
            target = LifecycleState(wanted)
        except ValueError:
            raise InvalidInputError(
                "bad state", issues=[Issue("state", f"must be one of {[s.value for s in LifecycleState]}")]
            ) from None
        if target.value == current:
            return current
        if target not in TRANSITIONS[LifecycleState(current)]:
            raise ConflictError(f"cannot move an object from {current} to {target.value}")
        return target.value

    def _current_row(self, conn: Connection, object_id: int) -> dict[str, Any]:
        row = conn.execute(select(city_object).where(city_object.c.id == object_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no object {object_id}")
        return dict(row)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, object_id: int, *, as_of: datetime | None = None) -> CityObject:
        if as_of is not None:
            return self._as_of(object_id, as_of)
        with self.store.read() as conn:
            return _object(self._current_row(conn, object_id))

    def _as_of(self, object_id: int, as_of: datetime) -> CityObject:
        v = city_object_version
        with self.store.read() as conn:
            row = (
                conn.execute(
                    select(v)
                    .where(v.c.object_id == object_id, v.c.recorded_at <= as_of)
                    .order_by(v.c.version.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"object {object_id} did not exist at {as_of.isoformat()}")
        return _object_from_version(row)

    def get_by_code(self, code: str) -> CityObject:
        with self.store.read() as conn:
            row = conn.execute(select(city_object).where(city_object.c.code == code)).mappings().first()
        if row is None:
            raise NotFoundError(f"no object with code {code!r}")
        return _object(row)

    def history(self, object_id: int) -> list[ObjectVersion]:
        v = city_object_version
        with self.store.read() as conn:
            rows = conn.execute(select(v).where(v.c.object_id == object_id).order_by(v.c.version)).mappings().all()
        if not rows:
            raise NotFoundError(f"no object {object_id}")
        return [_version(r) for r in rows]

    def search(self, query: ObjectQuery) -> Page[CityObject]:
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidInputError("bad limit", issues=[Issue("limit", f"must be between 1 and {MAX_LIMIT}")])
        if query.offset < 0:
            raise InvalidInputError("bad offset", issues=[Issue("offset", "must not be negative")])
        if query.as_of is not None:
            return self._search_as_of(query)
        t = city_object
        conds = self._filters(t, query)
        if query.bbox is not None:
            conds.append(bbox_intersects(t.c.geom, query.bbox))
        if query.text:
            conds.append(text_match(t.c.name, query.text))
        return self._page(select(t).where(*conds).order_by(window_order(t.c.id, query.bbox)), t, conds, query, _object)

    def _filters(self, t: Any, query: ObjectQuery) -> list[Any]:
        conds: list[Any] = []
        for col, value in (
            ("class_code", query.class_code),
            ("code", query.code),
            ("name", query.name),
            ("department_id", query.department_id),
            ("parent_id", query.parent_id),
            ("state", query.state),
        ):
            if value is not None:
                conds.append(t.c[col] == value)
        cls = self.classes.get(query.class_code) if query.class_code else None
        for key, value in query.attributes.items():
            conds.append(self._attribute_filter(t, cls, key, value))
        return conds

    @staticmethod
    def _attribute_filter(t: Any, cls: ObjectClass | None, key: str, value: str) -> Any:
        element = t.c.attributes[key]
        adef = cls.attribute(key) if cls else None
        if cls is not None and adef is None:
            raise InvalidInputError(
                "bad filter", issues=[Issue(f"attr.{key}", f"class {cls.code} has no such attribute")]
            )
        if adef is not None and adef.type in ("integer", "number"):
            try:
                number = float(value)
            except ValueError:
                raise InvalidInputError("bad filter", issues=[Issue(f"attr.{key}", "must be a number")]) from None
            return cast(element.as_float(), Float) == number
        if adef is not None and adef.type == "boolean":
            return element.as_boolean() == (value.lower() in ("1", "true", "yes"))
        return cast(element.as_string(), String) == value

    def _search_as_of(self, query: ObjectQuery) -> Page[CityObject]:
        if query.bbox is not None or query.text:
            raise InvalidInputError(
                "unsupported filter",
                issues=[
                    Issue("as_of", "bbox and text search work on the current state only; filter by class, code or name")
                ],
            )
        v = city_object_version
        v2 = v.alias("v2")
        latest = (
            select(func.max(v2.c.version))
            .where(v2.c.object_id == v.c.object_id, v2.c.recorded_at <= query.as_of)
            .scalar_subquery()
        )
        conds = [*self._filters(v, query), v.c.version == latest]
        stmt = select(v).where(and_(*conds)).order_by(v.c.object_id)

        return self._page(stmt, v, conds, query, _object_from_version)

    def _page(self, stmt: Any, t: Any, conds: list[Any], query: ObjectQuery, convert: Any) -> Page[CityObject]:
        with self.store.read() as conn:
            rows = conn.execute(stmt.limit(query.limit + 1).offset(query.offset)).mappings().all()
            total = (
                conn.execute(select(func.count()).select_from(t).where(*conds)).scalar_one() if query.count else None
            )
        return Page(
            items=[convert(r) for r in rows[: query.limit]],
            limit=query.limit,
            offset=query.offset,
            has_more=len(rows) > query.limit,
            total=total,
        )

    def count_by_class(self) -> dict[str, int]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(city_object.c.class_code, func.count())
                .where(city_object.c.state != LifecycleState.RETIRED.value)
                .group_by(city_object.c.class_code)
            )
            return {r[0]: int(r[1]) for r in rows}

    def require_write(self, actor: Actor) -> None:
        if not (actor.can(Permission.WRITE_OWN_OBJECTS) or actor.can(Permission.WRITE_ANY_OBJECTS)):
            actor.require(Permission.WRITE_OWN_OBJECTS)
