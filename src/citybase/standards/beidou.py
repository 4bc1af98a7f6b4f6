"""GB/T 39409-2020 北斗网格位置码 (BeiDou grid location code): 2D codes, reference and short codes.

Pure code, no I/O. The 3D code (Annex C) lives in :mod:`citybase.standards.beidou3d`.

Why integers: every cell edge of every level is a whole multiple of 1/2048″ (the level-10 cell), so a
point is converted **once** into integer *units* of 1/2048″ and all levels are derived from those
integers. Floating point never decides a digit, and the scalar and numpy paths agree bit for bit.

Decisions (see ``docs/beidou.md``):

- degrees → units: the exact binary value of the float times 7,372,800, rounded **down**, except that a
  value less than 2**-10 unit (≈ 5e-7″, 15 µm) below a whole unit snaps up to it, so an edge typed
  as decimal degrees or read back from :func:`decode` (whose floats are off by < 1e-7 unit) stays on
  its edge. A point on an edge belongs to the cell whose origin-nearest corner (定位角点) it lies on.
- lat = 0 (and -0.0) → ``N``; lng = 0 → east; lng = ±180 → column 60 / 01 (clamped);
  west column = 30 − floor(|lng| / 6°).
- every hemisphere is mirrored onto the north-east quadrant, no extra index flip (Figs. 3–8).
- |lat| ≥ 88° (after the snap) is rejected: the polar cells of §5.3 are not implemented.
- codes are read case-insensitively and always returned in upper case.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from citybase.kernel.errors import InvalidInputError, Issue

__all__ = [
    "MAX_LEVEL",
    "SNAP_BITS",
    "UNITS_PER_DEGREE",
    "Cell",
    "children",
    "decode",
    "decode_reference",
    "decode_short",
    "encode",
    "encode_many",
    "encode_reference",
    "encode_short",
    "neighbours",
    "parent",
    "shift",
]

UNITS_PER_DEGREE: Final = 3600 * 2048
"""One unit = 1/2048″ = the level-10 cell; 7,372,800 units per degree."""
SNAP_BITS: Final = 10
"""Values within 2**-SNAP_BITS unit below a whole unit snap up to it (see module docstring)."""
MAX_LEVEL: Final = 10

_K = UNITS_PER_DEGREE
_POLAR = 88 * _K
_LNG_MAX = 180 * _K - 1  # lng = ±180° is clamped into the last column
# Cell size in units per level (index = level; 0 unused).
_DX: Final = (0, 6 * _K, 1800 * 2048, 900 * 2048, 60 * 2048, 4 * 2048, 2 * 2048, 512, 64, 8, 1)
_DY: Final = (0, 4 * _K, 1800 * 2048, 600 * 2048, 60 * 2048, 4 * 2048, 2 * 2048, 512, 64, 8, 1)
# Columns × rows of a cell inside its parent (levels 2..10).
_NI: Final = (0, 0, 12, 2, 15, 15, 2, 8, 8, 8, 8)
_NJ: Final = (0, 0, 8, 3, 10, 15, 2, 8, 8, 8, 8)
_CODE_LEN: Final = (1, 4, 6, 7, 9, 11, 12, 14, 16, 18, 20)
_ZORDER: Final = frozenset({3, 6})  # levels written as one digit 2·j + i
_HEX: Final = "0123456789ABCDEF"
_ROWS: Final = "ABCDEFGHIJKLMNOPQRSTUV"
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SIZE_TEXT: Final = ("", "6°×4°", "30′", "15′×10′", "1′", "4″", "2″", "1/4″", "1/32″", "1/256″", "1/2048″")


def _level_spec(level: int) -> tuple[tuple[str, str], ...]:
    """Allowed characters and meaning of each character a level adds to a 2D code."""
    if level == 1:
        return (
            ("0123456", "level-1 column, tens digit (columns 01–60)"),
            ("0123456789", "level-1 column, units digit (columns 01–60)"),
            (_ROWS, "level-1 row letter (A–V: 4° bands from the equator up to 88°)"),
        )
    size = _SIZE_TEXT[level]
    if level in _ZORDER:
        n = _NI[level] * _NJ[level]
        return ((_HEX[:n], f"level-{level} Z-order digit (0–{_HEX[n - 1]}: 2·row + column)"),)
    ni, nj = _NI[level], _NJ[level]
    return (
        (_HEX[:ni], f"level-{level} longitude index (0–{_HEX[ni - 1]}: {ni} columns of {size})"),
        (_HEX[:nj], f"level-{level} latitude index (0–{_HEX[nj - 1]}: {nj} rows of {size})"),
    )


_LEVEL_SPECS: Final = tuple(() if lv == 0 else _level_spec(lv) for lv in range(MAX_LEVEL + 1))
_SPEC_2D: Final = (
    ("NS", "hemisphere letter (N or S)"),
    *(item for lv in range(1, MAX_LEVEL + 1) for item in _LEVEL_SPECS[lv]),
)


@dataclass(frozen=True, slots=True)
class Cell:
    """A decoded 2D cell. Degrees are real (west/south negative), not mirrored.

    ``bounds`` = (west, south, east, north); ``corner`` = the 定位角点, the corner nearest the
    equator / prime meridian, which is the point the code was computed from.
    """

    code: str
    level: int
    bounds: tuple[float, float, float, float]
    center: tuple[float, float]
    corner: tuple[float, float]

    def contains(self, lng: float, lat: float) -> bool:
        """True if the point encodes to this cell (same edge and snap rule as :func:`encode`)."""
        try:
            return encode(lng, lat, self.level) == self.code
        except InvalidInputError:
            return False


@dataclass(frozen=True, slots=True)
class _Parsed:
    code: str
    level: int
    north: bool
    east: bool
    x: int  # mirrored corner, units
    y: int
    idx: tuple[tuple[int, int], ...]  # (i, j) of levels 2..level


# --------------------------------------------------------------------------------------------------
# errors and input checks


def _bad(detail: str, field: str, reason: str, record: int | None = None) -> InvalidInputError:
    return InvalidInputError(detail, issues=[Issue(field=field, reason=reason, record=record)])


def _check_level(level: object, field: str = "level") -> int:
    if isinstance(level, bool) or not isinstance(level, numbers.Integral):
        raise _bad("Invalid BeiDou grid level", field, f"level must be an integer 1–10, got {level!r}")
    lv = operator.index(level)
    if not 1 <= lv <= MAX_LEVEL:
        raise _bad("Invalid BeiDou grid level", field, f"level must be 1–10, got {lv}")
    return lv


def _real(value: object, field: str, record: int | None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _bad("Cannot encode the point", field, f"{field} must be a number, got {value!r}", record)
    v = float(value)
    if math.isnan(v):
        raise _bad("Cannot encode the point", field, f"{field} is NaN", record)
    return v


def _to_units(a: float) -> int:
    """Non-negative degrees → units: floor of the exact value, snapping up within 2**-SNAP_BITS."""
    p, q = a.as_integer_ratio()
    u, rem = divmod(p * _K, q)
    if rem and (q - rem) << SNAP_BITS <= q:
        u += 1
    return u


def _point(lng: object, lat: object, record: int | None = None) -> tuple[bool, bool, int, int]:
    """Validate a point; return (north, east, x, y) in mirrored units."""
    flng, flat = _real(lng, "lng", record), _real(lat, "lat", record)
    if not -180.0 <= flng <= 180.0:
        raise _bad("Cannot encode the point", "lng", f"longitude {flng} is outside −180…180", record)
    if not -90.0 <= flat <= 90.0:
        raise _bad("Cannot encode the point", "lat", f"latitude {flat} is outside −90…90", record)
    y = _to_units(abs(flat)) if abs(flat) < 88.0 else _POLAR
    if y >= _POLAR:
        raise _bad(
            "Cannot encode the point",
            "lat",
            f"latitude {flat} is in a polar cap (|lat| ≥ 88°); the polar cells of GB/T 39409-2020 §5.3 "
            "are not implemented",
            record,
        )
    x = min(_to_units(abs(flng)), _LNG_MAX)
    return flat >= 0.0, flng >= 0.0, x, y


# --------------------------------------------------------------------------------------------------
# 2D encode / decode


def _encode_units(north: bool, east: bool, x: int, y: int, level: int) -> str:
    """Code of the cell holding mirrored unit point (x, y); the core of every encoder here."""
    ix, rx = divmod(x, _DX[1])
    iy, ry = divmod(y, _DY[1])
    col = 31 + ix if east else 30 - ix
    out = ["N" if north else "S", f"{col:02d}", _ROWS[iy]]
    for lv in range(2, level + 1):
        i, rx = divmod(rx, _DX[lv])
        j, ry = divmod(ry, _DY[lv])
        out.append(_HEX[2 * j + i] if lv in _ZORDER else _HEX[i] + _HEX[j])
    return "".join(out)


def encode(lng: float, lat: float, level: int = MAX_LEVEL) -> str:
    """2D code of the level-``level`` cell holding (lng, lat) in CGCS2000 degrees.

    >>> encode(116 + 18 / 60 + 45.37 / 3600, 39 + 59 / 60 + 35.38 / 3600, 8)
    'N50J47539B825534'
    """
    lv = _check_level(level)
    north, east, x, y = _point(lng, lat)
    return _encode_units(north, east, x, y, lv)


def _validate(
    code: object, spec: tuple[tuple[str, str], ...], lengths: tuple[int, ...], kind: str, field: str
) -> tuple[str, int]:
    """Check every character against ``spec``; return (upper-case code, level)."""
    if not isinstance(code, str):
        raise _bad(f"Malformed BeiDou {kind} code", field, f"a code must be a string, got {code!r}")
    s = code.translate(_ASCII_UPPER)  # length-preserving, unlike str.upper() ('ß' → 'SS')
    detail = f"Malformed BeiDou {kind} code {code!r}"
    if not s:
        raise _bad(detail, field, "the code is empty")
    for pos, ch in enumerate(s[: len(spec)]):
        allowed, meaning = spec[pos]
        if ch not in allowed:
            reason = f"character {code[pos]!r} at position {pos + 1} is not a valid {meaning}"
            if pos in (1, 2, 3) and s[1:4] == "000" and kind == "2D":
                reason += "; polar cells of GB/T 39409-2020 §5.3 are not implemented"
            raise _bad(detail, field, reason)
    if len(s) > lengths[-1]:
        raise _bad(
            detail,
            field,
            f"unexpected character {code[lengths[-1]]!r} at position "
            f"{lengths[-1] + 1}: a {kind} code ends at level 10 ({lengths[-1]} characters)",
        )
    if len(s) not in lengths[1:]:
        done = max(lv for lv, n in enumerate(lengths) if n <= len(s))
        raise _bad(
            detail,
            field,
            f"the code has {len(s)} characters and ends inside level {done + 1} "
            f"(positions {lengths[done] + 1}–{lengths[done + 1]}); levels 1–10 have "
            f"{', '.join(str(n) for n in lengths[1:])} characters",
        )
    return s, lengths.index(len(s))


def _parse(code: object, field: str = "code") -> _Parsed:
    s, level = _validate(code, _SPEC_2D, _CODE_LEN, "2D", field)
    col = int(s[1:3])
    if not 1 <= col <= 60:
        raise _bad(f"Malformed BeiDou 2D code {code!r}", field, f"column {s[1:3]!r} at positions 2–3 is outside 01–60")
    east = col >= 31
    x = ((col - 31) if east else (30 - col)) * _DX[1]
    y = _ROWS.index(s[3]) * _DY[1]
    idx: list[tuple[int, int]] = []
    pos = 4
    for lv in range(2, level + 1):
        if lv in _ZORDER:
            d = int(s[pos], 16)
            i, j = d % 2, d // 2
            pos += 1
        else:
            i, j = int(s[pos], 16), int(s[pos + 1], 16)
            pos += 2
        idx.append((i, j))
        x += i * _DX[lv]
        y += j * _DY[lv]
    return _Parsed(s, level, s[0] == "N", east, x, y, tuple(idx))


def _cell(p: _Parsed) -> Cell:
    dx, dy = _DX[p.level], _DY[p.level]
    w, e = (p.x, p.x + dx) if p.east else (-(p.x + dx), -p.x)
    s, n = (p.y, p.y + dy) if p.north else (-(p.y + dy), -p.y)
    # int / int is correctly rounded in Python, so each bound is the float nearest the exact edge.
    return Cell(
        code=p.code,
        level=p.level,
        bounds=(w / _K, s / _K, e / _K, n / _K),
        center=((w + e) / (2 * _K), (s + n) / (2 * _K)),
        corner=((p.x if p.east else -p.x) / _K, (p.y if p.north else -p.y) / _K),
    )


def decode(code: str) -> Cell:
    """The cell a 2D code names (levels 1–10), with real-degree bounds and its 定位角点."""
    return _cell(_parse(code))


def parent(code: str) -> str:
    """The code one level coarser (a level-1 cell has no parent: level 0 is only a hemisphere)."""
    p = _parse(code)
    if p.level == 1:
        raise _bad("No parent cell", "code", f"{p.code!r} is a level-1 cell; it has no parent grid cell")
    return p.code[: _CODE_LEN[p.level - 1]]


def children(code: str) -> tuple[str, ...]:
    """All codes one level finer, in code order (they tile the cell exactly)."""
    p = _parse(code)
    if p.level == MAX_LEVEL:
        raise _bad("No child cells", "code", f"{p.code!r} is a level-10 cell, the finest level")
    lv = p.level + 1
    if lv in _ZORDER:
        return tuple(p.code + _HEX[d] for d in range(_NI[lv] * _NJ[lv]))
    return tuple(p.code + _HEX[i] + _HEX[j] for i in range(_NI[lv]) for j in range(_NJ[lv]))


# --------------------------------------------------------------------------------------------------
# moving on the grid: signed cell indices in real (not mirrored) space


def _signed(p: _Parsed) -> tuple[int, int]:
    """Cell index k with the cell spanning [k, k+1)·size in real signed units."""
    kx, ky = p.x // _DX[p.level], p.y // _DY[p.level]
    return (kx if p.east else -kx - 1), (ky if p.north else -ky - 1)


def _wrap(kx: int, level: int) -> int:
    half = 180 * _K // _DX[level]
    return (kx + half) % (2 * half) - half


def _from_signed(kx: int, ky: int, level: int) -> str | None:
    """Code of the signed cell (kx, ky); None when it reaches into a polar cap."""
    kx = _wrap(kx, level)
    mx, my = (kx if kx >= 0 else -kx - 1), (ky if ky >= 0 else -ky - 1)
    if (my + 1) * _DY[level] > _POLAR:
        return None
    return _encode_units(ky >= 0, kx >= 0, mx * _DX[level], my * _DY[level], level)


def shift(code: str, east: int, north: int) -> str:
    """The cell ``east`` cells east and ``north`` cells north (negative: west/south), same level.

    Crosses the equator, the prime meridian and the ±180° meridian; a polar-cap target is an error.
    """
    p = _parse(code)
    kx, ky = _signed(p)
    out = _from_signed(kx + operator.index(east), ky + operator.index(north), p.level)
    if out is None:
        raise _bad(
            "Cell outside the grid",
            "north",
            f"moving {north} cells north of {p.code!r} enters "
            "a polar cap (|lat| ≥ 88°); polar cells of GB/T 39409-2020 §5.3 are not implemented",
        )
    return out


_AROUND: Final = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def neighbours(code: str) -> tuple[str, ...]:
    """The up to 8 same-level cells around ``code``, clockwise from north: N, NE, E, SE, S, SW, W, NW.

    Cells reaching into a polar cap (beyond ±88°) are left out.
    """
    p = _parse(code)
    kx, ky = _signed(p)
    found = (_from_signed(kx + ex, ky + ny, p.level) for ex, ny in _AROUND)
    return tuple(c for c in found if c is not None)


# --------------------------------------------------------------------------------------------------
# reference codes (§7) and short codes (§8)

_OFFSET_CHARS: Final = "01234567ABCDEFG"


def _offset_text(ex: int, ny: int) -> str:
    return "".join(str(v) if v >= 0 else chr(64 - v) for v in (ex, ny))


def _offset_value(seg: str, segment_no: int, text: str, field: str) -> tuple[int, int]:
    detail = f"Malformed BeiDou reference code {text!r}"
    if len(seg) != 2:
        raise _bad(
            detail, field, f"segment {segment_no} {seg!r} must have 2 characters (M = east–west, N = north–south)"
        )
    out = []
    for k, ch in enumerate(seg.upper()):
        if ch not in _OFFSET_CHARS:
            raise _bad(
                detail,
                field,
                f"character {ch!r} at position {k + 1} of segment {segment_no} is not "
                "a valid offset (0–7 = cells east/north, A–G = 1–7 cells west/south)",
            )
        out.append(int(ch) if ch.isdigit() else -(ord(ch) - 64))
    return out[0], out[1]


def encode_reference(target: str, reference: str) -> str:
    """Reference code ``C0-MN`` of ``target`` relative to the level ≥ 5 cell ``reference`` (§7).

    M/N are the target's distance in cells at C0's level: ``0``–``7`` east/north, ``A``–``G`` 1–7
    cells west/south. A target finer than C0 gets one more segment per finer level: the target's
    sub-cell counted from the 定位角点 of the cell reached so far, in the same geographic notation.
    """
    ref, tgt = _parse(reference, "reference"), _parse(target, "target")
    if ref.level < 5:
        raise _bad(
            "Invalid reference cell",
            "reference",
            f"{ref.code!r} is level {ref.level}; a reference cell must be level 5 or finer (§7)",
        )
    if tgt.level < ref.level:
        raise _bad(
            "Invalid target cell",
            "target",
            f"target {tgt.code!r} (level {tgt.level}) is coarser than the reference (level {ref.level})",
        )
    anc = _parse(tgt.code[: _CODE_LEN[ref.level]])
    (rx, ry), (tx, ty) = _signed(ref), _signed(anc)
    ex, ny = _wrap(tx - rx, ref.level), ty - ry
    if max(abs(ex), abs(ny)) > 7:
        raise _bad(
            "Target too far from the reference",
            "target",
            f"target is {ex} cells east and {ny} cells north of {ref.code!r}; a reference code "
            "reaches at most 7 cells each way",
        )
    segs = [ref.code, _offset_text(ex, ny)]
    for i, j in tgt.idx[ref.level - 1 :]:
        segs.append(_offset_text(i if tgt.east else -i, j if tgt.north else -j))
    return "-".join(segs)


def _resolve(head: _Parsed, segs: list[str], text: str, field: str) -> str:
    detail = f"Malformed BeiDou reference code {text!r}"
    if head.level < 5:
        raise _bad(
            detail, field, f"the reference cell {head.code!r} is level {head.level}; it must be level 5 or finer (§7)"
        )
    if head.level + len(segs) - 1 > MAX_LEVEL:
        raise _bad(detail, field, f"{len(segs) - 1} finer segments after a level-{head.level} cell go beyond level 10")
    ex, ny = _offset_value(segs[0], 1, text, field)
    kx, ky = _signed(head)
    code = _from_signed(kx + ex, ky + ny, head.level)
    if code is None:
        raise _bad(detail, field, "the offset reaches into a polar cap (|lat| ≥ 88°), which is not implemented")
    east, north = code[1:3] >= "31", code[0] == "N"
    for k, seg in enumerate(segs[1:], start=2):
        lv = head.level + k - 1
        gx, gy = _offset_value(seg, k, text, field)
        i, j = (gx if east else -gx), (gy if north else -gy)
        if not (0 <= i < _NI[lv] and 0 <= j < _NJ[lv]):
            raise _bad(
                detail,
                field,
                f"segment {k} {seg!r} lies outside the level-{lv - 1} cell: from its 定位角点 a "
                f"level-{lv} cell is 0–{_NI[lv] - 1} columns {'east' if east else 'west (A–G)'} and "
                f"0–{_NJ[lv] - 1} rows {'north' if north else 'south (A–G)'}",
            )
        code += _HEX[2 * j + i] if lv in _ZORDER else _HEX[i] + _HEX[j]
    return code


def decode_reference(text: str) -> str:
    """The 2D code a reference code ``C0-MN[-M'N'...]`` points to."""
    if not isinstance(text, str) or "-" not in text:
        raise _bad(
            "Malformed BeiDou reference code",
            "code",
            f"expected 'C0-MN' (reference cell, hyphen, two offset characters), got {text!r}",
        )
    head, *segs = text.split("-")
    return _resolve(_parse(head, "code"), segs, text, "code")


def encode_short(target: str, places: Mapping[str, str], *, name: str | None = None) -> str:
    """Short code ``name-MN`` (§8): a reference code whose C0 is a registered place name.

    ``places`` maps place name → 2D code (level ≥ 5). With ``name`` that place is used; otherwise
    the nearest usable place (fewest cells away, then name order) is chosen. A result that would read
    back differently (a longer name containing ``-`` swallows an offset segment) is refused.
    """
    tgt = _parse(target, "target").code
    if name is not None and name not in places:
        raise _bad("Unknown place name", "name", f"{name!r} is not in the place-name table")
    best: tuple[int, int, str, str] | None = None
    last_error: InvalidInputError | None = None
    for nm in [name] if name is not None else sorted(places):
        try:
            if not isinstance(nm, str) or not nm:
                raise _bad("Invalid place name", "name", f"place name {nm!r} must be a non-empty string")
            ref = encode_reference(tgt, places[nm])
            text = nm + ref[ref.index("-") :]
            if decode_short(text, places) != tgt:
                raise _bad(
                    "Ambiguous short code",
                    "name",
                    f"{text!r} reads back through a longer place name; use the reference code {ref!r}",
                )
        except InvalidInputError as exc:
            last_error = exc
            continue
        ex, ny = _offset_value(ref.split("-")[1], 1, ref, "target")
        key = (max(abs(ex), abs(ny)), abs(ex) + abs(ny), nm, text)
        best = key if best is None or key < best else best
    if best is None:
        if last_error is not None and name is not None:
            raise last_error
        raise _bad(
            "No place within reach", "target", f"no place in the table is a level ≥ 5 cell within 7 cells of {tgt!r}"
        )
    return best[3]


def decode_short(text: str, places: Mapping[str, str]) -> str:
    """The 2D code a short code ``name-MN[-M'N'...]`` points to, using the place-name table."""
    if not isinstance(text, str) or "-" not in text:
        raise _bad("Malformed BeiDou short code", "code", f"expected 'place-MN', got {text!r}")
    parts = text.split("-")
    for cut in range(len(parts) - 1, 0, -1):  # the longest registered name wins
        nm = "-".join(parts[:cut])
        if nm in places:
            return _resolve(_parse(places[nm], "places"), parts[cut:], text, "code")
    raise _bad("Unknown place name", "code", f"{parts[0]!r} is not in the place-name table")


# --------------------------------------------------------------------------------------------------
# vectorised batch encoder

_HEX_BYTES: Final = np.frombuffer(_HEX.encode(), dtype=np.uint8)


def _units_many(a: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Vector twin of :func:`_to_units` for finite a in [0, 180]: exact integer arithmetic.

    a = M·2**(e−53) with a 53-bit integer M (frexp), so a·7,372,800 = (225·M)·2**(e−38) exactly;
    225·M < 2**61 fits int64 and the floor is a right shift by t = 38 − e ≥ 30.
    """
    m, e = np.frexp(a)
    big = (m * 2.0**53).astype(np.int64) * 225
    t = np.minimum(38 - e.astype(np.int64), 62)
    q = np.left_shift(np.int64(1), t)
    u = np.right_shift(big, t)
    rem = big & (q - 1)
    u += (rem != 0) & ((q - rem) <= np.right_shift(q, SNAP_BITS))
    return u


