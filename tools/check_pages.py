#!/usr/bin/env python3
"""Check the built guide as a reader sees it (``make guide`` runs this last).

Usage::

    python tools/check_pages.py [_build/html]

Every HTML page of the build is checked:

* no placeholder text: "planned page", "No reliability report yet", "cannot be read";
* no empty output: a notebook cell output, a glued figure or a generated table with
  nothing in it;
* every internal link resolves: the file exists and, with a ``#fragment``, an element with
  that id is in it;
* in headless Chromium at a 1280 px wide viewport: no page is wider than the viewport, and
  no table needs a horizontal scroll bar.

Chromium is looked for as ``chromium`` (Debian's package), ``chromium-browser``,
``google-chrome`` and ``google-chrome-stable``; where there is none, the browser check is
skipped with a message and the other checks still run. The pages are served from
``127.0.0.1`` on a free port and measured in one browser run: a harness page loads each
page into a same-origin frame 1280 px wide and records its widths. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = 1280
PLACEHOLDERS = ("planned page", "No reliability report yet")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags for a headless run as root on a machine without network (see the environment notes).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)
HARNESS = "__cortex_page_check__.html"


class _Page(HTMLParser):
    """Collects ids, links, visible text and the emptiness of output containers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []
        self.empty_outputs = 0
        self._skip = 0  # depth inside <script>/<style>
        self._watch: list[list[object]] = []  # [depth, had_content] per open output div
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in {"script", "style"}:
            self._skip += 1
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.ids.add(str(values["name"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in {"img", "svg", "video", "iframe", "object"}:
            for watch in self._watch:
                watch[1] = True
        if tag in {"br", "img", "meta", "link", "input", "hr", "source", "wbr"}:
            return  # void elements do not change the depth
        self._depth += 1
        classes = str(values.get("class") or "").split()
        if tag == "div" and ("cell_output" in classes or "output" in classes):
            self._watch.append([self._depth, False])

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip = max(0, self._skip - 1)
        if self._watch and self._watch[-1][0] == self._depth:
            _, had_content = self._watch.pop()
            if not had_content:
                self.empty_outputs += 1
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if data.strip():
            for watch in self._watch:
                watch[1] = True


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    return page


def static_problems(html: Path) -> list[str]:
    """Placeholder text, empty outputs and broken internal links, one line each."""
    pages = {path: _parse(path) for path in sorted(html.rglob("*.html"))}
    problems = []
    for path, page in pages.items():
        name = path.relative_to(html).as_posix()
        text = " ".join(" ".join(page.text).split())
        for placeholder in PLACEHOLDERS:
            if placeholder in text:
                problems.append(f"{name}: placeholder text {placeholder!r}")
        if page.empty_outputs:
            problems.append(f"{name}: {page.empty_outputs} empty output(s)")
        for href in page.links:
            target = urlsplit(href)
            if target.scheme or target.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            if target.path:
                linked = (path.parent / unquote(target.path)).resolve()
                if linked.is_dir():
                    linked = linked / "index.html"
            else:
                linked = path.resolve()
            if not linked.exists():
                problems.append(f"{name}: link to a missing file {href!r}")
                continue
            fragment = unquote(target.fragment)
            if fragment and linked.suffix == ".html":
                other = pages.get(linked) or _parse(linked)
                if fragment not in other.ids:
                    problems.append(f"{name}: link to a missing anchor {href!r}")
    return problems


_HARNESS_PAGE = """<!doctype html><html><body>
<iframe id="f" style="width:%(width)dpx;height:900px;border:0"></iframe>
<pre id="result">pending</pre>
<script>
const pages = %(pages)s;
const results = [];
const frame = document.getElementById("f");
function measure(url) {
  const doc = frame.contentDocument;
  const root = doc.documentElement;
  const tables = [];
  for (const el of doc.querySelectorAll("table, .table-wrapper")) {
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      tables.push((el.id || el.className || el.tagName).toString().slice(0, 60)
                  + " " + el.scrollWidth + "px in " + el.clientWidth + "px");
    }
  }
  results.push({url: url, width: root.scrollWidth, tables: tables});
}
function next(i) {
  if (i >= pages.length) {
    document.getElementById("result").textContent = JSON.stringify(results);
    return;
  }
  let done = false;  // a page that redirects loads twice: measure it once
  frame.onload = () => {
    if (done) return;
    done = true;
    setTimeout(() => { measure(pages[i]); next(i + 1); }, 50);
  };
  frame.src = pages[i];
}
next(0);
</script></body></html>
"""


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def width_problems(html: Path, browser: str) -> list[str]:
    """Pages wider than the viewport, and tables that scroll sideways, in one browser run."""
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html"))
    harness = _HARNESS_PAGE % {"width": VIEWPORT, "pages": json.dumps(["/" + p for p in pages])}

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/" + HARNESS:
                body = harness.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(html)))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            argv = [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={VIEWPORT + 100},1000",
                "--virtual-time-budget=600000",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_address[1]}/{HARNESS}",
            ]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    finally:
        server.shutdown()
        server.server_close()
    start = done.stdout.find('<pre id="result">')
    end = done.stdout.find("</pre>", start)
    if start < 0 or end < 0:
        return [f"the browser returned no result (exit status {done.returncode})"]
    raw = done.stdout[start + len('<pre id="result">') : end]
    import html as html_module  # noqa: PLC0415 - only to unescape the dump

    try:
        results = json.loads(html_module.unescape(raw))
    except json.JSONDecodeError:
        return [f"the browser did not finish measuring the pages ({raw[:80]!r})"]
    problems = []
    if len(results) != len(pages):
        problems.append(f"measured {len(results)} of {len(pages)} pages")
    for result in results:
        name = result["url"].lstrip("/")
        if result["width"] > VIEWPORT + 1:
            problems.append(f"{name}: {result['width']} px wide at a {VIEWPORT} px viewport")
        for table in result["tables"]:
            problems.append(f"{name}: table scrolls sideways ({table})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args(argv)
    html: Path = args.html
    if not (html / "index.html").exists():
        print(f"check_pages: no built guide in {html}", file=sys.stderr)
        return 2
    problems = static_problems(html)
    count = len(list(html.rglob("*.html")))
    print(f"checked {count} pages: placeholders, empty outputs, internal links")
    browser = os.environ.get("CORTEX_BROWSER") or find_browser()
    if browser is None:
        print(
            "page widths NOT checked: no Chromium found (install Debian's `chromium`, or set "
            "CORTEX_BROWSER to a Chromium or Chrome binary)"
        )
    else:
        problems += width_problems(html, browser)
        print(f"checked page widths at {VIEWPORT} px in {browser}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in the built guide")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
