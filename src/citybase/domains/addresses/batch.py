"""Batch matching of a file as a job: text (one address a line) or CSV with an ``address`` column.

The file may be UTF-8 (with or without BOM) or GBK/GB 18030; the result is a UTF-8 CSV with a BOM (so
spreadsheet programs in Chinese locales open it right) with one row per input row, in input order. A
bad row (empty, absurd, too long, a CSV row with missing or extra cells) gets ``status = error`` and
its reason, and is listed in the job result's ``row_errors``; it never stops the batch.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citybase.domains.addresses.matching import AddressMatcher, Matched
from citybase.domains.jobs import JobContext, JobFailed
from citybase.kernel.errors import CityBaseError, Issue

MATCH_FILE_JOB = "addresses.match_file"
OUTPUT_COLUMNS = (
    "row",
    "input",
    "status",
    "matched_id",
    "node_id",
    "full_address",
    "level",
    "score",
    "lon",
    "lat",
    "explanation",
)
ADDRESS_COLUMNS = ("address", "地址")
CHUNK = 500
MAX_ROW_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class InputRow:
    row: int  # 1-based data row (a CSV's header is row 0)
    text: str | None
    error: str | None = None


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 first, then GB 18030 (a superset of GBK)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise JobFailed("cannot read the file", issues=[Issue("file", f"neither UTF-8 nor GBK: {exc}")]) from None


def _is_csv(name: str, first_line: str) -> bool:
    if name.lower().endswith(".csv"):
        return True
    cells = [c.strip().lower() for c in next(csv.reader([first_line]), [])]
    return len(cells) > 1 and any(c in ADDRESS_COLUMNS for c in cells)


def read_rows(text: str, name: str) -> list[InputRow]:
    """Input rows of a text or CSV file (see the module doc); :class:`JobFailed` when no address column."""
    lines = text.splitlines()
    if not lines:
        raise JobFailed("the file is empty", issues=[Issue("file", "no rows")])
    if not _is_csv(name, lines[0]):
        return [InputRow(i + 1, line) for i, line in enumerate(lines)]
    reader = csv.reader(io.StringIO(text))
    header = [c.strip().lstrip("\ufeff").lower() for c in next(reader)]
    col = next((i for i, c in enumerate(header) if c in ADDRESS_COLUMNS), None)
    if col is None:
        raise JobFailed("no address column", issues=[Issue("address", f"missing; the columns are {header}")])
    out = []
    for i, cells in enumerate(reader, start=1):
        if not cells:
            out.append(InputRow(i, None, "empty row"))
        elif len(cells) != len(header):
            out.append(
                InputRow(
                    i,
                    cells[col] if col < len(cells) else None,
                    f"{len(cells)} cells, the header has {len(header)} (quote an address that contains a comma)",
                )
            )
        else:
            out.append(InputRow(i, cells[col]))
    return out


def output_row(row: InputRow, answer: Matched | Exception | None) -> list[Any]:
    if row.error is not None or answer is None:
        return [row.row, row.text or "", "error", "", "", "", "", "", "", "", row.error or ""]
    if isinstance(answer, Exception):
        reason = "; ".join(i.reason for i in answer.issues) if isinstance(answer, CityBaseError) else str(answer)
        detail = answer.detail if isinstance(answer, CityBaseError) else type(answer).__name__
        return [row.row, row.text or "", "error", "", "", "", "", "", "", "", f"{detail}: {reason}"]
    r, rec = answer.result, answer.record
    return [
        row.row,
        answer.text,
        r.status,
        answer.matched_id or "",
        r.best.node_id if r.best else "",
        rec.full_address if rec is not None else "",
        r.level or "",
        f"{r.score:.4f}",
        "" if r.best is None or r.best.lon is None else r.best.lon,
        "" if r.best is None or r.best.lat is None else r.best.lat,
        r.explanation,
    ]


def match_rows(matcher: AddressMatcher, rows: list[InputRow]) -> Iterator[tuple[InputRow, Matched | Exception | None]]:
    texts = [r.text for r in rows if r.error is None]
    answers = iter(matcher.match_many(texts))
    for r in rows:
        yield r, (None if r.error is not None else next(answers))


def match_file(matcher: AddressMatcher, ctx: JobContext) -> dict[str, Any]:
    """The job handler: read ``params.input``, write ``params.output``, report progress per chunk."""
    params = ctx.params
    text, encoding = decode(Path(params["input"]).read_bytes())
    rows = read_rows(text, params.get("name") or params["input"])
    matcher.index()  # build (or refresh) the index before the clock of the first chunk starts
    counts: Counter[str] = Counter()
    row_errors: list[dict[str, Any]] = []
    out_path = Path(params["output"])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(OUTPUT_COLUMNS)
        ctx.progress(0, len(rows), "matching")
        for start in range(0, len(rows), CHUNK):
            for row, answer in match_rows(matcher, rows[start : start + CHUNK]):
                line = output_row(row, answer)
                counts[line[2]] += 1
                if line[2] == "error" and len(row_errors) < MAX_ROW_ERRORS:
                    row_errors.append(Issue("address", str(line[-1]), record=row.row).as_dict())
                writer.writerow(line)
            ctx.progress(min(start + CHUNK, len(rows)), len(rows))
    tmp.replace(out_path)  # the result appears whole or not at all
    return {
        "rows": len(rows),
        "encoding": encoding,
        "output": str(out_path),
        "counts": dict(counts),
        "row_errors": row_errors,
    }
