"""The report in a real browser: headless Chromium over the DevTools protocol.

Asserts no console error, no request leaving file://, every image decoded (naturalWidth > 0),
every claim in the table, every MathML element laid out with a size, the Korean page's Hangul
drawn with its embedded font (Chromium's own record of the fonts used, and a width unlike the
fallback boxes'), and keeps a screenshot (the pytest tmp dir, and the top of the English
page at /tmp/report-screenshot.png). Skipped, saying why, where Chromium or websocket-client is
missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rnngrad.claims import CLAIM_IDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", "--remote-allow-origins=*",
         "--window-size=1200,900")
PROBE = """(async () => {
  const images = [...document.images];
  await Promise.all(images.map(image => image.decode().catch(() => null)));
  await document.fonts.ready;
  const cells = selector => [...document.querySelectorAll(selector)];
  // the same Hangul text in the page's font and in a family no machine has (fallback boxes)
  const width = family => {
    const probe = document.createElement("span");
    probe.textContent = "주장 한눈에 보기 성립";
    probe.style.cssText = `font-family:${family};font-size:40px;white-space:nowrap;position:absolute`;
    document.body.appendChild(probe);
    const measured = probe.getBoundingClientRect().width;
    probe.remove();
    return measured;
  };
  return JSON.stringify({
    math: cells("math").map(math => { const box = math.getBoundingClientRect();
                                      return {width: box.width, height: box.height}; }),
    equations: cells("div.eq math").length,
    hangulWidth: width("inherit"), fallbackWidth: width("no-such-font-rnngrad"),
    koreanFont: [...document.fonts].filter(face => face.family.replace(/"/g, "") === "rnngrad Korean")
                                   .map(face => face.status),
    images: images.map(image => ({src: image.getAttribute("src"), width: image.naturalWidth})),
    rows: cells("#claims-table tbody tr").map(row => row.dataset.claim),
    verdicts: cells("#claims-table [data-verdict]").map(span => span.dataset.verdict),
    sections: cells("section.claim").map(section => section.id),
    height: document.documentElement.scrollHeight,
  });
})()"""

# Every wait is for an event (the DevTools port file, a protocol message); this is only how long a
# browser may show no sign of life before the test calls it broken, generous for a loaded machine.
WAIT_S = 300.0

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]


class DevTools:
    """A minimal DevTools-protocol client: numbered calls, events kept in arrival order."""

    def __init__(self, url: str) -> None:
        websocket = pytest.importorskip("websocket", reason="websocket-client is not installed (pip install websocket-client)")
        self.socket = websocket.create_connection(url, timeout=WAIT_S, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = WAIT_S) -> dict:
        deadline = time.monotonic() + timeout
        for message in self.events:
            if message.get("method") == event:
                return message
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message
        raise TimeoutError(event)

    def close(self) -> None:
        self.socket.close()


def open_browser(profile: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + WAIT_S
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=WAIT_S) as response:
        pages = [target for target in json.load(response) if target["type"] == "page"]
    return process, pages[0]["webSocketDebuggerUrl"]


def platform_fonts(tools: DevTools, selectors: tuple[str, ...]) -> dict[str, list[str]]:
    """The fonts Chromium actually drew each element's text with (the first match of each selector)."""
    tools.call("DOM.enable")
    tools.call("CSS.enable")
    root = tools.call("DOM.getDocument")["root"]["nodeId"]
    fonts = {}
    for selector in selectors:
        node = tools.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        fonts[selector] = [font["familyName"] for font in tools.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]]
    return fonts


def errors_in(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


@pytest.mark.parametrize("language", ["en", "ko"])
def test_report_in_headless_chromium(language, written_report, written_report_ko, tmp_path):
    folder = written_report if language == "en" else written_report_ko
    process, url = open_browser(tmp_path / "profile")
    try:
        tools = DevTools(url)
        for domain in ("Runtime", "Log", "Page", "Network"):
            tools.call(f"{domain}.enable")
        tools.call("Page.navigate", url=(folder / "index.html").resolve().as_uri())
        tools.wait_for("Page.loadEventFired")
        probe = json.loads(tools.call("Runtime.evaluate", expression=PROBE, awaitPromise=True,
                                      returnByValue=True)["result"]["value"])
        fonts = platform_fonts(tools, ("h1", "h2#claims", "#claims-table th:nth-child(2)", "#claims-table .verdict"))
        width = 1200
        tools.call("Emulation.setDeviceMetricsOverride", width=width, height=probe["height"], deviceScaleFactor=1,
                   mobile=False)
        shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()

    screenshot = tmp_path / f"report-{language}.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    if language == "en":
        shutil.copyfile(screenshot, "/tmp/report-screenshot.png")
    assert screenshot.stat().st_size > 10_000

    assert errors_in(tools.events) == []
    requests = [e["params"]["request"]["url"] for e in tools.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests and all(request.startswith(("file://", "data:")) for request in requests)
    assert probe["images"] and all(image["width"] > 0 for image in probe["images"]), probe["images"]
    assert probe["rows"] == list(CLAIM_IDS)
    assert sorted(probe["sections"]) == sorted(CLAIM_IDS)  # in page order: the adding problem comes before the appendix
    stored = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert probe["verdicts"] == [claim["verdict"] for claim in stored["claims"]]

    # MathML is laid out: every <math> has a size, one per numbered equation at least
    assert probe["equations"] == len(stored["equations"]) and len(probe["math"]) > probe["equations"]
    assert all(box["width"] > 0 and box["height"] > 0 for box in probe["math"]), probe["math"]

    # Hangul is drawn with the embedded font, not as fallback boxes (only the Korean page carries it)
    if language == "ko":
        assert probe["koreanFont"] == ["loaded"]
        assert abs(probe["hangulWidth"] - probe["fallbackWidth"]) > 20, probe
        for selector, families in fonts.items():
            assert "rnngrad Korean" in families, (selector, families)
    else:
        assert probe["koreanFont"] == []
