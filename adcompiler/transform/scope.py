"""The names generated code needs besides the user's own: ``np``, runtime helpers, callees.

Generated code runs with the *user's* module globals (so a rebound global is seen on the
next call, as Python would see it). Everything the compiler adds -- NumPy for rule
bodies, ``unbroadcast``, the generated code of a callee -- is passed in as a closure
variable instead, under a name that cannot shadow anything the user's code reads.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from typing import Any

from ..frontend.parse import UNRESOLVED, ParsedFunction
from ..naming import Namer, identifier

__all__ = ["Scope"]


class Scope:
    """Helper objects of one generated function, by the name the code uses for them."""

    def __init__(self, parsed: ParsedFunction, namer: Namer) -> None:
        self.parsed = parsed
        self.namer = namer
        self.helpers: dict[str, Any] = {}
        self._by_id: dict[tuple[int, str], str] = {}

    def bind(self, preferred: str, obj: Any) -> str:
        """The name under which generated code reaches ``obj`` (preferring ``preferred``)."""
        key = (id(obj), preferred)
        if key in self._by_id:
            return self._by_id[key]
        # ``<lambda>_forward`` from a lambda's ``__name__``: keep only identifier characters
        # Python reads names NFKC-normalised ("ﬁ" is "fi"): print them as it reads them
        name = re.sub(r"\W", "", unicodedata.normalize("NFKC", preferred)) or "helper"
        if name[0].isdigit():
            name = "_" + name
        if not name.isidentifier() or keyword.iskeyword(name):  # "x²", "if": still text
            name = identifier(name, "helper")
        user_value = self.parsed.resolve(name, guard=False)  # a name clash only
        clash = (
            (name in self.helpers and self.helpers[name] is not obj)
            or (user_value is not UNRESOLVED and user_value is not obj)
            or (name not in self.helpers and user_value is UNRESOLVED
                and self.namer.is_taken(name) and name not in ("np",))
        )
        if clash:
            name = self.namer.fresh(preferred + "_")
        self.namer.reserve(name)
        self.helpers[name] = obj
        self._by_id[key] = name
        return name
