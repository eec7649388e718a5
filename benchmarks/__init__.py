"""Benchmarks for adcompiler: generated gradients against hand-written NumPy gradients.

Run ``python -m benchmarks [--size small|default] [--only NAME ...] [--quick]``.

BLAS threads are pinned to 1 for every system (set here, before NumPy is imported by the
harness, and in the fresh processes that measure first-call time).
"""

import os

BLAS_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
for _key, _value in BLAS_ENV.items():
    os.environ.setdefault(_key, _value)
