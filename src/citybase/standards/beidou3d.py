"""GB/T 39409-2020 Annex C: the BeiDou 3D grid location code (2D code interleaved with height digits).

Height is the ellipsoidal height H (大地高) in metres. It is cut into layers that grow with H so
cells stay roughly cubic (eq. C.12):

    n = floor( (θ0/θ) · ln((H + r0) / r0) / ln(1 + θ0) ),   θ0 = 1°, θ = 1/2048″, θ0/θ = 7,372,800

Decisions (see ``docs/beidou.md``):

- Floating point is used only for the logarithm. At a layer boundary the layer is decided against
  :func:`layer_bottom`, the same double the decoder returns, so ``H ≥ layer_bottom(n)`` exactly
  selects layer n and ``encode3d(..., decode3d(c).bottom)`` gives back ``c``.
- Negative heights are written sign-magnitude (a0 = 1, digits = |n|), as both public codecs do;
  layer −1 (just below the ellipsoid) is magnitude 1, so "negative zero" exists only at coarse levels.
- The 4-bit digits a5 and a6 may be ``F`` (the standard's text lists 0–E, but the bit layout has 16).
- Encoding accepts the range of C.2: |n| ≤ 256 × 7,372,800, i.e. about −6302.107 km … +528,680.171 km.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Final

from citybase.standards.beidou import (
    _CODE_LEN,
    _LEVEL_SPECS,
    MAX_LEVEL,
    Cell,
    _bad,
    _cell,
    _check_level,
    _encode_units,
    _parse,
    _point,
    _validate,
)

__all__ = [
    "EARTH_RADIUS",
    "LAYER_MAX",
    "Cell3D",
    "decode3d",
    "encode3d",
    "height_layer",
    "layer_bottom",
]

EARTH_RADIUS: Final = 6378137.0
"""r0 of eq. C.12 (CGCS2000 semi-major axis), metres."""
_LAYERS_PER_DEGREE: Final = 3600 * 2048
_LN_STEP: Final = math.log1p(math.pi / 180)  # ln(1 + θ0)
LAYER_MAX: Final = 256 * _LAYERS_PER_DEGREE
"""Largest |n| accepted when encoding (range of C.2: 64 level-1 layers of 4°)."""

# Bits of |n| below each level (level m keeps bits above _LOW_BITS[m]).
_LOW_BITS: Final = (31, 25, 22, 21, 17, 13, 12, 9, 6, 3, 0)
_DEC: Final = "0123456789"
_HEXF: Final = "0123456789ABCDEF"
# Height characters each level adds: (allowed, meaning); level 0 is the sign digit a0.
_HEIGHT_SPECS: Final = (
    (("01", "height sign digit a0 (0 = at or above the ellipsoid, 1 = below)"),),
    (("0123456", "level-1 height digit a1 (layers 00–63, decimal)"), (_DEC, "level-1 height digit a2 (00–63)")),
    (("01234567", "level-2 height digit a3 (0–7)"),),
    (("01", "level-3 height digit a4 (0–1)"),),
    ((_HEXF, "level-4 height digit a5 (0–F)"),),
    ((_HEXF, "level-5 height digit a6 (0–F)"),),
    (("01", "level-6 height digit a7 (0–1)"),),
    (("01234567", "level-7 height digit a8 (0–7)"),),
    (("01234567", "level-8 height digit a9 (0–7)"),),
    (("01234567", "level-9 height digit a10 (0–7)"),),
    (("01234567", "level-10 height digit a11 (0–7)"),),
)
_SPEC_3D: Final = (
    ("NS", "hemisphere letter (N or S)"),
    *_HEIGHT_SPECS[0],
    *(item for lv in range(1, MAX_LEVEL + 1) for item in (*_LEVEL_SPECS[lv], *_HEIGHT_SPECS[lv])),
)
_LEN_3D: Final = tuple(
    2 + sum(len(_LEVEL_SPECS[k]) + len(_HEIGHT_SPECS[k]) for k in range(1, lv + 1)) for lv in range(MAX_LEVEL + 1)
)


@dataclass(frozen=True, slots=True)
class Cell3D:
    """A decoded 3D cell: the 2D cell plus its height interval [bottom, top) in metres.

    ``layers`` = (first, last) layer number n of eq. C.12 the cell covers, inclusive.
    """

    code: str
    level: int
    cell: Cell
    bottom: float
    top: float
    layers: tuple[int, int]


def layer_bottom(n: int) -> float:
    """Lower boundary (metres) of layer n: H = r0·((1 + θ0)^(n·θ/θ0) − 1)."""
    return EARTH_RADIUS * math.expm1(n * _LN_STEP / _LAYERS_PER_DEGREE)


def _height(height: object, record: int | None = None) -> int:
    detail = "Cannot encode the height"
    if isinstance(height, bool) or not isinstance(height, numbers.Real):
        raise _bad(detail, "height", f"height must be a number of metres, got {height!r}", record)
    h = float(height)
    lo, hi = layer_bottom(-LAYER_MAX), layer_bottom(LAYER_MAX)
    if not lo <= h < hi:  # also NaN
        what = "NaN" if math.isnan(h) else f"{h} m"
        raise _bad(
            detail,
            "height",
            f"height {what} is outside the range of GB/T 39409-2020 C.2 ({lo / 1000:.3f} km … {hi / 1000:.3f} km)",
            record,
        )
    n = math.floor(_LAYERS_PER_DEGREE * math.log1p(h / EARTH_RADIUS) / _LN_STEP)
    # The log is off by a few 1e-7 layer at most; settle boundaries against the decoder's own bottoms.
    while n > -LAYER_MAX and layer_bottom(n) > h:
        n -= 1
    while n < LAYER_MAX - 1 and layer_bottom(n + 1) <= h:
        n += 1
    return n


def height_layer(height: float) -> int:
    """Layer number n (eq. C.12) of an ellipsoidal height in metres; negative below the ellipsoid."""
    return _height(height)


def _height_digits(n: int) -> list[str]:
    """a0 and the digits of each level 1..10 for layer n (sign-magnitude)."""
    mag = abs(n)
    out = ["1" if n < 0 else "0", f"{mag >> 25:02d}"]
    for lv in range(2, MAX_LEVEL + 1):
        width = _LOW_BITS[lv - 1] - _LOW_BITS[lv]
        out.append(_HEXF[(mag >> _LOW_BITS[lv]) & ((1 << width) - 1)])
    return out


def encode3d(lng: float, lat: float, height: float, level: int = MAX_LEVEL) -> str:
    """3D code of the level-``level`` cell holding (lng, lat, ellipsoidal height in metres).

    >>> encode3d(116 + 18 / 60 + 45.37 / 3600, 39 + 59 / 60 + 35.38 / 3600, 50.0)
    'N050J0047050390B8020556344611524'
    """
    lv = _check_level(level)
    north, east, x, y = _point(lng, lat)
    n = _height(height)
    code2d = _encode_units(north, east, x, y, lv)
    digits = _height_digits(n)
    out = [code2d[0], digits[0]]
    for k in range(1, lv + 1):
        out += [code2d[_CODE_LEN[k - 1] : _CODE_LEN[k]], digits[k]]
    return "".join(out)


def decode3d(code: str) -> Cell3D:
    """The 3D cell a code names: 2D cell plus height interval of its layers."""
    s, level = _validate(code, _SPEC_3D, _LEN_3D, "3D", "code")
    detail = f"Malformed BeiDou 3D code {code!r}"
    if not 1 <= int(s[2:4]) <= 60:
        raise _bad(detail, "code", f"column {s[2:4]!r} at positions 3–4 is outside 01–60")
    if int(s[5:7]) > 63:
        raise _bad(detail, "code", f"level-1 height digits {s[5:7]!r} at positions 6–7 are outside 00–63")
    parts2d, mag, pos = [s[0]], 0, 2
    for k in range(1, level + 1):
        w2 = _CODE_LEN[k] - _CODE_LEN[k - 1]
        parts2d.append(s[pos : pos + w2])
        pos += w2
        wh = 2 if k == 1 else 1
        mag |= int(s[pos : pos + wh], 10 if k == 1 else 16) << _LOW_BITS[k]
        pos += wh
    low = 1 << _LOW_BITS[level]
    if s[1] == "1":
        if level == MAX_LEVEL and mag == 0:
            raise _bad(
                detail,
                "code",
                "a0 = 1 with all height digits 0 is 'negative zero': the layer just "
                "below the ellipsoid is n = −1, written with magnitude 1",
            )
        first, last = -(mag + low - 1), -max(mag, 1)
    else:
        first, last = mag, mag + low - 1
    # A coarse cell at the edge of the C.2 range reaches past it; its usable part ends at the range.
    if first < -LAYER_MAX <= last:
        first = -LAYER_MAX
    if first <= LAYER_MAX - 1 < last:
        last = LAYER_MAX - 1
    return Cell3D(
        code=s,
        level=level,
        cell=_cell(_parse("".join(parts2d))),
        bottom=layer_bottom(first),
        top=layer_bottom(last + 1),
        layers=(first, last),
    )
