"""Rows of the population tables: checks of input values, versioned person updates, JSON views."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, record_audit
from citybase.domains.registry.personal import PersonalData, mask_id, mask_name, mask_phone
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.standards.validators import CitizenIdResult, validate_citizen_id
from citybase.store.people_tables import household_version, person, person_version, residence

RESIDENCE_TYPES = ("registered", "resident", "temporary", "moved_out")  # 户籍 / 常住非户籍 / 暂住 / 迁出
RELATIONS = ("户主", "配偶", "子女", "父母", "其他")
VERSIONED = (
    "id_cipher",
    "id_masked",
    "name_cipher",
    "name_masked",
    "phone_cipher",
    "phone_masked",
    "residence_type",
    "state",
)
Record = str | int | None


def now() -> datetime:
    return datetime.now(UTC)


def bad(field: str, reason: str, record: Record, title: str = "invalid person") -> InvalidInputError:
    return InvalidInputError(title, issues=[Issue(field, reason, record)])


def check_citizen_id(value: Any, record: Record) -> CitizenIdResult:
    """A valid citizen ID number (GB 11643), its problems reported on field ``id_number`` of ``record``."""
    if not isinstance(value, str) or not value.strip():
        raise bad("id_number", "must not be empty", record)
    try:
        return validate_citizen_id(value)
    except InvalidInputError as exc:
        raise InvalidInputError(
            "invalid citizen ID number", issues=[Issue("id_number", i.reason, record) for i in exc.issues]
        ) from None


def sealed(pd: PersonalData, cid: CitizenIdResult, name: str, phone: str | None) -> dict[str, Any]:
    """A person's identifying columns as stored: look-up hashes, ciphers, masks, and sex and birth date
    derived from the number."""
    return {
        "id_hash": pd.lookup_hash(cid.value),
        "name_hash": pd.lookup_hash(name),
        "sex": cid.sex,
        "birth_date": cid.birth_date,
        "id_cipher": pd.encrypt(cid.value),
        "id_masked": mask_id(cid.value),
        "name_cipher": pd.encrypt(name),
        "name_masked": mask_name(name),
        "phone_cipher": pd.encrypt(phone) if phone else None,
        "phone_masked": mask_phone(phone) if phone else None,
    }


def check_name(value: Any, record: Record) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad("name", "must not be empty", record)
    name = value.strip()
    if len(name) > 50 or any(ord(c) < 32 for c in name) or any(c.isdigit() for c in name):
        raise bad("name", "at most 50 characters, no digits or control characters", record)
    return name


def check_phone(value: Any, record: Record) -> str | None:
    if value is None or value == "":
        return None
    phone = str(value).strip().replace(" ", "").replace("-", "")
    if not (5 <= len(phone) <= 20) or not phone.lstrip("+").isdigit():
        raise bad("phone", f"{value!r} is not a phone number (5 to 20 digits)", record)
    return phone


def check_choice(value: Any, field: str, allowed: tuple[str, ...], record: Record) -> str:
    if value not in allowed:
        raise bad(field, f"{value!r} is not one of {', '.join(allowed)}", record)
    return str(value)


def check_day(value: Any, field: str, record: Record) -> date:
    """A date (ISO string or date); missing means today; never in the future."""
    if value is None or value == "":
        return date.today()
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            raise bad(field, f"{value!r} is not a date (YYYY-MM-DD)", record) from None
    if value > date.today():
        raise bad(field, f"{value.isoformat()} is in the future", record)
    return value


def check_id(value: Any, field: str, record: Record) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise bad(field, f"{value!r} is not an id", record)
    return int(value)


def load(conn: Connection, person_id: int) -> Any:
    row = conn.execute(select(person).where(person.c.id == person_id)).first()
    if row is None:
        raise NotFoundError(f"no person {person_id}")
    return row


def write_version(conn: Connection, actor: Actor, row: Any, change: str) -> None:
    conn.execute(
        person_version.insert().values(
            person_id=row.id,
            version=row.version,
            change=change,
            recorded_at=row.updated_at,
            recorded_by=actor.name,
            **{k: getattr(row, k) for k in VERSIONED},
        )
    )


def write_household_version(conn: Connection, actor: Actor, h: Any, change: str) -> None:
    conn.execute(
        household_version.insert().values(
            household_id=h.id,
            version=h.version,
            number=h.number,
            address_node_id=h.address_node_id,
            head_person_id=h.head_person_id,
            state=h.state,
            change=change,
            recorded_at=h.updated_at,
            recorded_by=actor.name,
        )
    )


def bump(
    conn: Connection, actor: Actor, person_id: int, change: str, expected: int | None, values: dict[str, Any]
) -> Any:
    """Apply ``values`` as a new version of the person: fails with 409 when ``expected`` (or, without it, the
    version just read) is no longer current, so concurrent edits never overwrite each other."""
    current = load(conn, person_id)
    if expected is not None and expected != current.version:
        raise ConflictError(
            f"person {person_id} is at version {current.version}, not {expected}: "
            "someone else changed it; reload and try again"
        )
    moved = conn.execute(
        update(person)
        .where(person.c.id == person_id, person.c.version == current.version)
        .values(version=current.version + 1, updated_at=now(), updated_by=actor.name, **values)
    )
    if moved.rowcount != 1:
        raise ConflictError(f"person {person_id} changed while you edited it; reload and try again")
    row = load(conn, person_id)
    write_version(conn, actor, row, change)
    record_audit(
        conn,
        actor,
        f"person.{change}",
        "person",
        str(person_id),
        detail={"version": row.version, "fields": sorted(set(values) & set(VERSIONED))},
    )
    return row


def open_home(conn: Connection, person_id: int) -> Any:
    r = residence.c
    return conn.execute(select(residence).where(r.person_id == person_id, r.move_out.is_(None))).first()


def home_json(h: Any) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "residence_id": h.id,
        "address_node_id": h.address_node_id,
        "household_id": h.household_id,
        "relation": h.relation,
        "residence_type": h.residence_type,
        "move_in": h.move_in.isoformat(),
    }


def view(row: Any, home: Any, personal: PersonalData | None = None) -> dict[str, Any]:
    """The masked view; with ``personal`` the full one (the caller has checked and audited the read)."""
    out: dict[str, Any] = {
        "id": row.id,
        "id_number": row.id_masked,
        "name": row.name_masked,
        "phone": row.phone_masked,
        "sex": row.sex,
        "birth_year": row.birth_date.year,
        "residence_type": row.residence_type,
        "state": row.state,
        "version": row.version,
        "updated_at": row.updated_at.isoformat(),
        "home": home_json(home),
        "masked": personal is None,
    }
    if personal is not None:
        out |= {
            "id_number": personal.decrypt(row.id_cipher),
            "name": personal.decrypt(row.name_cipher),
            "phone": personal.decrypt(row.phone_cipher) if row.phone_cipher else None,
            "birth_date": row.birth_date.isoformat(),
        }
    return out
