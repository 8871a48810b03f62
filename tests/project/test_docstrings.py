"""A docstring's Parameters section names the parameters of its signature, all and only those.

The API pages render each public docstring with numpydoc; a parameter added without a word,
or one renamed or removed in the code but still described, is a page that no longer says
what the function takes. Many docstrings explain their arguments in prose, with no
Parameters section (the project's style for small functions, the forward and backward
pairs, the layers' methods): those are not checked. A docstring that has the section is
held to it, as numpydoc's validator would (its PR01, a parameter not documented, and PR02,
a documented parameter that does not exist).

The section is read here with a few lines of our own rather than with numpydoc, which is a
docs extra and not installed with the test extra; where numpydoc is installed, a second
test checks that both read the same names from every docstring.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import minigan

#: ``"module.qualname": reason`` for a mismatch that is meant; none is, today.
ALLOWED = {}

_DASHES = re.compile(r"^-{3,}$")


def public_objects():
    """``{"module.qualname": object}``: what each floor's modules make public (their
    ``__all__``, else the functions and classes they define), and each class's public
    methods; one entry per object, under the module that defines it."""
    modules = []
    for floor in minigan.FLOORS:
        package = importlib.import_module(f"minigan.{floor}")
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.rpartition(".")[2].startswith("_"):
                modules.append(importlib.import_module(info.name))
    found = {}
    for module in modules:
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, o in vars(module).items()
                     if getattr(o, "__module__", None) == module.__name__]
        for name in names:
            obj = getattr(module, name, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or name.startswith("_"):
                continue
            if not obj.__module__.startswith("minigan"):
                continue
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            found[qualname] = obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(
                            getattr(member, "__func__", member)):
                        found[f"{qualname}.{attr}"] = getattr(obj, attr)
    return found


def documented_parameters(doc):
    """The names a numpydoc Parameters section lists (``a, b : type`` gives two; ``*args``
    keeps its stars), or None when the docstring has no such section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    heads = [i for i in range(len(lines) - 1)
             if lines[i].strip() == "Parameters" and _DASHES.match(lines[i + 1].strip())]
    if not heads:
        return None
    names = []
    for i in range(heads[0] + 2, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and _DASHES.match(lines[i + 1].strip()):
            break                                     # the next section's heading
        if line.strip() and not line[0].isspace():    # an entry; its description is indented
            head = line.split(" : ", 1)[0].rstrip()
            head = head[:-2] if head.endswith(" :") else head
            names += [n.strip() for n in head.split(",") if n.strip()]
    return names


def signature_parameters(obj):
    """The parameters a caller passes (``self`` and ``cls`` left out), ``*args`` and
    ``**kwargs`` with their stars."""
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [stars.get(p.kind, "") + name
            for name, p in inspect.signature(obj).parameters.items()
            if name not in ("self", "cls")]


def mismatches():
    out = {}
    for qualname, obj in sorted(public_objects().items()):
        documented = documented_parameters(obj.__doc__)
        if documented is None:
            continue
        taken = signature_parameters(obj)
        missing = [p for p in taken if p not in documented]
        unknown = [p for p in documented if p not in taken]
        if missing or unknown:
            out[qualname] = (missing, unknown)
    return out


def test_parameters_sections_match_the_signatures():
    found = mismatches()
    wrong = {q: m for q, m in found.items() if q not in ALLOWED}
    assert not wrong, "\n".join(
        f"{q}: not documented {missing}, documented but not taken {unknown}"
        for q, (missing, unknown) in wrong.items())
    assert not set(ALLOWED) - set(found), "an allowed mismatch is gone: remove it from ALLOWED"


def test_the_sections_read_as_numpydoc_reads_them():
    """The names read above are those numpydoc's validator reads, for every public object."""
    pytest.importorskip("numpydoc", reason="numpydoc comes with the docs extra; the check "
                                           "above does without it")
    from numpydoc.docscrape import get_doc_object
    from numpydoc.validate import Validator

    differ = {}
    for qualname, obj in public_objects().items():
        ours = documented_parameters(obj.__doc__)
        theirs = list(Validator(get_doc_object(obj)).doc_parameters)
        if sorted(ours or []) != sorted(theirs):
            differ[qualname] = (ours, theirs)
    assert not differ, differ
