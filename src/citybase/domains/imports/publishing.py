"""Publish an import: a new layer version from checked rows, inside the caller's write transaction.

Rows are matched to the current members by their key. A matched row with other content updates its
object (a new object version, change ``import``); an unmatched row creates an object; a member the file
no longer has leaves the layer (it stays a city object; see docs/import.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, select

from citybase.domains.access import Actor
from citybase.domains.imports import versions
from citybase.domains.imports.loading import Prepared
from citybase.domains.objects import LifecycleState, ObjectChanges, ObjectService
from citybase.store.schema import city_object


@dataclass(frozen=True, slots=True)
class Published:
    version: int
    counts: dict[str, int]
    new_ids: list[int]
    left: list[Any]  # geometries of the objects that left the layer


def _same(obj: Any, new: Any) -> bool:
    geom_a, geom_b = obj["geom"], new.geometry
    same_geom = (geom_a is None and geom_b is None) or (
        isinstance(geom_a, BaseGeometry) and isinstance(geom_b, BaseGeometry) and geom_a.equals_exact(geom_b, 1e-10)
    )
    return same_geom and obj["name"] == new.name and (obj["attributes"] or {}) == new.attributes


def _item(object_id: int, version: int, p: Prepared) -> dict[str, Any]:
    return {
        "object_id": object_id,
        "object_version": version,
        "source_key": p.key,
        "raw_address": p.raw_address,
        "extra": p.extra,
    }


def _objects(conn: Connection, ids: list[int]) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    for lo in range(0, len(ids), 500):
        stmt = select(city_object).where(city_object.c.id.in_(ids[lo : lo + 500]))
        rows |= {r["id"]: r for r in conn.execute(stmt).mappings()}
    return rows


def publish(
    conn: Connection, objects: ObjectService, actor: Actor, layer_id: int, rows: list[Prepared], import_id: int
) -> Published:
    cur = versions.current_version(conn, layer_id)
    new_v = cur + 1
    members = versions.members_at(conn, layer_id, cur)
    by_key = {m.source_key: m for m in members.values() if m.source_key is not None}
    current = _objects(conn, list(members))
    counts = {"added": 0, "changed": 0, "unchanged": 0, "retired": 0}
    matched: set[int] = set()
    to_close: list[int] = []
    items: list[dict[str, Any]] = []
    fresh: list[Prepared] = []
    for p in rows:
        m = by_key.get(p.key) if p.key is not None else None
        obj = current.get(m.object_id) if m is not None else None
        if m is None or obj is None or obj["state"] == LifecycleState.RETIRED:
            fresh.append(p)
            continue
        matched.add(m.object_id)
        version = obj["version"]
        if not _same(obj, p.new):
            changes = ObjectChanges(name=p.new.name, geometry=p.new.geometry, attributes=p.new.attributes)
            version = objects.update_in(conn, actor, m.object_id, obj["version"], changes, change="import")
        if version == m.object_version and (m.raw_address, m.extra) == (p.raw_address, p.extra):
            counts["unchanged"] += 1
            continue
        counts["changed"] += 1
        to_close.append(m.item_id)
        items.append(_item(m.object_id, version, p))
    gone = [m for oid, m in members.items() if oid not in matched]
    counts["retired"] = len(gone)
    to_close += [m.item_id for m in gone]
    new_ids = objects.insert_batch(conn, actor, [p.new for p in fresh], validate=False) if fresh else []
    items += [_item(oid, 1, p) for oid, p in zip(new_ids, fresh, strict=True)]
    counts["added"] = len(new_ids)
    versions.close(conn, to_close, new_v)
    versions.open_items(conn, layer_id, new_v, items)
    versions.record(conn, layer_id, new_v, "import", counts, actor, import_id=import_id)
    left = [current[m.object_id]["geom"] for m in gone if m.object_id in current]
    return Published(new_v, counts, new_ids, left)
