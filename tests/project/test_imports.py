"""The package's floors import only downward: no import cycle, lazy imports included.

The floors, each a subpackage of ``minigan``, and the floors each may import (its own
always): the table below is the architecture of the package, and this test keeps it.
"""

import ast
import functools
import pathlib

import minigan

PACKAGE = pathlib.Path(minigan.__file__).parent

MAY_IMPORT = {
    "backend": set(),
    "data": {"backend"},
    "functional": {"backend"},
    "nn": {"backend", "functional"},
    "check": {"backend", "functional", "nn"},
    "gan": {"backend", "functional", "nn"},
    "lab": {"backend", "data", "functional", "nn", "check", "gan"},
    "app": {"backend", "data", "functional", "nn", "check", "gan", "lab"},
}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def import_graph():
    """``{module: set of minigan modules it imports}``, read from the source with ``ast``:
    every ``import`` statement counts, also those inside functions. Read once per test
    process (every file of the package parsed: about a second); the tests only read it."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                bases = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # ``from pkg import mod`` imports the module pkg.mod when there is one
                bases = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                         for a in node.names]
            else:
                continue
            targets.update(b for b in bases if b in modules and b != name)
        graph[name] = targets
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_graph_sees_imports():
    graph = import_graph()
    assert "minigan.backend.kernels" in graph["minigan.functional.im2col"]             # a lazy import
    assert "minigan.functional.im2col" in graph["minigan.functional.conv"]      # from ..im2col import ...
    assert "minigan.functional.conv" in graph["minigan.functional"]  # from .conv import ...
    assert "minigan.backend" in graph["minigan.nn.layers"]              # from . import backend


def test_no_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    back = sorted((a, b) for a in graph for b in graph[a] if a in graph.get(b, ()))
    assert not back, f"modules that import each other: {back}"
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def floor(module):
    """``"nn"`` for ``minigan.nn.layers``; ``""`` for the package root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__main__" else ""


def test_the_floors_are_the_package_and_the_root_holds_no_module():
    assert set(MAY_IMPORT) == set(minigan.FLOORS)
    graph = import_graph()
    loose = sorted(m for m in graph if m not in ("minigan", "minigan.__main__")
                   and (floor(m) not in MAY_IMPORT or "." not in m[len("minigan."):]
                        and not (PACKAGE / floor(m) / "__init__.py").exists()))
    assert not loose, f"modules outside the floors: {loose}"
    assert all(p.parent == PACKAGE or p.parent.parent == PACKAGE for p in PACKAGE.rglob("*.py"))


def test_every_import_points_down():
    graph = import_graph()
    up = sorted((a, b) for a in graph for b in graph[a]
                if floor(a) and floor(b) and floor(b) != floor(a)
                and floor(b) not in MAY_IMPORT[floor(a)])
    assert not up, "imports that point up or sideways: " + ", ".join(f"{a} -> {b}" for a, b in up)
    assert graph["minigan"] == set()                        # the root imports its floors lazily
    assert {floor(b) for b in graph["minigan.__main__"]} == {"app"}
    assert not any(b.startswith("minigan.app") for a in graph for b in graph[a]
                   if floor(a) != "app" and a != "minigan.__main__"), "something imports app"


def test_the_floor_check_sees_an_upward_import(tmp_path):
    """The rule can fail: a functional module importing the nn floor is reported."""
    graph = {"minigan.functional.dense": {"minigan.nn.layers"}, "minigan.nn.layers": set()}
    up = [(a, b) for a in graph for b in graph[a]
          if floor(b) != floor(a) and floor(b) not in MAY_IMPORT[floor(a)]]
    assert up == [("minigan.functional.dense", "minigan.nn.layers")]


def _old_names_used(text):
    """The 0.1 module names a text imports from the top (``from minigan import layers``)."""
    import re

    used = set()
    names = r"\(([^)]*)\)|([A-Za-z_][\w, ]*)"         # in parentheses over lines, or on one
    for match in re.finditer(rf"from minigan import (?:{names})", text):
        listed = (match.group(1) or match.group(2)).replace("...", " ").split(",")
        used |= {w.split(" as ")[0].strip(" \n>.#") for w in listed} & set(minigan.MOVED)
    return used


def test_the_examples_teach_the_floors_not_the_old_names():
    """``from minigan import layers`` still works (``minigan.MOVED``), but the docstrings,
    docs and examples show where each module lives now; the package's own docstring and the
    changelog name the old form on purpose."""
    root = PACKAGE.parent
    texts = [p for d in ("minigan", "docs", "examples", "benchmarks")
             for p in (root / d).rglob("*") if p.suffix in (".py", ".md", ".rst")]
    texts.append(root / "README.md")
    skip = {PACKAGE / "__init__.py", root / "docs" / "changelog.md"}
    old = {str(p.relative_to(root)): sorted(_old_names_used(p.read_text()))
           for p in texts if p not in skip and "_build" not in p.parts}
    assert {k: v for k, v in old.items() if v} == {}
    assert _old_names_used(">>> from minigan import backend, layers as L") == {"layers"}
    assert _old_names_used(">>> from minigan import (backend,\n...     optim)") == {"optim"}
    assert _old_names_used("from minigan import (\n    gan,\n    losses,\n)") == {"losses"}
