"""Derivative rules, one module per family; importing this package registers them all."""

from . import (
    operators,  # noqa: F401
    registry,  # noqa: F401  (the table every rule module fills)
)

_FAMILIES = ("math_rules", "numpy_elementwise", "numpy_reduce", "numpy_linalg", "numpy_shape",
             "indexing", "control")

for _family in _FAMILIES:
    try:
        __import__(f"{__name__}.{_family}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - a family not written yet
        if _exc.name != f"{__name__}.{_family}":
            raise
