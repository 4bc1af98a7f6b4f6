"""The demo city's standard addresses: every road, door plate, compound, building, unit and room gets its
node in the address tree, linked to its city object, written in the same transaction as the objects.

The writer hands each written chunk here (bundles plus the new object ids). A bundle is one urban
community or one village; a door plate belongs to the compound or building whose outline is nearest
(plates stand 1-2 m outside the gate). Paths:

- compound: community → road → door plate → compound → building ("3栋") → unit ("1单元") → room ("502室")
- a commercial or public building: community → road → door plate → building (its name) → unit → room
- a village house: community (村) → road (the villagers' group, "张岗一组") → door plate → building "1栋"
- a compound or building without a plate hangs straight under its community.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from citybase.demo.geography import Geography
from citybase.demo.records import LEVELS, Bundle, Record
from citybase.domains.addresses import NewNode, ParentInfo, community_name, insert_nodes

_PLATE_REACH = 8e-5  # degrees (about 8 m): a plate farther than this from every outline belongs to none
_OWNERS = ("050301", "050101")


@dataclass(slots=True)
class _Names:
    """Sibling names taken under each parent, so every path in the tree is unique (round-trips via CSV)."""

    taken: dict[int, set[str]] = field(default_factory=dict)

    def unique(self, parent: int, name: str) -> str:
        used = self.taken.setdefault(parent, set())
        out, k = name, 1
        while out in used:
            k += 1
            out = f"{name}{k}座"
        used.add(out)
        return out


class DemoAddresses:
    """Builds the address tree alongside the demo writer (``Writer.after_write``)."""

    def __init__(self, platform: Any, geo: Geography, community_ids: dict[str, int]) -> None:
        self.service = platform.addresses
        self.geo = geo
        self.community_of_object = {obj: code for code, obj in community_ids.items()}
        self.community_node: dict[str, int] = {}
        self.division: dict[int, str | None] = {}
        self.names = _Names()
        self.count = 0

    # --- divisions --------------------------------------------------------------------------------
    def _divisions(self, conn: Connection) -> None:
        by_code = self.service.ensure_divisions(conn, "demo")
        parents = {i: ParentInfo(i, "district", code) for code, i in by_code.items()}
        towns = [s for s in self.geo.streets if s.district_code.ljust(12, "0") in by_code]
        town_ids = insert_nodes(
            conn,
            "demo",
            [
                NewNode(by_code[s.district_code.ljust(12, "0")], "town", s.name, division_code=s.code.ljust(12, "0"))
                for s in towns
            ],
            parents,
            self.service.template,
            check=False,
        )
        town_of = {s.code: (i, s.code.ljust(12, "0")) for s, i in zip(towns, town_ids, strict=True)}
        parents |= {i: ParentInfo(i, "town", code) for i, code in town_of.values()}
        comms = [c for c in self.geo.communities if c.street_code in town_of]
        news = []
        for c in comms:
            short = community_name(c.name)
            news.append(
                NewNode(
                    town_of[c.street_code][0],
                    "community",
                    short,
                    shapely.Point(c.seed),
                    division_code=c.code,
                    aliases=(c.name,) if short != c.name else (),
                )
            )
        ids = insert_nodes(conn, "demo", news, parents, self.service.template, check=False)
        self.community_node = {c.code: i for c, i in zip(comms, ids, strict=True)}
        self.division = {i: c.code for c, i in zip(comms, ids, strict=True)}
        self.count += len(by_code) + len(town_ids) + len(ids)

    # --- one written chunk ------------------------------------------------------------------------
    def write(self, conn: Connection, bundles: Sequence[Bundle], ids: list[list[int]]) -> None:
        if not self.community_node:
            self._divisions(conn)
        plan = _Plan()
        self.names = _Names()  # a community's bundle is always written in one chunk
        offsets = [0] * LEVELS
        for b in bundles:
            bundle_ids = [ids[lv][offsets[lv] : offsets[lv] + len(b.levels[lv])] for lv in range(LEVELS)]
            for lv in range(LEVELS):
                offsets[lv] += len(b.levels[lv])
            self._bundle(plan, b, bundle_ids)
        self.count += plan.insert(conn, self)

    def _bundle(self, plan: _Plan, b: Bundle, ids: list[list[int]]) -> None:
        top = b.levels[0]
        community = next(
            (
                self.community_node.get(self.community_of_object.get(r.parent or -1, ""))
                for r in top
                if r.class_code in _OWNERS and r.parent is not None
            ),
            None,
        )
        if community is None:  # a division bundle, or a community with nothing built
            return
        plan.division = self.division[community]
        roads: dict[str, _Pending] = {}
        for r, oid in zip(top, ids[0], strict=True):
            if r.class_code == "020101" and r.name not in roads and r.geometry is not None:
                point = r.geometry.interpolate(0.5, normalized=True)
                roads[r.name] = plan.add(0, community, "road", r.name, point, oid)
        owners = [(k, r) for k, r in enumerate(top) if r.class_code in _OWNERS]
        parent_of_owner = self._plates(plan, community, top, ids[0], owners, roads)
        node_of: dict[tuple[int, int], _Pending] = {}
        for k, r in owners:
            owner_parent: _Pending | int = parent_of_owner.get(k, community)
            is_house = r.class_code == "050101" and "units" not in r.attributes
            name = "1栋" if is_house else r.name
            level = "compound" if r.class_code == "050301" else "building"
            node_of[(0, k)] = plan.add(2, owner_parent, level, name, _point(r), ids[0][k])
        for lv in range(1, LEVELS):
            for k, r in enumerate(b.levels[lv]):
                parent = node_of.get((lv - 1, r.parent if r.parent is not None else -1))
                if parent is None:
                    continue
                level, name = _child(r, b.levels[lv - 1][r.parent or 0])
                node_of[(lv, k)] = plan.add(2 + lv, parent, level, name, _point(r), ids[lv][k])

    def _plates(
        self,
        plan: _Plan,
        community: int,
        top: list[Record],
        ids: list[int],
        owners: list[tuple[int, Record]],
        roads: dict[str, _Pending],
    ) -> dict[int, _Pending]:
        """Door plate nodes; returns the plate node each owner (by its index in level 0) hangs under."""
        plates = [(k, r) for k, r in enumerate(top) if r.class_code == "050201"]
        if not plates:
            return {}
        geoms = np.array([r.geometry for _, r in owners], dtype=object)
        best: dict[int, tuple[float, _Pending]] = {}
        for k, r in plates:
            road = r.attributes["road"]
            if road not in roads:  # a villagers' group has no road object
                roads[road] = plan.add(0, community, "road", road, r.geometry, None)
            node = plan.add(1, roads[road], "door_number", f"{r.attributes['number']}号", r.geometry, ids[k])
            if not len(geoms):
                continue
            dist = shapely.distance(geoms, r.geometry)
            j = int(np.argmin(dist))
            if dist[j] <= _PLATE_REACH and (owners[j][0] not in best or dist[j] < best[owners[j][0]][0]):
                best[owners[j][0]] = (float(dist[j]), node)
        return {k: node for k, (_, node) in best.items()}


def _point(r: Record) -> Any:
    if r.geometry is None:
        return None
    return r.geometry if r.geometry.geom_type == "Point" else r.geometry.representative_point()


def _child(r: Record, parent: Record) -> tuple[str, str]:
    """Level and name of a record below level 0: a compound's building, a unit, a room."""
    if r.class_code == "050102":
        return "unit", f"{r.attributes['unit_no']}单元"
    if r.class_code == "050103":
        return "room", f"{str(r.attributes['room_no']).split('-')[-1]}室"
    name = r.name[len(parent.name) :] if r.name.startswith(parent.name) and len(r.name) > len(parent.name) else r.name
    return "building", name


