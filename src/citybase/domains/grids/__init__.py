"""Management grids (网格): district → street → community → grid → micro-grid, with their workers.

``GridService`` (``platform.grids``) creates and retires grids, assigns workers and reviewers,
locates points and keeps ``address_grid`` (the deepest grid of every address node). Filter other
tables by grid with :func:`nodes_in_grids` / :func:`node_ids_in_grids`; see ``docs/grids.md``.
"""

from citybase.domains.grids.addressing import node_ids_in_grids, nodes_in_grids
from citybase.domains.grids.generate import generate_from_communities
from citybase.domains.grids.model import DUTIES, LEVEL_NAMES, LEVELS, Grid, GridTree, Member, NewGrid
from citybase.domains.grids.service import GridService

__all__ = [
    "DUTIES",
    "LEVELS",
    "LEVEL_NAMES",
    "Grid",
    "GridService",
    "GridTree",
    "Member",
    "NewGrid",
    "generate_from_communities",
    "node_ids_in_grids",
    "nodes_in_grids",
]
