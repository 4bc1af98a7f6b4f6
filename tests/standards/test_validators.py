"""USCC (GB 32100), organisation code (GB 11714) and citizen ID (GB 11643): STANDARDS §5.1-5.3 vectors."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from citybase.kernel.errors import InvalidInputError
from citybase.standards.validators import (
    USCC_ALPHABET,
    org_code_check_character,
    validate_citizen_id,
    validate_org_code,
    validate_uscc,
)

USCC_VALID = ["91110000600037341L", "121200004013590816", "91310115MA1K3BTP2B", "9144030071526726XG",
              "91620105L015101280", "91340600MA2PBNE723"]
CITIZEN_VALID = ["360426199101010071", "44011320141005001X", "110102199101010078", "412723199010050012",
                 "120110198012010073", "11010519491231002X", "440524188001010014"]


def reasons(exc: pytest.ExceptionInfo[InvalidInputError]) -> str:
    return " | ".join(i.reason for i in exc.value.issues)


# ---------------------------------------------------------------- USCC


@pytest.mark.parametrize("code", USCC_VALID)
def test_uscc_valid_vectors(code: str) -> None:
    r = validate_uscc(code)
    assert r.value == code
    assert r.division_code == code[2:8] and r.org_code == code[8:17]
    assert r.warnings == ()


def test_uscc_is_normalised() -> None:
    assert validate_uscc(" 9111 0000-600037341l ").value == "91110000600037341L"


def test_uscc_invalid_checksum() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_uscc("91110000600037341N")
    assert exc.value.issues[0].field == "uscc"
    assert reasons(exc) == "check character is 'N', expected 'L' (GB 32100 mod 31)"


def test_uscc_invalid_authority_letter_is_caught_by_the_check_character() -> None:
    # STANDARDS lists A1110000600037341L as invalid (python-stdnum: "InvalidFormat" because it wants
    # digits in positions 1-8). Letters are legal in position 1 (e.g. N = 农业 for rural collectives),
    # so we reject it by its check character instead.
    with pytest.raises(InvalidInputError) as exc:
        validate_uscc("A1110000600037341L")
    assert "check character is 'L', expected 'K'" in reasons(exc)


def test_uscc_invalid_characters_name_each_position() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_uscc("9111000060003IOZSV")
    assert [i.reason.split(":")[0] for i in exc.value.issues] == [
        "position 14 is 'I'", "position 15 is 'O'", "position 16 is 'Z'", "position 17 is 'S'",
        "position 18 is 'V'"]
    assert all(i.field == "uscc" for i in exc.value.issues)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("9111000060003734", "has 16 characters, expected 18"),
        ("9111A000600037341L", "position 5 is 'A': positions 3-8 are the registration division code"),
    ],
)
def test_uscc_format_errors(code: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_uscc(code)
    assert reason in reasons(exc)


def _with_check(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


def test_uscc_unknown_authority_and_category_are_warnings() -> None:
    r = validate_uscc(_with_check("B1110000600037341"))
    assert r.value.startswith("B1") and "registration authority code 'B'" in r.warnings[0]
    r = validate_uscc(_with_check("97110000600037341"))
    assert "category code '7' (position 2) is not listed for authority 9 工商" in r.warnings[0]
    r = validate_uscc(_with_check("N2420602600037341"))  # 农业 / rural collective: known authority
    assert r.warnings == ()


def test_uscc_division_and_org_code_warnings() -> None:
    r = validate_uscc(_with_check("91420603600037341"))  # 樊东区, merged into 樊城区 in 1995
    assert any("420603" in w and "420606 樊城区" in w for w in r.warnings)
    r = validate_uscc(_with_check("91999999600037341"))
    assert any("999999 (positions 3-8) is not a GB/T 2260 code" in w for w in r.warnings)
    r = validate_uscc(_with_check("91110000600037342"))
    assert any("expected '1'" in w and "positions 9-17" in w for w in r.warnings)


USCC_BODIES = st.builds(
    lambda head, division, org: head + division + org,
    st.text(alphabet=USCC_ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@given(USCC_BODIES)
def test_uscc_any_body_with_its_check_character_validates(body: str) -> None:
    r = validate_uscc(_with_check(body))
    assert r.value == _with_check(body)


@given(USCC_BODIES, st.integers(0, 17),
       st.sampled_from(USCC_ALPHABET))
def test_uscc_single_substitution_is_detected(body: str, pos: int, ch: str) -> None:
    code = _with_check(body)
    if code[pos] == ch:
        return
    bad = code[:pos] + ch + code[pos + 1:]
    with pytest.raises(InvalidInputError):
        validate_uscc(bad)


# ---------------------------------------------------------------- organisation code


@pytest.mark.parametrize(("body", "check"),
                         [("D2143569", "X"), ("MA1FL0LY", "9"), ("60003734", "1"), ("00000000", "0"),
                          ("MA1K3BTP", "2"), ("71526726", "X")])
def test_org_code_check_vectors(body: str, check: str) -> None:
    assert org_code_check_character(body) == check
    assert validate_org_code(body + check) == body + check
    assert validate_org_code(f"{body.lower()}-{check.lower()}") == body + check


@pytest.mark.parametrize("code", USCC_VALID)
def test_org_code_inside_every_uscc_vector(code: str) -> None:
    assert validate_org_code(code[8:17]) == code[8:17]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("D21435691", "check character is '1', expected 'X' (GB 11714 mod 11)"),
        ("D2143569", "has 8 characters, expected 9"),
        ("D2143_69X", "position 6 is '_': positions 1-8 must be digits or letters A-Z"),
        ("D2143569Y", "check character is 'Y': it must be a digit or X"),
    ],
)
def test_org_code_invalid(code: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_org_code(code)
    assert exc.value.issues[0].field == "org_code"
    assert reason in reasons(exc)


# ---------------------------------------------------------------- citizen ID


@pytest.mark.parametrize("code", CITIZEN_VALID)
def test_citizen_id_valid_vectors(code: str) -> None:
    r = validate_citizen_id(code)
    assert r.value == code
    assert r.birth_date == dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    assert r.sex == ("male" if int(code[16]) % 2 else "female")
    assert r.division_code == code[:6] and r.place


def test_citizen_id_details() -> None:
    r = validate_citizen_id("44011320141005001x")
    assert (r.value, r.sex, r.place) == ("44011320141005001X", "male", "番禺区")
    r = validate_citizen_id("11010519491231002X")
    assert (r.sex, r.birth_date, r.place) == ("female", dt.date(1949, 12, 31), "朝阳区")
    # GB 11643's own example: born 1880, registered under 潮阳县 (code in force 1983-1993).
    assert validate_citizen_id("440524188001010014").place == "潮阳县"


def test_citizen_id_invalid_checksum() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_citizen_id("36042619910102009X")
    assert exc.value.issues[0].field == "citizen_id"
    assert reasons(exc) == "check character is 'X', expected '3' (ISO 7064 MOD 11-2)"


def test_citizen_id_invalid_date() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_citizen_id("360426199113010079")
    assert reasons(exc) == "birth date 1991-13-01 (positions 7-14) is not a real date"


def _fix(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_citizen_id_future_birth_date() -> None:
    year = dt.date.today().year + 1
    with pytest.raises(InvalidInputError, match="is in the future"):
        validate_citizen_id(_fix(f"420602{year}0101001"))


def test_citizen_id_division_in_birth_year() -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_citizen_id(_fix("42060319960101001"))  # 樊东区 retired 1995
    assert reasons(exc) == "address code 420603 (positions 1-6) was retired in 1995, before the birth year 1996"
    assert validate_citizen_id(_fix("42060319900101001")).place == "樊东区"
    assert validate_citizen_id(_fix("42060319960101001"), check_division=False).place is None
    with pytest.raises(InvalidInputError, match="999999 \\(positions 1-6\\) is not a GB/T 2260 code"):
        validate_citizen_id(_fix("99999919900101001"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("36042619910101007", "has 17 characters, expected 18"),
        ("3604261991010100X1", "position 17 is 'X': positions 1-17 must be digits"),
        ("36042619910101007A", "position 18 is 'A': the check character must be a digit or X"),
    ],
)
def test_citizen_id_format_errors(code: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as exc:
        validate_citizen_id(code)
    assert reason in reasons(exc)


def test_non_string_input_is_an_input_error() -> None:
    for fn in (validate_uscc, validate_org_code, validate_citizen_id):
        with pytest.raises(InvalidInputError, match="expected a string"):
            fn(12345)  # type: ignore[arg-type]
