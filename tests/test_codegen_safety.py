"""User text never becomes generated code (issue 17, "Security").

The user's source line is quoted in a comment of the generated gradient. A comment ends
at any character Python or ``str.splitlines`` treats as a line break, so a comment
holding one used to let the text after it run as a statement of the gradient
(``# harmless<U+2028>    __import__('os').system(...)``), and harmless code holding
one gave a raw SyntaxError. Each test writes a module holding such text (in comments,
strings, dict keys, docstrings, f-strings), differentiates it in every mode, and checks
that the payload never ran, the values are right and the shown source parses to the
statements the compiler generated.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import itertools
import sys

import numpy as np
import pytest

import adcompiler as ad
from adcompiler.backend import codegen

# every character Python's tokenizer or str.splitlines ends a line at, and other
# non-printable ones (tab, escape, a bidi override, a lone surrogate)
BREAKS = {
    "LF": "\n", "CR": "\r", "VT": "\x0b", "FF": "\x0c", "FS": "\x1c", "GS": "\x1d",
    "RS": "\x1e", "NEL": "\x85", "LS": "\u2028", "PS": "\u2029",
}
OTHER = {"TAB": "\t", "ESC": "\x1b", "RLO": "\u202e", "NUL_LIKE": "\x7f"}
# which payload placement broke out on the old printer (all of these ran code on main)
TEMPLATES = {
    "indented": "    y = np.sin(x) * x  # h{sep}    {payload}  # '\n",
    "quoted": '    y = np.sin(x) * x  # h{sep}    {payload}  # """\n',
}
PAYLOAD = "__import__('builtins').AD_PWNED.append(1)"


@pytest.fixture
def pwned(monkeypatch):
    marks: list[int] = []
    monkeypatch.setattr(builtins, "AD_PWNED", marks, raising=False)
    return marks


def load(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8", newline="")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def statements(source: str) -> list[str]:
    """Every name the shown source mentions: an injected call would add some."""
    return sorted({n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)} |
                  {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)})


def run_every_mode(f, x: float) -> dict[str, object]:
    """Value and derivative in every mode, the shown sources, and second order."""
    out: dict[str, object] = {}
    g = ad.grad(f)
    out["grad"] = g(x)
    out["grad.source"] = g.source
    value, dx = ad.value_and_grad(f)(x)
    out["value_and_grad"] = (value, dx)
    value, pull = ad.vjp(f, x)
    out["vjp"] = pull(1.0)[0]
    out["vjp.source"] = pull.source
    out["jvp"] = ad.jvp(f, (x,), (1.0,))[1]
    out["source.vjp"] = ad.source(f, "vjp")
    out["source.jvp"] = ad.source(f, "jvp")
    out["hessian"] = ad.hessian(f)(x)
    second = ad.grad(ad.grad(f))
    out["grad_of_grad"] = second(x)
    out["grad_of_grad.source"] = second.source
    return out


def expected(x: float) -> tuple[float, float]:
    """d/dx and d2/dx2 of sin(x) * x."""
    return np.cos(x) * x + np.sin(x), 2 * np.cos(x) - np.sin(x) * x


@pytest.mark.parametrize(("template", "sep"),
                         list(itertools.product(TEMPLATES, {**BREAKS, **OTHER})),
                         ids=[f"{t}-{s}" for t, s in itertools.product(TEMPLATES,
                                                                       {**BREAKS, **OTHER})])
def test_a_comment_cannot_end_early(tmp_path, pwned, template, sep):
    char = {**BREAKS, **OTHER}[sep]
    line = TEMPLATES[template].format(sep=char, payload=PAYLOAD)
    text = f"import numpy as np\n\n\ndef f(x):\n{line}    return y\n"
    module = load(tmp_path, f"comment_{template}_{sep}", text)
    if char in "\n\r":  # Python itself ends the comment here: the payload is user code
        module.f(1.0)
        assert pwned == [1]
        pwned.clear()
    x = 0.7
    out = run_every_mode(module.f, x)
    first, second = expected(x)
    if char not in "\n\r":
        assert pwned == []
        for key, value in out.items():
            if key.endswith("source"):
                assert "AD_PWNED" not in statements(value), (key, value)
                assert "__import__" not in statements(value), (key, value)
                # the quoted line survives, escaped, inside one comment line
                comment = [ln for ln in value.splitlines() if "# h" in ln]
                assert all(ln.lstrip().startswith("#") for ln in comment), value
                assert char not in value
    for key in ("grad", "vjp", "jvp"):
        assert out[key] == pytest.approx(first, rel=1e-12), key
    assert out["value_and_grad"][1] == pytest.approx(first, rel=1e-12)
    assert out["hessian"] == pytest.approx(second, rel=1e-9)
    assert out["grad_of_grad"] == pytest.approx(second, rel=1e-9)


@pytest.mark.parametrize("sep", list(BREAKS)[2:], ids=list(BREAKS)[2:])
def test_harmless_code_with_a_line_separator_compiles(tmp_path, pwned, sep):
    """Was a raw SyntaxError: the separator split the generated comment in two."""
    char = BREAKS[sep]
    text = (f"import numpy as np\n\n\ndef f(x):\n    y = np.sin(x) * x  # a{char}b c\n"
            "    return y\n")
    module = load(tmp_path, f"harmless_{sep}", text)
    assert ad.grad(module.f)(0.7) == pytest.approx(expected(0.7)[0], rel=1e-12)
    assert f"# a{char.encode('unicode_escape').decode()}b c" in ad.grad(module.f).source


