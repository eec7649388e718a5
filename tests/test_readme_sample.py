"""The generated-source samples in README.md and docs/index.md are what the compiler prints
today (scripts/readme_sample.py writes them), and the README's first ```bash block, which
CI runs verbatim, is left alone by that script."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import readme_sample


def test_readme_sample_is_current():
    text = readme_sample.README.read_text(encoding="utf-8")
    assert readme_sample.render_readme(text) == text, "run python scripts/readme_sample.py"


def test_index_sample_is_current():
    text = readme_sample.INDEX.read_text(encoding="utf-8")
    assert readme_sample.render_index(text) == text, "run python scripts/readme_sample.py"


def test_rendering_keeps_the_readme_commands():
    from readme_commands import readme_commands

    text = readme_sample.README.read_text(encoding="utf-8")
    stale = text.replace("    return dx\n", "    return 'stale'\n", 1)
    assert stale != text
    assert readme_sample.render_readme(stale) == text
    assert readme_commands(readme_sample.render_readme(stale)) == readme_commands(text)


def test_samples_run_when_pasted():
    """The sample ends with the imports it needs, so pasted into a file it runs."""
    import numpy as np

    namespace = {}
    exec(compile(readme_sample.readme_sample(), "<readme>", "exec"), namespace)
    np.testing.assert_allclose(namespace["rosenbrock_grad"](np.array([-1.0, 2.0])),
                               [396.0, 200.0])
