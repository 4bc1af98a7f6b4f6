"""Loading people from a department's CSV (UTF-8 or GBK): one bad row never stops the import; every
rejected row is reported with its line number, field and reason. Rows are written in chunks, each its
own transaction: the plain rows of a chunk in bulk, the rest one by one (``people_import_bulk``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.access import Actor
from citybase.domains.registry import households as hh
from citybase.domains.registry import people_import_bulk as bulk
from citybase.domains.registry.people import PeopleService
from citybase.kernel.errors import InvalidInputError, Issue
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
    committed: int = 1  # the last CSV line whose chunk is committed (1: the header, nothing yet)


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


CHUNK = 2_000  # rows per transaction: one bulk write, and the unit a rerun resumes from


def import_people(
    people: PeopleService,
    actor: Actor,
    rows: list[dict[str, str]],
    *,
    chunk: int | None = None,
    from_row: int = 2,
    progress: Callable[[ImportReport], None] | None = None,
    resume: ImportReport | None = None,
    checkpoint: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Register the people of ``rows`` (CSV line ``n`` is ``rows[n - 2]``), ``chunk`` rows per transaction
    (default ``CHUNK``).

    Each chunk commits on its own, so an interrupted import loses at most the chunk in flight and resumes
    with ``from_row`` = the line after ``report.committed`` (or with ``resume``, the report of the
    interrupted run, which it goes on adding to). Rows that need the one-by-one path (a bad row, a
    household that exists already, a citizen ID twice) take it inside their chunk; the others are written
    in bulk (``people_import_bulk``). ``chunk=0`` imports every row one by one (the reference the tests
    hold the bulk path to). ``checkpoint`` runs inside each chunk's transaction with the report as it will
    be once the chunk commits (a job saves it there, so a restart resumes exactly); ``progress`` gets the
    report after each commit."""
    chunk = CHUNK if chunk is None else chunk
    report = resume if resume is not None else ImportReport(committed=from_row - 1)
    numbered = [(n, _payload(row)) for n, row in enumerate(rows, start=2) if n > report.committed]
    size = chunk if chunk > 0 else max(len(numbered), 1)
    for i in range(0, len(numbered), size):
        part = numbered[i : i + size]
        with people.store.write() as conn:
            errors = bulk.import_chunk(
                conn, people.personal, actor, part, lambda c, n, pl: _one_row(people, c, actor, n, pl), chunk > 0
            )
            after = ImportReport(  # a new report: the one before stays true if this chunk fails
                rows=report.rows + len(part),
                registered=report.registered + len(part) - len(errors),
                errors=report.errors + [i for n, exc in errors for i in exc.issues or [Issue("row", exc.detail, n)]],
                committed=part[-1][0],
            )
            if checkpoint is not None:
                checkpoint(conn, after)
        report = after
        if progress is not None:
            progress(report)
    return report


def _payload(row: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v and k in COLUMNS}


def _one_row(people: PeopleService, conn: Connection, actor: Actor, number: int, row: dict[str, Any]) -> None:
    """One row in its own savepoint, as it always was: a bad row raises and leaves nothing behind."""
    payload = dict(row)
    with conn.begin_nested():
        if "address_code" in payload and "address_node_id" not in payload:
            code = payload.pop("address_code")
            node = conn.execute(select(address_node.c.id).where(address_node.c.display_code == code)).scalar()
            if node is None:
                raise InvalidInputError(
                    "unknown address", issues=[Issue("address_code", f"no address with code {code}", number)]
                )
            payload["address_node_id"] = node
        if "household_number" in payload and "address_node_id" in payload:
            found = conn.execute(
                select(household.c.id).where(household.c.number == payload["household_number"])
            ).scalar()
            if found is None:  # a new household, founded at the row's dwelling
                found = hh.create_in(conn, actor, payload["address_node_id"], payload["household_number"], number).id
            payload["household_id"] = found
        people.apply_register(conn, actor, payload, record=number)
