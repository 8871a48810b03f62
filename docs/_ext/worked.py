"""``.. worked-example::``: a small computation, run when the site is built, shown as a session.

An atlas page shows the numbers of one small case, made by the library itself while the
site is built, so they cannot drift from the code::

    .. worked-example::

        x = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
        out, cache = F.dense_forward(x, W, b)
        out                                   # shown with its value, as in a Python session
        np.allclose(dx, dout @ W.T)           # a claim: the build fails if it is False

The code is cut into its top-level statements and run one after the other in one
namespace per page (``np``, ``F`` for :mod:`minigan.functional`, ``layers`` and ``optim``
from :mod:`minigan.nn` are there from the start), and rendered as a Python session: each
statement after ``>>>``, then what it printed and, for an expression, its value. An
expression whose value is False (a bool, or a NumPy bool) stops the build, naming the
page and the line: a worked example that states ``np.allclose(a, b)`` states a fact.
Arrays are printed with 4 decimals, a number with 10 significant digits.

:func:`run_session` needs no Sphinx: ``tests/project/test_docs.py`` runs every page's
examples through it too.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import textwrap
from pathlib import Path

PREAMBLE = ("import numpy as np\n"
            "from minigan import functional as F\n"
            "from minigan.nn import layers, optim\n")
PRINT_OPTIONS = {"precision": 4, "suppress": True, "floatmode": "maxprec", "linewidth": 84}


class ClaimFailed(AssertionError):
    """A line of a worked example evaluated to False."""


BLOCK = re.compile(r"^\.\. worked-example::\s*\n\s*\n((?:(?:    .*)?\n)+)", re.M)


def examples(text):
    """The code of each ``.. worked-example::`` of a page's reST source, in page order."""
    return [textwrap.dedent(m.group(1)) for m in BLOCK.finditer(text)]


def new_namespace():
    """The namespace a page's first worked example starts from."""
    namespace = {"__name__": "worked_example"}
    exec(PREAMBLE, namespace)
    return namespace


def _plain(value):
    """A NumPy scalar as the Python number it holds (``-2.0``, not ``np.float64(-2.0)``), and
    a float to 10 significant digits (``0.475``, not ``0.4749999999999999``), also inside a
    tuple."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def run_session(code, namespace, where="worked example"):
    """Run ``code`` statement by statement in ``namespace``; the session's text.

    Raises :class:`ClaimFailed` when an expression's value is False, and re-raises any
    other exception with ``where`` and the statement added to its message.
    """
    import numpy as np

    code = textwrap.dedent(code).strip("\n")
    lines = code.splitlines()
    tree = ast.parse(code)
    out, done = [], 0                    # done: the lines shown so far
    with np.printoptions(**PRINT_OPTIONS):
        for node in tree.body:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            out += [">>> " + s.strip() for s in lines[done:start - 1] if s.strip()]   # comments
            source, done = lines[start - 1:node.end_lineno], node.end_lineno
            out += [(">>> " if i == 0 else "... ") + s for i, s in enumerate(source)]
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With)):
                out.append("...")
            printed = io.StringIO()
            text = "\n".join(source)
            try:
                with contextlib.redirect_stdout(printed):
                    if isinstance(node, ast.Expr):
                        value = eval(compile(ast.Expression(node.value), where, "eval"), namespace)
                    else:
                        exec(compile(ast.Module([node], []), where, "exec"), namespace)
                        value = None
            except Exception as e:
                raise type(e)(f"{where}: {text!r} raised {e}") from e
            if printed.getvalue():
                out += printed.getvalue().rstrip("\n").splitlines()
            if value is not None:
                if isinstance(value, (bool, np.bool_)) and not value:
                    raise ClaimFailed(f"{where}: {text!r} is False")
                out += repr(_plain(value)).splitlines()
    return "\n".join(out)


def setup(app):
    from docutils import nodes
    from sphinx.errors import ExtensionError
    from sphinx.util.docutils import SphinxDirective

    package = Path(__file__).resolve().parents[2] / "minigan"

    class WorkedExample(SphinxDirective):
        has_content = True

        def run(self):
            namespace = self.env.temp_data.get("worked_namespace")
            if namespace is None:
                namespace = self.env.temp_data["worked_namespace"] = new_namespace()
                for path in sorted(package.rglob("*.py")):      # numbers made by the library:
                    self.env.note_dependency(str(path))         # re-made when it changes
            where = f"{self.env.docname}.rst, worked example at line {self.lineno}"
            try:
                text = run_session("\n".join(self.content), namespace, where)
            except Exception as e:
                raise ExtensionError(str(e)) from e
            block = nodes.literal_block(text, text, language="pycon")
            block["classes"].append("worked-example")
            return [block]

    app.add_directive("worked-example", WorkedExample)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
