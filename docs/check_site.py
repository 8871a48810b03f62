"""Check the built site in headless Chromium: every page offline, every formula rendered whole.

    python docs/check_site.py [--html docs/_build/html] [--out docs/_build/screenshots]
                              [--jobs N] [--pages atlas/conv.html ...]

1. Every built page (the source pages of ``_modules/`` included) is read for anything it
   would load from the network: a script, style sheet, font, image or frame with an
   ``http(s)://`` or ``//`` address. MathJax and every other asset are served with the site.
2. Every content page (all but ``_modules/``) names the version of minigan it documents
   (``minigan.__version__``, beside the name in the top bar).
3. Every content page is opened in Chromium, which runs its JavaScript
   (``--dump-dom`` after a virtual-time budget), and the page after MathJax ran must hold
   at least as many typeset formulas (``mjx-container``) as the source has math spans,
   with no raw TeX left: none in the visible text outside code (``\\frac``, ``\\text``,
   ``\\_``, ``$$``, any ``\\command``), none inside a typeset formula (MathJax shows a TeX
   command it could not read, or an escape such as ``\\_`` in ``\\text{}``, as the
   characters themselves: the formula's MathML then holds a backslash), and no MathJax
   error (``merror``).
4. Every image of a content page says what it shows: an ``alt`` text that is not empty
   (but for a gallery card's thumbnail, ``sphx_glr_*_thumb.png``, whose card names it), not
   the image's own file name (docutils' default) and not sphinx-gallery's default made
   from a script's name (``plot NAME``: the figure has no title). Every link and image of
   a content page that stays within the site names a file that was built, and its
   ``#anchor``, if any, is on that page.
5. A screenshot of each page with a formula, and of the pages listed in ``ALWAYS``, is
   saved to the output folder, 1400 pixels wide and as tall as ``HEIGHT``, for a person
   to look at: the formulas whole, nothing clipped, the notes of aligned derivations
   clear of their formulas.

Chromium is Debian's ``chromium`` package (``apt-get install chromium``). Without it the
browser checks are skipped, saying so, and the exit status is 0; the offline and version
checks still run. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import html.parser
import os
import posixpath
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# pages screenshotted even without a formula: the way in, and the gallery's cards
ALWAYS = ("index.html", "getting_started.html", "changelog.html", "gallery/index.html",
          "gallery/mnist/vanilla_gan_mnist.html")
HEIGHT = 4000
# raw TeX in the visible text, outside code: a command, an escaped character, display dollars
RAW_TEX = re.compile(r"\\(?:[A-Za-z]{2,}|[_{}()\[\]$%#&,;!])|\$\$")
# tags whose text is code or machinery, not prose
CODE_TAGS = {"script", "style", "pre", "code", "kbd", "samp", "textarea", "tt"}
# tags that load what they name
LOADS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
         "audio": "src", "embed": "src", "object": "data", "link": "href"}
LINK_LOADS = {"stylesheet", "preload", "icon", "modulepreload", "prefetch", "manifest",
              "shortcut"}


def version():
    """``minigan.__version__``, read from the package's ``__init__.py`` (nothing imported)."""
    text = (ROOT / "minigan" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


class Page(html.parser.HTMLParser):
    """A page's visible prose, its typeset formulas' MathML text, the math spans of its
    source, what it loads from the network, MathJax errors, and the version it shows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.math_text, self.external, self.version_shown = [], [], [], []
        self.images, self.local, self.ids = [], [], set()   # (src, alt); hrefs and srcs; ids
        self.mjx = self.math_spans = self.errors = 0
        self._stack = []            # open tags that matter: code, math, version

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "img":
            self.images.append((a.get("src") or "", a.get("alt")))
        target = a.get("href") if tag == "a" else a.get("src") if tag == "img" else None
        if target and not re.match(r"[a-z][a-z0-9+.-]*:|//", target, re.I):
            self.local.append(target)
        if tag == "mjx-container":
            self.mjx += 1
        if tag in ("merror", "mjx-merror"):
            self.errors += 1
        if "math" in classes and tag in ("span", "div"):
            self.math_spans += 1
        attr = LOADS.get(tag)
        url = a.get(attr) if attr else None
        if tag == "link" and not LINK_LOADS & set((a.get("rel") or "").lower().split()):
            url = None
        if url and url.strip().lower().startswith(("http://", "https://", "//")):
            self.external.append(url)
        kind = ("code" if tag in CODE_TAGS else "math" if tag == "mjx-container"
                else "version" if "minigan-version" in classes else None)
        if tag not in VOID:
            self._stack.append((tag, kind))

    def handle_endtag(self, tag):
        # close back to the matching open tag (HTML leaves some tags unclosed: <p>, <li>)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def _in(self, kind):
        return any(k == kind for _, k in self._stack)

    def handle_data(self, data):
        if self._in("code"):
            return
        if self._in("version"):
            self.version_shown.append(data.strip())
        (self.math_text if self._in("math") else self.text).append(data)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def parse(text):
    page = Page()
    page.feed(text)
    page.close()
    return page


def image_failures(rel, page):
    """The images of one page that do not say what they show."""
    failures = []
    for src, alt in page.images:
        name = src.rsplit("/", 1)[-1]
        if re.fullmatch(r"sphx_glr_\w+_thumb\.png", name):
            continue                        # a gallery card: its title names the picture
        alt = (alt or "").strip()
        stem = name.rsplit(".", 1)[0]
        script = re.sub(r"^sphx_glr_(\w+?)_\d{3}$", r"\1", stem).replace("_", " ")
        if not alt or alt in (src, name) or alt.endswith("/" + name) or alt == script:
            failures.append(f"{rel}: image {name} has no alt text saying what it shows "
                            f"(alt={alt!r}: give it a caption's words, or a title)")
    return failures


def link_failures(rel, page, statics, root):
    """The links and images of one page that name a page, file or anchor the site lacks, or
    a file outside the site."""
    failures = []
    here = posixpath.dirname(rel)
    for target in page.local:
        path, _, anchor = target.partition("#")      # before unquoting: %23 is in a name
        path, anchor = urllib.parse.unquote(path.split("?", 1)[0]), urllib.parse.unquote(anchor)
        dest = posixpath.normpath(posixpath.join(here, path)) if path else rel
        if dest == ".." or dest.startswith(("../", "/")):      # up and out, or the disk's root
            failures.append(f"{rel}: links to {target}, outside the site")
            continue
        if path.endswith("/") or dest == "." or (root / dest).is_dir():
            dest = posixpath.normpath(posixpath.join(dest, "index.html"))
        if dest not in statics and not (root / dest).is_file():
            failures.append(f"{rel}: links to {target}, which was not built")
        elif anchor and dest in statics and anchor not in statics[dest].ids:
            failures.append(f"{rel}: links to {target}: no #{anchor} on {dest}")
    return failures


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(exe, path, shot, timeout=180):
    """Open ``path`` in headless Chromium: the DOM after its scripts ran, and a screenshot
    (when ``shot`` is a path)."""
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--no-first-run", "--virtual-time-budget=20000",
           f"--window-size=1400,{HEIGHT}", "--dump-dom"]
    if shot is not None:
        cmd.append(f"--screenshot={shot}")
    run = subprocess.run(cmd + [path.resolve().as_uri()], capture_output=True, text=True,
                         timeout=timeout)
    start, end = run.stdout.find("<html"), run.stdout.rfind("</html>")
    return run, (run.stdout[start:end + 7] if start >= 0 and end > start else None)


def check_rendered(rel, static, dom):
    """The failures of one page as Chromium left it (an empty list when it is whole)."""
    page = parse(dom)
    failures = []
    if page.mjx < static.math_spans:
        failures.append(f"{rel}: math not rendered ({page.mjx} typeset formulas for "
                        f"{static.math_spans} in the source)")
    prose = sorted(set(RAW_TEX.findall(" ".join(page.text))))
    if prose:
        failures.append(f"{rel}: raw TeX in the text: {prose}")
    inside = sorted(set(m.group(0) for m in re.finditer(r"\\\S{0,12}", " ".join(page.math_text))))
    if inside:
        failures.append(f"{rel}: a formula shows TeX as text: {inside}")
    if page.errors:
        failures.append(f"{rel}: {page.errors} MathJax error(s) (merror)")
    return page, failures


def build_parser():
    """The script's options: a function, so that they can be read without running the script."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=DOCS / "_build" / "html")
    ap.add_argument("--out", type=Path, default=DOCS / "_build" / "screenshots")
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                    help="Chromium processes at once (default: up to 4)")
    ap.add_argument("--pages", nargs="*", help="only these pages (relative to --html)")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    failures = []
    every = sorted(p.relative_to(args.html).as_posix() for p in args.html.rglob("*.html"))
    if not every:
        print(f"check_site: FAILED no page under {args.html} (build the site first)")
        return 1
    content = [r for r in every if not r.startswith(("_modules/", "_static/", "_sources/"))]
    if args.pages:
        missing = sorted(set(args.pages) - set(every))
        failures += [f"{r}: not built" for r in missing]
        content = [r for r in content if r in args.pages]
    if not (args.html / "_static" / "mathjax" / "tex-chtml.js").exists():
        failures.append("_static/mathjax/tex-chtml.js missing (MathJax not served)")

    # 1, 2 and 4: every page offline, every content page with the version, its images and links
    want = f"v{version()}"
    statics = {}
    for rel in every:
        static = parse((args.html / rel).read_text(encoding="utf-8"))
        statics[rel] = static
        if static.external:
            failures.append(f"{rel}: loads from the network: {sorted(set(static.external))}")
        if rel in content and want not in static.version_shown:
            failures.append(f"{rel}: does not show the version {want} "
                            f"(shows {static.version_shown or 'none'})")
    pictures = 0
    for rel in content:
        failures += image_failures(rel, statics[rel]) + link_failures(rel, statics[rel], statics, args.html)
        pictures += len(statics[rel].images)
    print(f"check_site: {len(every)} pages read: "
          f"{sum(1 for r in every if statics[r].external)} load from the network; "
          f"{len(content)} content pages, the version {want}, {pictures} images' alt text "
          f"and every link within the site checked")

    # 3 and 5: the formulas, in Chromium
    exe = chromium()
    if exe is None:
        print("check_site: SKIPPED the browser checks: no Chromium installed "
              "(apt-get install chromium); the offline and version checks ran")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        for old in args.out.glob("*.png"):
            old.unlink()

        def one(rel):
            static = statics[rel]
            shot = None
            if static.math_spans or rel in ALWAYS:
                shot = args.out / (rel.replace("/", "_").replace(".html", ".png"))
            run, dom = render(exe, args.html / rel, shot)
            if dom is None:
                return rel, None, shot, [f"{rel}: chromium --dump-dom failed: {run.stderr[-500:]}"]
            page, fails = check_rendered(rel, static, dom)
            if shot is not None and not shot.exists():
                fails.append(f"{rel}: no screenshot")
            return rel, page, shot, fails

        rendered = shots = 0
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for rel, page, shot, fails in pool.map(one, content):
                failures += fails
                if page is None:
                    continue
                rendered += page.mjx
                shots += shot is not None
                print(f"check_site: {rel}: {page.mjx} formulas typeset "
                      f"({statics[rel].math_spans} in the source)"
                      f"{', FAILED' if fails else ''}"
                      f"{f', screenshot {shot.name}' if shot is not None else ''}")
        if rendered == 0:
            failures.append("no page has a typeset formula")
        print(f"check_site: {len(content)} pages opened in Chromium, {rendered} formulas "
              f"typeset, {shots} screenshots in {args.out}: look at them")
    for f in failures:
        print("check_site: FAILED", f)
    if not failures:
        print("check_site: OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
