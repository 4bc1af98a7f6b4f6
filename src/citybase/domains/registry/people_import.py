"""Loading people from a department's CSV (UTF-8 or GBK): one savepoint per row, so one bad row never
stops the batch; every rejected row is reported with its number, field and reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from citybase.domains.access import Actor
from citybase.domains.registry import households as hh
from citybase.domains.registry.people import PeopleService
from citybase.kernel.errors import CityBaseError, InvalidInputError, Issue
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household

COLUMNS = (
    "id_number",
    "name",
    "phone",
    "residence_type",
    "address_node_id",
    "address_code",
    "household_number",
    "relation",
    "move_in",
)
# Chinese headers departments use, mapped to ours.
HEADER_ALIASES = {
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "姓名": "name",
    "电话": "phone",
    "联系电话": "phone",
    "人口类型": "residence_type",
    "地址编码": "address_code",
    "户号": "household_number",
    "与户主关系": "relation",
    "迁入日期": "move_in",
    "地址节点": "address_node_id",
}


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    registered: int = 0
    errors: list[Issue] = field(default_factory=list)


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # GB 18030 is a superset of GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInputError("unreadable file", issues=[Issue("file", "neither UTF-8 nor GBK", str(path))])


def read_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    names = [HEADER_ALIASES.get((h or "").strip(), (h or "").strip()) for h in reader.fieldnames or []]
    if "id_number" not in names or "name" not in names:
        raise InvalidInputError(
            "bad CSV header", issues=[Issue("header", "needs id_number (身份证号) and name (姓名)", 1)]
        )
    return [{n: (v or "").strip() for n, v in zip(names, row.values(), strict=False) if n} for row in reader]


def import_people(people: PeopleService, actor: Actor, rows: list[dict[str, str]]) -> ImportReport:
    report = ImportReport()
    with people.store.write() as conn:
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            report.rows += 1
            payload: dict[str, Any] = {k: v for k, v in row.items() if v and k in COLUMNS}
            try:
                with conn.begin_nested():
                    if "address_code" in payload and "address_node_id" not in payload:
                        code = payload.pop("address_code")
                        node = conn.execute(
                            select(address_node.c.id).where(address_node.c.display_code == code)
                        ).scalar()
                        if node is None:
                            raise InvalidInputError(
                                "unknown address",
                                issues=[Issue("address_code", f"no address with code {code}", number)],
                            )
                        payload["address_node_id"] = node
                    if "household_number" in payload and "address_node_id" in payload:
                        found = conn.execute(
                            select(household.c.id).where(household.c.number == payload["household_number"])
                        ).scalar()
                        if found is None:
                            node_id, hh_number = payload["address_node_id"], payload["household_number"]
                            found = hh.create_in(conn, actor, node_id, hh_number).id
                        payload["household_id"] = found
                    people.apply_register(conn, actor, payload, record=number)
                report.registered += 1
            except CityBaseError as exc:
                report.errors += exc.issues or [Issue("row", exc.detail, number)]
    return report
