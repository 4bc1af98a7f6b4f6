"""The fast attribute pre-check never accepts what the class's JSON schema rejects, and errors stay jsonschema's."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from citybase.domains.objects.classes import build_class
from citybase.kernel.errors import InvalidInputError
from citybase.platform import Platform

CLASS = build_class(
    {
        "code": "990101",
        "major": "测试",
        "medium": "测试",
        "name": "测试类",
        "name_en": "test class",
        "geometry_type": "Point",
        "attributes": [
            {"name": "floors", "type": "integer", "min": 1, "max": 200, "required": True},
            {"name": "height", "type": "number", "min": 0},
            {"name": "kind", "type": "string", "enum": ["住宅", "商业"]},
            {"name": "note", "type": "string", "max_length": 5},
            {"name": "tag", "type": "string", "pattern": "^[A-Z]{2}[0-9]+$"},
            {"name": "public", "type": "boolean"},
            {"name": "level", "type": "integer", "enum": [1, 2, 3]},
        ],
    }
)

# Values chosen at the edges of what JSON Schema types mean in Python: bool is not an integer,
# 3.0 is an integer, NaN is a number, "" and very long strings, wrong-typed enum members.
VALUES: dict[str, list[Any]] = {
    "floors": [1, 200, 0, 201, 6, 6.0, 6.5, True, "6", None, math.nan],
    "height": [0, 0.0, 12.5, -1, -0.1, math.inf, math.nan, False, "3"],
    "kind": ["住宅", "商业", "工业", 1, None],
    "note": ["", "12345", "123456", 5],
    "tag": ["AB12", "ab12", "AB", "xAB12", "AB12x"],
    "public": [True, False, 0, 1, "是"],
    "level": [1, 3, 4, 1.0, True],
}


def _schema_errors(attributes: dict[str, Any]) -> list[str]:
    return [e.message for e in CLASS._validator.iter_errors(attributes)]


def test_the_quick_check_vouches_only_for_rows_jsonschema_accepts() -> None:
    assert CLASS._quick is not None
    accepted = 0
    for name, values in VALUES.items():
        for value in values:
            for attrs in ({"floors": 6, name: value}, {name: value}):
                quick = CLASS._quick(attrs)
                assert not quick or _schema_errors(attrs) == [], (attrs, _schema_errors(attrs))
                accepted += quick
    for a, b in itertools.combinations(["floors", "height", "kind", "note", "public"], 2):
        for va, vb in itertools.product(VALUES[a], VALUES[b]):
            attrs = {"floors": 6, a: va, b: vb}
            assert not CLASS._quick(attrs) or _schema_errors(attrs) == [], attrs
    assert accepted >= 15  # it does vouch for the ordinary rows (else it would be no faster)
    assert not CLASS._quick({"floors": 6, "colour": "red"})  # unknown attribute
    assert not CLASS._quick({"height": 3})  # required attribute missing


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"floors": 6.0}, None),  # jsonschema decides: a whole float is an integer
        ({"floors": 0}, [("attributes.floors", "0 is less than the minimum of 1")]),
        ({"floors": True}, [("attributes.floors", "True is not of type 'integer'")]),
        ({"floors": 6, "kind": "工业"}, [("attributes.kind", "'工业' is not one of ['住宅', '商业']")]),
        ({"floors": 6, "note": "123456"}, [("attributes.note", "'123456' is too long")]),
        ({"floors": 6, "tag": "ab1"}, [("attributes.tag", "'ab1' does not match '^[A-Z]{2}[0-9]+$'")]),
        ({}, [("attributes.floors", "is required")]),
    ],
)
def test_rows_the_quick_check_refuses_get_jsonschemas_answer(
    attributes: dict[str, Any], expected: list[tuple[str, str]] | None
) -> None:
    if expected is None:
        assert CLASS.validate(attributes, record=3) == attributes
        return
    with pytest.raises(InvalidInputError) as err:
        CLASS.validate(attributes, record=3)
    assert [(i.field, i.reason) for i in err.value.issues] == expected
    assert all(i.record == 3 for i in err.value.issues)


def test_classes_from_the_database_get_the_quick_check(platform: Platform) -> None:
    building = platform.classes.get("050101")
    assert building._quick is not None
    assert building.validate({"floors": 6}) == {"floors": 6}
    with pytest.raises(InvalidInputError) as err:
        building.validate({"floors": "six", "colour": "red"}, record=9)
    fields = sorted(i.field for i in err.value.issues)
    assert fields == ["attributes.colour", "attributes.floors"]
