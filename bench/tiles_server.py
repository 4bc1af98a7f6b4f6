"""Serve citybase for the tiles benchmark: the real app (``create_app``: middleware, auth, metering, tile
routes, ``TileService``), configured for the comparison, under uvicorn on loopback like ``citybase serve``.

    python bench/tiles_server.py --port 8001 [--uncached] [--full-detail]

``CITYBASE_DATABASE_URL`` / ``CITYBASE_DATA_DIR`` as for ``citybase serve``; the database is only read
(no ``init``, no migrations). ``--uncached``: the tile cache keeps nothing (no memory, no disk), so
every request renders. ``--full-detail``: the buildings tileset ``050101`` starts at zoom 0 and is never
simplified, so its tiles carry the same features as the raw ``ST_AsMVT`` query and tipg over z12–z16
(in the shipped definition it starts at z14 and is simplified below z15).
"""

from __future__ import annotations

import argparse

import uvicorn

from citybase.cli.common import configure_logging
from citybase.domains.tiles import TileCache, tilesets
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--uncached", action="store_true")
    ap.add_argument("--full-detail", action="store_true")
    args = ap.parse_args()
    if args.full_detail:
        tilesets.CLASS_MINZOOM["050101"] = 0
        tilesets.DETAIL_ZOOM = 0
    settings = load_settings(job_workers=0)
    configure_logging(settings.log_level)
    platform = Platform(settings)
    if args.uncached:
        platform.tiles.cache = TileCache(None, max_bytes=0)
    uvicorn.run(create_app(platform), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
