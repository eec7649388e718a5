"""Rules for the helpers of item assignment, so its adjoint can be differentiated again.

``a[key] = v`` on a dict or a list, or on a value the compiler cannot tell from an array,
has an adjoint made of two runtime helpers (see ``runtime``): ``written_part(g, a, key,
v)``, the cotangent of ``v``, and ``without_child(g, a, key)``, the cotangent of ``a``
before the write. Second derivatives (forward over the generated gradient) differentiate
them.

Conventions: all four helpers are linear in their first argument and read the others for
structure, shape or as an index, so each tangent is the helper applied to the tangent of
the first argument; each reverse rule is the transposed map: ``placed_part`` is the
transpose of ``written_part`` and ``restored_child`` that of ``without_child`` (and back).
"""

from __future__ import annotations

from ..runtime import placed_part, restored_child, without_child, written_part
from .registry import forward, reverse


@reverse(written_part, shape_only=("a", "v"))
def written_part_rule(result, g, ct, a, key, v):
    dct = placed_part(g, ct, a, key)


@forward(written_part, shape_only=("a", "v"))
def written_part_fwd(result, ct, a, key, v, *, dct):
    dresult = written_part(dct, a, key, v)


@reverse(placed_part, shape_only=("ct", "a"))
def placed_part_rule(result, g, u, ct, a, key):
    du = written_part(g, a, key, u)


@forward(placed_part, shape_only=("ct", "a"))
def placed_part_fwd(result, u, ct, a, key, *, du):
    dresult = placed_part(du, ct, a, key)


@reverse(without_child, shape_only=("a",))
def without_child_rule(result, g, ct, a, key):
    dct = restored_child(g, ct, a, key)


@forward(without_child, shape_only=("a",))
def without_child_fwd(result, ct, a, key, *, dct):
    dresult = without_child(dct, a, key)


@reverse(restored_child, shape_only=("ct", "a"))
def restored_child_rule(result, g, u, ct, a, key):
    du = without_child(g, a, key)


@forward(restored_child, shape_only=("ct", "a"))
def restored_child_fwd(result, u, ct, a, key, *, du):
    dresult = restored_child(du, ct, a, key)
