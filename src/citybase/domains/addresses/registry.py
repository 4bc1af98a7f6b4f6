"""The standard address registry (一标): reads of the address tree and the service both helpers share.

``AddressService`` is the interface between the tree (this module, ``tree.py``, ``interchange.py``,
``naming.py``) and address matching: ``iter_records``, ``record``, ``nearest`` and ``changed_since``
hand out :class:`AddressRecord` values. See docs/address-registry.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import Point
from sqlalchemy import Connection, func, or_, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.addresses import tree
from citybase.domains.addresses.display import DisplayCodeTemplate
from citybase.domains.addresses.tree import LEVELS, NewNode, ParentInfo
from citybase.domains.jobs import JobService
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.kernel.settings import Settings
from citybase.standards import divisions
from citybase.store import Store, nearest, text_match
from citybase.store.address_tables import REVISION_KEY, address_alias, address_node, address_version, current
from citybase.store.schema import department

__all__ = ["LEVELS", "AddressNode", "AddressRecord", "AddressService", "AddressVersion", "NodeCount"]


@dataclass(frozen=True, slots=True)
class AddressRecord:
    id: int  # stable node id of the deepest node
    source_id: str | None  # the imported `id` (crosswalk), when there is one
    level: str  # the deepest level present (one of LEVELS)
    parts: dict[str, str]  # level -> current name, for every level on the path (empty levels omitted)
    aliases: dict[str, tuple[str, ...]]  # level -> old / common names of that path node
    full_address: str  # the standard full address text (display form)
    display_code: str | None
    lon: float | None  # CGCS2000
    lat: float | None
    community: str | None  # name of the community/village on the path
    grid: str | None  # grid code the point lies in, when known


@dataclass(frozen=True, slots=True)
class AddressNode:
    id: int
    parent_id: int | None
    level: str
    name: str
    display_code: str
    division_code: str | None
    lon: float | None
    lat: float | None
    object_id: int | None
    grid: str | None
    state: str
    source_id: str | None
    version: int
    revision: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class NodeCount:
    node: AddressNode
    children: int  # active direct children


@dataclass(frozen=True, slots=True)
class AddressVersion:
    version: int
    change: str
    name: str
    parent_id: int | None
    display_code: str
    lon: float | None
    lat: float | None
    object_id: int | None
    state: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class _Link:
    """What a record needs of a node on its path."""

    id: int
    parent_id: int | None
    level: str
    name: str
    lon: float | None
    lat: float | None
    grid: str | None


def _xy(point: Any) -> tuple[float | None, float | None]:
    return (None, None) if point is None else (float(point.x), float(point.y))


def _node(m: Any) -> AddressNode:
    lon, lat = _xy(m["point"])
    return AddressNode(
        id=m["id"],
        parent_id=m["parent_id"],
        level=m["level"],
        name=m["name"],
        display_code=m["display_code"],
        division_code=m["division_code"],
        lon=lon,
        lat=lat,
        object_id=m["object_id"],
        grid=m["grid"],
        state=m["state"],
        source_id=m["source_id"],
        version=m["version"],
        revision=m["revision"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
    )


def _link(m: Any) -> _Link:
    lon, lat = _xy(m["point"])
    return _Link(m["id"], m["parent_id"], m["level"], m["name"], lon, lat, m["grid"])


_LINK_COLS = (
    address_node.c.id,
    address_node.c.parent_id,
    address_node.c.level,
    address_node.c.name,
    address_node.c.point,
    address_node.c.grid,
)


def ancestor_ids(conn: Connection, ids: Iterable[int]) -> set[int]:
    """The ids of the given nodes and all their ancestors (one recursive query, both databases)."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    n = address_node
    anc = select(n.c.id, n.c.parent_id).where(n.c.id.in_(wanted)).cte("anc", recursive=True)
    anc = anc.union(select(n.c.id, n.c.parent_id).where(n.c.id == anc.c.parent_id))
    return {int(r.id) for r in conn.execute(select(anc.c.id))}


