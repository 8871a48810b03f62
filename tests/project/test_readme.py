"""The README: a short guide (at most 10 KB), whose code runs and whose links resolve."""

import re
from pathlib import Path

import numpy as np

import minigan
from minigan import data

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_guides_and_stays_short():
    text = README.read_text()
    assert len(text.encode()) <= 10_000
    for floor in minigan.FLOORS:                      # the floors, each named
        assert f"  {floor}/" in text, floor
    assert "python -m pytest" in text and "-m slow" in text
    assert not re.search(r"^\|.*\|$", text, re.M), "results tables belong on the site's results pages"


def test_the_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README.read_text()):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_the_readme_snippet_trains_a_gan(monkeypatch, data_dir, run_docs_code):
    """The first snippet, as written, on the tiny test split and for 20 iterations."""
    tiny = data.load_mnist("test", data_dir=data_dir, scale="sigmoid", download=False)
    monkeypatch.setattr(data, "load_mnist", lambda *a, **k: tiny)
    code = python_blocks()[0].replace("range(2000)", "range(20)")
    namespace = run_docs_code(code, "README.md, its first snippet", {"__name__": "readme"})
    stats = namespace["stats"]
    assert set(stats) >= {"d_loss", "g_loss", "d_real", "d_fake", "d_gen"}
    assert all(np.isfinite(v) for v in stats.values())


def test_the_readme_gradient_check_runs(run_docs_code):
    """The snippet prints the errors of its two checks: each within the tolerance (a
    wrong gradient only printed a larger number, and the test passed)."""
    from minigan.check.testing import GRAD_TOL

    printed = []
    run_docs_code(python_blocks()[1], "README.md, its second snippet",
                  {"__name__": "readme", "print": printed.append})
    assert len(printed) == 2
    for errors in printed:
        assert set(errors) >= {"x"} and max(errors.values()) <= GRAD_TOL, errors
