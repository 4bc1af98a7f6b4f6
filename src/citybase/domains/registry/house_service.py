"""The house service: writes of houses and inspections, the house record card (房屋档案), and what the
phone page needs to turn a scanned door-plate QR code into an address."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection, func, select

from citybase.domains.access import Actor
from citybase.domains.addresses import AddressService
from citybase.domains.registry import houses as h
from citybase.domains.registry.houses import require_reader
from citybase.domains.registry.inspections import add_inspection_in, inspections
from citybase.domains.registry.orgs import Organisations
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store import Store
from citybase.store.address_tables import address_node
from citybase.store.house_tables import house
from citybase.store.schema import city_object

Residents = Callable[[Connection, Actor, list[int]], list[dict[str, Any]]]
_CODE = re.compile(r"^[0-9A-Za-z_-]{4,40}$")


def descendants(conn: Connection, node_id: int) -> list[tuple[int, str]]:
    """(id, level) of every active node below ``node_id`` (one recursive query)."""
    n = address_node
    top = select(n.c.id, n.c.level).where(n.c.parent_id == node_id, n.c.state == "active").cte("below", recursive=True)
    child = n.alias("below_child")
    tree = top.union_all(
        select(child.c.id, child.c.level).where(child.c.parent_id == top.c.id, child.c.state == "active")
    )
    return [(int(r.id), r.level) for r in conn.execute(select(tree.c.id, tree.c.level))]


class HouseService:
    def __init__(self, store: Store, addresses: AddressService, orgs: Organisations) -> None:
        self.store = store
        self.addresses = addresses
        self.orgs = orgs
        self.residents: Residents | None = None  # set by the platform when the population registry is there

    # --- writes ------------------------------------------------------------------------------------
    def create(self, actor: Actor, node_id: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            house_id = h.create_house_in(conn, actor, node_id, attributes)
            return h.house_json(h.house_row(conn, house_id=house_id))

    def update(self, actor: Actor, house_id: int, version: int, attributes: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            h.update_house_in(conn, actor, house_id, version, attributes)
            return h.house_json(h.house_row(conn, house_id=house_id))

    def apply_house_update(self, conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        return h.apply_house_update(conn, actor, payload)

    def add_inspection(self, actor: Actor, house_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            return add_inspection_in(conn, actor, house_id, payload)

    def inspections(self, actor: Actor, house_id: int) -> list[dict[str, Any]]:
        require_reader(actor)
        with self.store.read() as conn:
            h.house_row(conn, house_id=house_id)
            return inspections(conn, house_id)

    # --- the card ----------------------------------------------------------------------------------
    def card(self, actor: Actor, *, house_id: int | None = None, node_id: int | None = None) -> dict[str, Any]:
        """Address, codes, location, attributes, what is below it, people (masked) and organisations in it,
        history and inspections of one house."""
        require_reader(actor)
        with self.store.read() as conn:
            row = h.house_row(conn, house_id=house_id, node_id=node_id)
            node = int(row["address_node_id"])
            record = self.addresses._records(conn, [node])[0]
            building_node = node if row["level"] == "building" else h._building_of(conn, node)
            building = conn.execute(select(house).where(house.c.address_node_id == building_node)).first()
            building_object = conn.execute(
                select(address_node.c.object_id).where(address_node.c.id == building_node)
            ).scalar()
            code = None
            if building_object is not None:
                code = conn.execute(select(city_object.c.code).where(city_object.c.id == building_object)).scalar()
            below = descendants(conn, node)
            ids = [node, *(i for i, _ in below)]
            summary = {lv: sum(1 for _, level in below if level == lv) for lv in ("unit", "floor", "room")}
            summary["houses"] = int(
                conn.execute(
                    select(func.count()).select_from(house).where(house.c.address_node_id.in_(ids))
                ).scalar_one()
            )
            residents = self.residents(conn, actor, ids) if self.residents is not None else []
            return {
                "house": h.house_json(row),
                "address": {
                    "node_id": node,
                    "level": record.level,
                    "full_address": record.full_address,
                    "display_code": record.display_code,
                    "community": record.community,
                    "grid": record.grid,
                    "lon": record.lon,
                    "lat": record.lat,
                },
                "building": {
                    "address_node_id": building_node,
                    "house_id": building.id if building else None,
                    "object_id": building_object,
                    "unified_code": code,
                },
                "unified_code": code,
                "summary": summary,
                "residents": residents,
                "residents_available": self.residents is not None,
                "organisations": self.orgs.at_nodes_in(conn, ids),
                "history": h.house_history(conn, int(row["id"])),
                "inspections": inspections(conn, int(row["id"])),
            }

    # --- the phone page ----------------------------------------------------------------------------
    def resolve_scan(self, actor: Actor, text: str) -> dict[str, Any]:
        """A scanned door-plate QR (a URL ``…/a/<display code>``), a typed display code or a node id ->
        the address and the buildings (with their houses) under it, for "pick the building"."""
        require_reader(actor)
        node_id = self._scanned_node(text)
        with self.store.read() as conn:
            record = self.addresses._records(conn, [node_id])[0]
            level = conn.execute(select(address_node.c.level).where(address_node.c.id == node_id)).scalar_one()
            if level == "building":
                buildings = [(node_id, "building")]
            else:
                buildings = [(i, lv) for i, lv in descendants(conn, node_id) if lv == "building"][:200]
            recs = self.addresses._records(conn, [i for i, _ in buildings]) if buildings else []
            houses = {
                r.address_node_id: r
                for r in conn.execute(select(house).where(house.c.address_node_id.in_([i for i, _ in buildings])))
            }
        return {
            "node_id": node_id,
            "level": level,
            "full_address": record.full_address,
            "display_code": record.display_code,
            "lon": record.lon,
            "lat": record.lat,
            "buildings": [
                {
                    "node_id": r.id,
                    "name": r.parts.get("building", r.full_address),
                    "full_address": r.full_address,
                    "display_code": r.display_code,
                    "house": h.house_json(houses[r.id]._mapping) if r.id in houses else None,
                }
                for r in recs
            ],
        }

    def _scanned_node(self, text: str) -> int:
        raw = (text or "").strip()
        if not raw or len(raw) > 500:
            raise InvalidInputError("nothing scanned", issues=[Issue("q", "scan the door plate or type its code")])
        if raw.isdigit() and len(raw) <= 15:  # a node id; 20 digits is a display code
            with self.store.read() as conn:
                if conn.execute(select(address_node.c.id).where(address_node.c.id == int(raw))).first() is not None:
                    return int(raw)
        candidates = [raw]
        if "/" in raw or "?" in raw:
            parts = urlsplit(raw)
            segments = [unquote(s) for s in parts.path.split("/") if s]
            query = [v for vs in parse_qs(parts.query).values() for v in vs]
            candidates = [*query, *reversed(segments)]
        with self.store.read() as conn:
            for code in candidates:
                if not _CODE.match(code):
                    continue
                found = conn.execute(select(address_node.c.id).where(address_node.c.display_code == code)).scalar()
                if found is not None:
                    return int(found)
        raise NotFoundError(f"no standard address for {raw[:80]!r}: scan the door-plate QR or type its code")
