"""Naming workflows: a new road name, a new compound name, door plates for a new building.

Each workflow is a small state machine. A step is allowed only in the state it follows and only to
the department that owns it (民政 = civil affairs, 住建 = housing, configurable); anything else is a
clear error naming the expected step. Every step is written to the audit log in the same
transaction; the last step records the names as nodes of the address tree.

=============  ==========================================================================
road_name      propose (any department) -> approve by 民政: recorded
compound_name  propose (the developer) -> review by 住建 -> approve by 民政: recorded
door_plates    propose numbers for a building -> approve by 民政: plates recorded
=============  ==========================================================================
``reject`` by the department whose step is next ends a workflow as ``rejected``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.addresses import tree
from citybase.domains.addresses.tree import NewNode, ParentInfo
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.store.address_tables import address_node, address_workflow
from citybase.store.schema import city_object

if TYPE_CHECKING:
    from citybase.domains.addresses.registry import AddressService

# kind -> the steps after the proposal: (state it follows, step, department role, state it leads to)
STEPS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "road_name": (("proposed", "approve", "civil", "recorded"),),
    "compound_name": (("proposed", "review", "housing", "reviewed"), ("reviewed", "approve", "civil", "recorded")),
    "door_plates": (("proposed", "approve", "civil", "recorded"),),
}
KINDS = tuple(STEPS)
FINAL = ("recorded", "rejected")
PARENTS = {
    "road_name": ("town", "community"),
    "compound_name": ("community", "road", "door_number"),
    "door_plates": ("road",),
}
BUILDING_CLASS = "050101"
DEPARTMENT_NAMES = {"civil": "民政 civil affairs", "housing": "住建 housing"}


@dataclass(frozen=True, slots=True)
class Workflow:
    id: int
    kind: str
    state: str
    parent_id: int
    payload: dict[str, Any]
    steps: list[dict[str, Any]]
    result: dict[str, Any] | None
    proposed_by: str
    department_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def next_step(self) -> tuple[str, str] | None:
        """(step, department role) that may act now, or None when the workflow is finished."""
        for follows, step, role, _ in STEPS[self.kind]:
            if follows == self.state:
                return step, role
        return None


def _workflow(m: Any) -> Workflow:
    return Workflow(**{k: m[k] for k in Workflow.__dataclass_fields__})


def _bad(fld: str, reason: str) -> InvalidInputError:
    return InvalidInputError("bad naming proposal", issues=[Issue(fld, reason)])


def _plate(number: Any) -> str:
    text = tree.check_name(str(number) if isinstance(number, int) else number, fld="numbers")
    return text if text.endswith("号") else text + "号"


class NamingWorkflows:
    def __init__(self, addresses: AddressService) -> None:
        self.addresses = addresses
        self.store = addresses.store

    # --- reading ------------------------------------------------------------------------------------
    def get(self, workflow_id: int) -> Workflow:
        with self.store.read() as conn:
            return self._get(conn, workflow_id)

    def _get(self, conn: Connection, workflow_id: int) -> Workflow:
        row = conn.execute(select(address_workflow).where(address_workflow.c.id == workflow_id)).first()
        if row is None:
            raise NotFoundError(f"no naming workflow {workflow_id}")
        return _workflow(row._mapping)

    def list(self, *, state: str | None = None, kind: str | None = None, limit: int = 100) -> list[Workflow]:
        q = select(address_workflow).order_by(address_workflow.c.id.desc()).limit(max(1, min(limit, 500)))
        if state:
            q = q.where(address_workflow.c.state == state)
        if kind:
            q = q.where(address_workflow.c.kind == kind)
        with self.store.read() as conn:
            return [_workflow(r._mapping) for r in conn.execute(q)]

    # --- the steps ----------------------------------------------------------------------------------
    def propose(self, actor: Actor, kind: str, parent_id: int, payload: dict[str, Any]) -> Workflow:
        """Open a workflow; the payload is checked now and again when it is recorded."""
        actor.require(Permission.WRITE_OWN_OBJECTS)
        if kind not in STEPS:
            raise _bad("kind", f"{kind!r} is not one of {KINDS}")
        clean = self._payload(kind, payload)
        with self.store.write() as conn:
            self._check_target(conn, kind, parent_id, clean)
            at = tree.now()
            step = {
                "step": "propose",
                "actor": actor.name,
                "department_id": actor.department_id,
                "at": at.isoformat(),
                "note": clean.pop("note", None),
            }
            new_id = conn.execute(
                address_workflow.insert().values(
                    kind=kind,
                    state="proposed",
                    parent_id=parent_id,
                    payload=clean,
                    steps=[step],
                    result=None,
                    proposed_by=actor.name,
                    department_id=actor.department_id,
                    created_at=at,
                    updated_at=at,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            record_audit(conn, actor, f"address.{kind}.propose", "address_workflow", str(new_id), detail=clean)
            return self._get(conn, int(new_id))

    def act(self, actor: Actor, workflow_id: int, step: str, note: str | None = None) -> Workflow:
        """Take ``step`` (review / approve / reject) on a workflow, as the department that owns it."""
        if step not in ("review", "approve", "reject"):
            raise InvalidInputError("unknown step", issues=[Issue("step", f"{step!r}: review, approve or reject")])
        with self.store.write() as conn:
            wf = self._get(conn, workflow_id)
            expected = wf.next_step
            if expected is None:
                raise ConflictError(f"naming workflow {workflow_id} is {wf.state}; no step is left")
            want_step, role = expected
            if step not in (want_step, "reject"):
                raise ConflictError(
                    f"wrong step: naming workflow {workflow_id} ({wf.kind}) is {wf.state}; the next step is "
                    f"{want_step} by {DEPARTMENT_NAMES[role]}, or reject"
                )
            self._require_department(conn, actor, role, want_step if step != "reject" else "reject")
            entry = {
                "step": step,
                "actor": actor.name,
                "department_id": actor.department_id,
                "at": tree.now().isoformat(),
                "note": note,
            }
            if step == "reject":
                new_state, result = "rejected", None
            else:
                new_state = next(to for follows, s, _, to in STEPS[wf.kind] if follows == wf.state and s == step)
                result = self._record(conn, actor, wf) if new_state == "recorded" else None
            done = conn.execute(
                update(address_workflow)
                .where(address_workflow.c.id == workflow_id, address_workflow.c.state == wf.state)
                .values(state=new_state, steps=[*wf.steps, entry], result=result, updated_at=tree.now())
            ).rowcount
            if not done:
                raise ConflictError(f"naming workflow {workflow_id} changed meanwhile; reload it")
            record_audit(
                conn,
                actor,
                f"address.{wf.kind}.{step}",
                "address_workflow",
                str(workflow_id),
                detail={"from": wf.state, "to": new_state, "note": note, "result": result},
            )
            return self._get(conn, workflow_id)

    def _require_department(self, conn: Connection, actor: Actor, role: str, step: str) -> None:
        actor.require(Permission.WRITE_OWN_OBJECTS)
        code = self.addresses.naming_department if role == "civil" else self.addresses.housing_department
        dept = self.addresses.department_id(conn, code)
        if dept is None or actor.department_id != dept:
            raise PermissionDeniedError(
                f"only {DEPARTMENT_NAMES[role]} (department {code}) may {step} this naming workflow"
            )

    # --- checks and recording -----------------------------------------------------------------------
    def _payload(self, kind: str, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise _bad("payload", "must be an object")
        clean: dict[str, Any] = {"note": payload.get("note")}
        if kind in ("road_name", "compound_name"):
            clean["name"] = tree.check_name(payload.get("name"))
            aliases = payload.get("aliases") or []
            if not isinstance(aliases, list):
                raise _bad("aliases", "must be a list of names")
            clean["aliases"] = [tree.check_name(a, fld="aliases") for a in aliases]
            if kind == "compound_name":
                clean["developer"] = payload.get("developer")
        else:
            numbers = payload.get("numbers")
            if not isinstance(numbers, list) or not numbers or len(numbers) > 50:
                raise _bad("numbers", 'a list of 1-50 door numbers, e.g. ["12", "12附1"]')
            plates = [_plate(n) for n in numbers]
            if len(set(plates)) != len(plates):
                raise _bad("numbers", "the same number twice")
            clean["numbers"] = plates
            obj = payload.get("object_id")
            if obj is not None and not isinstance(obj, int):
                raise _bad("object_id", "the id of the building city object")
            clean["object_id"] = obj
            name = payload.get("building_name")
            clean["building_name"] = tree.check_name(name, fld="building_name") if name else None
        lon, lat = payload.get("lon"), payload.get("lat")
        if (lon is None) != (lat is None):
            raise _bad("lat" if lat is None else "lon", "give both lon and lat, or neither")
        if lon is not None:
            if not isinstance(lon, int | float) or not isinstance(lat, int | float):
                raise _bad("lon", "lon and lat must be numbers")
            tree.check_point(float(lon), float(lat))
            clean["lon"], clean["lat"] = float(lon), float(lat)
        return clean

    def _check_target(self, conn: Connection, kind: str, parent_id: int, clean: dict[str, Any]) -> ParentInfo:
        parent = tree.parent_info(conn, parent_id)
        if parent.state != "active":
            raise ConflictError(f"address node {parent_id} is retired")
        if parent.level not in PARENTS[kind]:
            raise _bad("parent_id", f"a {kind} goes under a {'/'.join(PARENTS[kind])}, not a {parent.level}")
        tree.load_children(conn, parent)
        level = {"road_name": "road", "compound_name": "compound", "door_plates": "door_number"}[kind]
        names = clean["numbers"] if kind == "door_plates" else [clean["name"]]
        taken = [n for n in names if (level, n) in parent.names]
        if taken:
            raise ConflictError(f"{parent.level} {parent_id} already has a {level} named {taken[0]!r}")
        if kind == "door_plates" and clean.get("object_id") is not None:
            cls = conn.execute(select(city_object.c.class_code).where(city_object.c.id == clean["object_id"])).scalar()
            if cls != BUILDING_CLASS:
                why = "no such city object" if cls is None else f"a {cls} object, not a building ({BUILDING_CLASS})"
                raise _bad("object_id", f"{clean['object_id']}: {why}")
            used = conn.execute(
                select(address_node.c.id).where(
                    address_node.c.object_id == clean["object_id"], address_node.c.state == "active"
                )
            ).first()
            if used is not None:
                raise ConflictError(f"city object {clean['object_id']} already has a standard address (node {used.id})")
        return parent

    def _record(self, conn: Connection, actor: Actor, wf: Workflow) -> dict[str, Any]:
        """Create the approved nodes (re-checked: the tree may have changed since the proposal)."""
        p = wf.payload
        self._check_target(conn, wf.kind, wf.parent_id, p)
        point = None if p.get("lon") is None else tree.check_point(p["lon"], p["lat"])
        if wf.kind in ("road_name", "compound_name"):
            level = "road" if wf.kind == "road_name" else "compound"
            node = self.addresses.create_in(
                conn, actor, NewNode(wf.parent_id, level, p["name"], point, aliases=tuple(p.get("aliases") or ()))
            )
            return {"node_ids": [node]}
        plates = [
            self.addresses.create_in(
                conn, actor, NewNode(wf.parent_id, "door_number", number, point, object_id=p.get("object_id"))
            )
            for number in p["numbers"]
        ]
        out: dict[str, Any] = {"node_ids": plates}
        if p.get("building_name"):
            out["building_id"] = self.addresses.create_in(
                conn, actor, NewNode(plates[0], "building", p["building_name"], point, object_id=p.get("object_id"))
            )
        return out
