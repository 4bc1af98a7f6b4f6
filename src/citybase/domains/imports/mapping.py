"""Attribute mapping: a department's column names → the class's attributes, and typed values.

A mapping is ``{source column: target}`` where the target is an attribute of the class, ``name`` (the
object's name), ``key`` (the row's identity across re-imports), ``address`` (raw address text) or ``-``
(drop the column). Columns not mapped map to the attribute of the same name (case-insensitive) when
there is one; the rest are *unknown* and are kept (stored with the layer item, not as attributes,
because classes take only their own attributes), dropped, or make the import fail, as the operator chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from citybase.domains.objects import AttributeDef, ObjectClass
from citybase.kernel.errors import InvalidInputError, Issue

SPECIAL = ("name", "key", "address", "-")
UNKNOWN_POLICIES = ("keep", "drop", "reject")
MAX_VALUE_CHARS = 10_000  # one attribute value; longer values reject the row (huge attribute values)
DEFAULT_NAME_COLUMNS = ("name", "名称", "名字", "mc")
DEFAULT_KEY_COLUMNS = ("id", "osm_key", "osm_id", "fid", "objectid", "编号", "编码")
DEFAULT_ADDRESS_COLUMNS = ("address", "addr", "地址", "详细地址")
_TRUE = {"1", "true", "yes", "y", "t", "是", "有"}
_FALSE = {"0", "false", "no", "n", "f", "否", "无"}


@dataclass(slots=True)
class MappingPlan:
    """Where each source column goes; ``report`` says so in plain words for the validation report."""

    attributes: dict[str, str] = field(default_factory=dict)  # column -> class attribute
    name: str | None = None
    key: str | None = None
    address: str | None = None
    kept: list[str] = field(default_factory=list)  # unknown columns kept (layer item extra)
    dropped: list[str] = field(default_factory=list)
    defs: dict[str, AttributeDef] = field(default_factory=dict)  # the class's attributes by name (one lookup a cell)

    def report(self, source: str) -> dict[str, Any]:
        return {
            "source": source,
            "attributes": self.attributes,
            "name": self.name,
            "key": self.key,
            "address": self.address,
            "unknown_kept": self.kept,
            "dropped": self.dropped,
        }


def _find(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def check_mapping(mapping: Any, cls: ObjectClass) -> dict[str, str]:
    """A mapping as given by an operator, checked against the class (every bad entry is named)."""
    if not isinstance(mapping, dict):
        raise InvalidInputError("bad mapping", issues=[Issue("mapping", "an object {source column: target}")])
    names = {a.name for a in cls.attributes}
    issues = [
        Issue(f"mapping.{col}", f"{target!r} is not an attribute of class {cls.code} nor one of {list(SPECIAL)}")
        for col, target in mapping.items()
        if not isinstance(target, str) or (target not in names and target not in SPECIAL)
    ]
    if issues:
        raise InvalidInputError("bad mapping", issues=issues)
    return {str(k): str(v) for k, v in mapping.items()}


def plan(columns: list[str], cls: ObjectClass, mapping: dict[str, str], unknown: str, skip: set[str]) -> MappingPlan:
    """Decide every column's fate; ``skip`` are columns already used (coordinate columns)."""
    if unknown not in UNKNOWN_POLICIES:
        raise InvalidInputError("bad option", issues=[Issue("unknown", f"one of {list(UNKNOWN_POLICIES)}")])
    by_lower = {a.name.lower(): a.name for a in cls.attributes}
    p = MappingPlan(defs={a.name: a for a in cls.attributes})
    for col in columns:
        target = mapping.get(col)
        if col in skip and target is None:
            continue
        if target is None and col.lower() in by_lower:
            target = by_lower[col.lower()]
        if target in ("name", "key", "address"):
            setattr(p, target, col)
        elif target == "-":
            p.dropped.append(col)
        elif target is not None:
            p.attributes[col] = target
    used = {*p.attributes, p.name, p.key, p.address, *p.dropped, *skip}
    rest = [c for c in columns if c not in used]
    p.name = p.name or _find(rest, DEFAULT_NAME_COLUMNS)
    p.key = p.key or _find([c for c in rest if c != p.name], DEFAULT_KEY_COLUMNS)
    p.address = p.address or _find([c for c in rest if c not in (p.name, p.key)], DEFAULT_ADDRESS_COLUMNS)
    unknown_cols = [c for c in rest if c not in (p.name, p.key, p.address)]
    if unknown == "reject" and unknown_cols:
        raise InvalidInputError(
            "unknown columns",
            issues=[
                Issue(c, f"not an attribute of class {cls.code}; map it (mapping) or import with unknown=keep/drop")
                for c in unknown_cols
            ],
        )
    (p.kept if unknown == "keep" else p.dropped).extend(unknown_cols)
    return p


def coerce(adef: AttributeDef, value: Any) -> Any:
    """A source value as the attribute's JSON type; ValueError says why it does not fit."""
    if isinstance(value, str):
        value = value.strip()
    if adef.type == "integer":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    if adef.type == "number":
        return float(value)
    if adef.type == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{value!r} is not yes/no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def map_row(row: dict[str, Any], p: MappingPlan, cls: ObjectClass, record: int) -> tuple[dict[str, Any], list[Issue]]:
    """The class attributes of one row and the issues of its values (empty values are left out)."""
    attributes: dict[str, Any] = {}
    issues: list[Issue] = []
    for col, value in row.items():
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            issues.append(Issue(col, f"value of {len(value)} characters; at most {MAX_VALUE_CHARS}", record))
    for col, target in p.attributes.items():
        value = row.get(col)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        adef = p.defs.get(target) or cls.attribute(target)
        assert adef is not None
        try:
            attributes[target] = coerce(adef, value)
        except (ValueError, TypeError) as exc:
            issues.append(Issue(col, f"→ {target} ({adef.type}): {exc}", record))
    return attributes, issues
