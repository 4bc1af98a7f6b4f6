"""Layers: published views over city objects, with access levels, and the features they serve."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, Role, record_audit
from citybase.domains.layers import cql2
from citybase.domains.layers import features as fq
from citybase.domains.layers.model import (
    AccessLevel,
    FeaturePage,
    FeatureQuery,
    Layer,
    LayerChanges,
    LayerKind,
    NewLayer,
)
from citybase.domains.layers.seed import SEED_LAYERS, seed_style
from citybase.domains.objects import MAX_LIMIT, ClassRegistry
from citybase.kernel.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    Issue,
    NotFoundError,
    PermissionDeniedError,
)
from citybase.store import Store, window_order
from citybase.store.layer_tables import layer
from citybase.store.schema import city_object, department

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
STYLE_KEYS = {"type", "paint", "layout", "filter", "minzoom", "maxzoom", "metadata", "source-layer"}


def _now() -> datetime:
    return datetime.now(UTC)


def _layer(m: Any) -> Layer:
    return Layer(**{k: m[k] for k in Layer.__dataclass_fields__})


def _is_platform_admin(actor: Actor) -> bool:
    return actor.kind == "system" or actor.role == Role.PLATFORM_ADMIN


def may_read(actor: Actor, lyr: Layer) -> bool:
    if lyr.access == AccessLevel.PUBLIC:
        return True
    if actor.kind == "anonymous":
        return False
    if lyr.access == AccessLevel.INTERNAL or _is_platform_admin(actor):
        return True
    return actor.department_id is not None and (
        actor.department_id in lyr.allowed_departments or actor.department_id == lyr.department_id
    )


def may_manage(actor: Actor, department_id: int | None) -> bool:
    if actor.kind == "anonymous":
        raise AuthenticationError("log in to manage layers")
    if _is_platform_admin(actor):
        return True
    return actor.role == Role.DEPARTMENT_ADMIN and department_id is not None and department_id == actor.department_id


def _check_style(style: Any) -> dict[str, Any]:
    if not isinstance(style, dict):
        raise InvalidInputError(
            "bad style", issues=[Issue("style", "must be a MapLibre style layer fragment (object)")]
        )
    extra = sorted(set(style) - STYLE_KEYS)
    if extra:
        raise InvalidInputError(
            "bad style", issues=[Issue(f"style.{k}", f"not a style layer key; use {sorted(STYLE_KEYS)}") for k in extra]
        )
    return style


def _check_access(access: str, allowed: list[int], known: set[int]) -> None:
    if access not in {a.value for a in AccessLevel}:
        raise InvalidInputError("bad access", issues=[Issue("access", f"one of {[a.value for a in AccessLevel]}")])
    if not isinstance(allowed, list) or not all(isinstance(d, int) for d in allowed):
        raise InvalidInputError("bad access", issues=[Issue("allowed_departments", "a list of department ids")])
    missing = sorted(set(allowed) - known)
    if missing:
        raise InvalidInputError("bad access", issues=[Issue("allowed_departments", f"no department(s) {missing}")])


class LayerService:
    def __init__(self, store: Store, classes: ClassRegistry) -> None:
        self.store = store
        self.classes = classes

    # --- reads -----------------------------------------------------------------------------------
    def list(self, actor: Actor) -> list[Layer]:
        with self.store.read() as conn:
            rows = conn.execute(select(layer).order_by(layer.c.name)).mappings().all()
        return [lyr for lyr in map(_layer, rows) if may_read(actor, lyr)]

    def get(self, actor: Actor, name: str) -> Layer:
        """A layer by name; a layer the caller may not read is reported as missing (its existence is not told)."""
        with self.store.read() as conn:
            row = conn.execute(select(layer).where(layer.c.name == name)).mappings().first()
        lyr = _layer(row) if row is not None else None
        if lyr is None or not may_read(actor, lyr):
            raise NotFoundError(f"no layer {name!r}")
        return lyr

    # --- writes ----------------------------------------------------------------------------------
    def create(self, actor: Actor, new: NewLayer) -> Layer:
        dept = new.department_id if new.department_id is not None else actor.department_id
        if not may_manage(actor, dept):
            raise PermissionDeniedError("layers are managed by platform admins and their department's admins")
        issues = []
        if not isinstance(new.name, str) or not NAME.match(new.name):
            issues.append(Issue("name", "a slug: lower-case letters, digits, - and _, starting with a letter"))
        if not isinstance(new.title, str) or not new.title.strip() or len(new.title) > 200:
            issues.append(Issue("title", "1-200 characters required"))
        if new.kind not in (LayerKind.CLASS, LayerKind.DATASET):
            issues.append(Issue("kind", "'class' (all objects of the class) or 'dataset' (filled by imports)"))
        if issues:
            raise InvalidInputError("invalid layer", issues=issues)
        self.classes.get(new.class_code)
        style = _check_style(new.style)
        now = _now()
        with self.store.write() as conn:
            known = set(conn.execute(select(department.c.id)).scalars())
            _check_access(new.access, new.allowed_departments, known)
            if dept is not None and dept not in known:
                raise InvalidInputError("invalid layer", issues=[Issue("department_id", f"no department {dept}")])
            if conn.execute(select(layer.c.id).where(layer.c.name == new.name)).first() is not None:
                raise ConflictError(f"a layer named {new.name!r} exists already")
            conn.execute(
                layer.insert().values(
                    name=new.name,
                    title=new.title.strip(),
                    description=new.description or "",
                    department_id=dept,
                    kind=new.kind,
                    class_code=new.class_code,
                    style=style,
                    access=new.access,
                    allowed_departments=sorted(set(new.allowed_departments)),
                    created_at=now,
                    updated_at=now,
                )
            )
            record_audit(conn, actor, "layer.create", "layer", new.name)
        return self._raw(new.name)

    def update(self, actor: Actor, name: str, changes: LayerChanges) -> Layer:
        current = self._raw(name)
        if not may_manage(actor, current.department_id):
            if may_read(actor, current):
                raise PermissionDeniedError("layers are managed by platform admins and their department's admins")
            raise NotFoundError(f"no layer {name!r}")
        values: dict[str, Any] = {}
        if changes.title is not None:
            if not changes.title.strip() or len(changes.title) > 200:
                raise InvalidInputError("invalid layer", issues=[Issue("title", "1-200 characters required")])
            values["title"] = changes.title.strip()
        if changes.description is not None:
            values["description"] = changes.description
        if changes.style is not None:
            values["style"] = _check_style(changes.style)
        if changes.department_id is not None and changes.department_id != current.department_id:
            if not may_manage(actor, changes.department_id):
                raise PermissionDeniedError("a layer can be handed only to a department you manage")
            values["department_id"] = changes.department_id
        with self.store.write() as conn:
            known = set(conn.execute(select(department.c.id)).scalars())
            access = changes.access if changes.access is not None else current.access
            allowed = (
                changes.allowed_departments if changes.allowed_departments is not None else current.allowed_departments
            )
            _check_access(access, allowed, known)
            values |= {"access": access, "allowed_departments": sorted(set(allowed)), "updated_at": _now()}
            conn.execute(update(layer).where(layer.c.name == name).values(**values))
            record_audit(conn, actor, "layer.update", "layer", name, detail={"fields": sorted(values)})
        return self._raw(name)

    def _raw(self, name: str) -> Layer:
        with self.store.read() as conn:
            row = conn.execute(select(layer).where(layer.c.name == name)).mappings().first()
        if row is None:
            raise NotFoundError(f"no layer {name!r}")
        return _layer(row)

    def seed(self, conn: Connection) -> int:
        """Create the public class layer of every seeded class that has none yet; returns how many."""
        have = set(conn.execute(select(layer.c.name)).scalars())
        have_classes = set(conn.execute(select(layer.c.class_code).where(layer.c.kind == LayerKind.CLASS)).scalars())
        now = _now()
        rows: list[dict[str, Any]] = [
            {
                "name": name,
                "title": title,
                "description": f"城市实体对象 {code} {title} (all current objects of the class)",
                "department_id": None,
                "kind": LayerKind.CLASS.value,
                "class_code": code,
                "style": seed_style(kind),
                "access": AccessLevel.PUBLIC.value,
                "allowed_departments": [],
                "created_at": now,
                "updated_at": now,
            }
            for code, (name, title, kind) in SEED_LAYERS.items()
            if name not in have and code not in have_classes
        ]
        if rows:
            conn.execute(layer.insert(), rows)
        return len(rows)

    # --- features --------------------------------------------------------------------------------
    def features(self, lyr: Layer, actor: Actor, query: FeatureQuery) -> FeaturePage:
        """Current (non-retired) objects of the layer's class that match ``query``, ordered by id."""
        if not may_read(actor, lyr):
            raise NotFoundError(f"no layer {lyr.name!r}")
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidInputError("bad limit", issues=[Issue("limit", f"must be between 1 and {MAX_LIMIT}")])
        if query.offset < 0:
            raise InvalidInputError("bad offset", issues=[Issue("offset", "must not be negative")])
        cls = self.classes.get(lyr.class_code or "")
        if query.version is not None:  # a past version of a dataset layer
            return fq.version_page(self.store, cls, lyr, query)
        conds = fq.conditions(cls, query)
        if lyr.kind == LayerKind.DATASET:
            conds.append(fq.member_condition(lyr.id))
        t = city_object
        order = window_order(t.c.id, query.bbox)
        stmt = select(t).where(*conds).order_by(order).limit(query.limit + 1).offset(query.offset)
        with self.store.read() as conn:
            rows = conn.execute(stmt).mappings().all()
            matched, exact = fq.count_matched(conn, conds) if query.count else (None, False)
        return FeaturePage(
            items=[fq.to_object(r) for r in rows[: query.limit]],
            limit=query.limit,
            offset=query.offset,
            has_more=len(rows) > query.limit,
            matched=matched,
            matched_exact=exact,
        )

    def feature(self, lyr: Layer, actor: Actor, object_id: int, version: int | None = None) -> Any:
        """One current object of the layer (or as it was in dataset layer ``version``), or NotFoundError."""
        if not may_read(actor, lyr):
            raise NotFoundError(f"no layer {lyr.name!r}")
        if version is not None:
            return fq.version_feature(self.store, lyr, object_id, version)
        t = city_object
        with self.store.read() as conn:
            row = (
                conn.execute(select(t).where(t.c.id == object_id, *fq.layer_conditions(lyr.class_code or "", lyr)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no feature {object_id} in layer {lyr.name!r}")
        return fq.to_object(row)

    def queryables(self, lyr: Layer) -> dict[str, str]:
        """Property name -> JSON type of what a layer can be filtered on."""
        cls = self.classes.get(lyr.class_code or "")
        return {"name": "string", "code": "string", **{a.name: a.type for a in cls.attributes}}

    def filter_clause(self, lyr: Layer, text: str, lang: str, reproject: cql2.Reproject) -> Any:
        """A CQL2 filter (``cql2-text`` or ``cql2-json``) on the layer's queryables, for ``FeatureQuery.where``."""
        if lang not in ("cql2-text", "cql2-json"):
            raise InvalidInputError("bad filter", issues=[Issue("filter-lang", "cql2-text or cql2-json")])
        cls = self.classes.get(lyr.class_code or "")
        return cql2.filter_clause(cls, cql2.parse_filter(text, lang), reproject)
