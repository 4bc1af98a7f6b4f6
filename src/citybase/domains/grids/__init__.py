"""Management grids (网格化管理): the hierarchy of grid polygons and the workers responsible for them."""
