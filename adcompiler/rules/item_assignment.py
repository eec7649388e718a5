"""Rules for the helpers of item assignment, so its adjoint can be differentiated again.

``a[key] = v`` on a dict or a list, or on a value the compiler cannot tell from an array,
has an adjoint made of two runtime helpers (see ``runtime``): ``written_part(g, a, key,
v)``, the cotangent of ``v``, and ``without_child(g, a, key)``, the cotangent of ``a``
before the write. Second derivatives (forward over the generated gradient) differentiate
them; both are linear in the cotangent ``g`` and read ``a`` for its structure, ``key`` as
an index and ``v`` for its shape, so each tangent is the helper applied to the tangent of
``g``.
"""

from __future__ import annotations

from ..runtime import without_child, written_part
from .registry import forward


@forward(written_part, shape_only=("a", "v"))
def written_part_fwd(result, ct, a, key, v, *, dct):
    dresult = written_part(dct, a, key, v)


@forward(without_child, shape_only=("a",))
def without_child_fwd(result, ct, a, key, *, dct):
    dresult = without_child(dct, a, key)
