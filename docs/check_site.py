"""Check the built site in headless Chromium: the math rendered, nothing comes from the network.

    python docs/check_site.py [--html docs/_build/html] [--out docs/_build/screenshots]

For each page below (a math page of the atlas, a tutorial, gallery pages, an API page) it

1. checks that the page loads no script, style sheet or font from the network (MathJax is
   served with the site);
2. lets Chromium run the page's JavaScript (``--dump-dom`` after a virtual-time budget)
   and checks that MathJax typeset it: ``mjx-container`` elements are present, at least as
   many as the page has formulas, and no raw TeX (``\\frac``, ``\\(``, ``\\[``) is left in the
   visible text;
3. saves a screenshot to the output folder, for a person to look at.

Chromium is Debian's ``chromium`` package (``apt-get install chromium``). Without it the
browser checks are skipped, saying so, and exit status is 0; the offline check still runs.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import html.parser
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGES = [
    "atlas/dense.html",
    "atlas/batchnorm.html",
    "atlas/conv.html",
    "atlas/losses.html",
    "atlas/optim.html",
    "tutorials/plot_2_non_saturating.html",
    "gallery/toys/plot_xy_game.html",
    "gallery/toys/plot_optimal_discriminator_1d.html",
    "gallery/toys/plot_ring8.html",
    "tutorials/plot_3_mode_collapse.html",
    "gallery/mnist/vanilla_gan_mnist.html",
    "api/check.html",
    "getting_started.html",
    "cli.html",
    "results/remedies.html",
    "api/lab.html",
]
RAW_TEX = ("\\frac", "\\(", "\\[", "\\sum", "\\partial")


class Page(html.parser.HTMLParser):
    """Visible text, MathJax containers, raw-math spans and external resources of a page."""

    def __init__(self):
        super().__init__()
        self.text, self.mjx, self.math_spans, self.external, self._skip = [], 0, 0, [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "mjx-container":
            self.mjx += 1
        if "math" in (a.get("class") or "").split():
            self.math_spans += 1
        url = a.get("src") if tag in ("script", "img") else a.get("href") if tag == "link" else None
        if url and url.startswith(("http://", "https://", "//")):
            self.external.append(url)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(text):
    page = Page()
    page.feed(text)
    return page


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser(exe, *args, timeout=120):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--no-first-run", "--virtual-time-budget=20000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=DOCS / "_build" / "html")
    ap.add_argument("--out", type=Path, default=DOCS / "_build" / "screenshots")
    args = ap.parse_args(argv)
    failures, rendered = [], 0
    exe = chromium()
    if exe is None:
        print("check_site: SKIPPED the browser checks: no Chromium installed "
              "(apt-get install chromium); checking the static pages only")
    args.out.mkdir(parents=True, exist_ok=True)
    for rel in PAGES:
        path = args.html / rel
        if not path.exists():
            failures.append(f"{rel}: not built")
            continue
        static = parse(path.read_text())
        if static.external:
            failures.append(f"{rel}: loads from the network: {static.external}")
        mathjax = (args.html / "_static" / "mathjax" / "tex-chtml.js").exists()
        if not mathjax:
            failures.append(f"{rel}: _static/mathjax/tex-chtml.js missing (MathJax not served)")
        if exe is None:
            continue
        url = path.resolve().as_uri()
        dom = browser(exe, "--dump-dom", url)
        if dom.returncode != 0 or "<html" not in dom.stdout:
            failures.append(f"{rel}: chromium --dump-dom failed: {dom.stderr[-500:]}")
            continue
        page = parse(dom.stdout)
        visible = " ".join(page.text)
        raw = [t for t in RAW_TEX if t in visible]
        ok = page.mjx >= static.math_spans and not raw
        rendered += page.mjx
        shot = args.out / (rel.replace("/", "_").replace(".html", ".png"))
        browser(exe, f"--screenshot={shot}", "--window-size=1400,1800", url)
        print(f"check_site: {rel}: {page.mjx} rendered formulas "
              f"({static.math_spans} in the source), raw TeX left: {raw or 'none'}, "
              f"screenshot {shot if shot.exists() else 'NOT SAVED'}")
        if not ok:
            failures.append(f"{rel}: math not rendered ({page.mjx} mjx-container for "
                            f"{static.math_spans} formulas; raw TeX {raw})")
        if not shot.exists():
            failures.append(f"{rel}: no screenshot")
    if exe is not None and rendered == 0:
        failures.append("no page has a rendered formula")
    for f in failures:
        print("check_site: FAILED", f)
    if not failures:
        print(f"check_site: {len(PAGES)} pages OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
