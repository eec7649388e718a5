"""Generated source that shows itself as highlighted Python in a notebook.

``g.source`` is a ``GeneratedSource``: a ``str`` in every way (print it, compare it, write
it to a file), whose ``_repr_markdown_`` lets Jupyter and IPython display it as a fenced
Python block, which they render with syntax highlighting when it is the value of a cell.

>>> text = GeneratedSource("def f_grad(x):\\n    return 2 * x\\n")
>>> text == "def f_grad(x):\\n    return 2 * x\\n"
True
>>> print(text._repr_markdown_())
```python
def f_grad(x):
    return 2 * x
```
"""

from __future__ import annotations

__all__ = ["GeneratedSource"]


class GeneratedSource(str):
    """Generated Python source; displayed as a highlighted code block in notebooks."""

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        fence = "```"
        while fence in self:  # a fence longer than any run of backticks in the text
            fence += "`"
        return f"{fence}python\n{self.rstrip()}\n{fence}"
