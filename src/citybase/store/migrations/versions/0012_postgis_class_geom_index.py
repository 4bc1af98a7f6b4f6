"""PostGIS: a GiST index over (class_code, geom) of city_object, the class spatial index.

Nearly every spatial read is restricted to classes (a class's tiles, a basemap layer, an OGC collection's
bbox page). With only the 2-D GiST index, PostgreSQL reads every object in the box, or ANDs the GiST
bitmap with the class B-tree, then fetches and filters the rows; with this index the scan returns only
the class's objects in the box (btree_gist puts the class code in the GiST key). On the city of
bench/run.py (5.6 M objects) it takes the buildings tiles of z12–z16 from 4.5 to 3.3 s single-threaded
(docs/benchmarks-tiles.md, "The class GiST index"). The 2-D index stays for reads over all classes
(spatial statistics, by class, of a drawn polygon), which the two-column index serves 1.3× slower.

The PostGIS counterpart of SQLite's class R*Tree (0011); a no-op on SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from alembic import op

from citybase.store.dialects.postgis import CLASS_GEOM_INDEX, class_geom_index_ddl

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for ddl in class_geom_index_ddl():
        conn.exec_driver_sql(ddl)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {CLASS_GEOM_INDEX}")
