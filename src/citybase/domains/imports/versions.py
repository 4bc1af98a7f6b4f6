"""Layer versions of dataset layers: membership per version, compare, roll back (all inside a transaction).

See :mod:`citybase.store.import_tables` for how membership is kept as intervals of layer versions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from citybase.domains.access import Actor
from citybase.domains.imports.model import LayerVersion, VersionDiff
from citybase.domains.objects import LifecycleState, ObjectChanges, ObjectService
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store import bulk_load
from citybase.store.import_tables import layer_item, layer_version
from citybase.store.schema import city_object, city_object_version


@dataclass(frozen=True, slots=True)
class Member:
    item_id: int
    object_id: int
    object_version: int
    source_key: str | None
    raw_address: str | None
    extra: dict[str, Any] | None


def current_version(conn: Connection, layer_id: int) -> int:
    v = conn.execute(select(func.max(layer_version.c.version)).where(layer_version.c.layer_id == layer_id))
    return int(v.scalar_one() or 0)


def members_at(conn: Connection, layer_id: int, version: int) -> dict[int, Member]:
    """The objects of layer version ``version`` by object id."""
    li = layer_item
    rows = conn.execute(
        select(li).where(
            li.c.layer_id == layer_id,
            li.c.from_version <= version,
            or_(li.c.to_version.is_(None), li.c.to_version > version),
        )
    ).mappings()
    return {
        r["object_id"]: Member(
            r["id"], r["object_id"], r["object_version"], r["source_key"], r["raw_address"], r["extra"]
        )
        for r in rows
    }


def close(conn: Connection, item_ids: list[int], version: int) -> None:
    for lo in range(0, len(item_ids), 500):
        chunk = item_ids[lo : lo + 500]
        conn.execute(update(layer_item).where(layer_item.c.id.in_(chunk)).values(to_version=version))


def open_items(conn: Connection, layer_id: int, version: int, items: list[dict[str, Any]]) -> None:
    # bulk_load: COPY on PostGIS, one driver executemany on SQLite (an import opens one item per row)
    rows = [{"layer_id": layer_id, "from_version": version, "to_version": None, **i} for i in items]
    bulk_load(conn, layer_item, rows)


def record(
    conn: Connection,
    layer_id: int,
    version: int,
    change: str,
    counts: dict[str, int],
    actor: Actor,
    *,
    import_id: int | None = None,
    rolled_back_to: int | None = None,
) -> None:
    conn.execute(
        layer_version.insert().values(
            layer_id=layer_id,
            version=version,
            change=change,
            import_id=import_id,
            rolled_back_to=rolled_back_to,
            counts=counts,
            created_at=datetime.now(UTC),
            created_by=actor.name,
        )
    )


def list_versions(conn: Connection, layer_id: int, layer_name: str) -> list[LayerVersion]:
    rows = conn.execute(
        select(layer_version).where(layer_version.c.layer_id == layer_id).order_by(layer_version.c.version)
    ).mappings()
    found = [
        LayerVersion(
            layer=layer_name,
            version=r["version"],
            change=r["change"],
            import_id=r["import_id"],
            rolled_back_to=r["rolled_back_to"],
            counts=r["counts"],
            created_at=r["created_at"],
            created_by=r["created_by"],
        )
        for r in rows
    ]
    if found:
        found[-1] = replace(found[-1], current=True)
    return found


def _check_version(conn: Connection, layer_id: int, layer_name: str, version: int, what: str) -> None:
    if not 1 <= version <= current_version(conn, layer_id):
        raise NotFoundError(f"layer {layer_name!r} has no version {version}", issues=[Issue(what, "no such version")])


def diff(conn: Connection, layer_id: int, layer_name: str, v1: int, v2: int) -> VersionDiff:
    """Objects added, changed (another object version) and retired from ``v1`` to ``v2``."""
    _check_version(conn, layer_id, layer_name, v1, "v1")
    _check_version(conn, layer_id, layer_name, v2, "v2")
    a, b = members_at(conn, layer_id, v1), members_at(conn, layer_id, v2)
    both = a.keys() & b.keys()
    changed = sorted(o for o in both if a[o].object_version != b[o].object_version)
    return VersionDiff(
        layer=layer_name,
        from_version=v1,
        to_version=v2,
        added=sorted(b.keys() - a.keys()),
        changed=changed,
        retired=sorted(a.keys() - b.keys()),
        unchanged=len(both) - len(changed),
    )


def _restore(
    conn: Connection, objects: ObjectService, actor: Actor, object_id: int, version: int
) -> tuple[int | None, str | None]:
    """Bring an object back to the content of its ``version``: (new object version, or None and why not)."""
    obj = conn.execute(select(city_object.c.version, city_object.c.state).where(city_object.c.id == object_id)).first()
    if obj is None:
        return None, "the object no longer exists"
    if obj.version == version:
        return version, None
    if obj.state == LifecycleState.RETIRED:
        return None, "the object was retired since; retired objects do not come back"
    v = city_object_version
    old = conn.execute(select(v).where(and_(v.c.object_id == object_id, v.c.version == version))).mappings().first()
    assert old is not None
    changes = ObjectChanges(name=old["name"], geometry=old["geom"], attributes=old["attributes"] or {})
    return objects.update_in(conn, actor, object_id, obj.version, changes, change="rollback"), None


def rollback(
    conn: Connection, objects: ObjectService, actor: Actor, layer_id: int, layer_name: str, target: int
) -> tuple[int, dict[str, int], list[Issue]]:
    """Make a new version whose objects are those of ``target``, each back at its version then."""
    _check_version(conn, layer_id, layer_name, target, "version")
    now_v = current_version(conn, layer_id)
    if target == now_v:
        raise InvalidInputError("nothing to roll back", issues=[Issue("version", f"{target} is the current version")])
    new_v = now_v + 1
    current, wanted = members_at(conn, layer_id, now_v), members_at(conn, layer_id, target)
    to_close = [m.item_id for oid, m in current.items() if oid not in wanted]
    counts = {"added": 0, "changed": 0, "retired": len(to_close), "unchanged": 0, "skipped": 0}
    items: list[dict[str, Any]] = []
    skipped: list[Issue] = []
    for oid, m in wanted.items():
        now = current.get(oid)
        restored, why = _restore(conn, objects, actor, oid, m.object_version)
        if restored is None:
            skipped.append(Issue("object", f"object {oid} not restored: {why}", oid))
            counts["skipped"] += 1
            continue
        if now is not None and now.object_version == restored:
            counts["unchanged"] += 1
            continue
        counts["changed" if now is not None else "added"] += 1
        if now is not None:
            to_close.append(now.item_id)
        items.append(
            {
                "object_id": oid,
                "object_version": restored,
                "source_key": m.source_key,
                "raw_address": m.raw_address,
                "extra": m.extra,
            }
        )
    close(conn, to_close, new_v)
    open_items(conn, layer_id, new_v, items)
    record(conn, layer_id, new_v, "rollback", counts, actor, rolled_back_to=target)
    return new_v, counts, skipped
