"""tools/check_pages.py finds what a reader of the built guide would trip over."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.support.modules import load_module

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def check_pages() -> ModuleType:
    return load_module(ROOT / "tools" / "check_pages.py", "cortex_tools_check_pages")


GOOD = """<html><body><h1 id="top">Title</h1>
<a href="other.html#part">other</a> <a href="#top">top</a> <a href="https://example.org">x</a>
<div class="cell_output docutils container"><pre>True</pre></div>
<div class="cell_output docutils container"><img src="plot.png"></div>
<script>var planned = "planned page";</script>
</body></html>"""
OTHER = '<html><body><p id="part">text</p></body></html>'
BAD = """<html><body>
<p>spinner (planned page <code>spinner</code>)</p>
<p>No reliability report yet: run make test first</p>
<div class="cell_output docutils container">
</div>
<a href="missing.html">gone</a> <a href="other.html#nowhere">no anchor</a>
</body></html>"""


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_clean_site_has_no_problems(check_pages: ModuleType, tmp_path: Path) -> None:
    site = _site(tmp_path, {"index.html": GOOD, "other.html": OTHER})
    assert check_pages.static_problems(site) == []


def test_each_problem_is_found(check_pages: ModuleType, tmp_path: Path) -> None:
    site = _site(tmp_path, {"index.html": GOOD, "other.html": OTHER, "bad.html": BAD})
    problems = check_pages.static_problems(site)
    assert "bad.html: placeholder text 'planned page'" in problems
    assert "bad.html: placeholder text 'No reliability report yet'" in problems
    assert "bad.html: 1 empty output(s)" in problems
    assert "bad.html: link to a missing file 'missing.html'" in problems
    assert "bad.html: link to a missing anchor 'other.html#nowhere'" in problems
    assert len(problems) == 5


@pytest.mark.slow
@pytest.mark.thread_unsafe(reason="starts a browser and a local server")
def test_a_wide_page_and_a_scrolling_table_are_found(
    check_pages: ModuleType, tmp_path: Path
) -> None:
    browser = check_pages.find_browser()
    if browser is None:
        pytest.skip("no Chromium installed: the width check is skipped in make guide too")
    wide = '<html><body><div style="width:2000px">wide</div></body></html>'
    table = (
        '<html><body><div class="table-wrapper" style="width:300px;overflow-x:auto">'
        '<table><tr><td style="white-space:nowrap">' + "x" * 400 + "</td></tr></table>"
        "</div></body></html>"
    )
    narrow = "<html><body><p>fits</p></body></html>"
    site = _site(tmp_path, {"index.html": narrow, "wide.html": wide, "table.html": table})
    problems = check_pages.width_problems(site, browser)
    assert any(p.startswith("wide.html: ") and "px wide" in p for p in problems), problems
    assert any(p.startswith("table.html: table scrolls sideways") for p in problems), problems
    assert not any(p.startswith("index.html") for p in problems), problems
