"""L0: pure code for national standards (no I/O beyond data shipped with the package)."""
