"""The site's code runs: the atlas's property tests, the tutorials and the gallery scripts.

Every page of the gradient atlas (``docs/atlas``) shows the property test of its
operations in a code block marked ``.. property-test``; here each block is extracted and
each of its ``test_*`` functions run, so the tests the pages show are the tests that pass.
The scripts of the tutorials and the gallery run as the docs build runs them.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATLAS = ROOT / "docs" / "atlas"
PAGES = sorted(p for p in ATLAS.glob("*.rst") if p.name != "index.rst")
SCRIPTS = sorted((ROOT / "docs").glob("*_src/**/plot_*.py"))

BLOCK = re.compile(r"^\.\. property-test\s*\n\s*\n\.\. code-block:: python\s*\n\s*\n((?:(?:    .*)?\n)+)",
                   re.M)


def property_blocks(page):
    """The code of each ``.. property-test`` block of an atlas page."""
    return [textwrap.dedent(m.group(1)) for m in BLOCK.finditer(page.read_text())]


def collect():
    cases = []
    for page in PAGES:
        for i, code in enumerate(property_blocks(page)):
            for name in re.findall(r"^def (test_\w+)\(", code, re.M):
                cases.append(pytest.param(page.name, i, name, id=f"{page.stem}::{name}"))
    return cases


def test_every_atlas_page_shows_a_property_test():
    assert len(PAGES) >= 7
    for page in PAGES:
        blocks = property_blocks(page)
        assert blocks, f"{page.name} has no '.. property-test' code block"
        assert all(re.search(r"^def test_\w+\(", b, re.M) for b in blocks), page.name
    toctree = (ATLAS / "index.rst").read_text()
    assert all(f"   {p.stem}\n" in toctree for p in PAGES), "an atlas page is not in the index"


@pytest.mark.parametrize("page, block, name", collect())
def test_atlas_property_test(page, block, name):
    code = property_blocks(ATLAS / page)[block]
    namespace = {"__name__": f"atlas_{Path(page).stem}"}
    exec(compile(code, f"docs/atlas/{page}", "exec"), namespace)
    namespace[name]()         # a hypothesis test: runs the examples of the loaded profile


def test_a_wrong_gradient_fails_its_atlas_test(monkeypatch):
    """The extracted tests can fail: with a backward pass 0.1% off, the dense test raises."""
    namespace = {}
    exec(compile(property_blocks(ATLAS / "dense.rst")[0], "docs/atlas/dense.rst", "exec"),
         namespace)
    F, good = namespace["F"], namespace["F"].dense_backward
    monkeypatch.setattr(F, "dense_backward", lambda dout, cache: tuple(
        None if g is None else g * 1.001 for g in good(dout, cache)))
    with pytest.raises(AssertionError, match="relative error"):
        namespace["test_dense_pair"]()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_site_script_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