def test_user_strings_keys_docstrings_and_fstrings_stay_data(tmp_path, pwned):
    """Text in strings, dict keys, docstrings and f-strings reaches the generated source
    only through the printer, as escaped literals; a string that looks like the
    printer's comment marker stays a string."""
    ls = "\u2028"
    text = f'''import numpy as np

KEY = "w{ls}__import__('builtins').AD_PWNED.append(1)"


def doc(x):
    """A docstring{ls}    __import__('builtins').AD_PWNED.append(2)  # {ls}"""
    return x * x


def keyed(p):
    return np.sum(p["w{ls}__import__('builtins').AD_PWNED.append(1)"] ** 2) + (
        p["#ADCOMMENT#\\n"] * 2.0)


def strlen(x):
    k = len("""ab
cd{ls}ef\x0c""")
    return k * x


def fstring(x):
    label = f"{{x!r:>10}}{ls} x'\\""
    marker = "{codegen.COMMENT_PREFIX}x"
    return x * len(label[:3]) * len(marker)


def attribute(x):
    return x.real * x
'''
    module = load(tmp_path, "strings_mod", text)
    assert ad.grad(module.doc)(3.0) == 6.0
    params = {module.KEY: np.array([1.0, 2.0]), "#ADCOMMENT#\n": 1.5}
    grads = ad.grad(module.keyed)(params)
    np.testing.assert_array_equal(grads[module.KEY], [2.0, 4.0])
    assert grads["#ADCOMMENT#\n"] == 2.0
    assert ad.grad(module.strlen)(2.0) == 9.0  # the string keeps every character
    marker_len = len(codegen.COMMENT_PREFIX) + 1
    assert ad.grad(module.fstring)(2.0) == 3.0 * marker_len
    assert ad.jvp(module.fstring, (2.0,), (1.0,))[1] == 3.0 * marker_len
    for func in (module.doc, module.keyed, module.strlen, module.fstring):
        for kind in ("grad", "vjp", "jvp"):
            shown = ad.source(func, kind, args=(params,) if func is module.keyed else (2.0,))
            assert ls not in shown and "\x0c" not in shown
            assert "AD_PWNED" not in statements(shown)
    assert pwned == []


def test_comment_text_escapes_every_non_printable_character():
    for char in [*BREAKS.values(), *OTHER.values(), "\ud800"]:
        text = codegen.comment_text(f"a{char}b")
        assert text.isprintable() and len(text.splitlines()) == 1, repr(char)
    assert codegen.comment_text("é ∑ x") == "é ∑ x"  # printable text is kept as written


def test_the_printer_refuses_a_tree_its_text_would_not_read_back_as(monkeypatch):
    """Defence in depth: if the printed text ever parsed to other statements or names than
    the tree, the build stops instead of running it."""
    tree = ast.parse("def f(x):\n    return x\n").body[0]

    def lying_printer(node, **kwargs):
        return "def f(x):\n    __import__('os')\n    return x\n"

    monkeypatch.setattr(codegen.astor, "to_source", lying_printer)
    with pytest.raises(ad.ADError, match="does not read back"):
        codegen.to_source(tree)


def test_names_users_can_set_are_not_spliced_into_source(tmp_path, pwned):
    """``__name__`` is any string a user assigns; the checkpoint wrapper's source is built
    as text, so it must not take the name raw."""
    text = '''import numpy as np
import adcompiler as ad


def layer(x):
    return np.sin(x) * x


layer.__name__ = "layer(x):\\n    __import__('builtins').AD_PWNED.append(1)\\ndef g"
layer_checkpointed = ad.checkpoint(layer)


def f(x):
    return layer_checkpointed(x) * 2.0
'''
    module = load(tmp_path, "renamed", text)
    assert ad.grad(module.f)(0.7) == pytest.approx(2 * expected(0.7)[0], rel=1e-12)
    assert "AD_PWNED" not in statements(ad.grad(module.f).source)
    assert pwned == []


@pytest.mark.parametrize("name", ["x\u00b2", "if", "layer\nimport os", "ﬁt", "<lambda>"])
def test_helper_names_from_user_text_are_identifiers(tmp_path, pwned, name):
    """A callee's ``__name__`` names the generated helpers that call it (``f_forward``):
    whatever the user set it to, the printed name is an identifier that reads back as
    itself (NFKC folds "ﬁ" to "fi" when Python reads a name)."""
    text = '''import numpy as np


def helper(x):
    return np.sin(x) * x


def f(x):
    return helper(x) * 2.0
'''
    module = load(tmp_path, f"helper_{abs(hash(name))}", text)
    module.helper.__name__ = name
    for kind in ("grad", "vjp", "jvp"):
        assert ad.source(module.f, kind, args=(0.7,))
    assert ad.grad(module.f)(0.7) == pytest.approx(2 * expected(0.7)[0], rel=1e-12)
    assert ad.jvp(module.f, (0.7,), (1.0,))[1] == pytest.approx(2 * expected(0.7)[0],
                                                                rel=1e-12)
    assert pwned == []
