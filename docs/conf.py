"""Sphinx configuration of the minigan site.

Build it from the repository root, warnings as errors::

    pip install ".[docs]" && python -m sphinx -W -b html docs docs/_build/html

The pages are the gradient atlas (``docs/atlas``), the tutorials
(``docs/tutorials_src``, run at build time), the gallery (``docs/gallery_src``:
the toy experiments, run at build time; the MNIST examples of ``examples/``, shown
with figures from real runs and never run here) and the API reference (``docs/api``).
MathJax is served from the built site (``sphinx-mathjax-offline``): no page needs the network.

Adding pages:

- an operation: ``docs/atlas/NAME.rst`` (forward formula, derivation, shapes, a
  ``.. worked-example::`` of one small case, ``autofunction`` of its public names, and its
  property test in a code block right after a ``.. property-test`` comment), listed in
  ``docs/atlas/index.rst``; ``tests/project/test_docs.py`` runs the worked example and the
  test, and requires the listing; a picture is a script in ``docs/atlas/pictures``, shown
  with ``.. plot:: atlas/pictures/NAME.py`` and drawn at every build;
- an experiment: ``docs/gallery_src/toys/plot_NAME.py`` (a sphinx-gallery script, run
  at every build: keep it under a minute on 2 cores);
- a tutorial: ``docs/tutorials_src/plot_N_NAME.py`` (run at every build, in file-name order).
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))          # document the source tree, with links to its lines
sys.path.insert(0, str(DOCS / "_ext"))  # worked.py: the atlas's worked examples
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # the toys' tiny networks: one thread is fastest

from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import minigan  # noqa: E402

project = "minigan"
author = "minigan contributors"
copyright = "minigan contributors"
version = release = minigan.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",          # copies MathJax 3 into _static/mathjax, points mathjax_path at it
    "myst_parser",                     # the Markdown pages: the results, the command line, the lab
    "worked",                          # .. worked-example::, run at build time (docs/_ext/worked.py)
    "matplotlib.sphinxext.plot_directive",   # .. plot:: the atlas's pictures (docs/atlas/pictures)
]
myst_enable_extensions = ["colon_fence", "dollarmath"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

# sg_execution_times: pages sphinx-gallery no longer writes here (they load jQuery, DataTables
# and Bootstrap from the network); one left by an older build is not built
exclude_patterns = ["_build", "**/GALLERY_HEADER.rst", "**.ipynb", "*.png", "_generated",
                    "sg_execution_times.rst", "**/sg_execution_times.rst"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["minigan.css"]
html_theme = "pydata_sphinx_theme"
html_title = "minigan"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    # the version beside the name on every page (_templates/minigan-version.html), linked
    # to the changelog
    "navbar_start": ["navbar-logo", "minigan-version"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
html_show_sourcelink = True

# -- references: a broken one fails the build ------------------------------------------------
nitpicky = True
nitpick_ignore_regex = [
    # private helpers named in module docstrings (the source pages show them)
    (r"py:.*", r"(.*\.)?_\w+"),
    # the files behind the public names: minigan.functional's docstring points at the
    # file of each pair; the pages document the pairs under their public names
    # (minigan.functional.dense_forward, ...), and [source] links open those files
    (r"py:mod", r"minigan\.(functional\.\w+|im2col|kernels)"),
    # a type of another project (the site is built offline, without intersphinx)
    (r"py:class", r"(hypothesis|numpy|cupy)\..*"),
    # the builtin named in an annotation (minigan.lab.toys.ToySpec.sample)
    (r"py:class", r"callable"),
]

# -- autodoc and numpydoc --------------------------------------------------------------------
autodoc_member_order = "bysource"
numpydoc_show_class_members = False     # classes list their methods through :members:
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False        # types are prose ("ndarray of shape (N, D)"), not references

# -- MathJax: served with the site ----------------------------------------------------------
mathjax3_config = {"tex": {"macros": {}}}

# -- the atlas's pictures: drawn by their scripts at every build (docs/atlas/pictures) ---------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 150)]
plot_rcparams = {"savefig.bbox": "tight"}

# -- the gallery ---------------------------------------------------------------------------
# when, with which code and where the figures of MNIST_RUNS were made (docs/results/mnist.md)
MNIST_RUNS_MADE = ("on 2026-11-22 with the code of commit ``e868dcd``, on a 2-core AMD EPYC "
                   "virtual machine without a GPU")
MNIST_RUNS = {
    # example -> (figures from real runs in docs/figures, the commands that made them, where
    # a figure was made otherwise than MNIST_RUNS_MADE says);
    # the example's card in the gallery shows its last minigan grid of digits
    "vanilla_gan_mnist.py": (
        [("vanilla_mnist_epoch001.png", "epoch 1"), ("vanilla_mnist_epoch010.png", "epoch 10"),
         ("vanilla_mnist_epoch100.png", "epoch 100"), ("vanilla_mnist_curves.png", "losses and D's outputs")],
        ["minigan train --model vanilla --split test --data-dir DIR --epochs 100 --seed 0 --device cpu"],
        "",
    ),
    "dcgan_mnist.py": (
        [("dcgan_mnist_epoch005.png", "epoch 5"), ("dcgan_mnist_epoch020.png", "epoch 20"),
         ("pytorch_dcgan_mnist_epoch005.png", "the same model in PyTorch, epoch 5"),
         ("dcgan_mnist_curves.png", "losses and D's outputs over 20 epochs")],
        ["minigan train --model dcgan --split test --data-dir DIR --epochs 5 --seed 0 "
         "--device cpu --out runs/dcgan",
         "minigan train --resume runs/dcgan --epochs 20 --data-dir DIR --device cpu",
         "python benchmarks/torch_dcgan_mnist.py --data-dir DIR --split test --epochs 5   # PyTorch"],
        " (the PyTorch grid on 2026-11-21, with ``benchmarks/torch_dcgan_mnist.py`` of commit "
        "``7958abc``, on the same machine)",
    ),
}


def _mnist_gallery():
    """Copy ``examples/*.py`` into ``docs/gallery_src/mnist`` (not committed) with a gallery page's docstring.

    The scripts train for minutes to hours, so the gallery never runs them: the page
    shows the script as it is in ``examples/`` (only its docstring gains a title and the
    figures), with the figures of real runs of the named commands (the same models as the
    ``minigan train`` commands; the images live in ``docs/figures``); its card in the
    gallery shows the last grid of digits.
    """
    out = DOCS / "gallery_src" / "mnist"
    out.mkdir(exist_ok=True)
    (out / "GALLERY_HEADER.rst").write_text(
        "MNIST examples\n--------------\n\n"
        "The two scripts of ``examples/``: long runs, shown with figures from real runs "
        "of the commands named on each page (they are not run when the site is built).\n")
    for path in sorted((ROOT / "examples").glob("*.py")):
        text = path.read_text()
        match = re.match(r'\s*"""(.*?)"""', text, re.S)
        doc, body = (match.group(1), text[match.end():]) if match else ("", text)
        lines = doc.strip().splitlines()
        title, rest = (lines[0].rstrip(".") if lines else path.stem), "\n".join(lines[1:])
        rest = re.sub(r"\n    (python examples/.*)\n", r"\n.. code-block:: bash\n\n    \1\n", rest)
        page = [title, "=" * len(title), "", rest.strip(), ""]
        figures, commands, elsewise = MNIST_RUNS.get(path.name, ([], [], ""))
        if figures:
            page += ["Figures from real runs", "-" * 22, "",
                     "The same model trained by ``minigan train`` (and, where named, in "
                     f"PyTorch) on the 10,000-digit MNIST test split, float32, seed 0, "
                     f"{MNIST_RUNS_MADE}{elsewise}: the runs of :doc:`/results/mnist`, which "
                     "scores them. ``DIR`` is a folder holding MNIST's ``t10k-*.gz`` files:",
                     "", ".. code-block:: bash", ""]
            page += [f"    {c}" for c in commands] + [""]
            grids, curves = figures[:-1], figures[-1]
            page += [".. list-table::", "   :header-rows: 1", ""]
            page += [f"   {'*' if i == 0 else ' '} - {caption}" for i, (_, caption) in enumerate(grids)]
            for i, (name, caption) in enumerate(grids):
                page += [f"   {'*' if i == 0 else ' '} - .. image:: /figures/{name}",
                         f"          :alt: {caption}"]
            page += ["", f".. figure:: /figures/{curves[0]}", "   :width: 80%",
                     f"   :alt: {curves[1]}, by iteration", "", f"   {curves[1]}", ""]
        doc = "\n".join(page).replace('"""', "'''")
        # the card shows the last grid of digits (a config comment: not shown with the code)
        ours = [name for name, _ in figures[:-1] if not name.startswith("pytorch")]
        thumb = f"# sphinx_gallery_thumbnail_path = 'figures/{ours[-1]}'\n" if ours else ""
        (out / path.name).write_text(f'"""\n{doc}\n"""\n{thumb}{body}')
    return out


_mnist_gallery()


def _command_line_help():
    """Each command's ``--help``, as the parser prints it, into ``docs/_generated`` (not
    committed): the command-line page includes them, so it never drifts from the code."""
    import contextlib
    import io

    from minigan.app.cli import build_parser

    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    os.environ["COLUMNS"] = "90"
    parser = build_parser()
    commands = {c: [c] for c in ("train", "sample", "interpolate", "eval", "toy")}
    commands["classifier"] = ["classifier"], ["classifier", "train"], ["classifier", "show"]
    for command, words in commands.items():
        texts = []
        for args in (words if isinstance(words, tuple) else (words,)):   # a group: each one
            text = io.StringIO()
            with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
                parser.parse_args([*args, "--help"])
            texts.append(text.getvalue())
        (out / f"cli_{command}.txt").write_text("\n".join(texts))


_command_line_help()

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials_src", "gallery_src"],
    "gallery_dirs": ["tutorials", "gallery"],
    # only plot_*.py run at build time (each under a minute on 2 cores); the MNIST
    # examples match no pattern, so they are shown, never run
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "doc_module": ("minigan",),
    "backreferences_dir": None,
    "show_memory": False,
    "plot_gallery": "True",
    "copyfile_regex": "",
    "default_thumb_file": None,
    # no sg_execution_times pages: they load jQuery, DataTables and Bootstrap from the network
    "write_computation_times": False,
    # the toys (run here) before the MNIST examples (shown with figures from real runs)
    "subsection_order": ExplicitOrder(["gallery_src/toys", "gallery_src/mnist"]),
}
