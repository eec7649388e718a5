"""Derivative rules, one module per family; importing this package registers them all."""

from ..optimize import dce as _optimize_dce
from . import (
    operators,  # noqa: F401
    registry,  # the table every rule module fills
)

_FAMILIES = ("math_rules", "numpy_elementwise", "numpy_reduce", "numpy_linalg", "numpy_shape",
             "indexing", "control", "generated_code", "item_assignment")

for _family in _FAMILIES:
    try:
        __import__(f"{__name__}.{_family}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - a family not written yet
        if _exc.name != f"{__name__}.{_family}":
            raise


def _pure_helpers() -> set[str]:
    """Module-level functions of the rule families: pure by the house rules, so generated
    code that calls one and never reads the result can drop the call."""
    import inspect
    import sys

    templates = {id(t.func) for rule in registry.all_rules()
                 for t in (rule.reverse, rule.forward) if t is not None}
    names: set[str] = set()
    for family in ("operators", *_FAMILIES):
        module = sys.modules.get(f"{__name__}.{family}")
        if module is None:
            continue
        names |= {name for name, obj in vars(module).items()
                  if inspect.isfunction(obj) and obj.__module__ == module.__name__
                  and not name.startswith("_") and id(obj) not in templates}
    return names


_optimize_dce.declare_pure(_pure_helpers())
