"""The interchange CSV of standard addresses: import (a resumable job) and export.

Columns ``id,province,city,district,town,community,road,door_number,compound,building,unit,floor,room,lon,lat``;
UTF-8 (a BOM is tolerated) or GBK, detected. One row names one node, the deepest level filled in;
``id`` is the source system's own id, kept as the node's crosswalk (re-importing the same id finds
the same node). A bad row is reported (row, column, reason) and skipped; the others load.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, select

from citybase.domains.access import Actor, record_audit
from citybase.domains.addresses import tree
from citybase.domains.addresses.registry import AddressService, PathCache, _link
from citybase.domains.addresses.tree import LEVELS, PARENT_LEVELS, NewNode, ParentInfo
from citybase.domains.jobs import JobContext, actor_params, job_actor
from citybase.kernel.errors import CityBaseError, InvalidInputError, Issue
from citybase.standards import divisions
from citybase.store.address_tables import address_node

JOB_KIND = "addresses.import_csv"
COLUMNS = ("id", *LEVELS, "lon", "lat")
CHUNK = 500
MAX_REPORTED = 1000
ENCODINGS = ("utf-8", "gbk")


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # line in the file (the header is line 1)
    source_id: str | None
    path: tuple[tuple[str, str], ...]  # (level, name), root first
    lon: float | None
    lat: float | None


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    encoding: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, issues: list[Issue]) -> None:
        self.failed += 1
        room = MAX_REPORTED - len(self.errors)
        self.errors += [i.as_dict() for i in issues[: max(0, room)]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "encoding": self.encoding,
            "errors": self.errors,
        }


# --- reading ---------------------------------------------------------------------------------------


_UNREADABLE = "\x00unreadable"


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding: ``utf-8`` (BOM tolerated), ``gbk``, or ``mixed``.

    A file with both UTF-8 and GBK lines (two exports pasted together) is read line by line, each line
    in its own encoding; a line that is neither becomes a row error, not a failed file.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8 = [_utf8_text(line) for line in lines]
    encoding = "mixed" if any(utf8) else "gbk"
    if encoding == "gbk":
        try:
            return data.decode("gbk"), "gbk"
        except UnicodeDecodeError:
            pass  # read line by line: only the bad lines fail
    out = []
    for line, as_utf8 in zip(lines, utf8, strict=True):
        if as_utf8 is not None:
            out.append(as_utf8)
            continue
        try:
            out.append(line.decode("gbk"))
        except UnicodeDecodeError:
            out.append(_UNREADABLE)
    if out[0] == _UNREADABLE:
        raise InvalidInputError(
            "file is neither UTF-8 nor GBK", issues=[Issue("file", "the header line is neither UTF-8 nor GBK", 1)]
        )
    return "\n".join(out), encoding


def _utf8_text(line: bytes) -> str | None:
    """The line as UTF-8 when it is valid UTF-8 with non-ASCII text in it (pure ASCII proves nothing)."""
    if line.isascii():
        return None
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_rows(text: str) -> tuple[list[Row], list[Issue], int]:
    """Parse and check every row; returns good rows, issues of bad rows (with the header's) and the row count.

    Raises when the header lacks a column: then no row can be read.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InvalidInputError("empty file", issues=[Issue("file", "no header row", 1)])
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInputError(
            "missing columns", issues=[Issue(c, "missing column in the header", 1) for c in missing]
        )
    issues = [
        Issue(h or f"column {i + 1}", "unknown column, ignored", 1) for i, h in enumerate(names) if h not in COLUMNS
    ]
    index = {c: names.index(c) for c in COLUMNS}
    rows: list[Row] = []
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte …
            count += 1
            issues.append(Issue("row", f"unreadable CSV: {exc}", reader.line_num))
            continue
        number = reader.line_num  # the line the record ends on (the header is line 1)
        if not cells or all(not c.strip() for c in cells):
            continue
        count += 1
        if cells[0] == _UNREADABLE:
            issues.append(Issue("row", "the bytes of this line are neither UTF-8 nor GBK", number))
            continue
        try:
            rows.append(parse_row(number, cells, len(names), index))
        except InvalidInputError as exc:
            issues += exc.issues
    return rows, issues, count


def parse_row(number: int, cells: list[str], width: int, index: dict[str, int]) -> Row:
    if len(cells) != width:
        what = "extra" if len(cells) > width else "missing"
        raise InvalidInputError(
            "bad row", issues=[Issue("row", f"{what} columns: {len(cells)} cells where the header has {width}", number)]
        )
    value = {c: cells[i].strip() for c, i in index.items()}
    problems: list[Issue] = []
    path: list[tuple[str, str]] = []
    for level in LEVELS:
        if value[level]:
            try:
                path.append((level, tree.check_name(value[level], number, level)))
            except InvalidInputError as exc:
                problems += exc.issues
    problems += _path_issues([lv for lv, _ in path], number)
    lon, lat = _coordinates(value["lon"], value["lat"], number, problems)
    source_id = value["id"] or None
    if source_id is not None and len(source_id) > 100:
        problems.append(Issue("id", "at most 100 characters", number))
    if problems:
        raise InvalidInputError("bad row", issues=problems)
    return Row(number, source_id, tuple(path), lon, lat)


def _path_issues(levels: list[str], number: int) -> list[Issue]:
    if not levels:
        return [Issue("row", "no address level is filled in", number)]
    deep = [lv for lv in levels if LEVELS.index(lv) > LEVELS.index("district")]
    if deep and "district" not in levels:
        return [Issue("district", "missing: every address below a district names its district", number)]
    inside = [lv for lv in levels if lv in ("unit", "floor", "room")]
    if inside and "building" not in levels:
        return [Issue(inside[-1], f"a {inside[-1]} needs its building: the building column is empty", number)]
    for upper, lower in pairwise(levels):
        if upper in ("province", "city") and lower in ("city", "district"):
            continue
        if upper not in PARENT_LEVELS[lower]:
            return [
                Issue(
                    lower, f"a {lower} cannot hang under a {upper} (allowed: {'/'.join(PARENT_LEVELS[lower])})", number
                )
            ]
    return []


def _coordinates(lon_text: str, lat_text: str, number: int, problems: list[Issue]) -> tuple[float | None, float | None]:
    if not lon_text and not lat_text:
        return None, None
    if not lon_text or not lat_text:
        problems.append(Issue("lat" if lon_text else "lon", "give both lon and lat, or neither", number))
        return None, None
    try:
        lon, lat = float(lon_text), float(lat_text)
    except ValueError:
        problems.append(Issue("lon", f"not a number: {lon_text!r}, {lat_text!r}", number))
        return None, None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        problems.append(Issue("lon", "coordinates must be finite numbers", number))
        return None, None
    try:
        tree.check_point(lon, lat, number)
    except InvalidInputError as exc:
        problems += exc.issues
        return None, None
    return lon, lat


# --- loading -------------------------------------------------------------------------------------


class Loader:
    """Finds or creates the nodes of rows, one savepoint per row, with caches across rows."""

    def __init__(self, service: AddressService, actor: Actor, report: ImportReport) -> None:
        self.service = service
        self.actor = actor
        self.report = report
        self.parents: dict[int, ParentInfo] = {}
        self.roots: dict[str, tuple[int, str]] = {}  # level -> (node id, name) of province and city
        self.districts: dict[str, int] = {}

    def prepare(self, conn: Connection) -> None:
        by_code = self.service.ensure_divisions(conn, self.actor.name)
        q = select(address_node.c.id, address_node.c.level, address_node.c.name).where(
            address_node.c.id.in_(list(by_code.values()))
        )
        for r in conn.execute(q):
            if r.level == "district":
                self.districts[r.name] = int(r.id)
            else:
                self.roots[r.level] = (int(r.id), r.name)

    def load(self, conn: Connection, row: Row) -> None:
        try:
            with conn.begin_nested():
                self._load(conn, row)
        except CityBaseError as exc:
            self.parents.clear()  # the savepoint rolled back: cached children may name nodes that are gone
            self.report.fail(exc.issues or [Issue("row", exc.detail, row.number)])

    def _parent(self, conn: Connection, node_id: int) -> ParentInfo:
        if node_id not in self.parents:
            info = tree.parent_info(conn, node_id)
            tree.load_children(conn, info)
            self.parents[node_id] = info
        return self.parents[node_id]

    def _load(self, conn: Connection, row: Row) -> None:
        parts = dict(row.path)
        for level in ("province", "city"):
            node_id, name = self.roots[level]
            if parts.get(level, name) != name:
                raise InvalidInputError(
                    "bad row",
                    issues=[Issue(level, f"unknown {level} {parts[level]!r}: this platform serves {name}", row.number)],
                )
        path = [(lv, nm) for lv, nm in row.path if lv not in ("province", "city")]
        if not path:  # the row names the province or the city itself
            self._finish(conn, row, self.roots["city" if "city" in parts else "province"][0], None)
            return
        district = self.districts.get(path[0][1])
        if district is None:
            raise InvalidInputError(
                "bad row",
                issues=[
                    Issue(
                        "district",
                        f"unknown district {path[0][1]!r} (known: {', '.join(sorted(self.districts))})",
                        row.number,
                    )
                ],
            )
        node_id, created = district, 0
        for level, name in path[1:-1]:
            node_id, made = self._child(conn, node_id, level, name, None, None)
            created += made
        if len(path) == 1:
            self._finish(conn, row, district, None)
            return
        level, name = path[-1]
        self._finish(conn, row, node_id, (level, name), created)

    def _child(
        self, conn: Connection, parent_id: int, level: str, name: str, source_id: str | None, point: Any
    ) -> tuple[int, int]:
        parent = self._parent(conn, parent_id)
        found = parent.names.get((level, name))
        if found is not None:
            return found, 0
        code = _division_code(parent, level, name)
        [new_id] = tree.insert_nodes(
            conn,
            self.actor.name,
            [NewNode(parent_id, level, name, point, division_code=code, source_id=source_id)],
            self.parents,
            self.service.template,
        )
        return new_id, 1

    def _finish(
        self, conn: Connection, row: Row, parent_id: int, leaf: tuple[str, str] | None, created: int = 0
    ) -> None:
        point = None if row.lon is None or row.lat is None else tree.check_point(row.lon, row.lat, row.number)
        known = self._by_source(conn, row.source_id)
        renamed = False
        if leaf is None:
            node_id = parent_id
        elif known is not None:
            node_id, renamed = self._matched(conn, row, known, parent_id, leaf)
        else:
            node_id, made = self._child(conn, parent_id, leaf[0], leaf[1], row.source_id, point)
            if made:
                self.report.created += created + 1
                return
        self.report.created += created
        if self._update(conn, row, node_id, point) or renamed:
            self.report.updated += 1
        else:
            self.report.unchanged += 1

    def _by_source(self, conn: Connection, source_id: str | None) -> Any:
        if source_id is None:
            return None
        return conn.execute(select(address_node).where(address_node.c.source_id == source_id)).first()

    def _matched(
        self, conn: Connection, row: Row, known: Any, parent_id: int, leaf: tuple[str, str]
    ) -> tuple[int, bool]:
        """A row whose id is already imported: same parent and level (a new name renames), else an error."""
        if known.parent_id != parent_id or known.level != leaf[0]:
            raise InvalidInputError(
                "bad row",
                issues=[
                    Issue(
                        "id",
                        f"id {row.source_id!r} was imported as node "
                        f"{known.id}, a {known.level} elsewhere in the tree; "
                        "an import does not move addresses",
                        row.number,
                    )
                ],
            )
        if known.name == leaf[1]:
            return int(known.id), False
        self.service.rename_in(conn, self.actor, int(known.id), leaf[1])
        parent = self._parent(conn, parent_id)
        parent.names.pop((known.level, known.name), None)
        parent.names[(known.level, leaf[1])] = int(known.id)
        return int(known.id), True

    def _update(self, conn: Connection, row: Row, node_id: int, point: Any) -> bool:
        node = conn.execute(
            select(address_node.c.source_id, address_node.c.point).where(address_node.c.id == node_id)
        ).one()
        values: dict[str, Any] = {}
        if row.source_id is not None and node.source_id != row.source_id:
            if node.source_id is not None:
                raise InvalidInputError(
                    "bad row",
                    issues=[
                        Issue(
                            "id", f"this address (node {node_id}) was imported with id {node.source_id!r}", row.number
                        )
                    ],
                )
            values["source_id"] = row.source_id
        if point is not None and (node.point is None or not node.point.equals_exact(point, 1e-9)):
            values["point"] = point
        if values:
            tree.change_node(conn, self.actor.name, node_id, "update", **values)
        return bool(values)


def _division_code(parent: ParentInfo, level: str, name: str) -> str | None:
    """The NBS code of a town or community found by name under its parent division, if any."""
    if level not in ("town", "community") or not parent.division_code or parent.level not in ("district", "town"):
        return None
    wanted = {name, _short(name)}
    for d in divisions.children(_code_of(parent.division_code, parent.level), "NBS"):
        if d.name in wanted or _short(d.name) in wanted:
            return d.code12
    return None


def _code_of(code12: str, level: str) -> str:
    return code12[:6] if level == "district" else code12[:9] if level == "town" else code12


_COMMITTEE = ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "村民委员会", "村委会")