def _first_bad(lng: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], i: int, record: int) -> InvalidInputError:
    try:
        _point(float(lng[i]), float(lat[i]), record=record)
    except InvalidInputError as exc:
        return exc
    return _bad("Cannot encode the point", "lat", "invalid point", record)  # pragma: no cover


def _as_floats(values: object, field: str) -> npt.NDArray[np.float64]:
    """Numbers → float64 array; anything else (bools, strings, None) names its first bad record."""
    try:
        raw = np.asarray(values)
    except ValueError:  # ragged nesting
        raise _bad("Cannot encode the points", field, f"{field} is not a regular array of numbers") from None
    if raw.dtype.kind in "iuf":
        return raw.astype(np.float64, copy=False)
    raw = np.asarray(values, dtype=object)  # keep each item's own type: [1.0, "x"] must blame "x"
    items = raw.ravel().tolist()
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise _bad("Cannot encode the points", field, f"{field} must be a number, got {v!r}", i)
    return np.array([float(v) for v in items], dtype=np.float64).reshape(raw.shape)


def encode_many(lngs: npt.ArrayLike, lats: npt.ArrayLike, level: int = MAX_LEVEL) -> npt.NDArray[np.str_]:
    """Encode many points at once; same result as :func:`encode` point by point, ~25× faster.

    Returns a unicode array of the input's shape. The first invalid point raises with
    ``Issue.record`` = its flat index. Works in chunks so the temporaries stay in cache.
    """
    lv = _check_level(level)
    lng, lat = _as_floats(lngs, "lngs"), _as_floats(lats, "lats")
    if lng.shape != lat.shape:
        raise _bad("Cannot encode the points", "lats", f"lngs has shape {lng.shape}, lats {lat.shape}")
    flat_lng, flat_lat = lng.ravel(), lat.ravel()
    out = np.empty(flat_lng.size, dtype=f"U{_CODE_LEN[lv]}")
    for start in range(0, flat_lng.size, _CHUNK):
        stop = start + _CHUNK
        out[start:stop] = _encode_chunk(flat_lng[start:stop], flat_lat[start:stop], lv, start)
    return out.reshape(lng.shape)


