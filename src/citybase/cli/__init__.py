"""L4: the command-line adaptor (Typer); one module per area, rich progress on long work."""

import os

# One BLAS thread per process unless the operator says otherwise. citybase's numpy work (the address
# tagger's score matrices, MVT encoding) is many small operations: extra BLAS threads only spin, which
# doubled the CPU of a batch parse without making it faster (docs/benchmarks-addresses.md), and a
# server scales by processes (`citybase serve --workers`). Set before numpy loads OpenBLAS.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
