"""L3, the facade: builds the store and the domain services from settings, and runs their life cycle.

Earlier domains never call later ones. When one must set off later work, it publishes a domain
event through :meth:`Platform.publish` with the connection of its transaction; subscribers run only
after that transaction commits (and never if it rolls back).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from citybase.domains.access import AccessService, Meter
from citybase.domains.addresses import MATCH_FILE_JOB, AddressMatcher, ReviewQueue, match_file, on_tree_change
from citybase.domains.addresses import registry as address_registry
from citybase.domains.codes import ASSIGN_JOB, CodeService, district_locator
from citybase.domains.collect import CollectService, address_appliers
from citybase.domains.grids import GridService
from citybase.domains.imports import ImportService
from citybase.domains.jobs import JobRunner, JobService
from citybase.domains.layers import LayerService
from citybase.domains.objects import (
    IMPORT_GEOJSON_JOB,
    ClassRegistry,
    ObjectService,
    make_import_handler,
    seed_class_table,
)
from citybase.domains.registry import (
    GrantService,
    HouseholdService,
    HouseService,
    NewBuildingApplier,
    OrgService,
    PeopleService,
    PopulationStats,
)
from citybase.domains.registry.people_import_job import JOB_KIND as IMPORT_PEOPLE_JOB
from citybase.domains.registry.people_import_job import make_handler as make_people_import_handler
from citybase.domains.tiles import TileService
from citybase.domains.tiles3d import EXPORT_JOB as EXPORT_3DTILES_JOB
from citybase.domains.tiles3d import Tiles3DService
from citybase.kernel.settings import Settings
from citybase.store import Store, after_commit, upgrade
from citybase.store.grid_tables import grid
from citybase.store.schema import app_user

log = logging.getLogger(__name__)
Subscriber = Callable[[str, dict[str, Any]], None]


def _publisher(platform: weakref.ref[Platform], name: str) -> Callable[[Connection], None]:
    """A listener that publishes ``name``; it holds the platform weakly (the tree keeps listeners per engine,
    and a strong reference back to the platform would keep every engine alive)."""

    def publish(conn: Connection) -> None:
        target = platform()
        if target is not None:
            target.publish(conn, name, {})

    return publish


@dataclass(frozen=True, slots=True)
class InitReport:
    database: str
    classes_added: int
    admin_created: bool
    admin_password_file: str | None


class Platform:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.resolved_database_url)
        self.access = AccessService(self.store, settings.session_hours)
        self.meter = Meter(self.store)
        self.classes = ClassRegistry(self.store)
        self.objects = ObjectService(self.store, self.classes, on_change=self._objects_changed)
        self.jobs = JobService(self.store)
        self.layers = LayerService(self.store, self.classes)
        self.jobs.register(IMPORT_GEOJSON_JOB, make_import_handler(self.objects))
        self.codes = CodeService(
            self.store,
            self.objects,
            self.jobs,
            self.access,
            locate=district_locator(settings.division_code),
            public_base_url=settings.public_base_url,
        )
        self.jobs.register(ASSIGN_JOB, self.codes.job_handler())
        self.imports = ImportService(
            self.store,
            self.objects,
            self.layers,
            self.jobs,
            self.classes,
            self.codes,
            on_change=self._objects_changed,
            upload_dir=settings.data_dir / "imports",
        )
        self.runner = JobRunner(self.jobs, workers=settings.job_workers)
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)
        self._flusher: threading.Thread | None = None
        self._stopping = threading.Event()
        self.tiles = TileService(self.store, self.classes, settings.data_dir / "tiles")
        self.subscribe("objects.changed", self.tiles.objects_changed)
        self.tiles3d = Tiles3DService(self.store, self.classes, self.layers, settings.data_dir / "3dtiles")
        self.jobs.register(EXPORT_3DTILES_JOB, self.tiles3d.job_handler())
        # the standard address tree (issue 5), then address matching over it
        self.addresses = address_registry.build_service(self.store, self.jobs, settings)
        self.address_matcher = AddressMatcher(self.addresses)
        self.address_review = ReviewQueue(self.store)
        self.jobs.register(MATCH_FILE_JOB, lambda ctx: match_file(self.address_matcher, ctx))
        # management grids (网格, issue 6): hierarchy, members, point location, the address → grid map
        self.grids = GridService(self.store)
        # the address → grid map follows address changes: the tree tells the platform inside the writing
        # transaction, the platform publishes ``addresses.changed``, the grids sync after the commit
        on_tree_change(self.store.engine, _publisher(weakref.ref(self), "addresses.changed"))
        self.subscribe("addresses.changed", self._sync_address_grids)
        # actual population (实有人口, issue 6): personal data encrypted with a key kept outside the database
        key_file = settings.personal_data_key_file or settings.data_dir / "keys" / "personal.key"
        self.people = PeopleService(self.store, key_file, self.grids.grids_of_user)
        self.jobs.register(IMPORT_PEOPLE_JOB, make_people_import_handler(self.people))
        self.households = HouseholdService(self.store, self.grids.grids_of_user)
        self.population = PopulationStats(self.store, self.grids.grids_of_user)
        self.personal_grants = GrantService(self.store)
        # the collection loop (issue 6): field tasks, two-level review; an applier per task kind
        self.collect = CollectService(self.store, self.grids)  # the grid service is the GridDirectory
        self.grids.on_unassign(self.collect.release_in)  # a worker who leaves a grid leaves its tasks behind
        for kind, applier in address_appliers(self.addresses).items():
            self.collect.register_applier(kind, applier)
        # actual houses and organisations (issue 6); the house card lists residents through the people registry
        self.orgs = OrgService(self.store, self.addresses, self.address_matcher, key_file, settings.data_dir / "photos")
        self.houses = HouseService(self.store, self.addresses, self.orgs.core)
        self.houses.residents = self.people.residents_at
        self.collect.register_applier("house.update", self.houses.apply_house_update)
        self.collect.register_applier("house.new_building", NewBuildingApplier(self.objects, self.addresses))
        self.collect.register_applier("org.register", self.orgs.apply_register_org)
        self.collect.register_applier("org.bind", self.orgs.apply_bind_org)
        self.collect.register_applier("people.register", self.people.apply_register)
        self.collect.register_applier("people.move_in", self.people.apply_move_in)
        self.collect.register_applier("people.move_out", self.people.apply_move_out)

    # --- set-up ----------------------------------------------------------------------------------
    def init(self, admin_password: str | None = None) -> InitReport:
        """Create the data directory and database, apply migrations, seed classes and the first admin."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(self.store)
        with self.store.write() as conn:
            added = seed_class_table(conn)
            self.layers.seed(conn)  # one public layer per seeded class, if missing
            has_users = conn.execute(select(func.count()).select_from(app_user)).scalar_one() > 0
            password_file = None
            if not has_users:
                password = admin_password or secrets.token_urlsafe(12)
                self.access.bootstrap_admin(conn, "admin", password)
                if admin_password is None:
                    path = self.settings.data_dir / "admin-password.txt"
                    path.write_text(password + "\n", encoding="utf-8")
                    os.chmod(path, 0o600)
                    password_file = str(path)
        self.classes.invalidate()
        return InitReport(self.store.name, added, not has_users, password_file)

    def start(self) -> None:
        """Start background work: the job runner and the metering flusher."""
        if self.settings.job_workers > 0:
            self.runner.start()
        self._stopping.clear()
        self._flusher = threading.Thread(target=self._flush_loop, name="citybase-meter", daemon=True)
        self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._stopping.wait(self.settings.metering_flush_seconds):
            try:
                self.meter.flush()
            except Exception:
                log.exception("metering flush failed")

    def stop(self) -> None:
        self._stopping.set()
        self.runner.stop()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self.meter.flush()
        self.store.dispose()

    # --- domain events ---------------------------------------------------------------------------
    def subscribe(self, name: str, subscriber: Subscriber) -> None:
        self._subscribers[name].append(subscriber)

    def publish(self, conn: Connection, name: str, payload: dict[str, Any]) -> None:
        """Deliver ``name`` to subscribers after ``conn``'s transaction commits."""

        def deliver() -> None:
            for subscriber in self._subscribers.get(name, []):
                try:
                    subscriber(name, payload)
                except Exception:
                    log.exception("subscriber of %s failed", name)

        after_commit(conn, deliver)

    def _sync_address_grids(self, _name: str, _payload: dict[str, Any]) -> None:
        """Map changed address nodes to their grids (nothing to do before any grid exists: creating one maps all)."""
        with self.store.read() as conn:
            if conn.execute(select(grid.c.id).limit(1)).first() is None:
                return
        self.grids.sync_addresses()

    def _objects_changed(
        self, conn: Connection, bboxes: list[tuple[float, float, float, float]], classes: set[str]
    ) -> None:
        """ObjectService's write hook: publish ``objects.changed`` with old and new bboxes and classes."""
        self.publish(conn, "objects.changed", {"bboxes": bboxes, "classes": sorted(classes)})
