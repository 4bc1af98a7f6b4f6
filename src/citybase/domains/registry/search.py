"""Registry search (三实查询): one box that recognises what was typed and finds it in the registries.

- an 18-character citizen ID (公民身份号码, valid check character) → the person, only for callers who may
  read personal data (role, grant or grid); everyone else is told so and sees nothing;
- an 18-character USCC (统一社会信用代码, validated) → the organisation;
- a 21-character unified object code (统一识别代码) → the city object and its standard address;
- an address display code (地址编码) → that address;
- anything else → standard addresses (the matcher's geocode) and organisations by name.

Every hit carries ``links`` to the portal pages (house card, organisation, person search, public plate page).
Results are masked exactly as the registries mask them; this module adds no access of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from citybase.domains.access import Actor
from citybase.domains.addresses import AddressMatcher, AddressRecord, AddressService
from citybase.domains.codes import CodeService
from citybase.domains.registry.houses import require_reader
from citybase.domains.registry.org_service import OrgService
from citybase.domains.registry.people import PeopleService
from citybase.domains.registry.remit import may_search_names
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError, PermissionDeniedError
from citybase.standards.unified_code import CODE_LENGTH
from citybase.standards.validators import validate_citizen_id, validate_uscc
from citybase.store.address_tables import address_node

MAX_QUERY = 100
HOUSE_LEVELS = ("building", "unit", "floor", "room")  # nodes a house card is kept for
PERSON_DENIED = (
    "身份证号查询仅限有权查看个人信息的角色（授权部门、网格员、管理员）。"
    " / Searching by ID number is only for roles allowed to see personal data."
)


@dataclass(slots=True)
class SearchResult:
    query: str
    kind: str  # person | uscc | object_code | display_code | text
    items: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None  # why nothing is shown (not allowed, invalid code)
    issues: list[dict[str, Any]] = field(default_factory=list)  # what is wrong with a code-shaped query

    def as_dict(self) -> dict[str, Any]:
        return {
            "q": self.query,
            "kind": self.kind,
            "count": len(self.items),
            "items": self.items,
            "message": self.message,
            "issues": self.issues,
        }


def classify(text: str) -> str:
    """What the query looks like: person (17 digits + digit/X that is no valid USCC), uscc (other 18 letters
    and digits), object_code (21), display_code (letters and digits with a digit, 6-40), or text."""
    q = text.strip().upper()
    if len(q) == 18 and q[:17].isdigit() and (q[17].isdigit() or q[17] == "X"):
        try:
            validate_citizen_id(q)
            return "person"
        except InvalidInputError:
            pass
        try:
            validate_uscc(q)
            return "uscc"
        except InvalidInputError:  # neither: a birth date at positions 7-14 makes it a mistyped ID
            return "person" if _birth_date(q[6:14]) else "uscc"
    if len(q) == 18 and q.isalnum() and q.isascii():
        return "uscc"
    if len(q) == CODE_LENGTH and q.isalnum() and q.isascii():
        return "object_code"
    if 6 <= len(q) <= 40 and q.isascii() and q.replace("-", "").isalnum() and any(c.isdigit() for c in q):
        return "display_code"
    return "text"


def _birth_date(digits: str) -> bool:
    try:
        return date(1900, 1, 1) <= date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) <= date.today()
    except ValueError:
        return False


class RegistrySearch:
    def __init__(
        self,
        addresses: AddressService,
        matcher: AddressMatcher,
        codes: CodeService,
        orgs: OrgService,
        people: PeopleService,
    ) -> None:
        self.addresses, self.matcher, self.codes, self.orgs, self.people = addresses, matcher, codes, orgs, people

    def search(self, actor: Actor, text: str, *, limit: int = 20) -> SearchResult:
        require_reader(actor)
        q = (text or "").strip()
        if not q or len(q) > MAX_QUERY:
            raise InvalidInputError("bad search", issues=[Issue("q", f"1-{MAX_QUERY} characters required")])
        kind = classify(q)
        result = SearchResult(q, kind)
        if kind == "person":
            self._person(actor, q.upper(), result)
        elif kind == "uscc":
            self._uscc(actor, q.upper(), result)
        elif kind == "object_code":
            self._object(q.upper(), result)
        elif kind == "display_code":
            self._display_code(q, result)
            if not result.items:  # a number-like text that is no code: search it as text
                result.kind = "text"
                self._text(actor, q, result, limit)
        else:
            self._text(actor, q, result, limit)
        return result

    # --- one function per kind --------------------------------------------------------------------
    def _person(self, actor: Actor, number: str, result: SearchResult) -> None:
        try:
            validate_citizen_id(number)
        except InvalidInputError as exc:
            result.message, result.issues = exc.detail, [i.as_dict() for i in exc.issues]
            return
        remit = self.people.remit(actor)
        try:
            with self.people.store.read() as conn:
                may_search_names(conn, actor, remit)  # the same rule as a name search
        except PermissionDeniedError:
            result.message = PERSON_DENIED
            return
        found = self.people.search(actor, id_number=number, limit=5)
        if not found:
            result.message = "no person with this ID number (in what you may see) / 未找到该身份证号的人员"
        for p in found:
            home = (p.get("home") or {}).get("address_node_id")
            record = self._records([home]).get(home) if home is not None else None
            result.items.append(
                {
                    "type": "person",
                    "id": p["id"],
                    "title": p["name"],
                    "id_number": p["id_number"],
                    "subtitle": " · ".join(str(x) for x in (p["id_number"], p.get("residence_type")) if x),
                    "address": record.full_address if record else None,
                    "links": {
                        "person": f"/portal/people.html?node={home}" if home is not None else "/portal/people.html",
                        **(_address_links(record) if record else {}),
                    },
                }
            )

    def _uscc(self, actor: Actor, code: str, result: SearchResult) -> None:
        try:
            validate_uscc(code)
        except InvalidInputError as exc:
            result.message = exc.detail
            result.issues = [i.as_dict() for i in exc.issues]
            return
        try:
            card = self.orgs.by_uscc(actor, code)
        except NotFoundError:
            result.message = f"no organisation with USCC {code} / 未找到该统一社会信用代码的单位"
            return
        sites = sorted(
            (s for s in card.get("sites", []) if not s.get("until")), key=lambda s: s.get("kind") != "operating"
        )  # where it operates before where it registered
        result.items.append(self._org_item(card, [s["address_node_id"] for s in sites]))

    def _object(self, code: str, result: SearchResult) -> None:
        try:
            card = self.codes.resolve(code)
        except (InvalidInputError, NotFoundError) as exc:
            result.message = exc.detail
            result.issues = [i.as_dict() for i in exc.issues]
            return
        with self.addresses.store.read() as conn:
            node = conn.execute(
                select(address_node.c.id).where(
                    address_node.c.object_id == card.object_id, address_node.c.state == "active"
                )
            ).scalar()
        record = self._records([node]).get(int(node)) if node is not None else None
        result.items.append(
            {
                "type": "object",
                "id": card.object_id,
                "code": card.code,
                "title": card.name,
                "subtitle": " · ".join(x for x in (card.code, card.class_name, card.code_state) if x),
                "address": record.full_address if record else card.address,
                "links": {"code": f"/portal/code.html?code={card.code}", **(_address_links(record) if record else {})},
            }
        )

    def _display_code(self, q: str, result: SearchResult) -> None:
        with self.addresses.store.read() as conn:
            node = conn.execute(select(address_node.c.id).where(address_node.c.display_code == q)).scalar()
        if node is not None:
            result.items.append(_address_item(self._records([int(node)])[int(node)]))

    def _text(self, actor: Actor, q: str, result: SearchResult, limit: int) -> None:
        m = self.matcher.match(q, limit=min(limit, 10))
        ids = [c.node_id for c in m.result.candidates]
        records = self._records(ids)
        scores = {c.node_id: c.score for c in m.result.candidates}
        result.items += [{**_address_item(records[i]), "score": round(scores[i], 3)} for i in ids if i in records]
        try:
            orgs = self.orgs.search(actor, q, limit=limit)
        except InvalidInputError:
            orgs = []
        for org in orgs:
            result.items.append(self._org_item(org, []))

    # --- helpers ----------------------------------------------------------------------------------
    def _records(self, ids: list[Any]) -> dict[int, AddressRecord]:
        return self.addresses.records([int(i) for i in ids if i is not None])

    def _org_item(self, org: dict[str, Any], site_nodes: list[int]) -> dict[str, Any]:
        records = self._records(site_nodes)
        first = records.get(site_nodes[0]) if site_nodes else None
        return {
            "type": "org",
            "id": org["id"],
            "title": org["name"],
            "uscc": org["uscc"],
            "subtitle": " · ".join(str(x) for x in (org["uscc"], org["type"], org["status"]) if x),
            "address": first.full_address if first else org.get("registered_address"),
            "links": {"org": f"/portal/registry.html?org={org['id']}", **(_address_links(first) if first else {})},
        }


def _address_links(record: AddressRecord) -> dict[str, str]:
    links = {"tree": f"/portal/addresses.html?node={record.id}"}
    if record.display_code:
        links["plate"] = f"/a/{record.display_code}"
    if record.level in HOUSE_LEVELS:
        links["house"] = f"/portal/house.html?node={record.id}"
    elif record.level in ("door_number", "compound"):
        links["house"] = f"/portal/house.html?q={record.id}"  # the card lists the buildings to pick from
    return links


def _address_item(record: AddressRecord) -> dict[str, Any]:
    return {
        "type": "address",
        "id": record.id,
        "title": record.full_address,
        "level": record.level,
        "display_code": record.display_code,
        "subtitle": " · ".join(x for x in (record.display_code, record.community) if x),
        "links": _address_links(record),
    }
