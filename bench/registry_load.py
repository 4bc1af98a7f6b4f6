"""Loading for ``bench_registry.py``: the address tree, the people through citybase, the plain-SQL baseline.

citybase path (``load_citybase_batch``): the registry's bulk path
``citybase.domains.registry.people_bulk.register_households_in`` (``PeopleService.register_households``),
which began as this benchmark's loader and moved into the registry unchanged. It makes every check
``apply_register`` / ``residences.move_in`` make: ``validate_citizen_id`` (check
character, birth date, division code in force), name / phone / residence type / relation / move-in
checks, the dwelling must be an active room (one query per batch instead of one per person), no ID
already registered (keyed-hash look-up per batch), AES-GCM ciphers and HMAC look-up hashes of ID, name
and phone, masked forms, the first ``person_version`` row (history), households with their head and
their first ``household_version`` row, and the open residences; ids from ``reserve_ids``, rows through
``bulk_load`` (COPY on PostGIS), one write transaction per batch.

Baseline (``load_baseline_batch``): the same people, households and residences as plain rows into bare
tables with the same columns (``bl_person``, ``bl_household``, ``bl_residence``; primary keys only),
through the bare driver (``sqlite3.executemany`` / psycopg ``COPY … FROM STDIN``): no validation, no
encryption or hashing (the plain values go into the cipher, hash and mask columns), no history rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from registry_gen import Building, People, Person, Shape, building_points
from shapely.geometry import Point
from sqlalchemy import select

from citybase.demo.people import XIANGYANG_DIVISIONS
from citybase.domains.access import SYSTEM, Actor
from citybase.domains.addresses import DisplayCodeTemplate, NewNode, ParentInfo, insert_nodes
from citybase.domains.registry.people_bulk import register_households_in
from citybase.domains.registry.personal import PersonalData
from citybase.domains.registry.population_stats import create_zone_in
from citybase.store import Store
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household, person, residence

ACTOR = "bench"
ZONE_EVERY = 3  # one enrolment zone (学区) per three communities, as in the demo city
PERSON_COLS = [c.name for c in person.c]
HOUSEHOLD_COLS = [c.name for c in household.c]
RESIDENCE_COLS = [c.name for c in residence.c]


# --- the address tree ------------------------------------------------------------------------------------


def _insert(store: Store, news: list[NewNode], parents: dict[int, ParentInfo], level: str,
            chunk: int = 50_000) -> list[int]:
    """Insert one level of the tree through ``insert_nodes`` (display codes, versions, revisions)."""
    template = DisplayCodeTemplate()
    ids: list[int] = []
    for i in range(0, len(news), chunk):
        with store.write() as conn:
            ids += insert_nodes(conn, ACTOR, news[i:i + chunk], parents, template, check=False)
    for node_id, n in zip(ids, news, strict=True):
        division = n.division_code or (parents[n.parent_id].division_code if n.parent_id is not None else None)
        parents[node_id] = ParentInfo(node_id, level, division)
    return ids


def build_tree(store: Store, shape: Shape, blds: list[Building]) -> dict[str, Any]:
    """Province → city → districts → towns → communities → buildings → units → floors → rooms, plus one
    enrolment zone per three communities. Returns the room ids in household order and the counts."""
    parents: dict[int, ParentInfo] = {}
    [prov] = _insert(store, [NewNode(None, "province", "湖北省", division_code="420000")], parents, "province")
    [city] = _insert(store, [NewNode(prov, "city", "襄阳市", division_code="420600")], parents, "city")
    dcodes = XIANGYANG_DIVISIONS[:shape.districts]
    dists = _insert(store, [NewNode(city, "district", f"区县{i + 1}", division_code=d)
                            for i, d in enumerate(dcodes)], parents, "district")
    town_news = [NewNode(dists[t % len(dists)], "town", f"街道{t + 1}",
                         division_code=f"{dcodes[t % len(dists)]}{t + 1:03d}") for t in range(shape.towns)]
    towns = _insert(store, town_news, parents, "town")
    comm_news = [NewNode(towns[c % len(towns)], "community", f"社区{c + 1}",
                         division_code=f"{town_news[c % len(towns)].division_code}{c // len(towns) + 1:03d}")
                 for c in range(shape.communities)]
    comms = _insert(store, comm_news, parents, "community")
    pts = building_points(len(blds)).tolist()
    bids = _insert(store, [NewNode(comms[b.community], "building", f"{i + 1}栋", point=Point(*pts[i]))
                           for i, b in enumerate(blds)], parents, "building")
    uids = _insert(store, [NewNode(bid, "unit", f"{u + 1}单元") for bid, b in zip(bids, blds, strict=True)
                           for u in range(len(b.units))], parents, "unit")
    floors = [(uid, f + 1, n) for uid, floors in zip(uids, (fl for b in blds for fl in b.units), strict=True)
              for f, n in enumerate(floors)]
    fids = _insert(store, [NewNode(uid, "floor", f"{f}层") for uid, f, _ in floors], parents, "floor")
    rooms = _insert(store, [NewNode(fid, "room", f"{f}{r + 1:02d}室")
                            for fid, (_, f, n) in zip(fids, floors, strict=True) for r in range(n)], parents, "room")
    with store.write() as conn:
        for z, i in enumerate(range(0, len(comms), ZONE_EVERY)):
            create_zone_in(conn, SYSTEM, f"XQ{z + 1:04d}", f"社区{i + 1}学区", comms[i:i + ZONE_EVERY],
                           f"第{z + 1}小学")
    return {"rooms": rooms, "nodes": 2 + len(dists) + len(towns) + len(comms) + len(bids) + len(uids) + len(fids)
            + len(rooms), "buildings": len(bids), "communities": len(comms),
            "zones": -(-len(comms) // ZONE_EVERY)}


def room_ids(store: Store) -> list[int]:
    with store.read() as conn:
        return [int(i) for i in conn.execute(select(address_node.c.id).where(address_node.c.level == "room")
                                             .order_by(address_node.c.id)).scalars()]


# --- citybase ---------------------------------------------------------------------------------------------


def load_citybase_batch(store: Store, pd: PersonalData, actor: Actor, rooms: Sequence[int],
                        families: list[list[Person]], first: int) -> int:
    """One write transaction through the registry's own bulk path (``people_bulk.register_households_in``)."""
    with store.write() as conn:
        return register_households_in(conn, pd, actor, rooms, families, first=first)