def _short(name: str) -> str:
    """檀溪社区居委会 -> 檀溪社区, 张岗村村民委员会 -> 张岗村 (the name used in addresses)."""
    for tail in _COMMITTEE:
        if name.endswith(tail) and len(name) > len(tail):
            stem = name[: -len(tail)]
            if tail.startswith("社区") or stem.endswith(("社区", "村")):
                return stem if not tail.startswith("社区") else stem + "社区"
            return stem + ("村" if tail.startswith("村") else "社区")
    return name


community_name = _short


def import_text(
    service: AddressService, actor: Actor, text: str, encoding: str, ctx: JobContext | None = None
) -> ImportReport:
    rows, issues, count = read_rows(text)
    report = ImportReport(rows=count, encoding=encoding)
    if encoding == "mixed":
        report.errors.append(
            Issue("file", "the file mixes UTF-8 and GBK lines; each line was read in its own encoding", 1).as_dict()
        )
    for issue in issues:
        if issue.record == 1:
            report.errors.append(issue.as_dict())
    bad_rows = sorted({int(i.record) for i in issues if i.record is not None and i.record != 1})
    for n in bad_rows:
        report.fail([i for i in issues if i.record == n])
    start = int(ctx.checkpoint.get("next", 0)) if ctx else 0
    if ctx and start:
        report = ImportReport(**{**ctx.checkpoint["report"], "errors": list(ctx.checkpoint["report"]["errors"])})
    loader = Loader(service, actor, report)
    with service.store.write() as conn:
        service.require_recorder(conn, actor)
        loader.prepare(conn)
    if ctx:
        ctx.progress(start, len(rows), "importing addresses")
    for lo in range(start, len(rows), CHUNK):
        hi = min(lo + CHUNK, len(rows))
        with service.store.write() as conn:
            for row in rows[lo:hi]:
                loader.load(conn, row)
            if ctx:
                ctx.save_checkpoint(conn, {"next": hi, "report": report.as_dict()}, done=hi)
        if ctx:
            ctx.progress(hi, len(rows))
    with service.store.write() as conn:
        summary = {k: v for k, v in report.as_dict().items() if k != "errors"}
        record_audit(conn, actor, "address.import", "address_import", str(ctx.job_id) if ctx else None, detail=summary)
    return report


