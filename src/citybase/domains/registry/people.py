"""The actual population registry (实有人口): register, read (masked unless allowed), update, search, move.

Identity numbers, names and phones are stored encrypted with keyed hashes for look-ups (``personal``);
what a caller sees is decided by ``remit``; moves live in ``residences``. Each write has an ``*_in`` /
``apply_*`` form that runs inside the caller's transaction (the collection loop applies accepted
changes with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry import residences
from citybase.domains.registry.people_bulk import Resident, register_households_in
from citybase.domains.registry.personal import PersonalData, mask_id, mask_name, mask_phone
from citybase.domains.registry.remit import GridsOfUser, Remit, may_search_names, remit_of, unmask_basis
from citybase.domains.registry.subtree import subtree_cte
from citybase.kernel.errors import ConflictError, NotFoundError
from citybase.store import Store
from citybase.store.people_tables import person, person_version, residence

MAX_PAGE = 500


class PeopleService:
    def __init__(self, store: Store, key_file: Path, grids_of_user: GridsOfUser | None = None) -> None:
        self.store = store
        self.key_file = key_file
        self.grids_of_user = grids_of_user
        self._personal: PersonalData | None = None

    @property
    def personal(self) -> PersonalData:
        """Loaded (or created) on first use, so commands that never touch people need no key."""
        if self._personal is None:
            self._personal = PersonalData.from_file(self.key_file)
        return self._personal

    def remit(self, actor: Actor) -> Remit:
        return remit_of(actor, self.grids_of_user)

    # --- writes ---------------------------------------------------------------------------------
    def register_households(
        self, actor: Actor, rooms: Sequence[int], families: Sequence[Sequence[Resident]], *, first: int = 0
    ) -> int:
        """Register whole households in one transaction (a city's first load; see ``people_bulk``)."""
        with self.store.write() as conn:
            return register_households_in(conn, self.personal, actor, rooms, families, first=first)

    def register(self, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            return self.apply_register(conn, actor, payload)

    def apply_register(
        self, conn: Connection, actor: Actor, payload: dict[str, Any], record: rows.Record = None
    ) -> dict[str, Any]:
        """Register a person (and, with ``address_node_id``, move them in) inside the caller's transaction."""
        actor.require(Permission.WRITE_REGISTRY)
        record = record if record is not None else "person"
        cid = rows.check_citizen_id(payload.get("id_number"), record)
        name = rows.check_name(payload.get("name"), record)
        phone = rows.check_phone(payload.get("phone"), record)
        rtype = rows.check_choice(
            payload.get("residence_type") or "registered", "residence_type", rows.RESIDENCE_TYPES[:3], record
        )
        columns = rows.sealed(self.personal, cid, name, phone)
        existing = conn.execute(select(person.c.id).where(person.c.id_hash == columns["id_hash"])).scalar()
        if existing is not None:
            raise ConflictError(f"{record}: citizen ID {mask_id(cid.value)} is already registered as person {existing}")
        at = rows.now()
        try:
            with conn.begin_nested():
                new_id = conn.execute(
                    person.insert()
                    .values(
                        **columns,
                        residence_type=rtype,
                        state="active",
                        version=1,
                        created_at=at,
                        created_by=actor.name,
                        updated_at=at,
                        updated_by=actor.name,
                    )
                    .returning(person.c.id)
                ).scalar_one()
        except IntegrityError:  # a concurrent registration of the same number won the race
            raise ConflictError(f"{record}: citizen ID {mask_id(cid.value)} is already registered") from None
        row = rows.load(conn, new_id)
        rows.write_version(conn, actor, row, "register")
        record_audit(conn, actor, "person.register", "person", str(new_id), detail={"version": 1})
        if payload.get("address_node_id") not in (None, ""):
            row = residences.move_in(conn, actor, new_id, {**payload, "residence_type": rtype}, record=record)
        return rows.view(row, rows.open_home(conn, new_id))

    def update(self, actor: Actor, person_id: int, version: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change name, phone or residence type; ``version`` is the one the caller read (409 if stale)."""
        actor.require(Permission.WRITE_REGISTRY)
        unknown = set(changes) - {"name", "phone", "residence_type"}
        if unknown:
            raise rows.bad(sorted(unknown)[0], "cannot be changed here (moves go through /move)", person_id)
        values: dict[str, Any] = {}
        pd = self.personal
        if "name" in changes:
            name = rows.check_name(changes["name"], person_id)
            values |= {
                "name_cipher": pd.encrypt(name),
                "name_masked": mask_name(name),
                "name_hash": pd.lookup_hash(name),
            }
        if "phone" in changes:
            phone = rows.check_phone(changes["phone"], person_id)
            values |= {
                "phone_cipher": pd.encrypt(phone) if phone else None,
                "phone_masked": mask_phone(phone) if phone else None,
            }
        if "residence_type" in changes:
            values["residence_type"] = rows.check_choice(
                changes["residence_type"], "residence_type", rows.RESIDENCE_TYPES[:3], person_id
            )
        with self.store.write() as conn:
            row = rows.bump(conn, actor, person_id, "update", version, values)
            return rows.view(row, rows.open_home(conn, person_id))

    def apply_move_in(self, conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        pid = self._person_of(conn, payload)
        row = residences.move_in(conn, actor, pid, payload, record=f"person {pid}", expected=payload.get("version"))
        return rows.view(row, rows.open_home(conn, pid))

    def apply_move_out(self, conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        pid = self._person_of(conn, payload)
        leaves = bool(payload.get("leaves_city", True))
        residences.move_out(
            conn, actor, pid, payload, record=f"person {pid}", expected=payload.get("version"), leaves=leaves
        )
        return rows.view(rows.load(conn, pid), rows.open_home(conn, pid))

    def apply_move(self, conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        pid = self._person_of(conn, payload)
        row = residences.move(conn, actor, pid, payload, record=f"person {pid}", expected=payload.get("version"))
        return rows.view(row, rows.open_home(conn, pid))

    def move(self, actor: Actor, person_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload['kind']``: move (default), move_in or move_out; one transaction."""
        kind = payload.get("kind") or "move"
        apply = {"move": self.apply_move, "move_in": self.apply_move_in, "move_out": self.apply_move_out}.get(kind)
        if apply is None:
            raise rows.bad("kind", f"{kind!r} is not one of move, move_in, move_out", person_id, "bad move")
        with self.store.write() as conn:
            return apply(conn, actor, {**payload, "person_id": person_id})

    def _person_of(self, conn: Connection, payload: dict[str, Any]) -> int:
        if payload.get("person_id") not in (None, ""):
            pid = rows.check_id(payload["person_id"], "person_id", "move")
            rows.load(conn, pid)
            return pid
        number = payload.get("id_number")
        if isinstance(number, str) and number.strip():
            found = conn.execute(select(person.c.id).where(person.c.id_hash == self.personal.lookup_hash(number)))
            pid_found = found.scalar()
            if pid_found is None:
                raise rows.bad(
                    "id_number", f"no person with citizen ID {mask_id(number.strip())}", "move", "unknown person"
                )
            return int(pid_found)
        raise rows.bad("person_id", "a move names the person by person_id or id_number", "move")

    # --- reads ----------------------------------------------------------------------------------
    def get(
        self, actor: Actor, person_id: int, *, unmasked: bool = False, purpose: str | None = None
    ) -> dict[str, Any]:
        remit = self.remit(actor)
        with self.store.write() if unmasked else self.store.read() as conn:  # unmasked reads are audited
            row = rows.load(conn, person_id)
            where = remit.person_filter()
            visible = select(person.c.id).where(person.c.id == person_id, where) if where is not None else None
            if visible is not None and conn.execute(visible).first() is None:
                raise NotFoundError(f"no person {person_id} in your grids")
            home = rows.open_home(conn, person_id)
            if not unmasked:
                return rows.view(row, home)
            if not purpose or not purpose.strip():
                raise rows.bad(
                    "purpose", "reading unmasked personal data needs a purpose", person_id, "missing purpose"
                )
            basis = unmask_basis(conn, actor, remit, person_id)
            record_audit(
                conn,
                actor,
                "person.read_unmasked",
                "person",
                str(person_id),
                purpose=purpose.strip(),
                detail={"basis": basis, "fields": ["id_number", "name", "phone", "birth_date"]},
            )
            return rows.view(row, home, self.personal)

    def history(self, actor: Actor, person_id: int) -> dict[str, Any]:
        """Masked versions and every residence (history of moves) of one visible person."""
        self.get(actor, person_id)  # visibility
        with self.store.read() as conn:
            versions = [
                {
                    "version": v.version,
                    "change": v.change,
                    "residence_type": v.residence_type,
                    "state": v.state,
                    "recorded_at": v.recorded_at.isoformat(),
                    "recorded_by": v.recorded_by,
                }
                for v in conn.execute(
                    select(person_version)
                    .where(person_version.c.person_id == person_id)
                    .order_by(person_version.c.version)
                )
            ]
            stays = [
                {**(rows.home_json(r) or {}), "move_out": r.move_out.isoformat() if r.move_out else None}
                for r in conn.execute(
                    select(residence).where(residence.c.person_id == person_id).order_by(residence.c.id)
                )
            ]
        return {"versions": versions, "residences": stays}

    def search(
        self,
        actor: Actor,
        *,
        id_number: str | None = None,
        name: str | None = None,
        node_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Masked results by ID number, by exact name (callers with personal-data access only) or by address
        subtree (people currently living there)."""
        remit = self.remit(actor)
        if not (id_number or name or node_id):
            raise rows.bad("id_number", "search by id_number, name or node_id", "search", "missing search term")
        q = select(person).order_by(person.c.id).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
        where = remit.person_filter()
        with self.store.read() as conn:
            if where is not None:
                q = q.where(where)
            if id_number:
                q = q.where(person.c.id_hash == self.personal.lookup_hash(id_number))
            if name:
                extra = may_search_names(conn, actor, remit)
                q = q.where(person.c.name_hash == self.personal.lookup_hash(name))
                if extra is not None:
                    q = q.where(extra)
            if node_id:
                sub = subtree_cte([node_id], "search_scope")
                r = residence.c
                q = q.where(
                    person.c.id.in_(
                        select(r.person_id).where(r.move_out.is_(None), r.address_node_id.in_(select(sub.c.id)))
                    )
                )
            found = list(conn.execute(q))
            return [rows.view(p, rows.open_home(conn, p.id)) for p in found]

    def residents_at(self, conn: Connection, actor: Actor, node_ids: list[int]) -> list[dict[str, Any]]:
        """Masked views of the people living at exactly these nodes now (the house card), in the caller's
        connection. Callers who may not see people (anonymous) get an empty list, so the card still shows."""
        if actor.kind == "anonymous" or not actor.can(Permission.READ):
            return []
        remit = self.remit(actor)
        r = residence.c
        q = (
            select(person, r.id.label("rid"))
            .join(residence, r.person_id == person.c.id)
            .where(r.move_out.is_(None), r.address_node_id.in_(list(node_ids)))
            .order_by(r.address_node_id, r.id)
        )
        where = remit.person_filter()
        if where is not None:
            q = q.where(where)
        return [rows.view(p, rows.open_home(conn, p.id)) for p in conn.execute(q)]
