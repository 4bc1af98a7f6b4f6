"""The objects of a layer as a filtered, paged query on ``city_object`` (built from columns and neutral predicates).

A dataset layer's past version (``FeatureQuery.version``) is the same query over :func:`version_rows`: the
members of that layer version, each at the object version recorded for it (as its tiles are, see
``domains/tiles/datasets.py``); the conditions are built on ``city_object`` and moved onto those rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Float, String, Subquery, and_, cast, func, or_, select
from sqlalchemy.sql.visitors import replacement_traverse

from citybase.domains.layers.model import FeaturePage, FeatureQuery, Layer, LayerKind, TimeInterval
from citybase.domains.objects import CityObject, LifecycleState, ObjectClass
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store import Store, bbox_intersects, intersects, window_order
from citybase.store.elements import SpatialPredicate
from citybase.store.import_tables import layer_item, layer_version
from citybase.store.schema import city_object, city_object_version

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


def count_matched(conn: Connection, conds: list[Any], rows: Any = None) -> tuple[int, bool]:
    """Exact count up to EXACT_COUNT_LIMIT rows; past it, an estimate from the first rows of the class.
    ``rows``: the table or subquery ``conds`` are on (default ``city_object``)."""
    t = city_object if rows is None else rows
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


# --- a past version of a dataset layer ---------------------------------------------------------------

# city_object's columns that city_object_version names otherwise
_VERSION_COLUMNS = {
    "id": "object_id",
    "created_at": "recorded_at",
    "updated_at": "recorded_at",
    "updated_by": "recorded_by",
}


def check_version(conn: Connection, lyr: Layer, version: int) -> None:
    """400 for a version of a class layer, 404 for a version the dataset layer does not have."""
    if lyr.kind != LayerKind.DATASET:
        raise InvalidInputError(
            "not a dataset layer", issues=[Issue("version", f"{lyr.name!r} is a class layer; it has no versions")]
        )
    q = select(func.max(layer_version.c.version)).where(layer_version.c.layer_id == lyr.id)
    current = int(conn.execute(q).scalar_one() or 0)
    if not 1 <= version <= current:
        have = f"it has versions 1..{current}" if current else "it has no versions yet"
        raise NotFoundError(
            f"layer {lyr.name!r} has no version {version}: {have}", issues=[Issue("version", "no such version")]
        )


def version_rows(layer_id: int, version: int) -> Subquery:
    """``city_object``'s columns for the members of layer version ``version``, each at its object version then."""
    li, v = layer_item, city_object_version
    join = li.join(v, and_(v.c.object_id == li.c.object_id, v.c.version == li.c.object_version))
    cols = [v.c[_VERSION_COLUMNS.get(c.name, c.name)].label(c.name) for c in city_object.c]
    q = (
        select(*cols)
        .select_from(join)
        .where(
            li.c.layer_id == layer_id,
            li.c.from_version <= version,
            or_(li.c.to_version.is_(None), li.c.to_version > version),
        )
    )
    return q.subquery("layer_version_rows")


def on_rows(clause: Any, rows: Subquery) -> Any:
    """``clause`` (built on ``city_object``) moved onto ``rows``. A bbox test becomes an exact intersects
    test there: the rows have no spatial index of their own to pre-filter with."""

    def replace(element: Any, **kw: Any) -> Any:
        if isinstance(element, SpatialPredicate):
            op = "intersects" if element.operation == "bbox" else element.operation
            return SpatialPredicate(op, on_rows(element.column, rows), element.geometry)
        if isinstance(element, Column) and element.table is city_object:
            return rows.c[element.name]
        return None

    return replacement_traverse(clause, {}, replace)


def version_page(store: Store, cls: ObjectClass, lyr: Layer, query: FeatureQuery) -> FeaturePage:
    """A page of the objects of dataset layer ``lyr`` as they were in ``query.version``."""
    assert query.version is not None
    rows = version_rows(lyr.id, query.version)
    conds = [on_rows(c, rows) for c in conditions(cls, query)]
    order = window_order(rows.c.id, query.bbox)
    stmt = select(rows).where(*conds).order_by(order).limit(query.limit + 1).offset(query.offset)
    with store.read() as conn:
        check_version(conn, lyr, query.version)
        found = conn.execute(stmt).mappings().all()
        matched, exact = count_matched(conn, conds, rows) if query.count else (None, False)
    return FeaturePage(
        items=[to_object(r) for r in found[: query.limit]],
        limit=query.limit,
        offset=query.offset,
        has_more=len(found) > query.limit,
        matched=matched,
        matched_exact=exact,
    )


def version_feature(store: Store, lyr: Layer, object_id: int, version: int) -> CityObject:
    """One member of dataset layer ``lyr`` as it was in layer version ``version``, or NotFoundError."""
    rows = version_rows(lyr.id, version)
    with store.read() as conn:
        check_version(conn, lyr, version)
        row = conn.execute(select(rows).where(rows.c.id == object_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no feature {object_id} in version {version} of layer {lyr.name!r}")
    return to_object(row)
