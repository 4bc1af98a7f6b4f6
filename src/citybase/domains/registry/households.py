"""Households (户): a numbered group of residents at one dwelling, with a head (户主)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from citybase.domains.access import Actor, Permission
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry.remit import GridsOfUser, remit_of
from citybase.domains.registry.residences import check_home, move_out
from citybase.kernel.errors import ConflictError, NotFoundError
from citybase.store import Store
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household, household_version, person, residence


def household_json(h: Any, members: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {
        "id": h.id,
        "number": h.number,
        "address_node_id": h.address_node_id,
        "head_person_id": h.head_person_id,
        "state": h.state,
        "version": h.version,
        "updated_at": h.updated_at.isoformat(),
    }
    if members is not None:
        out["members"] = members
    return out


def create_in(
    conn: Connection, actor: Actor, address_node_id: Any, number: str | None = None, record: rows.Record = "household"
) -> Any:
    """A new household at a dwelling; without ``number`` it is <display code of the dwelling>-<n>. Errors name
    ``record`` (an import names the CSV line that founds the household)."""
    actor.require(Permission.WRITE_REGISTRY)
    node_id = rows.check_id(address_node_id, "address_node_id", record)
    check_home(conn, node_id, record)
    if number is None or not str(number).strip():
        code = conn.execute(select(address_node.c.display_code).where(address_node.c.id == node_id)).scalar_one()
        n = conn.execute(
            select(func.count()).select_from(household).where(household.c.address_node_id == node_id)
        ).scalar_one()
        number = f"{code}-{int(n) + 1}"
    number = str(number).strip()[:64]
    if conn.execute(select(household.c.id).where(household.c.number == number)).first():
        raise ConflictError(f"household number {number} is taken")
    at = rows.now()
    hid = conn.execute(
        household.insert()
        .values(
            number=number,
            address_node_id=node_id,
            state="active",
            version=1,
            created_at=at,
            created_by=actor.name,
            updated_at=at,
            updated_by=actor.name,
        )
        .returning(household.c.id)
    ).scalar_one()
    row = conn.execute(select(household).where(household.c.id == hid)).one()
    rows.write_household_version(conn, actor, row, "create")
    return row


def _locked(conn: Connection, household_id: int, version: Any, record: str) -> Any:
    """The active household at ``version`` (409 when it moved on, 404 when unknown)."""
    expected = rows.check_id(version, "version", record)
    h = conn.execute(select(household).where(household.c.id == household_id)).first()
    if h is None:
        raise NotFoundError(f"no household {household_id}")
    if h.state != "active":
        raise ConflictError(f"household {h.number} is {h.state}")
    if h.version != expected:
        raise ConflictError(
            f"household {h.number} is at version {h.version}, not {expected}: "
            "someone else changed it; reload and try again"
        )
    return h


def _bump(conn: Connection, actor: Actor, h: Any, change: str, **values: Any) -> Any:
    done = conn.execute(
        update(household)
        .where(household.c.id == h.id, household.c.version == h.version)
        .values(version=h.version + 1, updated_at=rows.now(), updated_by=actor.name, **values)
    )
    if done.rowcount != 1:
        raise ConflictError(f"household {h.number} changed meanwhile; reload and try again")
    row = conn.execute(select(household).where(household.c.id == h.id)).one()
    rows.write_household_version(conn, actor, row, change)
    return row


def _members(conn: Connection, household_id: int) -> list[Any]:
    r = residence.c
    q = select(residence).where(r.household_id == household_id, r.move_out.is_(None)).order_by(r.id)
    return list(conn.execute(q))


def move_household_in(conn: Connection, actor: Actor, household_id: int, version: Any, payload: dict[str, Any]) -> Any:
    """Move a household and all its current members to another dwelling on one day (户迁移), in ``conn``.

    Each member's open residence is closed and a new one opened at the new dwelling with the same relation
    and residence type; the household keeps its number and gets a new version (change ``move``).
    """
    actor.require(Permission.WRITE_REGISTRY)
    record = f"household {household_id}"
    node_id = rows.check_id(payload.get("address_node_id"), "address_node_id", record)
    day = rows.check_day(payload.get("date"), "date", record)
    h = _locked(conn, household_id, payload.get("version", version), record)
    check_home(conn, node_id, record)
    if node_id == h.address_node_id:
        raise rows.bad("address_node_id", f"household {h.number} already lives at node {node_id}", record, "bad move")
    members = _members(conn, household_id)
    for m in members:
        if day < m.move_in:
            raise rows.bad(
                "date",
                f"{day.isoformat()} is before person {m.person_id} moved in ({m.move_in.isoformat()})",
                record,
                "bad move",
            )
    moved = _bump(conn, actor, h, "move", address_node_id=node_id)
    for m in members:
        move_out(conn, actor, m.person_id, {"move_out": day}, record=record, leaves=False)
        conn.execute(
            residence.insert().values(
                person_id=m.person_id,
                household_id=household_id,
                address_node_id=node_id,
                relation=m.relation,
                residence_type=m.residence_type,
                move_in=day,
                created_at=rows.now(),
                created_by=actor.name,
            )
        )
        rows.bump(conn, actor, m.person_id, "move", None, {})
    return moved


def dissolve_in(conn: Connection, actor: Actor, household_id: int, version: Any, payload: dict[str, Any]) -> Any:
    """Dissolve a household (销户), in ``conn``. Its current members either stay at the dwelling without a
    household (``members``: ``stay``, the default) or leave the city (``leave``: moved out on ``date``)."""
    actor.require(Permission.WRITE_REGISTRY)
    record = f"household {household_id}"
    mode = rows.check_choice(payload.get("members") or "stay", "members", ("stay", "leave"), record)
    day = rows.check_day(payload.get("date"), "date", record)
    h = _locked(conn, household_id, payload.get("version", version), record)
    members = _members(conn, household_id)
    for m in members:
        if day < m.move_in:
            raise rows.bad(
                "date",
                f"{day.isoformat()} is before person {m.person_id} moved in ({m.move_in.isoformat()})",
                record,
                "bad move",
            )
    done = _bump(conn, actor, h, "dissolve", state="dissolved", head_person_id=None)
    for m in members:
        move_out(conn, actor, m.person_id, {"move_out": day}, record=record, leaves=False)
        if mode == "leave":
            rows.bump(conn, actor, m.person_id, "move_out", None, {"residence_type": "moved_out", "state": "moved_out"})
            continue
        conn.execute(
            residence.insert().values(
                person_id=m.person_id,
                household_id=None,
                address_node_id=m.address_node_id,
                relation="其他",
                residence_type=m.residence_type,
                move_in=day,
                created_at=rows.now(),
                created_by=actor.name,
            )
        )
        rows.bump(conn, actor, m.person_id, "move", None, {})
    return done


class HouseholdService:
    def __init__(self, store: Store, grids_of_user: GridsOfUser | None = None) -> None:
        self.store = store
        self.grids_of_user = grids_of_user

    def create(self, actor: Actor, address_node_id: Any, number: str | None = None) -> dict[str, Any]:
        with self.store.write() as conn:
            return household_json(create_in(conn, actor, address_node_id, number))

    def get(self, actor: Actor, household_id: int) -> dict[str, Any]:
        remit = remit_of(actor, self.grids_of_user)
        with self.store.read() as conn:
            h = conn.execute(select(household).where(household.c.id == household_id)).first()
            if h is None:
                raise NotFoundError(f"no household {household_id}")
            r = residence.c
            q = (
                select(person, r.relation)
                .join(residence, r.person_id == person.c.id)
                .where(r.household_id == household_id, r.move_out.is_(None))
                .order_by(r.id)
            )
            where = remit.person_filter()
            if where is not None:
                q = q.where(where)
            members = [{**rows.view(p, rows.open_home(conn, p.id)), "relation": p.relation} for p in conn.execute(q)]
            if remit.grid_ids is not None and not members:
                raise NotFoundError(f"no household {household_id} in your grids")
            return household_json(h, members)

    def at_node(self, actor: Actor, node_id: int) -> list[dict[str, Any]]:
        remit_of(actor, self.grids_of_user)
        with self.store.read() as conn:
            q = select(household).where(household.c.address_node_id == node_id).order_by(household.c.id)
            return [household_json(h) for h in conn.execute(q)]

    def move(self, actor: Actor, household_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload``: ``version`` (as read), ``address_node_id`` (the new dwelling), ``date`` (default today)."""
        with self.store.write() as conn:
            return household_json(move_household_in(conn, actor, household_id, payload.get("version"), payload))

    def dissolve(self, actor: Actor, household_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload``: ``version`` (as read), ``members`` (stay | leave), ``date`` (default today)."""
        with self.store.write() as conn:
            return household_json(dissolve_in(conn, actor, household_id, payload.get("version"), payload))

    def history(self, actor: Actor, household_id: int) -> list[dict[str, Any]]:
        """The household's versions, oldest first (no personal data: ids only)."""
        remit_of(actor, self.grids_of_user)
        v = household_version.c
        with self.store.read() as conn:
            q = select(household_version).where(v.household_id == household_id).order_by(v.version)
            out = [
                {
                    "version": r.version,
                    "change": r.change,
                    "address_node_id": r.address_node_id,
                    "head_person_id": r.head_person_id,
                    "state": r.state,
                    "recorded_at": r.recorded_at.isoformat(),
                    "recorded_by": r.recorded_by,
                }
                for r in conn.execute(q)
            ]
        if not out:
            raise NotFoundError(f"no household {household_id}")
        return out