def _aliases(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    wanted = list(ids)
    out: dict[int, list[str]] = {}
    for lo in range(0, len(wanted), 5000):
        q = (
            select(address_alias.c.node_id, address_alias.c.name)
            .where(address_alias.c.node_id.in_(wanted[lo : lo + 5000]))
            .order_by(address_alias.c.node_id, address_alias.c.created_at, address_alias.c.name)
        )
        for r in conn.execute(q):
            out.setdefault(int(r.node_id), []).append(r.name)
    return {k: tuple(v) for k, v in out.items()}


class PathCache:
    """Ancestors (and their aliases) of the records being built, fetched once per node."""

    def __init__(self) -> None:
        self.links: dict[int, _Link] = {}
        self.aliases: dict[int, tuple[str, ...]] = {}

    def fill(self, conn: Connection, parent_ids: Iterable[int | None]) -> None:
        missing = {p for p in parent_ids if p is not None and p not in self.links}
        if not missing:
            return
        ids = ancestor_ids(conn, missing) - self.links.keys()
        for lo in range(0, len(ids), 5000):
            chunk = sorted(ids)[lo : lo + 5000]
            for r in conn.execute(select(*_LINK_COLS).where(address_node.c.id.in_(chunk))):
                self.links[int(r.id)] = _link(r._mapping)
        self.aliases.update(_aliases(conn, ids))

    def record(
        self, leaf: _Link, source_id: str | None, display_code: str | None, leaf_aliases: tuple[str, ...]
    ) -> AddressRecord:
        chain = [leaf]
        while chain[-1].parent_id is not None:
            chain.append(self.links[chain[-1].parent_id])
        chain.reverse()
        parts = {c.level: c.name for c in chain}
        aliases = {c.level: self.aliases[c.id] for c in chain[:-1] if c.id in self.aliases}
        if leaf_aliases:
            aliases[leaf.level] = leaf_aliases
        located = next((c for c in reversed(chain) if c.lon is not None), None)
        grid = next((c.grid for c in reversed(chain) if c.grid is not None), None)
        return AddressRecord(
            id=leaf.id,
            source_id=source_id,
            level=leaf.level,
            parts=parts,
            aliases=aliases,
            full_address="".join(c.name for c in chain),
            display_code=display_code,
            lon=located.lon if located else None,
            lat=located.lat if located else None,
            community=parts.get("community"),
            grid=grid,
        )


def _has_ancestor(cache: PathCache, node_id: int, ancestor: int) -> bool:
    current: int | None = node_id
    while current is not None:
        if current == ancestor:
            return True
        current = cache.links[current].parent_id
    return False


class AddressService:
    """The address tree: reads for everyone, writes for the civil-affairs department (民政) and admins."""

    def __init__(
        self,
        store: Store,
        *,
        city_division: str,
        template: DisplayCodeTemplate | None = None,
        naming_department: str = "mzj",
        housing_department: str = "zjj",
    ) -> None:
        self.store = store
        self.city_division = city_division
        self.template = template or DisplayCodeTemplate()
        self.naming_department = naming_department
        self.housing_department = housing_department
        from citybase.domains.addresses.naming import NamingWorkflows  # naming builds on this service

        self.workflows = NamingWorkflows(self)

    # --- the interface of the matcher ------------------------------------------------------------
    def iter_records(self, *, levels: Sequence[str] | None = None, batch: int = 10_000) -> Iterator[AddressRecord]:
        """Every active node of ``levels`` (all levels by default) as a record, in id order."""
        cache = PathCache()
        last = 0
        while True:
            q = (
                select(*_LINK_COLS, address_node.c.source_id, address_node.c.display_code)
                .where(address_node.c.state == "active", address_node.c.id > last)
                .order_by(address_node.c.id)
                .limit(batch)
            )
            if levels is not None:
                q = q.where(address_node.c.level.in_(list(levels)))
            with self.store.read() as conn:
                rows = [r._mapping for r in conn.execute(q)]
                if not rows:
                    return
                cache.fill(conn, (r["parent_id"] for r in rows))
                own = _aliases(conn, [r["id"] for r in rows])
            for r in rows:
                yield cache.record(_link(r), r["source_id"], r["display_code"], own.get(r["id"], ()))
            last = rows[-1]["id"]

    def record(self, node_id: int) -> AddressRecord:
        with self.store.read() as conn:
            return self._records(conn, [node_id])[0]

    def records(self, ids: Sequence[int]) -> dict[int, AddressRecord]:
        """The records of ``ids`` in one read (the matcher's batch answers), chunks of 500 ids per
        query; an id that is not an active or retired node is left out (the caller decides)."""
        unique = list(dict.fromkeys(int(i) for i in ids))
        out: dict[int, AddressRecord] = {}
        with self.store.read() as conn:
            for k in range(0, len(unique), 500):
                out.update((r.id, r) for r in self._records(conn, unique[k : k + 500], missing_ok=True))
        return out

    def _records(self, conn: Connection, ids: Sequence[int], *, missing_ok: bool = False) -> list[AddressRecord]:
        rows = {
            int(r.id): r._mapping
            for r in conn.execute(
                select(*_LINK_COLS, address_node.c.source_id, address_node.c.display_code).where(
                    address_node.c.id.in_(list(ids))
                )
            )
        }
        missing = [i for i in ids if i not in rows]
        if missing and not missing_ok:
            raise NotFoundError(f"no address node {missing[0]}")
        ids = [i for i in ids if i in rows]
        cache = PathCache()
        cache.fill(conn, (r["parent_id"] for r in rows.values()))
        own = _aliases(conn, ids)
        return [
            cache.record(_link(rows[i]), rows[i]["source_id"], rows[i]["display_code"], own.get(i, ())) for i in ids
        ]

    def nearest(
        self, lon: float, lat: float, *, k: int = 5, levels: Sequence[str] = ("door_number", "building")
    ) -> list[tuple[AddressRecord, float]]:
        """Nearest address points with distance in metres (store.nearest)."""
        point = tree.check_point(lon, lat)
        where = (address_node.c.level.in_(list(levels))) & (address_node.c.state == "active")
        with self.store.read() as conn:
            found = nearest(conn, address_node, point, k=k, where=where)
            records = self._records(conn, [n.id for n in found])
        return list(zip(records, [n.distance_m for n in found], strict=True))

    def revision(self) -> int:
        """The tree's revision: how many node changes it has seen (every write adds one per node)."""
        with self.store.read() as conn:
            return current(conn, REVISION_KEY["division"], REVISION_KEY["level"])

    def changed_since(self, revision: int) -> int:
        """How many node changes happened after ``revision`` (0: an index built then is current).

        Revisions count changes one by one, so ``changed_since(0)`` is the current revision.
        """
        return max(0, self.revision() - revision)

    # --- browsing -----------------------------------------------------------------------------------
    def node(self, node_id: int) -> AddressNode:
        with self.store.read() as conn:
            row = conn.execute(select(address_node).where(address_node.c.id == node_id)).first()
        if row is None:
            raise NotFoundError(f"no address node {node_id}")
        return _node(row._mapping)

    def path(self, node_id: int) -> list[AddressNode]:
        """The node and its ancestors, root first."""
        with self.store.read() as conn:
            ids = ancestor_ids(conn, [node_id])
            if not ids:
                raise NotFoundError(f"no address node {node_id}")
            nodes = {
                int(r.id): _node(r._mapping)
                for r in conn.execute(select(address_node).where(address_node.c.id.in_(sorted(ids))))
            }
        chain = [nodes[node_id]]
        while chain[-1].parent_id is not None:
            chain.append(nodes[chain[-1].parent_id])
        return chain[::-1]

    def children(
        self, node_id: int | None, *, limit: int = 500, offset: int = 0, include_retired: bool = False
    ) -> list[NodeCount]:
        """Direct children (roots when ``node_id`` is None), each with its count of active children."""
        n = address_node
        q = select(n).where(n.c.parent_id.is_(None) if node_id is None else n.c.parent_id == node_id)
        if not include_retired:
            q = q.where(n.c.state == "active")
        q = q.order_by(n.c.level, n.c.name, n.c.id).limit(limit).offset(offset)
        with self.store.read() as conn:
            if node_id is not None:
                self._must_exist(conn, node_id)
            kids = [_node(r._mapping) for r in conn.execute(q)]
            counts: dict[int, int] = {}
            if kids:
                cq = (
                    select(n.c.parent_id, func.count())
                    .where(n.c.parent_id.in_([k.id for k in kids]), n.c.state == "active")
                    .group_by(n.c.parent_id)
                )
                counts = {int(p): int(c) for p, c in conn.execute(cq)}
        return [NodeCount(k, counts.get(k.id, 0)) for k in kids]

    def aliases(self, node_id: int) -> list[tuple[str, str]]:
        """(name, kind) of a node's aliases: old names (kept by renames) and common names."""
        with self.store.read() as conn:
            self._must_exist(conn, node_id)
            q = select(address_alias.c.name, address_alias.c.kind).where(address_alias.c.node_id == node_id)
            return [
                (r.name, r.kind) for r in conn.execute(q.order_by(address_alias.c.created_at, address_alias.c.name))
            ]

    def history(self, node_id: int) -> list[AddressVersion]:
        with self.store.read() as conn:
            self._must_exist(conn, node_id)
            q = select(address_version).where(address_version.c.node_id == node_id).order_by(address_version.c.version)
            out = []
            for r in conn.execute(q):
                m = r._mapping
                lon, lat = _xy(m["point"])
                out.append(
                    AddressVersion(
                        m["version"],
                        m["change"],
                        m["name"],
                        m["parent_id"],
                        m["display_code"],
                        lon,
                        lat,
                        m["object_id"],
                        m["state"],
                        m["recorded_at"],
                        m["recorded_by"],
                    )
                )
            return out

    def search(
        self, text: str, *, level: str | None = None, under: int | None = None, limit: int = 20
    ) -> list[AddressRecord]:
        """Nodes whose current name or an alias contains ``text``, optionally of one level / under a node."""
        text = (text or "").strip()
        if not text or len(text) > 100:
            raise InvalidInputError("bad search", issues=[Issue("q", "1-100 characters required")])
        if level is not None:
            tree.check_level(level)
        limit = max(1, min(limit, 200))
        n = address_node
        by_alias = select(address_alias.c.node_id).where(address_alias.c.name.contains(text, autoescape=True))
        q = select(n.c.id).where(n.c.state == "active", or_(text_match(n.c.name, text), n.c.id.in_(by_alias)))
        if level is not None:
            q = q.where(n.c.level == level)
        with self.store.read() as conn:
            if under is not None:
                self._must_exist(conn, under)
                ids = [int(r.id) for r in conn.execute(q.order_by(n.c.level, n.c.id).limit(5000))]
                cache = PathCache()
                cache.fill(conn, ids)  # every candidate and its ancestors, in one recursive query
                ids = [i for i in ids if _has_ancestor(cache, i, under)][:limit]
            else:
                ids = [int(r.id) for r in conn.execute(q.order_by(n.c.level, n.c.id).limit(limit))]
            return self._records(conn, ids) if ids else []

    def find_object(self, object_id: int) -> list[AddressNode]:
        """The address nodes linked to a city object (a building's door plate and building nodes)."""
        with self.store.read() as conn:
            q = select(address_node).where(address_node.c.object_id == object_id).order_by(address_node.c.id)
            return [_node(r._mapping) for r in conn.execute(q)]

    def _must_exist(self, conn: Connection, node_id: int) -> None:
        if conn.execute(select(address_node.c.id).where(address_node.c.id == node_id)).first() is None:
            raise NotFoundError(f"no address node {node_id}")

    # --- writing ------------------------------------------------------------------------------------
    def require_recorder(self, conn: Connection, actor: Actor) -> None:
        """Only the civil-affairs department (民政, records addresses) and platform admins write the tree."""
        if actor.can(Permission.WRITE_ANY_OBJECTS):
            return
        actor.require(Permission.WRITE_OWN_OBJECTS)
        if actor.department_id is None or self.department_id(conn, self.naming_department) != actor.department_id:
            raise PermissionDeniedError(
                f"only the civil-affairs department ({self.naming_department}) records standard addresses"
            )

    def department_id(self, conn: Connection, code: str) -> int | None:
        return conn.execute(select(department.c.id).where(department.c.code == code)).scalar()

    def ensure_divisions(self, conn: Connection, actor_name: str = "system") -> dict[str, int]:
        """Create the province, the city and its districts (GB/T 2260, MCA) when missing.

        Returns node ids by division code. The city is the platform's ``division_code``.
        """
        city = divisions.get(self.city_division)
        province = divisions.get(self.city_division[:2] + "0000")
        if city is None or province is None:
            raise InvalidInputError("unknown city", issues=[Issue("division_code", f"{self.city_division} is unknown")])
        have = {
            r.division_code: int(r.id)
            for r in conn.execute(
                select(address_node.c.id, address_node.c.division_code).where(
                    address_node.c.level.in_(("province", "city", "district")), address_node.c.state == "active"
                )
            )
        }
        parents: dict[int, ParentInfo] = {}
        chain: list[tuple[str, Any, str | None]] = [("province", province, None), ("city", city, province.code)]
        chain += [("district", d, city.code) for d in divisions.children(city.code) if d.valid]
        for level, div, parent_code in chain:
            if div.code12 in have:
                continue
            parent_id = have[divisions.pad12(parent_code)] if parent_code else None
            if parent_id is not None and parent_id not in parents:
                parents[parent_id] = tree.parent_info(conn, parent_id)
                tree.load_children(conn, parents[parent_id])
            [new_id] = tree.insert_nodes(
                conn,
                actor_name,
                [NewNode(parent_id, level, div.name, division_code=div.code12)],
                parents,
                self.template,
            )
            have[div.code12] = new_id
        return have

    def create(
        self,
        actor: Actor,
        parent_id: int | None,
        level: str,
        name: str,
        *,
        lon: float | None = None,
        lat: float | None = None,
        object_id: int | None = None,
        aliases: Sequence[str] = (),
        source_id: str | None = None,
        division_code: str | None = None,
    ) -> AddressNode:
        level = tree.check_level(level)
        name = tree.check_name(name)
        point = None
        if lon is not None or lat is not None:
            if lon is None or lat is None:
                raise InvalidInputError(
                    "bad coordinates", issues=[Issue("lat" if lat is None else "lon", "give both lon and lat")]
                )
            point = tree.check_point(lon, lat)
        with self.store.write() as conn:
            self.require_recorder(conn, actor)
            new_id = self.create_in(
                conn, actor, NewNode(parent_id, level, name, point, object_id, division_code, source_id, tuple(aliases))
            )
        return self.node(new_id)

    def create_in(self, conn: Connection, actor: Actor, new: NewNode) -> int:
        """Create one node inside the caller's transaction (checks, audit); returns its id."""
        parents: dict[int, ParentInfo] = {}
        if new.parent_id is not None:
            parents[new.parent_id] = tree.parent_info(conn, new.parent_id)
            tree.load_children(conn, parents[new.parent_id])
        [new_id] = tree.insert_nodes(conn, actor.name, [new], parents, self.template)
        record_audit(
            conn,
            actor,
            "address.create",
            "address_node",
            str(new_id),
            detail={"level": new.level, "name": new.name, "parent_id": new.parent_id},
        )
        return new_id

    def rename(self, actor: Actor, node_id: int, name: str) -> AddressNode:
        """Give a node a new name; the old one stays searchable as an alias, and in the history."""
        name = tree.check_name(name)
        with self.store.write() as conn:
            self.require_recorder(conn, actor)
            self.rename_in(conn, actor, node_id, name)
        return self.node(node_id)

    def rename_in(self, conn: Connection, actor: Actor, node_id: int, name: str) -> None:
        node = conn.execute(select(address_node).where(address_node.c.id == node_id)).first()
        if node is None:
            raise NotFoundError(f"no address node {node_id}")
        if node.state != "active":
            raise ConflictError(f"address node {node_id} is retired")
        if node.name == name:
            return
        clash = conn.execute(
            select(address_node.c.id).where(
                address_node.c.parent_id == node.parent_id
                if node.parent_id is not None
                else address_node.c.parent_id.is_(None),
                address_node.c.level == node.level,
                address_node.c.name == name,
                address_node.c.state == "active",
            )
        ).first()
        if clash is not None:
            raise ConflictError(f"a sibling {node.level} is already named {name!r} (node {clash.id})")
        tree.change_node(conn, actor.name, node_id, "rename", name=name)
        tree.add_alias(conn, node_id, node.name, "old")
        record_audit(
            conn, actor, "address.rename", "address_node", str(node_id), detail={"from": node.name, "to": name}
        )

    def retire(self, actor: Actor, node_id: int) -> AddressNode:
        """Retire a node that has no active children (its history and display code stay)."""
        with self.store.write() as conn:
            self.require_recorder(conn, actor)
            node = conn.execute(select(address_node.c.state).where(address_node.c.id == node_id)).first()
            if node is None:
                raise NotFoundError(f"no address node {node_id}")
            if node.state != "active":
                raise ConflictError(f"address node {node_id} is already retired")
            kids = conn.execute(
                select(func.count())
                .select_from(address_node)
                .where(address_node.c.parent_id == node_id, address_node.c.state == "active")
            ).scalar_one()
            if kids:
                raise ConflictError(f"address node {node_id} has {kids} active child node(s); retire them first")
            tree.change_node(conn, actor.name, node_id, "retire", state="retired")
            record_audit(conn, actor, "address.retire", "address_node", str(node_id))
        return self.node(node_id)

    def locate(
        self, actor: Actor, node_id: int, *, lon: float, lat: float, object_id: int | None = None
    ) -> AddressNode:
        """Set a node's point (and optionally the city object it belongs to) as a new version."""
        point = tree.check_point(lon, lat)
        with self.store.write() as conn:
            self.require_recorder(conn, actor)
            values: dict[str, Any] = {"point": point}
            if object_id is not None:
                values["object_id"] = object_id
            tree.change_node(conn, actor.name, node_id, "update", **values)
            record_audit(conn, actor, "address.locate", "address_node", str(node_id), detail={"lon": lon, "lat": lat})
        return self.node(node_id)


def point_of(lon: float | None, lat: float | None) -> Point | None:
    return None if lon is None or lat is None else Point(lon, lat)


def build_service(store: Store, jobs: JobService, settings: Settings) -> AddressService:
    """The address service of a platform, with its import job registered."""
    from citybase.domains.addresses import interchange

    service = AddressService(
        store,
        city_division=settings.division_code,
        template=DisplayCodeTemplate(settings.address_code_template),
        naming_department=settings.address_naming_department,
        housing_department=settings.address_housing_department,
    )
    jobs.register(interchange.JOB_KIND, interchange.make_handler(service))
    return service
