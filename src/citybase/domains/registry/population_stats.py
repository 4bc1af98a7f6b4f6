"""Population statistics without personal data: counts only, by community, grid, age band, residence type;
households per building; school-age children (6-14) per enrolment zone. Plain SQL on both databases:
recursive CTEs map dwellings to their community or building; ages are computed in Python from the
count per birth date (at most ~40 000 distinct dates), so no date arithmetic differs between dialects."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry.remit import GridsOfUser, remit_of
from citybase.domains.registry.subtree import level_roots, subtree_cte
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue
from citybase.store import Store
from citybase.store.address_tables import address_node
from citybase.store.grid_tables import address_grid, grid
from citybase.store.people_tables import enrolment_zone, enrolment_zone_member, household, person, residence

AGE_BANDS = (
    (0, 5, "0-5"),
    (6, 14, "6-14"),
    (15, 17, "15-17"),
    (18, 34, "18-34"),
    (35, 59, "35-59"),
    (60, 79, "60-79"),
    (80, 200, "80+"),
)
SCHOOL_AGE = (6, 14)


def _pairs(result: Any) -> dict[Any, Any]:
    """A two-column result as a dict (``dict(result)`` would take the result for a mapping)."""
    return {a: b for a, b in result}


def age_at(born: date, at: date) -> int:
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def years_before(at: date, years: int) -> date:
    try:
        return at.replace(year=at.year - years)
    except ValueError:  # 29 February
        return at.replace(year=at.year - years, day=28)


def _open() -> Any:
    return residence.c.move_out.is_(None)


class PopulationStats:
    def __init__(self, store: Store, grids_of_user: GridsOfUser | None = None) -> None:
        self.store = store
        self.grids_of_user = grids_of_user

    def _check(self, actor: Actor) -> None:
        remit_of(actor, self.grids_of_user)  # signed-in readers; counts carry no personal data

    def by_community(self, actor: Actor) -> list[dict[str, Any]]:
        """Current residents per community, split by residence type."""
        self._check(actor)
        sub = subtree_cte(level_roots("community"), "community_tree")
        r = residence.c
        q = (
            select(sub.c.root, r.residence_type, func.count())
            .select_from(residence)
            .join(sub, sub.c.id == r.address_node_id)
            .where(_open())
            .group_by(sub.c.root, r.residence_type)
        )
        with self.store.read() as conn:
            counts: dict[int, Counter[str]] = {}
            for root, rtype, n in conn.execute(q):
                counts.setdefault(int(root), Counter())[rtype] += int(n)
            names = _pairs(
                conn.execute(select(address_node.c.id, address_node.c.name).where(address_node.c.level == "community"))
            )
        out = [
            {"community_id": cid, "community": names.get(cid, ""), "residents": sum(c.values()), "by_type": dict(c)}
            for cid, c in counts.items()
        ]
        return sorted(out, key=lambda d: (-d["residents"], d["community_id"]))

    def by_grid(self, actor: Actor, level: str | None = "grid") -> list[dict[str, Any]]:
        """Current residents per grid of ``level`` (default: 网格), counting the grids below it too."""
        self._check(actor)
        r = residence.c
        q = (
            select(address_grid.c.grid_id, func.count())
            .select_from(residence)
            .join(address_grid, address_grid.c.address_node_id == r.address_node_id)
            .where(_open())
            .group_by(address_grid.c.grid_id)
        )
        g = grid.c
        with self.store.read() as conn:
            deepest = _pairs(conn.execute(q))
            grids = {m.id: m for m in conn.execute(select(g.id, g.parent_id, g.level, g.code, g.name))}
        totals: Counter[int] = Counter()
        for gid, n in deepest.items():
            seen: int | None = int(gid)
            while seen is not None and seen in grids:
                totals[seen] += int(n)
                seen = grids[seen].parent_id
        return [
            {
                "grid_id": m.id,
                "code": m.code,
                "name": m.name,
                "level": m.level,
                "parent_id": m.parent_id,
                "residents": totals[m.id],
            }
            for m in sorted(grids.values(), key=lambda m: m.code)
            if level is None or m.level == level
        ]

    def by_age_band(self, actor: Actor, at: date | None = None, node_id: int | None = None) -> list[dict[str, Any]]:
        self._check(actor)
        at = at or date.today()
        q = (
            select(person.c.birth_date, func.count())
            .join(residence, residence.c.person_id == person.c.id)
            .where(_open())
            .group_by(person.c.birth_date)
        )
        if node_id is not None:
            q = q.where(residence.c.address_node_id.in_(select(subtree_cte([node_id], "age_scope").c.id)))
        bands: Counter[str] = Counter()
        with self.store.read() as conn:
            for born, n in conn.execute(q):
                age = age_at(born, at)
                label = next((b[2] for b in AGE_BANDS if b[0] <= age <= b[1]), "80+")
                bands[label] += int(n)
        return [
            {"band": label, "from": lo, "to": hi if hi < 200 else None, "residents": bands[label]}
            for lo, hi, label in AGE_BANDS
        ]

    def by_residence_type(self, actor: Actor) -> list[dict[str, Any]]:
        self._check(actor)
        q = select(person.c.residence_type, func.count()).group_by(person.c.residence_type)
        with self.store.read() as conn:
            got = _pairs(conn.execute(q))
        return [{"residence_type": t, "people": int(got.get(t, 0))} for t in rows.RESIDENCE_TYPES]

    def households_per_building(self, actor: Actor, node_id: int | None = None) -> list[dict[str, Any]]:
        self._check(actor)
        roots = level_roots("building")
        if node_id is not None:
            roots = roots.where(address_node.c.id.in_(select(subtree_cte([node_id], "hh_scope").c.id)))
        sub = subtree_cte(roots, "building_tree")
        h = household.c
        # the building's name is joined in the same query: a city has more buildings than a statement
        # may bind parameters (PostgreSQL: 65,535), so no second look-up by a list of ids
        building = address_node.alias("building")
        q = (
            select(sub.c.root, building.c.name, func.count())
            .select_from(household)
            .join(sub, sub.c.id == h.address_node_id)
            .join(building, building.c.id == sub.c.root)
            .where(h.state == "active")
            .group_by(sub.c.root, building.c.name)
            .order_by(sub.c.root)
        )
        with self.store.read() as conn:
            rows = conn.execute(q).all()
        return [{"building_id": int(b), "building": name or "", "households": int(n)} for b, name, n in rows]

    def school_age_by_zone(self, actor: Actor, at: date | None = None) -> list[dict[str, Any]]:
        """Children aged 6 to 14 at ``at`` (default today) living in each enrolment zone."""
        self._check(actor)
        at = at or date.today()
        oldest = years_before(at, SCHOOL_AGE[1] + 1)  # born after this day: younger than 15
        youngest = years_before(at, SCHOOL_AGE[0])  # born on or before this day: at least 6
        zm = enrolment_zone_member.c
        sub = subtree_cte(select(zm.address_node_id), "zone_tree")
        r = residence.c
        q = (
            select(zm.zone_id, func.count(func.distinct(person.c.id)))
            .select_from(person)
            .join(residence, r.person_id == person.c.id)
            .join(sub, sub.c.id == r.address_node_id)
            .join(enrolment_zone_member, zm.address_node_id == sub.c.root)
            .where(_open(), person.c.birth_date > oldest, person.c.birth_date <= youngest)
            .group_by(zm.zone_id)
        )
        with self.store.read() as conn:
            counts = _pairs(conn.execute(q))
            zones = list(conn.execute(select(enrolment_zone).order_by(enrolment_zone.c.code)))
        return [
            {
                "zone_id": z.id,
                "code": z.code,
                "name": z.name,
                "school": z.school,
                "children": int(counts.get(z.id, 0)),
                "at": at.isoformat(),
            }
            for z in zones
        ]

    def create_zone(self, actor: Actor, code: str, name: str, node_ids: list[int], school: str | None = None) -> int:
        actor.require(Permission.WRITE_REGISTRY)
        with self.store.write() as conn:
            return create_zone_in(conn, actor, code, name, node_ids, school)


def create_zone_in(
    conn: Connection, actor: Actor, code: str, name: str, node_ids: list[int], school: str | None = None
) -> int:
    if not code or not name:
        raise InvalidInputError(
            "bad enrolment zone", issues=[Issue("code" if not code else "name", "must not be empty", "enrolment_zone")]
        )
    if conn.execute(select(enrolment_zone.c.id).where(enrolment_zone.c.code == code)).first():
        raise ConflictError(f"enrolment zone {code} exists already")
    known = set(conn.execute(select(address_node.c.id).where(address_node.c.id.in_(node_ids))).scalars())
    missing = [n for n in node_ids if n not in known]
    if missing or not node_ids:
        raise InvalidInputError(
            "bad enrolment zone",
            issues=[
                Issue("node_ids", f"unknown address nodes {missing}" if missing else "a zone needs address nodes", code)
            ],
        )
    zid = conn.execute(
        enrolment_zone.insert()
        .values(
            code=code,
            name=name,
            school=school,
            created_at=datetime.now(UTC),
            created_by=actor.name,
        )
        .returning(enrolment_zone.c.id)
    ).scalar_one()
    members = [{"zone_id": zid, "address_node_id": n} for n in sorted(set(node_ids))]
    conn.execute(enrolment_zone_member.insert(), members)
    record_audit(conn, actor, "enrolment_zone.create", "enrolment_zone", str(zid), detail={"code": code})
    return int(zid)
