"""A store bound to one open write transaction, so an existing service can work inside it.

Merge, split and the business nodes change several objects and codes at once and must commit or
roll back as a whole. Rather than copy the object service's rules (permissions, lifecycle moves,
versions, audit), the code service builds an ``ObjectService`` over this bound store: its ``read()`` and
``write()`` hand out the caller's connection instead of opening a transaction of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from sqlalchemy import Connection

from citybase.domains.objects import ClassRegistry, ObjectService
from citybase.store import Store


class BoundStore:
    def __init__(self, store: Store, conn: Connection) -> None:
        self.url = store.url
        self.name = store.name
        self.dialect = store.dialect
        self.engine = store.engine
        self._conn = conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        yield self._conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        yield self._conn


def objects_in(conn: Connection, store: Store, classes: ClassRegistry) -> ObjectService:
    """An object service whose every read and write joins ``conn``'s transaction."""
    return ObjectService(cast(Store, BoundStore(store, conn)), classes)