_CHUNK: Final = 1 << 16


def _encode_chunk(
    lng: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], lv: int, offset: int
) -> npt.NDArray[np.bytes_]:
    alng, alat = np.abs(lng), np.abs(lat)
    bad = ~(alng <= 180.0) | ~(alat < 88.0)  # also catches NaN
    if bad.any():
        alng, alat = np.where(bad, 0.0, alng), np.where(bad, 0.0, alat)
    x = np.minimum(_units_many(alng), _LNG_MAX)
    y = _units_many(alat)
    bad |= y >= _POLAR
    if bad.any():
        first = int(np.argmax(bad))
        raise _first_bad(lng, lat, first, offset + first)

    buf = np.empty((lng.size, _CODE_LEN[lv]), dtype=np.uint8)
    ix, rx = np.divmod(x, _DX[1])
    iy, ry = np.divmod(y, _DY[1])
    col = np.where(lng >= 0.0, 31 + ix, 30 - ix)
    buf[:, 0] = np.where(lat >= 0.0, ord("N"), ord("S"))
    buf[:, 1] = 48 + col // 10
    buf[:, 2] = 48 + col % 10
    buf[:, 3] = 65 + iy
    pos = 4
    for k in range(2, lv + 1):
        if k <= 5:
            i, rx = np.divmod(rx, _DX[k])
            j, ry = np.divmod(ry, _DY[k])
        else:  # below level 5 all sizes are powers of two: bit fields of the level-5 remainder
            shift_bits = _DX[k].bit_length() - 1
            i, j = (rx >> shift_bits) & (_NI[k] - 1), (ry >> shift_bits) & (_NJ[k] - 1)
        if k in _ZORDER:
            buf[:, pos] = 48 + 2 * j + i
            pos += 1
        else:
            buf[:, pos] = _HEX_BYTES[i]
            buf[:, pos + 1] = _HEX_BYTES[j]
            pos += 2
    return buf.view(f"S{_CODE_LEN[lv]}").ravel()
