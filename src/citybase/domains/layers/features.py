"""The objects of a layer as a filtered, paged query on ``city_object`` (built from columns and neutral predicates)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, String, and_, cast, func, or_, select

from citybase.domains.layers.model import FeatureQuery, Layer, LayerKind, TimeInterval
from citybase.domains.objects import CityObject, LifecycleState, ObjectClass
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.store import bbox_intersects, intersects
from citybase.store.import_tables import layer_item
from citybase.store.schema import city_object

# Up to this many matching rows numberMatched is an exact count; past it, an estimate (see docs/ogc.md).
EXACT_COUNT_LIMIT = 100_000
# Properties that are columns of the object rather than class attributes.
COLUMN_PROPERTIES = ("name", "code")


def layer_conditions(class_code: str, lyr: Layer | None = None) -> list[Any]:
    t = city_object
    conds = [t.c.class_code == class_code, t.c.state != LifecycleState.RETIRED.value]
    if lyr is not None and lyr.kind == LayerKind.DATASET:
        conds.append(member_condition(lyr.id))
    return conds


def member_condition(layer_id: int) -> Any:
    """Objects in the current version of a dataset layer (filled by imports; see store/import_tables.py)."""
    li = layer_item
    return city_object.c.id.in_(select(li.c.object_id).where(li.c.layer_id == layer_id, li.c.to_version.is_(None)))


def time_condition(interval: TimeInterval) -> Any:
    """Objects whose validity [valid_from, valid_to) meets the interval (open ends match everything)."""
    t = city_object
    conds = []
    if interval.end is not None:
        conds.append(t.c.valid_from <= interval.end)
    if interval.start is not None:
        conds.append(or_(t.c.valid_to.is_(None), t.c.valid_to >= interval.start))
    return and_(*conds) if conds else None


def property_condition(cls: ObjectClass, key: str, value: str) -> Any:
    """``key = value`` on a column or a class attribute, compared as the attribute's type."""
    t = city_object
    if key in COLUMN_PROPERTIES:
        return t.c[key] == value
    adef = cls.attribute(key)
    if adef is None:
        raise InvalidInputError(
            "unknown parameter",
            issues=[Issue(key, f"not a parameter, and class {cls.code} has no attribute {key!r}")],
        )
    element = t.c.attributes[key]
    if adef.type in ("integer", "number"):
        try:
            number = float(value)
        except ValueError:
            raise InvalidInputError("bad parameter", issues=[Issue(key, "must be a number")]) from None
        return cast(element.as_float(), Float) == number
    if adef.type == "boolean":
        return element.as_boolean() == (value.lower() in ("1", "true", "yes"))
    return cast(element.as_string(), String) == value


def conditions(cls: ObjectClass, query: FeatureQuery) -> list[Any]:
    t = city_object
    conds = layer_conditions(cls.code)
    if query.bbox is not None:
        conds.append(bbox_intersects(t.c.geom, query.bbox))
    if query.intersects is not None:
        conds.append(intersects(t.c.geom, query.intersects))
    if query.datetime is not None:
        cond = time_condition(query.datetime)
        if cond is not None:
            conds.append(cond)
    conds += [property_condition(cls, k, v) for k, v in query.properties.items()]
    if query.where is not None:
        conds.append(query.where)
    return conds


def count_matched(conn: Connection, conds: list[Any]) -> tuple[int, bool]:
    """Exact count up to EXACT_COUNT_LIMIT rows; past it, an estimate from the first rows of the class."""
    t = city_object
    capped = select(t.c.id).where(*conds).limit(EXACT_COUNT_LIMIT + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(capped)).scalar_one())
    if n <= EXACT_COUNT_LIMIT:
        return n, True
    # The class conditions are the first two; sample their first rows and scale the hit rate.
    base = conds[:2]
    total = int(conn.execute(select(func.count()).select_from(t).where(*base)).scalar_one())
    sample = select(t.c.id).where(*base).order_by(t.c.id).limit(EXACT_COUNT_LIMIT).subquery()
    hits = int(
        conn.execute(select(func.count()).select_from(t).where(t.c.id.in_(select(sample.c.id)), *conds)).scalar_one()
    )
    return max(n, round(total * hits / EXACT_COUNT_LIMIT)), False


def to_object(m: Any) -> CityObject:
    return CityObject(
        id=m["id"],
        code=m["code"],
        class_code=m["class_code"],
        name=m["name"],
        geometry=m["geom"],
        attributes=m["attributes"] or {},
        department_id=m["department_id"],
        parent_id=m["parent_id"],
        state=m["state"],
        valid_from=m["valid_from"],
        valid_to=m["valid_to"],
        version=m["version"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
    )
