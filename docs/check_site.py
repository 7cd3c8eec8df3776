"""Check a built documentation site: API complete, links resolve, math renders.

Run after ``python -m sphinx -W -b html docs docs/_build/html``::

    python docs/check_site.py docs/_build/html

Three checks, each failing with what is wrong and where:

1. **API**: every public name of ``skpr``, ``skpr.atomistic`` and
   ``skpr.datasets`` has an entry (an element with its dotted name as ``id``)
   and so has every public method that skpr defines on a public class.
2. **Links**: every relative ``href`` and ``src`` of every page points to a
   file of the site, and its ``#fragment`` to an ``id`` of that file; no page
   loads a script, stylesheet or image from the network (the site is read
   offline).
3. **Math**: every page with math is loaded from a local HTTP server in
   headless Chromium (``--dump-dom`` after MathJax has run); each
   ``class="math"`` element must hold a rendered ``mjx-container`` and no
   MathJax error (``merror``).  Needs ``chromium`` (Debian's package).
"""

import argparse
import functools
import html.parser
import http.server
import importlib
import inspect
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

MODULES = ("skpr", "skpr.atomistic", "skpr.datasets")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=20000",
    "--dump-dom",
)


class _Page(html.parser.HTMLParser):
    """The ids, links, network loads and math elements of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads = set(), [], []
        self.n_math = self.n_rendered = self.n_errors = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        classes = (attrs.get("class") or "").split()
        if "math" in classes and tag in ("span", "div"):
            self.n_math += 1
        if tag == "mjx-container":
            self.n_rendered += 1
        if tag == "merror" or "merror" in classes or "mjx-merror" in tag:
            self.n_errors += 1
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append((tag, attrs[key]))
                network = attrs[key].startswith(("http:", "https:", "//"))
                if network and (tag in ("script", "img") or _stylesheet(tag, attrs)):
                    self.loads.append(attrs[key])


def _stylesheet(tag, attrs):
    return tag == "link" and "stylesheet" in (attrs.get("rel") or "")


@functools.cache
def parse(path):
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return page


def public_entries(modules=MODULES):
    """Dotted names the API reference must have: names and their methods."""
    names = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            # classes are documented where they are exported
            names.append(f"{module_name}.{name}")
            if not inspect.isclass(obj):
                continue
            try:  # methods a default instance lacks (available_if) are not its
                instance = obj()
            except TypeError:
                instance = obj
            for attr, member in inspect.getmembers(obj):
                if attr.startswith("_") or not callable(member):
                    continue
                if not hasattr(instance, attr):
                    continue
                if (getattr(member, "__module__", None) or "").startswith("skpr"):
                    names.append(f"{module_name}.{name}.{attr}")
    return names


def check_api(site, modules=MODULES):
    ids = set()
    for page in site.rglob("*.html"):
        ids |= parse(page).ids
    entries = public_entries(modules)
    return [f"no entry for {name}" for name in entries if name not in ids]


def check_links(site):
    problems = []
    for page in sorted(site.rglob("*.html")):
        parsed = parse(page)
        where = page.relative_to(site)
        problems += [f"{where}: loads {url} from the network" for url in parsed.loads]
        for tag, link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # external pages are only linked to, never loaded
            target = page if not parts.path else page.parent / unquote(parts.path)
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{where}: <{tag}> {link} points to no file")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in parse(target).ids:
                    problems.append(f"{where}: {link} points to no anchor")
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_math(site, chromium):
    pages = [p for p in sorted(site.rglob("*.html")) if parse(p).n_math]
    if not pages:
        return ["no page has math: the math check checked nothing"]
    problems, server = [], _serve(site)
    port = server.server_address[1]
    try:
        for page in pages:
            url = f"http://127.0.0.1:{port}/{page.relative_to(site).as_posix()}"
            dom = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={site}/.chromium", url],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            rendered = _Page()
            rendered.feed(dom)
            where = page.relative_to(site)
            if rendered.n_rendered < rendered.n_math:
                problems.append(
                    f"{where}: {rendered.n_math - rendered.n_rendered} of "
                    f"{rendered.n_math} math elements not rendered by MathJax"
                )
            if rendered.n_errors:
                problems.append(f"{where}: {rendered.n_errors} MathJax errors")
    finally:
        server.shutdown()
        shutil.rmtree(site / ".chromium", ignore_errors=True)
    print(f"math rendered in headless Chromium on {len(pages)} pages")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built HTML folder")
    parser.add_argument(
        "--chromium",
        default=shutil.which("chromium") or shutil.which("chromium-browser"),
        help="the Chromium executable (default: chromium on PATH)",
    )
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").exists():
        parser.error(f"{site} holds no index.html; build the docs first.")
    if args.chromium is None:
        parser.error(
            "the math check needs Chromium; install Debian's package with "
            "apt-get install chromium, or pass --chromium PATH."
        )
    problems = check_api(site)
    print(f"API: {len(public_entries())} public names and methods checked")
    problems += check_links(site)
    n_pages = len(list(site.rglob("*.html")))
    print(f"links: every relative link of {n_pages} pages checked")
    problems += check_math(site, args.chromium)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problems in the built site {site}")
    print("the built site is complete, its links resolve and its math renders")


if __name__ == "__main__":
    main()
