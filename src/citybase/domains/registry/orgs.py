"""Actual organisations (实有单位): registration by USCC, versions, bindings to standard addresses.

The USCC is checked by ``standards.validators.validate_uscc`` (GB 32100: charset, division digits,
check character; authority and category codes are warnings). The legal representative's name is kept
encrypted (``registry.personal``) with a masked form for everyone else. A registration's address text
is matched against the registry; a confident match becomes the ``registered`` site. Bindings
(``organisation_site``) are history: a new binding of the same kind closes the open one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, or_, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.registry.grants import SCOPE_ALL, active_scopes
from citybase.domains.registry.houses import now, require_writer
from citybase.domains.registry.personal import PersonalData, mask_name
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.standards.validators import validate_uscc
from citybase.store.address_tables import address_node
from citybase.store.house_tables import organisation, organisation_site, organisation_version

TYPES = ("enterprise", "self_employed", "public_institution", "social_org", "government", "other")
STATUSES = ("active", "closed", "moved")
SITE_KINDS = ("registered", "operating")
FIELDS = ("uscc", "name", "type", "legal_rep", "registered_address", "status")
Locate = Callable[[str], int | None]  # registered address text -> a confidently matched node id


def check_uscc(record: str | int | None, value: Any) -> tuple[str, list[str]]:
    """The normalised USCC and its warnings; errors name the record."""
    try:
        result = validate_uscc(value)
    except InvalidInputError as exc:
        raise InvalidInputError(exc.detail, issues=[Issue(i.field, i.reason, record) for i in exc.issues]) from exc
    return result.value, list(result.warnings)


def check_org(record: str | int | None, payload: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    issues: list[Issue] = []
    out: dict[str, Any] = {}
    unknown = sorted(set(payload) - set(FIELDS) - {"version", "organisation_id"})
    issues += [Issue(k, f"not an organisation field (one of {', '.join(FIELDS)})", record) for k in unknown]
    if creating or "uscc" in payload:
        try:
            out["uscc"], out["warnings"] = check_uscc(record, payload.get("uscc"))
        except InvalidInputError as exc:
            issues += exc.issues
    for key, limit in (("name", 200), ("registered_address", 300), ("legal_rep", 50)):
        if key not in payload and not (creating and key != "legal_rep"):
            continue
        text = str(payload.get(key) or "").strip()
        if (not text and key != "legal_rep") or len(text) > limit:
            issues.append(Issue(key, f"required, 1-{limit} characters", record))
        out[key] = text or None
    for key, allowed, default in (("type", TYPES, None), ("status", STATUSES, "active")):
        if key not in payload and not creating:
            continue
        value = payload.get(key, default)
        if value not in allowed:
            issues.append(Issue(key, f"{value!r} is not one of {', '.join(allowed)}", record))
        out[key] = value
    if issues:
        raise InvalidInputError(f"invalid organisation{'' if record is None else f' {record}'}", issues=issues)
    return out


def org_row(conn: Connection, *, org_id: int | None = None, uscc: str | None = None) -> Any:
    q = select(organisation).where(organisation.c.id == org_id if org_id is not None else organisation.c.uscc == uscc)
    row = conn.execute(q).first()
    if row is None:
        raise NotFoundError(f"no organisation {org_id if org_id is not None else uscc}")
    return row._mapping


def org_json(m: Any) -> dict[str, Any]:
    """An organisation as everyone may see it: the legal representative masked."""
    return {
        "id": m["id"],
        "uscc": m["uscc"],
        "name": m["name"],
        "type": m["type"],
        "legal_rep": m["legal_rep_masked"],
        "registered_address": m["registered_address"],
        "status": m["status"],
        "version": m["version"],
        "updated_at": m["updated_at"].isoformat(),
        "updated_by": m["updated_by"],
    }


def site_json(m: Any) -> dict[str, Any]:
    return {
        "id": m["id"],
        "organisation_id": m["organisation_id"],
        "address_node_id": m["address_node_id"],
        "kind": m["kind"],
        "since": m["since"].isoformat(),
        "until": m["until"].isoformat() if m["until"] else None,
        "bound_by": m["bound_by"],
        "photo_path": m["photo_path"],
    }


def _version_row(m: Any, org_id: int, version: int, change: str, actor: Actor) -> dict[str, Any]:
    cols = ("name", "type", "legal_rep_cipher", "legal_rep_masked", "registered_address", "status")
    return {
        "organisation_id": org_id,
        "version": version,
        **{k: m[k] for k in cols},
        "change": change,
        "recorded_at": now(),
        "recorded_by": actor.name,
    }


class Organisations:
    """Writes and reads of organisations; ``crypto`` seals the legal representative, ``locate`` matches
    a registered address text to a standard address node (None when not confident)."""

    def __init__(self, crypto: Callable[[], PersonalData], locate: Locate, photo_dir: Any) -> None:
        self._crypto = crypto
        self.locate = locate
        self.photo_dir = photo_dir

    def register_in(self, conn: Connection, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
        require_writer(actor)
        values = check_org(payload.get("uscc"), payload, creating=True)
        uscc = values["uscc"]
        if conn.execute(select(organisation.c.id).where(organisation.c.uscc == uscc)).first() is not None:
            raise ConflictError(
                f"organisation {uscc} is already registered",
                issues=[Issue("uscc", "duplicate: an organisation with this USCC exists; update it instead", uscc)],
            )
        rep = values.get("legal_rep")
        at = now()
        row = {
            "uscc": uscc,
            "name": values["name"],
            "type": values["type"],
            "status": values["status"],
            "registered_address": values["registered_address"],
            "legal_rep_cipher": self._crypto().encrypt(rep) if rep else None,
            "legal_rep_masked": mask_name(rep) if rep else None,
        }
        org_id = int(
            conn.execute(
                organisation.insert()
                .values(**row, version=1, created_at=at, updated_at=at, updated_by=actor.name)
                .returning(organisation.c.id)
            ).scalar_one()
        )
        conn.execute(organisation_version.insert().values(**_version_row(row, org_id, 1, "register", actor)))
        node_id = self.locate(values["registered_address"])
        if node_id is not None:
            self._open_site(conn, actor, org_id, node_id, "registered", None)
        record_audit(conn, actor, "organisation.register", "organisation", str(org_id), detail={"uscc": uscc})
        return {**self.card_in(conn, org_id), "warnings": values["warnings"]}

    def update_in(
        self, conn: Connection, actor: Actor, org_id: int, version: int, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        require_writer(actor)
        if "uscc" in payload:
            raise InvalidInputError("the USCC identifies the organisation", issues=[Issue("uscc", "cannot change")])
        values = check_org(org_id, payload, creating=False)
        current = org_row(conn, org_id=org_id)
        if int(version) != current["version"]:
            raise ConflictError(
                f"organisation {org_id} changed since you read it (version {version}, now {current['version']})",
                issues=[Issue("version", f"stale: read it again (version {current['version']})", org_id)],
            )
        changes = {k: v for k, v in values.items() if k in ("name", "type", "status", "registered_address")}
        if "legal_rep" in values:
            rep = values["legal_rep"]
            changes["legal_rep_cipher"] = self._crypto().encrypt(rep) if rep else None
            changes["legal_rep_masked"] = mask_name(rep) if rep else None
        done = conn.execute(
            organisation.update()
            .where(organisation.c.id == org_id, organisation.c.version == current["version"])
            .values(**changes, version=current["version"] + 1, updated_at=now(), updated_by=actor.name)
        )
        if done.rowcount != 1:
            raise ConflictError(f"organisation {org_id} changed since you read it", issues=[Issue("version", "stale")])
        merged = {**current, **changes}
        conn.execute(
            organisation_version.insert().values(
                **_version_row(merged, org_id, current["version"] + 1, "update", actor)
            )
        )
        record_audit(
            conn, actor, "organisation.update", "organisation", str(org_id), detail={"fields": sorted(changes)}
        )
        return self.card_in(conn, org_id)

    def bind_in(self, conn: Connection, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Bind an organisation (by ``uscc`` or ``organisation_id``) to ``address_node_id``."""
        if not (actor.can(Permission.COLLECT) or actor.can(Permission.WRITE_REGISTRY)):
            actor.require(Permission.COLLECT)
        issues: list[Issue] = []
        kind = payload.get("kind", "operating")
        if kind not in SITE_KINDS:
            issues.append(Issue("kind", f"{kind!r} is not one of {', '.join(SITE_KINDS)}"))
        node_id = payload.get("address_node_id")
        if not isinstance(node_id, int) or isinstance(node_id, bool):
            issues.append(Issue("address_node_id", "required: the id of a standard address node"))
        photo = payload.get("photo_path")
        if photo is not None and (not isinstance(photo, str) or "/" in photo or "\\" in photo or len(photo) > 100):
            issues.append(Issue("photo_path", "the name of an uploaded photo (from /api/orgs/photos)"))
        if issues:
            raise InvalidInputError("invalid binding", issues=issues)
        if payload.get("organisation_id") is not None:
            org = org_row(conn, org_id=int(payload["organisation_id"]))
        else:
            uscc, _ = check_uscc(None, payload.get("uscc"))
            org = org_row(conn, uscc=uscc)
        state = conn.execute(select(address_node.c.state).where(address_node.c.id == node_id)).scalar()
        if state is None:
            raise NotFoundError(f"no address node {node_id}")
        if state != "active":
            raise InvalidInputError("retired address", issues=[Issue("address_node_id", "the address is retired")])
        if photo is not None and not (self.photo_dir / photo).is_file():
            raise InvalidInputError("unknown photo", issues=[Issue("photo_path", f"no uploaded photo {photo!r}")])
        self._open_site(conn, actor, int(org["id"]), int(node_id), str(kind), photo)  # type: ignore[arg-type]
        record_audit(
            conn,
            actor,
            "organisation.bind",
            "organisation",
            str(org["id"]),
            detail={"address_node_id": node_id, "kind": kind},
        )
        return self.card_in(conn, int(org["id"]))

    def _open_site(
        self, conn: Connection, actor: Actor, org_id: int, node_id: int, kind: str, photo: str | None
    ) -> None:
        s = organisation_site
        at = now()
        open_same = conn.execute(
            select(s.c.id, s.c.address_node_id).where(
                s.c.organisation_id == org_id, s.c.kind == kind, s.c.until.is_(None)
            )
        ).all()
        if any(r.address_node_id == node_id for r in open_same) and photo is None:
            return  # already bound here
        conn.execute(s.update().where(s.c.id.in_([r.id for r in open_same])).values(until=at))
        conn.execute(
            s.insert().values(
                organisation_id=org_id,
                address_node_id=node_id,
                kind=kind,
                since=at,
                until=None,
                bound_by=actor.name,
                photo_path=photo,
            )
        )

    def card_in(self, conn: Connection, org_id: int) -> dict[str, Any]:
        m = org_row(conn, org_id=org_id)
        s = organisation_site
        sites = [
            site_json(r._mapping)
            for r in conn.execute(select(s).where(s.c.organisation_id == org_id).order_by(s.c.since, s.c.id))
        ]
        history = [
            {
                "version": r.version,
                "change": r.change,
                "name": r.name,
                "status": r.status,
                "registered_address": r.registered_address,
                "recorded_at": r.recorded_at.isoformat(),
                "recorded_by": r.recorded_by,
            }
            for r in conn.execute(
                select(organisation_version)
                .where(organisation_version.c.organisation_id == org_id)
                .order_by(organisation_version.c.version)
            )
        ]
        return {**org_json(m), "sites": sites, "history": history}

    def legal_rep_in(self, conn: Connection, actor: Actor, org_id: int, purpose: str) -> str | None:
        """The unmasked legal representative: READ_PERSONAL (or a department grant with scope ``all``) and a
        purpose; every read is audited."""
        if not actor.can(Permission.READ_PERSONAL) and SCOPE_ALL not in active_scopes(conn, actor.department_id):
            actor.require(Permission.READ_PERSONAL)  # no role and no department grant over everyone
        if not (purpose or "").strip():
            raise InvalidInputError(
                "a purpose is required", issues=[Issue("purpose", "say why you need the full name")]
            )
        m = org_row(conn, org_id=org_id)
        record_audit(conn, actor, "organisation.legal_rep.read", "organisation", str(org_id), purpose=purpose.strip())
        return self._crypto().decrypt(m["legal_rep_cipher"]) if m["legal_rep_cipher"] else None

    def search_in(self, conn: Connection, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Organisations by USCC (exact or prefix), name or registered address text (contains)."""
        text = (q or "").strip()
        if not text or len(text) > 100:
            raise InvalidInputError("bad search", issues=[Issue("q", "1-100 characters required")])
        o = organisation
        cond = or_(
            o.c.uscc.startswith(text.upper(), autoescape=True),
            o.c.name.contains(text, autoescape=True),
            o.c.registered_address.contains(text, autoescape=True),
        )
        rows = conn.execute(select(o).where(cond).order_by(o.c.name, o.c.id).limit(max(1, min(limit, 200))))
        return [org_json(r._mapping) for r in rows]

    def at_nodes_in(self, conn: Connection, node_ids: list[int]) -> list[dict[str, Any]]:
        """Organisations with an open binding at any of the nodes (masked)."""
        if not node_ids:
            return []
        s, o = organisation_site, organisation
        q = (
            select(o, s.c.kind, s.c.address_node_id.label("site_node"), s.c.since)
            .join(s, s.c.organisation_id == o.c.id)
            .where(s.c.address_node_id.in_(node_ids), s.c.until.is_(None))
            .order_by(o.c.name, s.c.kind)
        )
        return [
            {**org_json(r._mapping), "kind": r.kind, "address_node_id": r.site_node, "since": r.since.isoformat()}
            for r in conn.execute(q)
        ]
