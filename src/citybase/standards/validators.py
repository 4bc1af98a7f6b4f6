"""Validators for Chinese identifiers with messages a clerk can act on, built on python-stdnum.

- :func:`validate_uscc`: 统一社会信用代码, GB 32100-2015 (18 characters).
- :func:`validate_citizen_id`: 公民身份号码, GB 11643-1999 (18 characters).
- :func:`validate_org_code`: 组织机构代码, GB 11714-1997 (8 + 1 characters).

Each returns the normalised value (or a small result) and raises
:class:`~citybase.kernel.errors.InvalidInputError` with one issue per problem, naming the field
(``uscc``, ``citizen_id``, ``org_code``) and saying what is wrong and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from citybase.kernel.errors import InvalidInputError, Issue
from citybase.standards import divisions

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
ORG_BODY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority (position 1) and, where our sources agree, organisation category (position 2).
# The official table has changed over time (STANDARDS §5.1, §8.9): an unknown value is a warning only.
USCC_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}
USCC_CATEGORIES = {
    "1": {"1": "机关", "2": "事业单位", "3": "群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
}


@dataclass(frozen=True, slots=True)
class UsccResult:
    value: str
    authority: str
    category: str
    division_code: str
    org_code: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CitizenIdResult:
    value: str
    division_code: str
    birth_date: dt.date
    sex: Literal["male", "female"]
    place: str | None = None


def _fail(field: str, what: str, reasons: list[str]) -> InvalidInputError:
    return InvalidInputError(what, issues=[Issue(field=field, reason=r) for r in reasons])


def _compact(value: object, field: str, label: str) -> str:
    if not isinstance(value, str):
        raise _fail(field, f"invalid {label}", [f"expected a string, got {type(value).__name__}"])
    return value.replace(" ", "").replace("-", "").strip().upper()


def _length(s: str, want: int, field: str, label: str) -> None:
    if len(s) != want:
        raise _fail(field, f"invalid {label} {s!r}", [f"has {len(s)} characters, expected {want}"])


def _bad_positions(s: str, allowed: str, first: int, last: int) -> list[int]:
    """1-based positions first..last whose character is not in ``allowed``."""
    return [i for i in range(first, last + 1) if s[i - 1] not in allowed]


def _at(s: str, i: int) -> str:
    return f"position {i} is {s[i - 1]!r}"


# ---------------------------------------------------------------- GB 11714 organisation code


def org_code_check_character(body: str) -> str:
    """Check character for an 8-character GB 11714 body: C = 11 − (Σ vᵢ·wᵢ mod 11); 10 → X, 11 → 0."""
    c = 11 - sum(ORG_BODY_ALPHABET.index(ch) * w for ch, w in zip(body, ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def validate_org_code(s: str) -> str:
    """Validate a GB 11714 organisation code (``D2143569X`` or ``D2143569-X``); returns 9 characters."""
    code = _compact(s, "org_code", "organisation code")
    _length(code, 9, "org_code", "organisation code")
    bad = _bad_positions(code, ORG_BODY_ALPHABET, 1, 8)
    if bad:
        raise _fail(
            "org_code",
            f"invalid organisation code {code!r}",
            [f"{_at(code, i)}: positions 1-8 must be digits or letters A-Z" for i in bad],
        )
    if code[8] not in "0123456789X":
        raise _fail(
            "org_code",
            f"invalid organisation code {code!r}",
            [f"check character is {code[8]!r}: it must be a digit or X"],
        )
    expected = org_code_check_character(code[:8])
    if code[8] != expected:
        raise _fail(
            "org_code",
            f"invalid organisation code {code!r}",
            [f"check character is {code[8]!r}, expected {expected!r} (GB 11714 mod 11)"],
        )
    return code


# ---------------------------------------------------------------- GB 32100 USCC


def _uscc_warnings(code: str) -> list[str]:
    warnings: list[str] = []
    auth, cat, div, org = code[0], code[1], code[2:8], code[8:17]
    if auth not in USCC_AUTHORITIES:
        warnings.append(
            f"registration authority code {auth!r} (position 1) is not in our table "
            f"({', '.join(USCC_AUTHORITIES)}); accepted because the official table has changed"
        )
    elif auth in USCC_CATEGORIES and cat not in USCC_CATEGORIES[auth]:
        warnings.append(
            f"category code {cat!r} (position 2) is not listed for authority {auth} "
            f"{USCC_AUTHORITIES[auth]} ({', '.join(USCC_CATEGORIES[auth])}); accepted"
        )
    if not divisions.is_valid_2260(div):
        res = divisions.resolve(div)
        if res.status == "unknown":
            warnings.append(f"registration division {div} (positions 3-8) is not a GB/T 2260 code")
        else:
            warnings.append(f"registration division {div} (positions 3-8) is no longer current: {res.note}")
    org_check = org_code_check_character(org[:8])
    if org[8] != org_check:
        warnings.append(
            f"organisation code part {org} (positions 9-17) has GB 11714 check character "
            f"{org[8]!r}, expected {org_check!r}"
        )
    return warnings


def validate_uscc(s: str) -> UsccResult:
    """Validate a 统一社会信用代码: charset, division digits, check character (errors); authority and
    category codes, division currency and the embedded organisation code check (warnings only)."""
    code = _compact(s, "uscc", "unified social credit code")
    _length(code, 18, "uscc", "unified social credit code")
    bad = _bad_positions(code, USCC_ALPHABET, 1, 18)
    problems = [f"{_at(code, i)}: not in the USCC alphabet (digits and capitals without I, O, S, V, Z)" for i in bad]
    problems += [
        f"{_at(code, i)}: positions 3-8 are the registration division code and must be digits"
        for i in _bad_positions(code, "0123456789", 3, 8)
        if i not in bad
    ]
    if problems:
        raise _fail("uscc", f"invalid unified social credit code {code!r}", problems)
    expected = uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise _fail(
            "uscc",
            f"invalid unified social credit code {code!r}",
            [f"check character is {code[17]!r}, expected {expected!r} (GB 32100 mod 31)"],
        )
    return UsccResult(code, code[0], code[1], code[2:8], code[8:17], tuple(_uscc_warnings(code)))


# ---------------------------------------------------------------- GB 11643 citizen ID


def _loc_ranges(code6: str) -> list[tuple[int | None, int | None, str]]:
    """(first year, last year, name) of a GB/T 2260 code from python-stdnum's ``cn/loc`` history."""
    info = {k: v for _part, props in numdb.get("cn/loc").info(code6) for k, v in props.items()}
    ranges: list[tuple[int | None, int | None, str]] = []
    for item in info["county"].split(",") if "county" in info else ():
        if not item.startswith("["):
            ranges.append((None, None, item))
            continue
        span, name = item[1:].split("]", 1)
        first, last = span.split("-")
        ranges.append((int(first) if first else None, int(last) if last else None, name))
    return ranges


