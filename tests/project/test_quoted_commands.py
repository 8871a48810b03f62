"""Every command the docs quote is accepted, as written, by today's parsers (parsed, never run).

The commands: each line of the ``bash``, ``sh``, ``shell`` and ``console`` code blocks of
README.md and the site's Markdown pages (``$``-prompted lines of a console block); of the
``.. code-block:: bash`` blocks of its reStructuredText pages, of the gallery scripts' text
and of minigan's docstrings (the API pages), and the lines of the literal (``::``) blocks
there that start with a command; the examples' commands (their docstrings, which the gallery
shows) and the commands under the MNIST gallery's figures (``docs/conf.py``).
Backslash-continued lines are joined, comments dropped, ``&&`` separates commands, ``pip``,
``git`` and ``cd`` are passed over and variables set before a command
(``OMP_NUM_THREADS=1 ...``) stripped. The placeholders become the values of
:data:`PLACEHOLDERS`; ``[--seed S]``, an option the reader may add, is checked as if given
(the alternatives of ``[--a 1 | --b 2]`` together, as one command), a pipe's
second program left out, and ``[CHANGE]`` or ``...``, any option,
is left out.

Each command goes to its own parser: ``minigan`` and ``python -m minigan`` to
:func:`minigan.app.cli.build_parser`; ``python benchmarks/X.py``, ``python examples/X.py`` and
``python docs/check_site.py`` to the script's ``build_parser()``, read from the script's text
with just what it needs of the script's top level (its imports, its constants), so that the
script does not run. Abbreviated options are refused here (argparse takes ``--eval-ever``
for ``--eval-every``): a quoted option renamed to a longer name would otherwise pass. A
program the test does not know fails, unless :data:`OTHER_PROGRAMS` says why it is not
checked.
"""

import argparse
import ast
import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import NamedTuple

import pytest

from minigan.app import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: What each placeholder of the quoted commands stands for here (a whole word of the command;
#: NAME a toy's name, which recipe_study.py takes as its run's name too).
PLACEHOLDERS = {
    "DIR": "data/mnist", "MNIST_DIR": "data/mnist", "RUN": "runs/v1", "runs/...": "runs/v1",
    "NAME": "ring8", "OUT": "out", "FOLDER": "out", "S": "1", "K": "3", "N": "5",
    "L": "7", "λ": "0.01", "γ": "0.1",
}
#: Words that stand for any options: left out.
ANY_OPTIONS = {"...", "[CHANGE]", "OPTIONS"}

#: Programs the docs quote whose arguments are not this project's to check, and why.
OTHER_PROGRAMS = {
    "python -m pytest": "pytest's own options and the project's test files",
    "python -m sphinx": "Sphinx's own options",
    "bash benchmarks/gpu_check.sh": "a shell script taking two folders and stage names, no options",
    "python -c": "a one-line Python program of the page's own (a busy loop), no project options",
    "kill": "the shell's, stopping that program",
}
PASSED_OVER = {"pip", "git", "cd"}
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("examples/*.py"), DOCS / "check_site.py"])
#: What the docs build writes (from the files read here), when a build has run.
GENERATED = ("_build", "_generated", "tutorials", "gallery", "gallery_src/mnist")


class Quoted(NamedTuple):
    path: str        # relative to the repository root
    line: int
    command: str     # as quoted, continuation lines joined


# -- finding the commands ----------------------------------------------------------------------
FENCE = re.compile(r"^```(bash|sh|shell|console)[ \t]*\n(.*?)^```", re.M | re.S)
CODE_BLOCK = re.compile(r"^[ \t]*\.\. code-block:: (?:bash|sh|shell|console)[ \t]*\n", re.M)
LITERAL = re.compile(r"::[ \t]*\n")
COMMAND_START = re.compile(r"(?:\$ )?(?:\w+=\S* )*(?:minigan|python3?|bash) [a-z-]")


def lines_of(text, first_line):
    """(line number, command) of a block's text, continuation lines joined."""
    joined, start = "", None
    for number, line in enumerate(text.splitlines(), first_line):
        if start is None:
            start = number
        if line.rstrip().endswith("\\"):
            joined += line.rstrip()[:-1] + " "
            continue
        yield start, (joined + line).strip()
        joined, start = "", None


def indented_block(text, at):
    """The indented lines from ``text[at:]`` on (blank lines among them), and the line number of
    the first; the block ends at the first line indented less than its first line."""
    first_line = text.count("\n", 0, at) + 1
    rest = text[at:].splitlines()
    while rest and not rest[0].strip():
        rest, first_line = rest[1:], first_line + 1
    indent = len(rest[0]) - len(rest[0].lstrip()) if rest else 0
    block = []
    for line in rest:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        block.append(line[indent:])
    return "\n".join(block), first_line


