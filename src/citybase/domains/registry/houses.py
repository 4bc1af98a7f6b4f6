"""Actual houses (实有房屋, the 楼盘表): one record per building, unit, floor or room of the address tree.

Every change writes a new ``house_version`` row (nothing is overwritten); updates carry the version the
caller read (optimistic locking: a stale version is a :class:`ConflictError`). A unit, floor or room
house needs the house of its building first: the tree is strict, so a room without a building is an
error. ``apply_house_update`` is the entry point of the collection loop (采集 → 初审 → 复审).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.kernel.errors import AuthenticationError, ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.store.address_tables import address_node
from citybase.store.house_tables import house, house_version

HOUSE_LEVELS = ("building", "unit", "floor", "room")
USES = ("residential", "commercial", "mixed", "public", "industrial", "other")
STRUCTURES = ("砖混", "框架", "钢混", "钢结构", "木", "其他")
OWNERSHIPS = ("商品房", "公房", "自建房", "集体", "其他")
RENTAL_STATUSES = ("自住", "出租", "空置", "其他")
SAFETY_GRADES = ("A", "B", "C", "D")
ATTRIBUTES = ("use", "structure", "year_built", "floor_area_m2", "ownership", "rental_status", "safety_grade")
_CHOICES: dict[str, tuple[str, ...]] = {
    "use": USES,
    "structure": STRUCTURES,
    "ownership": OWNERSHIPS,
    "rental_status": RENTAL_STATUSES,
    "safety_grade": SAFETY_GRADES,
}


def require_writer(actor: Actor) -> None:
    """Registry writes: WRITE_REGISTRY, or a department reviewer applying an accepted collection task."""
    if actor.can(Permission.WRITE_REGISTRY) or actor.can(Permission.REVIEW_SECOND):
        return
    actor.require(Permission.WRITE_REGISTRY)


def require_reader(actor: Actor) -> None:
    """Registry reads need a signed-in caller: the house card and organisations are not public (the
    door-plate QR page is the public view of an address)."""
    if actor.kind == "anonymous":
        raise AuthenticationError("log in or send an API key to read the registries")
    actor.require(Permission.READ)


def now() -> datetime:
    return datetime.now(UTC)


def check_attributes(record: str | int | None, given: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The house attributes in ``given``, checked; every problem is one issue (record, field, reason)."""
    issues: list[Issue] = []
    out: dict[str, Any] = {}
    unknown = sorted(set(given) - set(ATTRIBUTES))
    issues += [Issue(k, f"not a house attribute (one of {', '.join(ATTRIBUTES)})", record) for k in unknown]
    for key in ATTRIBUTES:
        if key not in given:
            continue
        value = given[key]
        if value is None or value == "":
            if key == "use":
                issues.append(Issue("use", f"required, one of {', '.join(USES)}", record))
            out[key] = None
            continue
        if key in _CHOICES:
            text = str(value).strip()
            text = text.upper() if key == "safety_grade" else text
            if text not in _CHOICES[key]:
                issues.append(Issue(key, f"{value!r} is not one of {', '.join(_CHOICES[key])}", record))
            out[key] = text
        elif key == "year_built":
            year = _number(value, int)
            if year is None or not 1800 <= year <= now().year + 5:
                issues.append(Issue(key, f"{value!r} is not a year between 1800 and {now().year + 5}", record))
            out[key] = year
        else:
            area = _number(value, float)
            if area is None or not 0 < area <= 10_000_000:
                issues.append(Issue(key, f"{value!r} is not an area in m² above 0 and up to 10,000,000", record))
            out[key] = area
    if creating and "use" not in given:
        issues.append(Issue("use", f"required, one of {', '.join(USES)}", record))
    if issues:
        raise InvalidInputError(f"invalid house{'' if record is None else f' {record}'}", issues=issues)
    return out


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool):
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        return None
    if kind is int and isinstance(value, float) and not value.is_integer():
        return None
    return number


def house_json(m: Any) -> dict[str, Any]:
    out = {k: m[k] for k in ("id", "address_node_id", "object_id", "level", *ATTRIBUTES, "version", "updated_by")}
    out["updated_at"] = m["updated_at"].isoformat()
    return out


def house_row(conn: Connection, *, house_id: int | None = None, node_id: int | None = None) -> Any:
    q = select(house).where(house.c.id == house_id if house_id is not None else house.c.address_node_id == node_id)
    row = conn.execute(q).first()
    if row is None:
        what = f"house {house_id}" if house_id is not None else f"house at address node {node_id}"
        raise NotFoundError(f"no {what}")
    return row._mapping


def _building_of(conn: Connection, node_id: int) -> int | None:
    """The nearest building node above ``node_id`` (None when there is none)."""
    current = conn.execute(select(address_node.c.parent_id).where(address_node.c.id == node_id)).scalar()
    for _ in range(16):
        if current is None:
            return None
        row = conn.execute(
            select(address_node.c.level, address_node.c.parent_id).where(address_node.c.id == current)
        ).one()
        if row.level == "building":
            return int(current)
        current = row.parent_id
    return None


def _version_row(m: Any, house_id: int, version: int, change: str, actor: Actor) -> dict[str, Any]:
    return {
        "house_id": house_id,
        "version": version,
        **{k: m[k] for k in ("address_node_id", "object_id", "level", *ATTRIBUTES)},
        "change": change,
        "recorded_at": now(),
        "recorded_by": actor.name,
    }


