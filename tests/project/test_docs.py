"""The site's code runs: the atlas's property tests and worked examples, its pictures, the
tutorials and the gallery scripts; and the site's own checker catches what it is meant to.

Every page of the gradient atlas (``docs/atlas``) shows the property test of its
operations in a code block marked ``.. property-test``; here each block is extracted and
each of its ``test_*`` functions run, so the tests the pages show are the tests that pass.
Each page's worked examples (``.. worked-example::``, computed when the site is built) run
here too, through the same code (``docs/_ext/worked.py``): every claim in them holds. The
scripts of the atlas's pictures, the tutorials and the gallery run as the docs build runs
them.
"""

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ATLAS = DOCS / "atlas"
PAGES = sorted(p for p in ATLAS.glob("*.rst") if p.name != "index.rst")
PICTURES = sorted((ATLAS / "pictures").glob("*.py"))
SCRIPTS = sorted(DOCS.glob("*_src/**/plot_*.py"))


def load(path):
    """A module of docs/ (the worked-example runner, the site checker), by its path."""
    spec = importlib.util.spec_from_file_location(f"docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worked = load(DOCS / "_ext" / "worked.py")
check_site = load(DOCS / "check_site.py")

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


def test_every_pair_has_an_atlas_page_and_a_property_test():
    """Each forward/backward pair of ``minigan.functional`` is documented on an atlas page
    (``.. autofunction::``) whose property test calls it: a new operation is not done until
    its page says its derivation and checks its gradient."""
    from minigan import functional as F

    pages = {p.name: (p.read_text(), "\n".join(property_blocks(p))) for p in PAGES}
    problems = []
    for name in F.__all__:
        if not name.endswith(("_forward", "_backward")):
            continue
        shown = [page for page, (text, _) in pages.items()
                 if re.search(rf"^\.\. autofunction:: {name}$", text, re.M)]
        if not shown:
            problems.append(f"{name}: no '.. autofunction:: {name}' on a page of docs/atlas")
        elif not any(re.search(rf"\b{name}\b", pages[page][1]) for page in shown):
            problems.append(f"{name}: the '.. property-test' block of {', '.join(shown)} "
                            "does not call it")
    assert not problems, "; ".join(problems) + (
        " (docs/atlas/index.rst, 'Adding an operation', lists what a new pair needs)")


@pytest.mark.parametrize("page, block, name", collect())
def test_atlas_property_test(page, block, name, run_docs_code):
    code = property_blocks(ATLAS / page)[block]
    namespace = run_docs_code(code, f"docs/atlas/{page}, property test {block}",
                              {"__name__": f"atlas_{Path(page).stem}"})
    namespace[name]()         # a hypothesis test: runs the examples of the loaded profile


def test_a_wrong_gradient_fails_its_atlas_test(monkeypatch, run_docs_code):
    """The extracted tests can fail: with a backward pass 0.1% off, the dense test raises."""
    namespace = run_docs_code(property_blocks(ATLAS / "dense.rst")[0],
                              "docs/atlas/dense.rst, property test 0", {})
    F, good = namespace["F"], namespace["F"].dense_backward
    monkeypatch.setattr(F, "dense_backward", lambda dout, cache: tuple(
        None if g is None else g * 1.001 for g in good(dout, cache)))
    with pytest.raises(AssertionError, match="relative error"):
        namespace["test_dense_pair"]()


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_atlas_worked_examples(page):
    """Each atlas page has a worked example; its code runs and every claim in it holds."""
    blocks = worked.examples(page.read_text())
    assert blocks, f"{page.name} has no '.. worked-example::'"
    namespace = worked.new_namespace()
    for i, code in enumerate(blocks):
        session = worked.run_session(code, namespace, f"{page.name}, worked example {i}")
        shown = [s for s in session.splitlines() if not s.startswith((">>> ", "... ", "..."))]
        assert shown, f"{page.name}: worked example {i} shows no number"


def test_a_false_claim_fails_its_worked_example():
    namespace = worked.new_namespace()
    shown = worked.run_session("x = np.arange(3.0)\nx.sum()\nbool(x.sum() == 3.0)", namespace)
    assert shown.splitlines() == [">>> x = np.arange(3.0)", ">>> x.sum()", "3.0",
                                  ">>> bool(x.sum() == 3.0)", "True"]
    with pytest.raises(worked.ClaimFailed, match="x.sum\\(\\) == 4"):
        worked.run_session("np.isclose(x.sum(), 3.0)\nx.sum() == 4", namespace)


@pytest.mark.parametrize("script", PICTURES, ids=[s.stem for s in PICTURES])
def test_atlas_picture_draws(script):
    """Each picture script draws a figure with something on it, and a page shows it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    exec(compile(script.read_text(), str(script), "exec"), {"__name__": "picture"})
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert figures and all(fig.axes[0].patches or fig.axes[0].texts for fig in figures)
    plt.close("all")
    pages = " ".join(p.read_text() for p in PAGES)
    assert f".. plot:: atlas/pictures/{script.name}" in pages, f"no page shows {script.name}"


def test_home_page_lists_every_atlas_page_and_the_changelog():
    import minigan

    home = (DOCS / "index.rst").read_text()
    missing = [p.stem for p in PAGES if f":doc:`atlas/{p.stem}`" not in home]
    assert not missing, f"the home page does not list {missing}"
    assert "   changelog\n" in home
    assert f"## {minigan.__version__} (" in (DOCS / "changelog.md").read_text()


# -- docs/check_site.py on pages made up here (the browser is not needed) --------------------
MATH = ("<mjx-container class=\"MathJax\"><mjx-assistive-mml><math>{}</math>"
        "</mjx-assistive-mml></mjx-container>")                 # a formula as MathJax types it


def test_check_site_reads_loads_version_and_code():
    page = check_site.parse(
        '<html><head><script src="https://cdn.example/jq.js"></script>'
        '<link rel="stylesheet" href="//cdn.example/b.css"><link rel="canonical" href="https://x/">'
        '<script src="_static/local.js"></script></head><body>'
        '<a class="minigan-version" href="changelog.html">v9.9.9</a>'
        '<a href="https://example.org">a link is not a load</a>'
        '<pre>\\frac{a}{b} in code is code</pre><p>prose</p></body></html>')
    assert page.external == ["https://cdn.example/jq.js", "//cdn.example/b.css"]
    assert page.version_shown == ["v9.9.9"]
    assert "\\frac" not in " ".join(page.text) and "prose" in " ".join(page.text)


@pytest.mark.parametrize("body, spans, found", [
    ("<p>typeset: " + MATH.format("<mi>x</mi>") + "</p>", 1, None),
    ("<p>" + MATH.format("<msub><mtext>output\\_padding</mtext><mi>h</mi></msub>") + "</p>", 1,
     "a formula shows TeX as text"),
    ("<p>" + MATH.format("<merror><mtext>Undefined control sequence</mtext></merror>") + "</p>",
     1, "MathJax error"),
    ("<p>left raw: \\(x\\) and \\text{a}</p>", 0, "raw TeX in the text"),
    ("<p>left raw: $$x$$</p>", 0, "raw TeX in the text"),
    ("<p>" + MATH.format("<mi>x</mi>") + " and one not typeset</p>", 2, "math not rendered"),
])
def test_check_site_finds_formulas_not_whole(body, spans, found):
    """The page as the source had it (its math spans), and as Chromium left it (body)."""
    static = check_site.parse('<span class="math">\\(x\\)</span>' * spans)
    _, failures = check_site.check_rendered("page.html", static, f"<html><body>{body}</body></html>")
    if found is None:
        assert failures == []
    else:
        assert len(failures) == 1 and found in failures[0], failures


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_site_script_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("img, found", [
    ('<img src="../_images/curves.png" alt="D\'s and G\'s losses by iteration">', None),
    ('<img src="../_images/sphx_glr_plot_ring8_thumb.png" alt="">', None),     # a gallery card
    ('<img src="../_images/curves.png" alt="">', "no alt text"),
    ('<img src="../_images/curves.png">', "no alt text"),
    ('<img src="../_images/curves.png" alt="../_images/curves.png">', "no alt text"),
    ('<img src="../_images/sphx_glr_plot_ring8_002.png" alt="plot ring8">', "no alt text"),
])
def test_check_site_finds_images_without_alt_text(img, found):
    failures = check_site.image_failures("page.html", check_site.parse(f"<p>{img}</p>"))
    if found is None:
        assert failures == []
    else:
        assert len(failures) == 1 and found in failures[0], failures


def test_check_site_finds_links_the_site_lacks(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "a.png").write_bytes(b"")
    statics = {
        "index.html": check_site.parse('<h1 id="top">x</h1>'),
        "results/mnist.html": check_site.parse(
            '<a href="../index.html#top">ok</a><a href="../index.html">ok</a>'
            '<a href="#here" id="here">ok</a><a href="https://example.org/x.html">outside</a>'
            '<img src="../_images/a.png" alt="a"><a href="mailto:x@example.org">mail</a>'
            '<a href="toys.html">gone</a><a href="../index.html#nowhere">no anchor</a>'
            '<img src="../_images/b.png" alt="b">'
            '<a href="../tutorials/">a folder without its index.html</a>'
            '<a href="../../README.md">outside the site</a>'
            '<a href="../api/">a folder with its index.html</a><a href="../api/#top">ok</a>'
            '<a href="../api/#gone">no anchor in the folder\'s index</a>'
            '<a href="../_images/a%23b.png">a name with #</a>'
            '<a href="/etc/hostname">the disk\'s root</a>'),
        "api/index.html": check_site.parse('<h1 id="top">x</h1>'),
    }
    (tmp_path / "tutorials").mkdir()
    (tmp_path / "api").mkdir()
    (tmp_path / "_images" / "a#b.png").write_bytes(b"")
    failures = check_site.link_failures("results/mnist.html", statics["results/mnist.html"],
                                        statics, tmp_path)
    assert len(failures) == 7, failures
    assert "/etc/hostname, outside the site" in failures[6]
    assert "toys.html, which was not built" in failures[0]
    assert "no #nowhere on index.html" in failures[1]
    assert "b.png, which was not built" in failures[2]
    assert "../tutorials/, which was not built" in failures[3]
    assert "../../README.md, outside the site" in failures[4]
    assert "no #gone on api/index.html" in failures[5]