@dataclass(slots=True)
class _Pending:
    """A node to insert; its id is known once its phase is written."""

    parent: Any  # a node id (int) or a _Pending of an earlier phase
    level: str
    name: str
    point: Any
    object_id: int | None
    division: str | None
    id: int = 0


class _Plan:
    """Nodes of one chunk in phases (roads, plates, owners, then one phase per object level)."""

    def __init__(self) -> None:
        self.phases: list[list[_Pending]] = [[] for _ in range(2 + LEVELS)]
        self.division: str | None = None  # of the community whose nodes are being added

    def add(self, phase: int, parent: Any, level: str, name: str, point: Any, object_id: int | None) -> _Pending:
        p = _Pending(parent, level, name, point, object_id, self.division)
        self.phases[phase].append(p)
        return p

    def insert(self, conn: Connection, owner: DemoAddresses) -> int:
        total = 0
        for phase in self.phases:
            if not phase:
                continue
            parents: dict[int, ParentInfo] = {}
            news = []
            for p in phase:
                parent_id = p.parent if isinstance(p.parent, int) else p.parent.id
                if parent_id not in parents:
                    parents[parent_id] = ParentInfo(parent_id, "", p.division)
                p.name = owner.names.unique(parent_id, p.name)
                news.append(NewNode(parent_id, p.level, p.name, p.point, p.object_id))
            new_ids = insert_nodes(conn, "demo", news, parents, owner.service.template, check=False)
            for p, i in zip(phase, new_ids, strict=True):
                p.id = i
            total += len(phase)
        return total
