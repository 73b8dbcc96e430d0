"""Drive a real headless Chromium, offline, through the Chrome DevTools Protocol (CDP).

Why CDP over a pipe (``--remote-debugging-pipe``): it needs nothing but the browser binary (no
chromedriver, selenium or websocket package, no TCP port), and it can do what ``--dump-dom``
cannot: evaluate JavaScript in a page whose Content-Security-Policy forbids scripts (our
reports do), read ``img.naturalWidth`` after decoding, take a screenshot, and record every
network request the page attempted. Messages are JSON, one per NUL-terminated frame: we write
to the browser's fd 3 and read from its fd 4.

Network is blocked three ways so that a report that tried to fetch something fails the
assertions instead of silently succeeding on a connected machine: DNS resolves nothing, the
proxy is a closed local port, and the CDP ``Network`` domain records every request.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("MDRSIM_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_S = 60.0

_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",  # discard port: nothing listens there
    "--proxy-bypass-list=<-loopback>",
    "--window-size=1200,900",
    "--remote-debugging-pipe",
]


# For every <img>: wait for decode() (decoding can finish after `load`), then draw it on a
# canvas and count opaque pixels. naturalWidth alone is not enough: Chromium shows a PNG cut
# short at the end half-drawn, with its full size and decode() resolved; the rows it never
# got stay transparent. (data: images do not taint the canvas, so the pixels can be read.)
_IMAGE_PROBE = """(async () => {
    const imgs = Array.from(document.images);
    const decoded = await Promise.all(imgs.map(i => i.decode().then(() => true, () => false)));
    return imgs.map((img, k) => {
        let opaque = 0;
        if (img.naturalWidth > 0) {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth;
            c.height = img.naturalHeight;
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] === 255) n++;
            opaque = n / (d.length / 4);
        }
        return {alt: img.alt, complete: img.complete, decoded: decoded[k],
                naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                opaqueFraction: opaque, scheme: img.currentSrc.split(':')[0]};
    });
})()"""


class BrowserError(RuntimeError):
    pass


def require_chromium() -> str:
    """The browser binary; a clear failure (not a skip) when missing: CI installs it."""
    path = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        raise BrowserError(
            f"Chromium not found at {CHROMIUM} (nor as `chromium` on PATH). The report tests "
            "render in a real browser; install it with "
            "`apt-get install chromium` (.ci/run does this) or set MDRSIM_CHROMIUM."
        )
    return path


# Layout at the emulated viewport: a table overflows when it is wider than its container
# (the container then scrolls sideways and the right-hand columns are off screen).
_LAYOUT_PROBE = r"""
(() => {
  const tables = Array.from(document.querySelectorAll('table'), t => ({
    caption: t.caption ? t.caption.textContent : '',
    width: t.scrollWidth,
    container: t.parentElement.clientWidth,
    right: t.getBoundingClientRect().right,
  }));
  const key = document.getElementById('key-results');
  const box = key ? key.getBoundingClientRect() : null;
  return {
    viewport: [window.innerWidth, window.innerHeight],
    page_width: document.documentElement.scrollWidth,
    tables: tables,
    key: box ? {top: box.top, bottom: box.bottom, text: key.innerText} : null,
  };
})()
"""


@dataclass
class PageReport:
    """What the browser saw on one page."""

    dom: str
    images: list[dict[str, Any]]
    requests: list[str]
    console_errors: list[str]
    screenshot_png: bytes
    title: str
    headings: list[str]  # text of h1 and h2, in document order
    cells: list[str]  # text of every th and td
    scripts: int  # number of <script> elements (a report has none)


class Browser:
    """One headless Chromium process, spoken to over the CDP pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self._proc = proc
        self._w = to_browser
        self._r = from_browser
        self._buf = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # --- protocol -------------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            try:
                n = os.write(self._w, data)
            except BrokenPipeError:
                code = self._proc.wait(timeout=10)
                raise BrowserError(
                    f"the browser exited (code {code}) before answering {method}"
                ) from None
            data = data[n:]
        return self._next_id

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for the browser")
            ready, _, _ = select.select([self._r], [], [], min(left, 1.0))
            if not ready:
                if self._proc.poll() is not None:
                    raise BrowserError(f"browser exited with code {self._proc.returncode}")
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise BrowserError("browser closed the DevTools pipe")
            self._buf += chunk
        frame, self._buf = self._buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(frame)
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str = ""
    ) -> dict[str, Any]:
        msg_id = self._send(method, params, session)
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            if "method" in msg:
                self._events.append(msg)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        for i, ev in enumerate(self._events):
            if ev["method"] == method and ev.get("sessionId") == session:
                return self._events.pop(i)
        while True:
            msg = self._read_message(deadline)
            if msg.get("method") == method and msg.get("sessionId") == session:
                return msg
            if "method" in msg:
                self._events.append(msg)

    def evaluate(self, session: str, expression: str) -> Any:
        res = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session,
        )
        if "exceptionDetails" in res:
            raise BrowserError(f"script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    # --- pages ----------------------------------------------------------------------------

    def layout(self, path: Path, *, width: int = 1280, height: int = 800) -> dict[str, Any]:
        """Open a local HTML file in a ``width`` × ``height`` viewport and measure its layout:
        the page's scroll width, each table's width against its container's, and where the
        key-results box (``#key-results``) sits with its visible text."""
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            self.call("Page.enable", {}, session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            self._events.clear()
            self.call("Page.navigate", {"url": url}, session)
            self.wait_event("Page.loadEventFired", session)
            result: dict[str, Any] = self.evaluate(session, _LAYOUT_PROBE)
            return result
        finally:
            self._events.clear()
            self.call("Target.closeTarget", {"targetId": target})

    def open(self, path: Path) -> PageReport:
        """Load a local HTML file and report DOM, images, network requests and a screenshot."""
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            for domain in ("Page", "Network", "Runtime", "Log"):
                self.call(f"{domain}.enable", {}, session)
            self._events.clear()
            nav = self.call("Page.navigate", {"url": url}, session)
            if nav.get("errorText"):
                raise BrowserError(f"navigation to {url} failed: {nav['errorText']}")
            self.wait_event("Page.loadEventFired", session)
            images = self.evaluate(session, _IMAGE_PROBE)
            dom = self.evaluate(session, "document.documentElement.outerHTML")
            title = self.evaluate(session, "document.title")
            headings = self.evaluate(
                session, "Array.from(document.querySelectorAll('h1, h2'), e => e.textContent)"
            )
            cells = self.evaluate(
                session, "Array.from(document.querySelectorAll('th, td'), e => e.textContent)"
            )
            scripts = self.evaluate(session, "document.scripts.length")
            shot = self.call("Page.captureScreenshot", {"format": "png"}, session)
            # Drain what is already buffered so late requests/errors are counted too.
            self.evaluate(session, "1")
            requests = [
                e["params"]["request"]["url"]
                for e in self._events
                if e["method"] == "Network.requestWillBeSent" and e.get("sessionId") == session
            ]
            console = [
                e["params"]["entry"].get("text", "")
                for e in self._events
                if e["method"] == "Log.entryAdded"
                and e.get("sessionId") == session
                and e["params"]["entry"].get("level") == "error"
            ]
            return PageReport(
                dom=dom,
                images=images,
                requests=requests,
                console_errors=console,
                screenshot_png=base64.b64decode(shot["data"]),
                title=title,
                headings=headings,
                cells=cells,
                scripts=scripts,
            )
        finally:
            self._events.clear()
            self.call("Target.closeTarget", {"targetId": target})


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start a headless Chromium with a throwaway profile; always stopped and cleaned up."""
    binary = require_chromium()
    with ExitStack() as cleanup:
        profile = tempfile.mkdtemp(prefix="mdrsim-chromium-")
        cleanup.callback(shutil.rmtree, profile, ignore_errors=True)
        # Our ends: we write into `to_w` (browser reads its fd 3), read `from_r` (its fd 4).
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # Each fd is closed exactly once (a second close could hit a reused number).
        owned = {to_r, to_w, from_r, from_w}
        cleanup.callback(lambda: [_close_quietly(fd) for fd in owned])
        # The child's ends are first moved above 10 so that dup2 onto 3 and 4 cannot clobber
        # one of them (os.pipe() may well have returned 3 or 4). F_DUPFD_CLOEXEC: these
        # copies vanish at exec; only the dup2'ed 3 and 4 (dup2 clears close-on-exec) reach
        # the browser.
        child_r = fcntl.fcntl(to_r, fcntl.F_DUPFD_CLOEXEC, 10)
        owned.add(child_r)
        child_w = fcntl.fcntl(from_w, fcntl.F_DUPFD_CLOEXEC, 10)
        owned.add(child_w)

        def _child_fds() -> None:
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        proc = subprocess.Popen(
            [binary, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Not pass_fds=(3, 4): Popen marks those inheritable *before* preexec_fn and
            # fails with EBADF when the parent has no fd 3 or 4; close_fds would close them
            # after. Python opens every fd close-on-exec, so nothing else leaks in.
            close_fds=False,
            preexec_fn=_child_fds,  # the test process is single-threaded; it only dup2s
            start_new_session=True,  # its own process group: renderers can be stopped with it
        )
        cleanup.callback(_stop, proc)
        # Only the browser may hold the child ends: we then see EOF if it dies.
        for fd in (child_r, child_w, to_r, from_w):
            owned.discard(fd)
            _close_quietly(fd)
        browser = Browser(proc, to_w, from_r)
        cleanup.callback(_close_browser, browser)
        yield browser


def _close_quietly(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


def _close_browser(browser: Browser) -> None:
    with suppress(BrowserError, OSError):  # it may close the pipe before answering
        browser.call("Browser.close")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # The group is the one start_new_session made for this browser: only its processes.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