def service_rows(gen: People, rooms: Sequence[int], people: int) -> list[dict[str, str]]:
    """CSV-like rows for ``people_import.import_people`` (the per-row path), families in spare rooms."""
    import random

    rng = random.Random(7)
    out: list[dict[str, str]] = []
    for k, room in enumerate(rooms):
        if len(out) >= people:
            break
        for p in gen.family(rng, 2 + k % 2):
            out.append({"id_number": p.id_number, "name": p.name, "phone": p.phone or "",
                        "residence_type": p.residence_type, "address_node_id": str(room),
                        "household_number": f"S{room}", "relation": p.relation, "move_in": p.move_in.isoformat()})
    return out[:people]


# --- baseline ---------------------------------------------------------------------------------------------


def baseline_ddl(kind: str) -> list[str]:
    ts = "TIMESTAMPTZ" if kind == "postgis" else "TEXT"

    def table(name: str, cols: list[str]) -> str:
        types = {"id": "BIGINT PRIMARY KEY", "birth_date": "DATE", "move_in": "DATE", "move_out": "DATE",
                 "version": "INTEGER", "address_node_id": "BIGINT", "head_person_id": "BIGINT",
                 "person_id": "BIGINT", "household_id": "BIGINT"}
        defs = ", ".join(f"{c} {types.get(c, ts if c.endswith('_at') else 'TEXT')}" for c in cols)
        return f"CREATE TABLE {name} ({defs})"

    return [f"DROP TABLE IF EXISTS {t}" for t in ("bl_residence", "bl_household", "bl_person")] + [
        table("bl_person", PERSON_COLS), table("bl_household", HOUSEHOLD_COLS), table("bl_residence", RESIDENCE_COLS)]


class Baseline:
    """Plain rows through the bare driver connection (the store's pragmas on SQLite)."""

    def __init__(self, store: Store) -> None:
        self.kind = store.name
        self.raw: Any = store.engine.raw_connection()
        cur = self.raw.cursor()
        for ddl in baseline_ddl(self.kind):
            cur.execute(ddl)
        self.raw.commit()
        self.next_person = self.next_household = 1

    def close(self) -> None:
        self.raw.close()

    def load_batch(self, rooms: Sequence[int], families: list[list[Person]]) -> int:
        at: Any = datetime.now(UTC)
        if self.kind == "sqlite":
            at = at.isoformat()
        ppl, homes, stays = [], [], []
        if self.kind == "sqlite":
            self.raw.cursor().execute("BEGIN IMMEDIATE")  # the store's connections run in autocommit mode
        for room, family in zip(rooms, families, strict=True):
            hid = self.next_household
            self.next_household += 1
            homes.append((hid, f"H{room}-1", room, self.next_person, "active", 1, at, ACTOR, at, ACTOR))
            for p in family:
                pid = self.next_person
                self.next_person += 1
                n = p.id_number
                born = f"{n[6:10]}-{n[10:12]}-{n[12:14]}"
                ppl.append((pid, n, p.name, "male" if int(n[16]) % 2 else "female", born, n, n, p.name, p.name,
                            p.phone, p.phone, p.residence_type, "active", 1, at, ACTOR, at, ACTOR))
                stays.append((pid, pid, hid, room, p.relation, p.residence_type, p.move_in.isoformat(), None, at,
                              ACTOR, None, None))
        self._write("bl_person", PERSON_COLS, ppl)
        self._write("bl_household", HOUSEHOLD_COLS, homes)
        self._write("bl_residence", RESIDENCE_COLS, stays)
        self.raw.commit()
        return len(ppl)

    def _write(self, table: str, cols: list[str], data: list[tuple[Any, ...]]) -> None:
        cur = self.raw.cursor()
        if self.kind == "sqlite":
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", data)
            return
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
