"""The checks of docs/check_site.py catch what they are meant to catch.

CI runs the checker on the real built site; these tests show, on small
hand-made sites, that each check fails when its problem is there and passes
when it is not.
"""

import importlib.util
import shutil
from pathlib import Path

import pytest

import skpr

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs/check_site.py")
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)


def write_site(folder, pages):
    for name, body in pages.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><head></head><body>{body}</body></html>")
    check_site.parse.cache_clear()
    return folder


def test_links_that_resolve_pass(tmp_path):
    site = write_site(
        tmp_path,
        {
            "index.html": '<a href="api/page.html#fit">fit</a> <a href="#top">up</a>'
            '<p id="top"></p><a href="https://doi.org/10.1039/d4fd00101j">paper</a>',
            "api/page.html": '<dt id="fit"></dt><img src="../img.png">',
            "img.png": "",
        },
    )
    assert check_site.check_links(site) == []


def test_missing_files_anchors_and_network_loads_are_reported(tmp_path):
    site = write_site(
        tmp_path,
        {
            "index.html": '<a href="gone.html">x</a><a href="api.html#nowhere">y</a>'
            '<script src="https://cdn.example.org/jquery.js"></script>'
            '<link rel="stylesheet" href="//cdn.example.org/style.css">',
            "api.html": '<dt id="fit"></dt>',
        },
    )
    problems = check_site.check_links(site)
    assert len(problems) == 4
    assert any("gone.html points to no file" in p for p in problems)
    assert any("api.html#nowhere points to no anchor" in p for p in problems)
    assert sum("from the network" in p for p in problems) == 2


def test_api_check_names_every_missing_method(tmp_path):
    # skpr.atomistic needs its extra; CI checks the real site with it
    modules = ("skpr", "skpr.datasets")
    entries = check_site.public_entries(modules)
    assert "skpr.BlockRidge.predict_rigidity" in entries
    assert "skpr.BlockRidgeCV.fit" in entries
    # methods scikit-learn adds are documented by scikit-learn
    assert "skpr.BlockRidge.get_params" not in entries
    assert {f"skpr.{name}" for name in skpr.__all__} <= set(entries)

    ids = "".join(f'<dt id="{name}"></dt>' for name in entries)
    site = write_site(tmp_path, {"index.html": ids})
    assert check_site.check_api(site, modules) == []
    site = write_site(
        tmp_path, {"index.html": ids.replace("skpr.BlockRidge.predict_rigidity", "x")}
    )
    assert check_site.check_api(site, modules) == [
        "no entry for skpr.BlockRidge.predict_rigidity"
    ]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# a stand-in for MathJax: it renders each math element as MathJax 3 does
RENDER = (
    "<script>for (const e of document.querySelectorAll('.math')) "
    "e.appendChild(document.createElement('mjx-container'));</script>"
)


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (apt-get install chromium)"
)
def test_math_check_tells_rendered_from_raw_math(tmp_path):
    site = write_site(
        tmp_path,
        {
            "index.html": r'<span class="math">\(x\)</span>' + RENDER,
            "raw.html": r'<span class="math">\(x\)</span><div class="math">\[y\]</div>',
        },
    )
    problems = check_site.check_math(site, CHROMIUM)
    assert problems == ["raw.html: 2 of 2 math elements not rendered by MathJax"]
