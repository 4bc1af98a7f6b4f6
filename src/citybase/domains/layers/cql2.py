"""CQL2 filters (OGC API – Features Part 3), text or JSON, as SQLAlchemy clauses on ``city_object``.

pygeofilter parses; this module walks its AST and builds clauses only from columns, bound literals and
the store's neutral spatial predicates, so filter text never reaches SQL as text (no injection).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, Float, String, and_, cast, false, not_, or_, true

from citybase.domains.objects import ObjectClass
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.store import contains, intersects, within
from citybase.store.schema import city_object

MAX_FILTER_CHARS = 20_000
GEOMETRY_NAMES = ("geometry", "geom")
_COLUMNS = ("id", "name", "code", "state", "department_id", "parent_id", "version")
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_SPATIAL: dict[type, Callable[[Any, BaseGeometry], Any]] = {
    ast.GeometryIntersects: intersects,
    ast.GeometryWithin: within,
    ast.GeometryContains: contains,
}
Reproject = Callable[[BaseGeometry], BaseGeometry]


def _bad(reason: str) -> InvalidInputError:
    return InvalidInputError("bad filter", issues=[Issue("filter", reason)])


def parse_filter(text: str, lang: str) -> Any:
    """Parse CQL2 text (``cql2-text``) or JSON (``cql2-json``) into a pygeofilter AST; syntax errors are 400."""
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"longer than {MAX_FILTER_CHARS} characters")
    try:
        if lang == "cql2-json":
            return parse_json(json.loads(text))
        return parse_text(text)
    except Exception as exc:  # lark and json raise many kinds; all of them mean "not valid CQL2"
        raise _bad(f"not valid {lang}: {str(exc).splitlines()[0][:200]}") from None


class _Translator:
    def __init__(self, cls: ObjectClass, reproject: Reproject) -> None:
        self.cls = cls
        self.reproject = reproject

    def clause(self, node: Any) -> Any:
        if isinstance(node, ast.And):
            return and_(self.clause(node.lhs), self.clause(node.rhs))
        if isinstance(node, ast.Or):
            return or_(self.clause(node.lhs), self.clause(node.rhs))
        if isinstance(node, ast.Not):
            return not_(self.clause(node.sub_node))
        if type(node) in _COMPARE:
            return self.comparison(node)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.Between):
            col = self.column(node.lhs, node.low)
            cond = and_(col >= self.literal(node.low), col <= self.literal(node.high))
            return not_(cond) if node.not_ else cond
        if isinstance(node, ast.In):
            col = self.column(node.lhs, node.sub_nodes[0] if node.sub_nodes else None)
            cond = col.in_([self.literal(v) for v in node.sub_nodes])
            return not_(cond) if node.not_ else cond
        if isinstance(node, ast.IsNull):
            col = self.column(node.lhs, None)
            return col.is_not(None) if node.not_ else col.is_(None)
        if type(node) in _SPATIAL:
            return self.spatial(node)
        if isinstance(node, bool):
            return true() if node else false()
        raise _bad(
            f"{type(node).__name__} is not supported (comparison, LIKE, BETWEEN, IN, IS NULL, AND/OR/NOT, "
            "S_INTERSECTS, S_WITHIN, S_CONTAINS)"
        )

    def comparison(self, node: Any) -> Any:
        lhs, rhs, op = node.lhs, node.rhs, _COMPARE[type(node)]
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            swapped = {
                ast.LessThan: ast.GreaterThan,
                ast.GreaterThan: ast.LessThan,
                ast.LessEqual: ast.GreaterEqual,
                ast.GreaterEqual: ast.LessEqual,
            }
            op = _COMPARE[swapped.get(type(node), type(node))]
            lhs, rhs = rhs, lhs
        return op(self.column(lhs, rhs), self.literal(rhs))

    def like(self, node: Any) -> Any:
        if not isinstance(node.pattern, str):
            raise _bad("LIKE needs a text pattern")
        # CQL2: % any run, _ one character, \ escapes; the same as SQL LIKE with ESCAPE '\'.
        cond = cast(self.column(node.lhs, ""), String).like(node.pattern, escape="\\")
        return not_(cond) if node.not_ else cond

    def column(self, node: Any, sample: Any) -> Any:
        """The column of a queryable, typed after the class attribute (or after the literal it meets)."""
        if not isinstance(node, ast.Attribute):
            raise _bad("the left side of a comparison must be a property name")
        name = node.name
        t = city_object
        if name in _COLUMNS:
            return t.c[name]
        if name in GEOMETRY_NAMES:
            raise _bad("compare the geometry with spatial functions (S_INTERSECTS, S_WITHIN) only")
        adef = self.cls.attribute(name)
        if adef is None:
            raise InvalidInputError(
                "bad filter", issues=[Issue("filter", f"{name!r} is not a queryable of class {self.cls.code}")]
            )
        element = t.c.attributes[name]
        if adef.type in ("integer", "number"):
            return cast(element.as_float(), Float)
        if adef.type == "boolean":
            return cast(element.as_boolean(), Boolean)
        return cast(element.as_string(), String)

    @staticmethod
    def literal(value: Any) -> Any:
        if isinstance(value, bool | int | float | str):
            return value
        raise _bad(f"only number, text and boolean literals are supported, not {type(value).__name__}")

    def spatial(self, node: Any) -> Any:
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        if not (isinstance(lhs, ast.Attribute) and lhs.name in GEOMETRY_NAMES):
            raise _bad(f"spatial functions take the property {GEOMETRY_NAMES[0]!r} and a geometry literal")
        return _SPATIAL[type(node)](city_object.c.geom, self.reproject(self.geometry(rhs)))

    @staticmethod
    def geometry(node: Any) -> BaseGeometry:
        if isinstance(node, ast.Function) and node.name.lower() == "bbox" and len(node.arguments) in (4, 6):
            a = [float(v) for v in node.arguments]
            return shapely.box(a[0], a[1], a[3], a[4]) if len(a) == 6 else shapely.box(*a)
        if isinstance(node, values.Envelope):
            # pygeofilter's cql2-json parser fills Envelope(x1, x2, y1, y2) positionally from the CQL2
            # [minx, miny, maxx, maxy] array, so its fields are in that order, not as named.
            return shapely.box(node.x1, node.x2, node.y1, node.y2)
        if isinstance(node, ast.BBox):
            return shapely.box(node.minx, node.miny, node.maxx, node.maxy)
        if hasattr(node, "geometry") and isinstance(node.geometry, dict):
            try:
                geom = shape(node.geometry)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException):
                raise _bad("invalid geometry literal") from None
            if geom.is_empty or not geom.is_valid:
                raise _bad("the geometry literal is empty or invalid")
            return geom
        raise _bad("a spatial function needs a geometry literal (POINT, POLYGON, BBOX, …)")


def filter_clause(cls: ObjectClass, tree: Any, reproject: Reproject) -> Any:
    """The SQLAlchemy clause of a parsed filter; ``reproject`` brings literals to CGCS2000 lon/lat."""
    return _Translator(cls, reproject).clause(tree)