def _place(code6: str, birth_year: int) -> str:
    """Name of the address code for someone born in ``birth_year``.

    A number gets the code of the place of registration *when it is assigned*, which is the birth year
    or later (numbers were first issued in the 1980s, so the GB 11643 example 440524188001010014 has a
    code created in 1983 for a person born in 1880). So the code must be in force in some year from the
    birth year on; python-stdnum's own ``ric.validate`` demands the birth year itself and rejects that
    example.
    """
    ranges = _loc_ranges(code6)
    if not ranges:
        raise _fail(
            "citizen_id",
            f"invalid citizen ID address code {code6}",
            [f"address code {code6} (positions 1-6) is not a GB/T 2260 code"],
        )
    usable = [r for r in ranges if r[1] is None or r[1] >= birth_year]
    if not usable:
        last = max(r[1] or 0 for r in ranges)
        raise _fail(
            "citizen_id",
            f"invalid citizen ID address code {code6}",
            [f"address code {code6} (positions 1-6) was retired in {last}, before the birth year {birth_year}"],
        )
    at_birth = [r for r in usable if r[0] is None or r[0] <= birth_year]
    return (at_birth or usable)[0][2]


def validate_citizen_id(s: str, *, check_division: bool = True) -> CitizenIdResult:
    """Validate an 18-character 公民身份号码: digits, check character (ISO 7064 MOD 11-2), birth date
    (real, not in the future) and, with ``check_division``, that the address code was a GB/T 2260
    code in the birth year (python-stdnum's ``loc.dat`` history)."""
    code = _compact(s, "citizen_id", "citizen ID number")
    _length(code, 18, "citizen_id", "citizen ID number")
    problems = [f"{_at(code, i)}: positions 1-17 must be digits" for i in _bad_positions(code, "0123456789", 1, 17)]
    problems += [
        f"{_at(code, i)}: the check character must be a digit or X" for i in _bad_positions(code, "0123456789X", 18, 18)
    ]
    if problems:
        raise _fail("citizen_id", f"invalid citizen ID number {code!r}", problems)
    expected = ric.calc_check_digit(code)
    if code[17] != expected:
        raise _fail(
            "citizen_id",
            f"invalid citizen ID number {code!r}",
            [f"check character is {code[17]!r}, expected {expected!r} (ISO 7064 MOD 11-2)"],
        )
    try:
        birth = ric.get_birth_date(code)
    except ValidationError:
        raise _fail(
            "citizen_id",
            f"invalid citizen ID number {code!r}",
            [f"birth date {code[6:10]}-{code[10:12]}-{code[12:14]} (positions 7-14) is not a real date"],
        ) from None
    if birth > dt.date.today():
        raise _fail(
            "citizen_id",
            f"invalid citizen ID number {code!r}",
            [f"birth date {birth.isoformat()} (positions 7-14) is in the future"],
        )
    place = _place(code[:6], birth.year) if check_division else None
    sex: Literal["male", "female"] = "male" if int(code[16]) % 2 else "female"
    return CitizenIdResult(code, code[:6], birth, sex, place)