def rst_text(path):
    """The reStructuredText of a page, or of a gallery script or a module (their docstrings and
    ``#`` comments), line for line."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    return "\n".join(re.sub(r"^# ?", "", line) if line.startswith("#") else line
                     for line in text.splitlines())


def markdown_commands(path):
    """(line number, command) of each line of a Markdown page's shell code blocks."""
    text = path.read_text()
    for m in FENCE.finditer(text):
        first_line = text.count("\n", 0, m.start(2)) + 1
        for number, line in lines_of(m.group(2), first_line):
            if m.group(1) == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            yield number, line


def rst_commands(path):
    """(line number, command) of each line of the shell code blocks of reStructuredText, and of
    each line of its literal blocks that starts with a command."""
    text = rst_text(path)
    for m in CODE_BLOCK.finditer(text):
        block, first_line = indented_block(text, m.end())
        yield from lines_of(block, first_line)
    for m in LITERAL.finditer(text):
        if CODE_BLOCK.search(text, text.rfind("\n", 0, m.start()) + 1, m.end()):
            continue                                       # a code-block directive, read above
        block, first_line = indented_block(text, m.end())
        for number, line in lines_of(block, first_line):
            if COMMAND_START.match(line):
                yield number, line.removeprefix("$ ")


def example_commands(path):
    """An example's commands: the lines ``    python examples/...`` of its docstring, which
    docs/conf.py shows as a code block."""
    text = path.read_text()
    docstring = ast.get_docstring(ast.parse(text), clean=False)
    first_line = text.count("\n", 0, text.index(docstring)) + 1
    for m in re.finditer(r"^    (python examples/.*)$", docstring, re.M):
        yield first_line + docstring.count("\n", 0, m.start()), m.group(1)