def make_handler(service: AddressService) -> Any:
    def handle(ctx: JobContext) -> dict[str, Any]:
        text, encoding = decode(Path(ctx.params["path"]).read_bytes())
        return import_text(service, job_actor(ctx), text, encoding, ctx).as_dict()

    return handle


def job_params(actor: Actor, path: Path) -> dict[str, Any]:
    return {"path": str(path), **actor_params(actor)}


# --- export --------------------------------------------------------------------------------------


def iter_rows(service: AddressService, *, batch: int = 10_000) -> Iterator[list[str]]:
    """One row per active node, parents before children; ``id`` is its source id, else its display code."""
    cache = PathCache()
    last = 0
    cols = (
        address_node.c.id,
        address_node.c.parent_id,
        address_node.c.level,
        address_node.c.name,
        address_node.c.point,
        address_node.c.grid,
        address_node.c.source_id,
        address_node.c.display_code,
    )
    while True:
        q = select(*cols).where(address_node.c.state == "active", address_node.c.id > last)
        with service.store.read() as conn:
            rows = [r._mapping for r in conn.execute(q.order_by(address_node.c.id).limit(batch))]
            if not rows:
                return
            cache.fill(conn, (r["parent_id"] for r in rows))
        for r in rows:
            link = _link(r)
            parts = cache.record(link, None, None, ()).parts
            lon = "" if link.lon is None else repr(link.lon)
            lat = "" if link.lat is None else repr(link.lat)
            yield [r["source_id"] or r["display_code"], *(parts.get(lv, "") for lv in LEVELS), lon, lat]
        last = rows[-1]["id"]


def write_csv(service: AddressService, out: TextIO, progress: Any = None) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = 0
    for n, row in enumerate(iter_rows(service), start=1):
        writer.writerow(row)
        if progress is not None and n % 5000 == 0:
            progress(n)
    return n


def export_file(service: AddressService, path: Path, encoding: str = "utf-8", progress: Any = None) -> int:
    """Write the tree to ``path``; with ``gbk`` a name GBK cannot encode fails with its row."""
    if encoding.lower() not in ENCODINGS:
        raise InvalidInputError("bad encoding", issues=[Issue("encoding", f"one of {ENCODINGS}")])
    buffer = io.StringIO()
    count = write_csv(service, buffer, progress)
    text = buffer.getvalue()
    try:
        data = text.encode(encoding.lower())
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise InvalidInputError(
            "cannot write GBK", issues=[Issue("name", f"{text[exc.start : exc.end]!r} has no GBK form", line)]
        ) from None
    path.write_bytes(data)
    return count
