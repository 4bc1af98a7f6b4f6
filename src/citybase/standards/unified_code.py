"""The 21-character unified identification code of a city object (统一识别代码, STANDARDS §2.1).

Layout (CJ/T 553-2024 as summarised; the standard text was not available)::

    positions  1-6   division code, GB/T 2260 (current when the code is made)
    positions  7-12  class code: major 7-8, medium 9-10, minor 11-12 (data-driven class table)
    positions 13-21  object part (自定义码)

The rule for the object part is not published, so it is a :class:`CodeScheme`. The default
:class:`Iso7064Scheme` puts an 8-digit serial (per division + class) in 13-20 and an ISO/IEC 7064
check character in 21. A city with its own rule implements the protocol (most easily by subclassing
:class:`SchemeBase` and writing two methods) and passes its scheme where codes are made and read.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field, replace
from typing import Protocol

from stdnum.iso7064 import mod_11_2

from citybase.kernel.errors import InvalidInputError, Issue
from citybase.standards import divisions

CODE_LENGTH = 21
DIGITS = "0123456789"
FIELD = "unified_code"
_PARTS = ((1, 6, "the division code"), (7, 12, "the class code"))


@dataclass(frozen=True, slots=True)
class UnifiedCode:
    """A parsed code. ``serial`` is None for schemes whose object part is not a plain number."""

    text: str
    division: str
    class_code: str
    serial: int | None
    check: str
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def major(self) -> str:
        return self.class_code[:2]

    @property
    def medium(self) -> str:
        return self.class_code[2:4]

    @property
    def minor(self) -> str:
        return self.class_code[4:]

    @property
    def object_part(self) -> str:
        return self.text[12:]

    def __str__(self) -> str:
        return self.text


class CodeScheme(Protocol):
    """How the object part (positions 13-21) is made and read."""

    @property
    def name(self) -> str: ...

    @property
    def max_serial(self) -> int: ...

    def make(self, division: str, class_code: str, serial: int) -> str: ...

    def parse(self, code: str) -> UnifiedCode:
        """Layout and check character only: no division or class look-ups."""
        ...

    def validate(self, code: str, *, known_classes: Container[str] | None = None) -> UnifiedCode:
        """``parse`` plus: the division is a GB/T 2260 code and the class is in ``known_classes``."""
        ...


def _fail(detail: str, reasons: list[str], field_: str = FIELD) -> InvalidInputError:
    return InvalidInputError(detail, issues=[Issue(field=field_, reason=r) for r in reasons])


def class_code_problems(class_code: str) -> list[str]:
    """Structure of a 6-digit class code: major not 00; a 00 medium class needs a 00 minor class."""
    if len(class_code) != 6 or any(c not in DIGITS for c in class_code):
        return [f"class code {class_code!r} must be 6 digits (major, medium, minor: 2 each)"]
    if class_code[:2] == "00":
        return [f"class code {class_code}: major class 00 does not exist (01-99)"]
    if class_code[2:4] == "00" and class_code[4:] != "00":
        return [
            f"class code {class_code}: minor class {class_code[4:]} under medium class 00; "
            "a minor class needs a medium class"
        ]
    return []


def division_note(division: str) -> str | None:
    """None for a current GB/T 2260 code; otherwise what became of it (raises if never a code)."""
    if divisions.is_valid_2260(division):
        return None
    res = divisions.resolve(division)
    if res.status == "unknown":
        raise _fail(
            f"unknown division in unified code: {division}",
            [f"division {division} (positions 1-6) is not a GB/T 2260 code, current or past"],
        )
    return res.note


class SchemeBase:
    """Layout, division and class rules shared by schemes; subclasses write the object part.

    Subclasses implement :meth:`object_part` (9 characters from the first 12 and a serial) and
    :meth:`read_object_part` (check those 9 characters, return the serial and check character or
    raise :class:`InvalidInputError` with field ``unified_code``).
    """

    name = "base"
    max_serial = 0

    def object_part(self, prefix: str, serial: int) -> str:
        raise NotImplementedError

    def read_object_part(self, prefix: str, part: str) -> tuple[int | None, str]:
        raise NotImplementedError

    def make(self, division: str, class_code: str, serial: int) -> str:
        """A new code. The division must be a *current* GB/T 2260 code."""
        problems: list[Issue] = []
        if not divisions.is_valid_2260(division):
            reason = f"division {division!r} is not a current GB/T 2260 code"
            if isinstance(division, str) and len(division) == 6 and division.isascii() and division.isdigit():
                res = divisions.resolve(division)
                if res.successors:
                    reason += f"; new codes must use a current division ({res.note})"
            problems.append(Issue("division", reason))
        problems += [Issue("class_code", r) for r in class_code_problems(class_code)]
        if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= self.max_serial:
            problems.append(Issue("serial", f"serial {serial!r} is outside 1-{self.max_serial}"))
        if problems:
            raise InvalidInputError("cannot make a unified code", issues=problems)
        return division + class_code + self.object_part(division + class_code, serial)

    def parse(self, code: str) -> UnifiedCode:
        if not isinstance(code, str):
            raise _fail("invalid unified code", [f"expected a string, got {type(code).__name__}"])
        text = code.strip().upper()
        if len(text) != CODE_LENGTH:
            raise _fail(f"invalid unified code {text!r}", [f"has {len(text)} characters, expected {CODE_LENGTH}"])
        reasons = [
            f"position {i} is {text[i - 1]!r}: positions {lo}-{hi} are {what} and must be digits"
            for lo, hi, what in _PARTS
            for i in range(lo, hi + 1)
            if text[i - 1] not in DIGITS
        ]
        if reasons:
            raise _fail(f"invalid unified code {text!r}", reasons)
        serial, check = self.read_object_part(text[:12], text[12:])
        class_problems = class_code_problems(text[6:12])
        if class_problems:
            raise _fail(f"invalid unified code {text!r}", class_problems)
        return UnifiedCode(text, text[:6], text[6:12], serial, check)

    def validate(self, code: str, *, known_classes: Container[str] | None = None) -> UnifiedCode:
        """Check a code we may not have issued.

        A division that is no longer current is a *warning* naming its successor, not an error: a code
        is assigned once and never changes, so codes made before a division change stay valid.
        """
        parsed = self.parse(code)
        issues: list[Issue] = []
        warnings: list[str] = []
        try:
            note = division_note(parsed.division)
        except InvalidInputError as err:
            issues += err.issues
        else:
            if note:
                warnings.append(f"division {parsed.division} is no longer current: {note}")
        if known_classes is not None and parsed.class_code not in known_classes:
            issues.append(Issue(FIELD, f"class {parsed.class_code} (positions 7-12) is not in the class table"))
        if issues:
            raise InvalidInputError(f"invalid unified code {parsed.text!r}", issues=issues)
        return replace(parsed, warnings=tuple(warnings))


class Iso7064Scheme(SchemeBase):
    """Default object part: 8-digit serial (positions 13-20) + ISO/IEC 7064 MOD 11-2 check (21).

    Why MOD 11-2 and not the hybrid MOD 11,10 or MOD 37,36: over decimal digits both hybrid systems
    miss some adjacent transpositions (``99950216561216330114`` and ``99950216562116330114`` share
    MOD 11,10 check 0; ``19951169647413799721`` and ``19951169647413799712`` share MOD 37,36 check X).
    MOD 11-2 is a pure system with prime modulus 11 and weights 2^i mod 11, so it catches every
    single-character substitution and every adjacent (and jump) transposition over the whole code,
    check character included. It is the check of the citizen ID (GB 11643), so Chinese systems
    already handle it. Cost: the check is ``X`` for about 1 code in 11, so the code
    is not purely numeric; the first 20 positions always are.
    """

    name = "iso7064-mod11-2"
    max_serial = 99_999_999

    @staticmethod
    def check_character(first20: str) -> str:
        return mod_11_2.calc_check_digit(first20)

    def object_part(self, prefix: str, serial: int) -> str:
        digits = f"{serial:08d}"
        return digits + self.check_character(prefix + digits)

    def read_object_part(self, prefix: str, part: str) -> tuple[int | None, str]:
        text = prefix + part
        reasons = [
            f"position {i} is {text[i - 1]!r}: positions 13-20 are the serial and must be digits"
            for i in range(13, 21)
            if text[i - 1] not in DIGITS
        ]
        if text[20] not in DIGITS + "X":
            reasons.append(f"position 21 is {text[20]!r}: the check character must be a digit or X")
        if reasons:
            raise _fail(f"invalid unified code {text!r}", reasons)
        expected = self.check_character(text[:20])
        if text[20] != expected:
            raise _fail(
                f"invalid unified code {text!r}",
                [f"check character is {text[20]!r}, expected {expected!r} (ISO/IEC 7064 MOD 11-2 over positions 1-20)"],
            )
        if part[:8] == "00000000":
            raise _fail(f"invalid unified code {text!r}", ["serial 00000000 is not used (serials start at 1)"])
        return int(part[:8]), part[8]


DEFAULT_SCHEME: CodeScheme = Iso7064Scheme()


def make_code(division: str, class_code: str, serial: int, *, scheme: CodeScheme = DEFAULT_SCHEME) -> str:
    return scheme.make(division, class_code, serial)


def parse_code(code: str, *, scheme: CodeScheme = DEFAULT_SCHEME) -> UnifiedCode:
    return scheme.parse(code)


def validate_code(
    code: str, *, known_classes: Container[str] | None = None, scheme: CodeScheme = DEFAULT_SCHEME
) -> UnifiedCode:
    return scheme.validate(code, known_classes=known_classes)