def gallery_runs():
    """The commands under the MNIST gallery's figures: ``MNIST_RUNS`` of docs/conf.py."""
    conf = DOCS / "conf.py"
    for node in ast.parse(conf.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MNIST_RUNS":
            for figures_and_commands in node.value.values:
                for command in figures_and_commands.elts[1].elts:
                    yield command.lineno, ast.literal_eval(command)


def words_of(command):
    """The command's words, without its comment and the variables set before it."""
    words = shlex.split(command, comments=True)
    while words and re.fullmatch(r"\w+=\S*", words[0]):
        words = words[1:]
    return words


def quoted_commands():
    found = []
    markdown = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    rst = [*sorted(DOCS.rglob("*.rst")), *sorted(DOCS.glob("*_src/**/*.py")),
           *sorted((ROOT / "minigan").rglob("*.py"))]
    sources = ([(p, markdown_commands(p)) for p in markdown] + [(p, rst_commands(p)) for p in rst]
               + [(p, example_commands(p)) for p in sorted(ROOT.glob("examples/*.py"))]
               + [(DOCS / "conf.py", gallery_runs())])
    for path, commands in sources:
        if any(path.is_relative_to(DOCS / folder) for folder in GENERATED):
            continue
        for number, line in commands:
            for command in re.split(r"\s*&&\s*", line):
                words = words_of(command)
                if words and words[0] not in PASSED_OVER:
                    found.append(Quoted(path.relative_to(ROOT).as_posix(), number, command))
    return found


# -- parsing them --------------------------------------------------------------------------------
def argv_of(command):
    """The program (``minigan``, ``python benchmarks/X.py``, ...) and its arguments, the
    placeholders filled in and the optional parts unwrapped."""
    argv, depth = [], 0                  # depth: inside [...] (an optional part)
    for word in words_of(command):
        if word == "|" and depth == 0:   # a pipe: what follows is another program's
            break
        depth += word.count("[") - word.count("]")
        if word in ANY_OPTIONS or word == "|":
            continue
        word = word.removeprefix("[").removesuffix("]")
        name, eq, value = word.partition("=")
        if eq and name.startswith("--"):
            word = f"{name}={PLACEHOLDERS.get(value, value)}"
        argv.append(PLACEHOLDERS.get(word, word))
    if argv[:3] == ["python", "-m", "minigan"]:
        return "minigan", argv[3:]
    if argv[0] in ("python", "python3") and argv[1] == "-m":
        return f"python -m {argv[2]}", argv[3:]
    if argv[0] in ("python", "python3", "bash"):
        return f"{argv[0]} {argv[1]}", argv[2:]
    return argv[0], argv[1:]


def names_used(node):
    """The names a top-level statement reads (a function's own variables left out)."""
    names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
    read = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    if isinstance(node, ast.FunctionDef):
        read -= {n.id for n in names if isinstance(n.ctx, ast.Store)}
    return read


def script_parser(path):
    """A script's ``build_parser()``, run with only the top-level statements it needs (the
    imports and assignments of the names it uses, and theirs): the script itself does not run."""
    tree = ast.parse(path.read_text())
    binds = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            binds.update({(a.asname or a.name).split(".")[0]: node for a in node.names})
        elif isinstance(node, ast.Assign):
            binds.update({n.id: node for t in node.targets for n in ast.walk(t)
                          if isinstance(n, ast.Name)})
        elif isinstance(node, ast.FunctionDef):
            binds[node.name] = node
    if "build_parser" not in binds:
        raise LookupError(f"{path.name} has no build_parser()")
    needed, todo = [], [binds["build_parser"]]
    while todo:
        node = todo.pop()
        if all(node is not n for n in needed):
            needed.append(node)
            todo += [binds[name] for name in names_used(node) if name in binds]
    module = ast.Module(body=sorted(needed, key=lambda n: n.lineno), type_ignores=[])
    namespace = {"__doc__": ast.get_docstring(tree, clean=False), "__file__": str(path)}
    exec(compile(module, str(path), "exec"), namespace)
    parser = namespace["build_parser"]()
    parser.prog = path.name          # not the test runner's name
    return parser


#: Each program the test knows, and how to build the parser that checks its arguments.
PARSERS = {"minigan": cli.build_parser,
           **{f"python {path.relative_to(ROOT).as_posix()}": lambda path=path: script_parser(path)
              for path in SCRIPTS}}


def without_abbreviations(parser):
    """The parser, its subcommands' too, taking options only as spelled in full."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                without_abbreviations(sub)
    return parser


def refusal(command):
    """Why the command's parser refuses it, or None when it accepts it."""
    program, args = argv_of(command)
    if program in OTHER_PROGRAMS:
        return None
    if program not in PARSERS:
        return f"{program!r} is a program this test does not know: add its parser or a reason"
    parser = without_abbreviations(PARSERS[program]())
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except cli.UsageError as exc:
        return str(exc)
    except SystemExit as exc:
        if exc.code:
            return said.getvalue().strip().splitlines()[-1]
    return None


COMMANDS = quoted_commands()


def test_the_docs_quote_commands_of_every_kind():
    """The search finds the commands (a change in the docs' markup would leave it empty)."""
    programs = {argv_of(q.command)[0] for q in COMMANDS}
    assert {"minigan", "python benchmarks/recipe_study.py", "python examples/dcgan_mnist.py"} <= programs
    assert len(COMMANDS) >= 70
    assert {"README.md", "docs/results/time_to_digits.md", "docs/index.rst", "docs/conf.py",
            "docs/gallery_src/toys/plot_ring8.py", "examples/dcgan_mnist.py",
            "minigan/app/cli.py"} <= {q.path for q in COMMANDS}


@pytest.mark.parametrize("quoted", COMMANDS, ids=[f"{q.path}:{q.line}" for q in COMMANDS])
def test_quoted_command_is_accepted(quoted):
    said = refusal(quoted.command)
    assert said is None, f"{quoted.path}:{quoted.line}: {quoted.command}\n    {said}"


@pytest.mark.parametrize("command, said", [
    ("minigan train --split test --data-dir DIR --epoch 5", "unrecognized arguments: --epoch 5"),
    ("minigan toy ring8 --seeds S --no-such-option", "unrecognized arguments: --no-such-option"),
    ("minigan eval RUN --device tpu", "invalid choice: 'tpu'"),
    ("OMP_NUM_THREADS=1 python benchmarks/recipe_study.py NAME --data-dir DIR [--pn 1] [--seed S] "
     "--eval_iter 100", "unrecognized arguments: --eval_iter 100"),
    ("python examples/dcgan_mnist.py --data-dir DIR --epochs five", "invalid int value: 'five'"),
    ("python benchmarks/no_such_script.py --n 5", "a program this test does not know"),
])
def test_a_stale_command_is_refused(command, said):
    """The check can fail: a made-up command with an unknown option (an abbreviated one among
    them), a bad value or an unknown program is reported."""
    assert said in (refusal(command) or "")


def test_a_pipe_ends_the_command():
    """``minigan eval RUN | head -5``: head's arguments are not minigan's (they were read as
    unrecognized arguments); a bar inside an optional part is not a pipe."""
    assert refusal("minigan eval RUN --no-parzen | head -5") is None
    assert "--no-such-option" in refusal("minigan eval RUN [--no-parzen | --no-such-option]")


def test_a_stale_command_on_a_page_is_found_and_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Train:\n\n```bash\nOMP_NUM_THREADS=1 minigan train --split test \\\n"
                    "    --data-dir DIR --epoch 5   # five epochs\n```\n")
    [(line, command)] = markdown_commands(page)
    assert line == 4 and command.endswith("--epoch 5   # five epochs")
    assert "unrecognized arguments: --epoch 5" in refusal(command)


def test_a_script_without_build_parser_is_reported(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import argparse\np = argparse.ArgumentParser()\np.parse_args()\n")
    with pytest.raises(LookupError, match="no build_parser"):
        script_parser(script)


def test_every_script_has_its_parser():
    """Each script's build_parser() runs without the script, so a command quoting it can be
    checked, the day the docs quote it."""
    for path in SCRIPTS:
        assert isinstance(script_parser(path), argparse.ArgumentParser), path.name
