"""Unified identification code (21 characters): layout, default ISO/IEC 7064 MOD 11-2 scheme, pluggable
schemes, validation of codes we did not issue."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2, mod_11_10, mod_37_36

from citybase.kernel.errors import InvalidInputError
from citybase.standards import divisions
from citybase.standards.unified_code import (
    DEFAULT_SCHEME,
    CodeScheme,
    Iso7064Scheme,
    SchemeBase,
    UnifiedCode,
    class_code_problems,
    make_code,
    parse_code,
    validate_code,
)

SCHEME = Iso7064Scheme()
CURRENT = sorted(c for c in divisions._mca_upper().rows if c.startswith("42"))

divisions_st = st.sampled_from(CURRENT)
classes_st = st.builds(lambda a, b, c: f"{a:02d}{b:02d}{c:02d}" if b else f"{a:02d}0000",
                       st.integers(1, 99), st.integers(0, 99), st.integers(0, 99))
serials_st = st.integers(1, SCHEME.max_serial)


def reasons(exc: pytest.ExceptionInfo[InvalidInputError]) -> str:
    return " | ".join(i.reason for i in exc.value.issues)


def with_check(first20: str) -> str:
    return first20 + mod_11_2.calc_check_digit(first20)


# ---------------------------------------------------------------- layout and worked examples


def test_worked_example() -> None:
    code = make_code("420602", "010203", 1)
    assert code == "420602010203000000011"
    u = parse_code(code)
    assert u == UnifiedCode(code, "420602", "010203", 1, "1")
    assert (u.major, u.medium, u.minor, u.object_part, str(u)) == ("01", "02", "03", "000000011", code)
    with pytest.raises(FrozenInstanceError):
        u.serial = 2  # type: ignore[misc]


def test_check_can_be_x() -> None:
    code = next(make_code("420606", "050100", n) for n in range(1, 100)
                if make_code("420606", "050100", n).endswith("X"))
    assert parse_code(code.lower()).check == "X"
    assert len(code) == 21 and code[:20].isdigit()


def test_default_scheme_is_iso7064() -> None:
    assert isinstance(DEFAULT_SCHEME, Iso7064Scheme)
    assert DEFAULT_SCHEME.max_serial == 99_999_999
    assert make_code("420602", "010203", 99_999_999) == with_check("42060201020399999999")


# ---------------------------------------------------------------- properties


@given(divisions_st, classes_st, serials_st)
def test_make_parse_round_trip(division: str, class_code: str, serial: int) -> None:
    code = make_code(division, class_code, serial)
    u = validate_code(code, known_classes={class_code})
    assert (u.text, u.division, u.class_code, u.serial) == (code, division, class_code, serial)
    assert u.warnings == ()
    assert u.serial is not None and make_code(u.division, u.class_code, u.serial) == code


@given(divisions_st, classes_st, serials_st, st.integers(0, 20), st.sampled_from("0123456789XA"))
def test_any_single_character_change_is_detected(division: str, class_code: str, serial: int, pos: int,
                                                 ch: str) -> None:
    code = make_code(division, class_code, serial)
    if code[pos] == ch:
        return
    with pytest.raises(InvalidInputError):
        SCHEME.parse(code[:pos] + ch + code[pos + 1:])


@given(divisions_st, classes_st, serials_st, st.integers(0, 19))
def test_any_adjacent_transposition_is_detected(division: str, class_code: str, serial: int,
                                                pos: int) -> None:
    code = make_code(division, class_code, serial)
    if code[pos] == code[pos + 1]:
        return
    with pytest.raises(InvalidInputError):
        SCHEME.parse(code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:])


def test_mod_11_2_detects_every_error_exhaustively() -> None:
    """Over every state of the running checksum, not just sampled codes: MOD 11-2 weights 2^i mod 11
    are non-zero and adjacent ones differ, so a substitution or adjacent swap always changes the sum."""
    weights = [pow(2, 20 - i, 11) for i in range(21)]  # position i of 21, check has weight 1
    for i in range(20):
        for a in range(11):
            for b in range(11):
                if a != b:
                    assert (a - b) * weights[i] % 11 != 0  # substitution at i
                    assert (a - b) * (weights[i] - weights[i + 1]) % 11 != 0  # swap of i and i+1


def test_the_hybrid_systems_would_miss_transpositions() -> None:
    """Why not MOD 11,10 or MOD 37,36 (see Iso7064Scheme): both miss some adjacent swaps."""
    assert mod_11_10.calc_check_digit("99950216561216330114") == mod_11_10.calc_check_digit(
        "99950216562116330114")
    assert mod_37_36.calc_check_digit("19951169647413799721") == mod_37_36.calc_check_digit(
        "19951169647413799712")
    assert mod_11_2.calc_check_digit("99950216561216330114") != mod_11_2.calc_check_digit(
        "99950216562116330114")


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("42060201020300000001", "has 20 characters, expected 21"),
        ("4206020102030000000111", "has 22 characters, expected 21"),
        ("42060A010203000000011", "position 6 is 'A': positions 1-6 are the division code and must be digits"),
        ("4206020102X3000000011", "position 11 is 'X': positions 7-12 are the class code and must be digits"),
        ("42060201020300000A011", "position 18 is 'A': positions 13-20 are the serial and must be digits"),
        ("42060201020300000001A", "position 21 is 'A': the check character must be a digit or X"),
        ("420602010203000000012", "check character is '2', expected '1' (ISO/IEC 7064 MOD 11-2 over positions 1-20)"),
        (with_check("42060201020300000000"), "serial 00000000 is not used"),
        (with_check("42060200020300000001"), "major class 00 does not exist"),
        (with_check("42060201000300000001"), "minor class 03 under medium class 00"),
    ],
)
def test_parse_errors_name_the_position_and_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        parse_code(code)
    assert all(i.field == "unified_code" for i in exc.value.issues)
    assert reason in reasons(exc)


def test_non_string_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="expected a string"):
        parse_code(420602010203000000011)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("division", "class_code", "serial", "field", "reason"),
    [
        ("420603", "010203", 1, "division", "420603 (樊东区) is now 420606 樊城区"),
        ("999999", "010203", 1, "division", "not a current GB/T 2260 code"),
        ("4206", "010203", 1, "division", "not a current GB/T 2260 code"),
        ("420602", "0102", 1, "class_code", "must be 6 digits"),
        ("420602", "000000", 1, "class_code", "major class 00"),
        ("420602", "010203", 0, "serial", "outside 1-99999999"),
        ("420602", "010203", 100_000_000, "serial", "outside 1-99999999"),
        ("420602", "010203", True, "serial", "outside"),
    ],
)
def test_make_rejects(division: str, class_code: str, serial: int, field: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        make_code(division, class_code, serial)
    assert exc.value.issues[0].field == field
    assert reason in exc.value.issues[0].reason


def test_class_code_structure() -> None:
    assert class_code_problems("010000") == []
    assert class_code_problems("010200") == []
    assert class_code_problems("990199") == []
    assert class_code_problems("01020") != []


# ---------------------------------------------------------------- validation of foreign codes


def test_changed_division_is_a_warning_with_its_successor() -> None:
    code = with_check("42060301020300000001")  # 樊东区, renamed 樊城区 420606 in 1995
    u = validate_code(code)
    assert u.division == "420603"
    assert len(u.warnings) == 1 and "420606 樊城区" in u.warnings[0]
    assert u == parse_code(code)  # warnings do not take part in equality


def test_chained_division_change_warning() -> None:
    u = validate_code(with_check("42252201020300000001"))  # 枣阳县 under 襄阳地区 → 420683 枣阳市
    assert "420683 枣阳市" in u.warnings[0]


def test_unknown_division_and_class_are_errors_together() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_code(with_check("99999901020300000001"), known_classes={"010101"})
    assert [i.reason for i in exc.value.issues] == [
        "division 999999 (positions 1-6) is not a GB/T 2260 code, current or past",
        "class 010203 (positions 7-12) is not in the class table",
    ]


def test_class_not_checked_without_a_table() -> None:
    assert validate_code(make_code("420602", "990101", 7)).serial == 7


# ---------------------------------------------------------------- swapping in a city's scheme


class LetterGridScheme(SchemeBase):
    """A made-up city rule: 2 letters of grid block + 6-digit serial + MOD 37,36 check."""

    name = "example-grid"
    max_serial = 26 * 26 * 1_000_000 - 1

    def object_part(self, prefix: str, serial: int) -> str:
        block, n = divmod(serial, 1_000_000)
        body = chr(65 + block // 26) + chr(65 + block % 26) + f"{n:06d}"
        return body + mod_37_36.calc_check_digit(prefix + body)

    def read_object_part(self, prefix: str, part: str) -> tuple[int | None, str]:
        if not mod_37_36.is_valid(prefix + part):
            raise InvalidInputError("bad check", issues=[])
        return ((ord(part[0]) - 65) * 26 + ord(part[1]) - 65) * 1_000_000 + int(part[2:8]), part[8]


def test_a_city_scheme_plugs_in() -> None:
    scheme: CodeScheme = LetterGridScheme()
    code = make_code("420602", "010203", 2_000_123, scheme=scheme)
    assert code[12:20] == "AC000123" and len(code) == 21
    u = validate_code(code, scheme=scheme, known_classes={"010203"})
    assert u.serial == 2_000_123 and u.division == "420602"
    with pytest.raises(InvalidInputError):
        parse_code(code)  # the default scheme does not read it
