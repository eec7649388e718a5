"""Rules for the helpers of item assignment, so its adjoint can be differentiated again.

``a[key] = v`` on a dict or a list, or on a value the compiler cannot tell from an array,
has an adjoint made of two runtime helpers (see ``runtime``): ``written_part(g, a, key,
v)``, the cotangent of ``v``, and ``without_child(g, a, key)``, the cotangent of ``a``
before the write. Second derivatives (forward over the generated gradient) differentiate
them.

Conventions: both helpers are linear in the cotangent ``g`` and read ``a`` for its
structure, ``key`` as an index and ``v`` for its shape, so each tangent is the helper
applied to the tangent of ``g``; their reverse rules are the transposed maps (put the
part back at ``key`` among zeros; ``without_child`` is a projection, its own transpose).
"""

from __future__ import annotations

import numpy as np

from ..pytree import get_child, is_container, set_child
from ..runtime import add_item, last_writes, without_child, written_part, zeros_like_tree
from .registry import forward, reverse


@reverse(written_part, shape_only=("a", "v"))
def written_part_rule(result, g, ct, a, key, v):
    if is_container(a):
        dct = add_item(None, ct, key, g)
    else:
        dct = add_item(None, ct, key, np.broadcast_to(g, np.shape(ct[key])) * last_writes(
            ct, key))


@forward(written_part, shape_only=("a", "v"))
def written_part_fwd(result, ct, a, key, v, *, dct):
    dresult = written_part(dct, a, key, v)


@reverse(without_child, shape_only=("a",))
def without_child_rule(result, g, ct, a, key):
    if is_container(a):
        dct = set_child(g, key, zeros_like_tree(get_child(ct, key)))
    else:
        dct = without_child(g, a, key)


@forward(without_child, shape_only=("a",))
def without_child_fwd(result, ct, a, key, *, dct):
    dresult = without_child(dct, a, key)
