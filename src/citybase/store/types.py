"""Column types that look the same to domain code on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from citybase.kernel.geo import SRID
from citybase.store.elements import GeomAsWKB, GeomFromWKB


class PostGISGeometry(UserDefinedType[Any]):
    """``geometry(Geometry, 4490)``: any geometry type, CGCS2000 lon/lat."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry(Geometry,{SRID})"


class Geometry(TypeDecorator[BaseGeometry]):
    """A shapely geometry: WKB bytes on SQLite, a PostGIS geometry column on PostgreSQL."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PostGISGeometry())
        return dialect.type_descriptor(LargeBinary())

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return GeomFromWKB(bindvalue, type_=self)

    def column_expression(self, colexpr: Any) -> ColumnElement[Any]:
        return GeomAsWKB(colexpr, type_=self)

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> bytes | None:
        return None if value is None else shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        return None if value is None else shapely.from_wkb(bytes(value))


# JSON documents: JSONB on PostgreSQL (indexable), JSON1 text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite keeps no zone, so it is added back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: citybase stores timezone-aware UTC timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
