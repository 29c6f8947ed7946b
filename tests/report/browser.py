"""Open a report in Debian's headless Chromium through Playwright (no browser download: the
system's ``chromium``), on a machine without network: every request but the page is recorded."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """The system's chromium; a clear failure (never a skip) when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        raise AssertionError("chromium is not installed: `apt-get install chromium` (the Makefile's deps target "
                             "installs it); the report tests need Debian's headless Chromium")
    return path


@dataclass
class Rendered:
    """What the browser saw: console messages of type error, page errors, requests, the metrics."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    metrics: list[tuple[str, str]] = field(default_factory=list)  # (key, text) of every [data-metric]
    unmarked: list[str] = field(default_factory=list)  # text with digits outside any marked element
    title: str = ""
    body_text: str = ""
    chart_sizes: list[tuple[float, float]] = field(default_factory=list)


# Every text node that holds a digit must be inside an element with data-metric, data-tick or data-label.
_UNMARKED_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!/[0-9]/.test(n.textContent)) continue;
    const el = n.parentElement;
    if (el.closest('[data-metric],[data-tick],[data-label],title,caption,style')) continue;
    out.push(n.textContent);
  }
  return out;
}"""


def render(index: Path, name: str) -> Rendered:
    """Open ``index`` as a file:// page; keep a full-page screenshot and a PDF print as ``name``.png/.pdf
    under build/test-artifacts/."""
    exe = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen = Rendered()
    url = index.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="govarc-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=FLAGS,
                                                       viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
            context.on("request", lambda r: seen.requests.append(r.url))
            page.goto(url, wait_until="load")
            seen.title = page.title()
            seen.metrics = [(str(k), str(t)) for k, t in page.eval_on_selector_all(
                "[data-metric]", "els => els.map(e => [e.getAttribute('data-metric'), e.textContent])")]
            seen.unmarked = list(page.evaluate(_UNMARKED_JS))
            seen.body_text = page.inner_text("body")
            seen.chart_sizes = [(float(w), float(h)) for w, h in page.eval_on_selector_all(
                "svg.chart", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")]
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            page.pdf(path=str(ARTIFACTS / f"{name}.pdf"), format="A4", print_background=True)
        finally:
            context.close()
    return seen