def create_house_in(conn: Connection, actor: Actor, node_id: int, attributes: Mapping[str, Any]) -> int:
    """Record the house at an address node inside the caller's transaction; returns its id."""
    require_writer(actor)
    record = f"address node {node_id}"
    values = check_attributes(record, attributes, creating=True)
    node = conn.execute(
        select(address_node.c.level, address_node.c.object_id, address_node.c.state).where(address_node.c.id == node_id)
    ).first()
    if node is None:
        raise NotFoundError(f"no address node {node_id}")
    if node.level not in HOUSE_LEVELS:
        raise InvalidInputError(
            "not a house address",
            issues=[
                Issue("address_node_id", f"a {node.level} is not a house; give a building, unit, floor or room", record)
            ],
        )
    if node.state != "active":
        raise InvalidInputError("retired address", issues=[Issue("address_node_id", "the address is retired", record)])
    if node.level != "building":
        building = _building_of(conn, node_id)
        has = (
            building is not None and conn.execute(select(house.c.id).where(house.c.address_node_id == building)).first()
        )
        if not has:
            raise InvalidInputError(
                f"a {node.level} house needs its building",
                issues=[
                    Issue(
                        "address_node_id",
                        f"the {node.level} has no building house: record the building (address node {building}) first",
                        record,
                    )
                ],
            )
    if conn.execute(select(house.c.id).where(house.c.address_node_id == node_id)).first() is not None:
        raise ConflictError(
            f"address node {node_id} already has a house",
            issues=[Issue("address_node_id", "already recorded: update it with its version", record)],
        )
    at = now()
    row = {
        "address_node_id": node_id,
        "object_id": node.object_id,
        "level": node.level,
        **{k: values.get(k) for k in ATTRIBUTES},
    }
    house_id = int(
        conn.execute(
            house.insert()
            .values(**row, version=1, created_at=at, updated_at=at, updated_by=actor.name)
            .returning(house.c.id)
        ).scalar_one()
    )
    conn.execute(house_version.insert().values(**_version_row(row, house_id, 1, "create", actor)))
    record_audit(conn, actor, "house.create", "house", str(house_id), detail={"address_node_id": node_id})
    return house_id


def update_house_in(
    conn: Connection,
    actor: Actor,
    house_id: int,
    version: int,
    attributes: Mapping[str, Any],
    *,
    change: str = "update",
) -> int:
    """Change attributes of a house read at ``version``; returns the new version."""
    require_writer(actor)
    values = check_attributes(f"house {house_id}", attributes, creating=False)
    current = house_row(conn, house_id=house_id)
    if int(version) != current["version"]:
        raise ConflictError(
            f"house {house_id} changed since you read it (version {version}, now {current['version']})",
            issues=[
                Issue("version", f"stale: read the house again (version {current['version']})", f"house {house_id}")
            ],
        )
    new_version = current["version"] + 1
    updated = conn.execute(
        house.update()
        .where(house.c.id == house_id, house.c.version == current["version"])
        .values(**values, version=new_version, updated_at=now(), updated_by=actor.name)
    )
    if updated.rowcount != 1:  # a concurrent writer got there between our read and our write
        raise ConflictError(f"house {house_id} changed since you read it", issues=[Issue("version", "stale")])
    merged = {**current, **values}
    conn.execute(house_version.insert().values(**_version_row(merged, house_id, new_version, change, actor)))
    record_audit(conn, actor, f"house.{change}", "house", str(house_id), detail={"fields": sorted(values)})
    return new_version


def apply_house_update(conn: Connection, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The collection loop's write: create the house at ``address_node_id`` or update house ``house_id``
    (or the house at the node) with the attributes in ``payload``; ``version`` when the task read one."""
    attrs = {k: v for k, v in payload.items() if k in ATTRIBUTES}  # other keys are the task's context
    house_id, node_id = _int_or_none(payload, "house_id"), _int_or_none(payload, "address_node_id")
    if house_id is None:
        if node_id is None:
            raise InvalidInputError(
                "invalid house update", issues=[Issue("address_node_id", "give address_node_id or house_id")]
            )
        found = conn.execute(select(house.c.id).where(house.c.address_node_id == node_id)).scalar()
        if found is None:
            new_id = create_house_in(conn, actor, node_id, attrs)
            return house_json(house_row(conn, house_id=new_id))
        house_id = int(found)
    current = house_row(conn, house_id=int(house_id))
    version = payload.get("version", current["version"])
    update_house_in(conn, actor, int(house_id), int(version), attrs)
    return house_json(house_row(conn, house_id=int(house_id)))


def _int_or_none(payload: Mapping[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    number = _number(value, int)
    if number is None:
        raise InvalidInputError("invalid house update", issues=[Issue(key, f"{value!r} is not an id")])
    return int(number)


def house_history(conn: Connection, house_id: int) -> list[dict[str, Any]]:
    q = select(house_version).where(house_version.c.house_id == house_id).order_by(house_version.c.version)
    out = []
    for r in conn.execute(q):
        m = r._mapping
        out.append(
            {
                "version": m["version"],
                "change": m["change"],
                **{k: m[k] for k in ATTRIBUTES},
                "recorded_at": m["recorded_at"].isoformat(),
                "recorded_by": m["recorded_by"],
            }
        )
    return out
