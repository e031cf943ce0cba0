"""Headless Chromium for Ferry's browser tests (Selenium 4.27.1, the system's browser).

Debian's /usr/bin/chromium and /usr/bin/chromedriver, never a downloaded browser: the
driver's path is given to the Service, so Selenium Manager never runs. Root-safe
(--no-sandbox), a fresh temporary profile and download folder per session, and the
performance log on, so a test can list every request the page made (method, URL, body):
that is how the portal tests show a private key never leaves the browser.

Two ways to use it:
- from Python: `with Browser() as b: b.get(url); b.title; b.requests(); b.screenshot(...)`,
  and `StaticServer(folder)` to serve files on 127.0.0.1 (a secure context for WebCrypto)
  under the portal's strict Content-Security-Policy;
- from a Swift test (Tests/FerryTestSupport/BrowserSession.swift): `python browser.py`
  reads one JSON command per line on stdin and answers one JSON object per line on stdout
  (`{"ok": ...}` or `{"error": "..."}`); see `Commands` below.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = os.environ.get("FERRY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FERRY_CHROMEDRIVER", "/usr/bin/chromedriver")

# Left out of requests(): the browser's own pages (its new-tab page loads dozens), and
# data:/blob: URLs, which never leave the browser.
INTERNAL_SCHEMES = ("chrome:", "chrome-untrusted:", "chrome-extension:", "devtools:", "data:", "blob:")

# The portal's policy (no inline scripts or styles), so pages served here fail the way
# they would fail under ferryd if they broke it.
STRICT_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
              "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class StaticServer:
    """Serves `folder` on 127.0.0.1 (an ephemeral port) in a background thread, with the
    strict CSP; remembers every request it answered (method, path) in `.log`."""

    def __init__(self, folder: str, csp: str | None = STRICT_CSP):
        root = str(Path(folder).resolve())
        log: list[dict] = []
        self.log = log

        class Handler(http.server.SimpleHTTPRequestHandler):
            extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                              ".js": "text/javascript", ".mjs": "text/javascript",
                              ".html": "text/html; charset=utf-8", ".css": "text/css"}

            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def end_headers(self):
                if csp:
                    self.send_header("Content-Security-Policy", csp)
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

            def send_head(self):
                log.append({"method": self.command, "path": self.path})
                return super().send_head()

            def log_message(self, *args):  # quiet: the tests print what matters
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Browser:
    """One headless Chromium session. `downloads` is where files the page offers land."""

    def __init__(self, accept_insecure_certs: bool = False, window: tuple[int, int] = (1280, 900),
                 timeout: float = 30):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="ferry-chromium-")
        self.downloads = os.path.join(self.profile, "downloads")
        os.makedirs(self.downloads)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    "--password-store=basic", "--use-mock-keychain",
                    f"--user-data-dir={os.path.join(self.profile, 'profile')}",
                    f"--window-size={window[0]},{window[1]}"):
            options.add_argument(arg)
        options.accept_insecure_certs = accept_insecure_certs
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        options.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        })
        # The system's driver, by path: Selenium Manager (which would download one) never runs.
        service = Service(executable_path=CHROMEDRIVER, log_output=os.path.join(self.profile, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        # Headless Chromium needs to be told where downloads may go.
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": self.downloads, "eventsEnabled": True})
        self._requests: list[dict] = []
        self._responses: list[dict] = []
        self._raw_headers: dict = {}
        self._console: list[dict] = []

    # Pages
    def get(self, url: str):
        self.driver.get(url)

    @property
    def title(self) -> str:
        return self.driver.title

    def script(self, js: str, *args):
        return self.driver.execute_script(js, *args)

    def async_script(self, js: str, *args):
        """Runs `js` with `arguments[arguments.length - 1]` as the callback that returns."""
        return self.driver.execute_async_script(js, *args)

    def wait(self, css: str, timeout: float = 20):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    # Evidence
    def _drain(self):
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            if message.get("method") == "Network.requestWillBeSent":
                request = message.get("params", {}).get("request", {})
                if str(request.get("url", "")).startswith(INTERNAL_SCHEMES):
                    continue
                record = {"method": request.get("method"), "url": request.get("url"),
                          "headers": request.get("headers", {})}
                if "postData" in request:
                    record["postData"] = request["postData"]
                elif request.get("postDataEntries"):
                    record["postData"] = "".join(
                        base64.b64decode(e.get("bytes", "")).decode("utf-8", "replace")
                        for e in request["postDataEntries"])
                self._requests.append(record)
            elif message.get("method") == "Network.responseReceived":
                params = message.get("params", {})
                response = params.get("response", {})
                if str(response.get("url", "")).startswith(INTERNAL_SCHEMES):
                    continue
                self._responses.append({"requestId": params.get("requestId"), "url": response.get("url"),
                                        "status": response.get("status"), "headers": response.get("headers", {})})
            elif message.get("method") == "Network.responseReceivedExtraInfo":
                # The headers as they came off the wire, Set-Cookie included (responseReceived
                # leaves some out).
                params = message.get("params", {})
                self._raw_headers[params.get("requestId")] = params.get("headers", {})
        for entry in self.driver.get_log("browser"):
            self._console.append({"level": entry.get("level"), "message": entry.get("message")})

    def requests(self) -> list[dict]:
        """Every request the browser sent so far (documents, scripts, fetches, with bodies);
        not data: or blob: URLs, which stay in the browser."""
        self._drain()
        return list(self._requests)

    def responses(self) -> list[dict]:
        """Every response so far: `url`, `status`, `headers` (as sent, Set-Cookie included
        where Chromium reported the raw headers)."""
        self._drain()
        return [{"url": r["url"], "status": r["status"],
                 "headers": self._raw_headers.get(r["requestId"]) or r["headers"]} for r in self._responses]

    def console(self) -> list[dict]:
        """The console's messages so far (errors, CSP violations, console.log)."""
        self._drain()
        return list(self._console)

    def screenshot(self, folder: str, name: str) -> str:
        """Saves a PNG of the viewport as FOLDER/NAME.png (folder created) and returns its path."""
        os.makedirs(folder, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "screenshot"
        path = os.path.join(folder, safe + ".png")
        if not self.driver.save_screenshot(path):
            raise RuntimeError(f"screenshot {path} was not written")
        return path

    def wait_download(self, name: str, timeout: float = 20, since: float | None = None) -> str:
        """The path of download NAME once complete (Chromium writes NAME.crdownload first).
        A second download of the same name overwrites the first: pass `since` (a time.time()
        taken before the click) to wait for the new one."""
        path = os.path.join(self.downloads, name)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                info = os.stat(path)
                # (file times come from a coarser clock than time.time(): a few ms of slack)
                state = (info.st_size, info.st_mtime_ns) if since is None or info.st_mtime >= since - 0.02 else None
            except FileNotFoundError:
                state = None
            busy = any(n.endswith(".crdownload") for n in os.listdir(self.downloads))
            # Done: there, fresh, nothing in flight, and unchanged since the last look.
            if state is not None and not busy and state == last:
                return path
            last = None if busy else state
            time.sleep(0.1)
        raise TimeoutError(f"no download {name} after {timeout} s; the folder holds {sorted(os.listdir(self.downloads))}")

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Commands:
    """The JSON-lines protocol for Swift tests: each `op` is a method taking the command's
    fields. One browser, started on the first command that needs it."""

    def __init__(self):
        self.browser: Browser | None = None
        self.servers: list[StaticServer] = []
        self.options: dict = {}

    def _b(self) -> Browser:
        if self.browser is None:
            self.browser = Browser(**self.options)
        return self.browser

    def op_start(self, accept_insecure_certs=False):
        """Starts the browser now (with options); answers its version and download folder."""
        self.options = {"accept_insecure_certs": bool(accept_insecure_certs)}
        b = self._b()
        return {"version": b.driver.capabilities.get("browserVersion"), "downloads": b.downloads}

    def op_serve(self, dir, csp=True):
        server = StaticServer(dir, STRICT_CSP if csp else None)
        self.servers.append(server)
        return {"url": server.url, "index": len(self.servers) - 1}

    def op_served(self, index=0):
        return self.servers[index].log

    def op_get(self, url):
        b = self._b()
        b.get(url)
        return {"title": b.title, "url": b.driver.current_url}

    def op_title(self):
        return self._b().title

    def op_script(self, js, args=()):
        return self._b().script(js, *args)

    def op_async_script(self, js, args=()):
        return self._b().async_script(js, *args)

    def op_wait(self, css, timeout=20):
        return self._b().wait(css, timeout).text

    def op_text(self, css):
        return self._b().find(css).text

    def op_click(self, css):
        self._b().find(css).click()
        return True

    def op_type(self, css, text, clear=True):
        element = self._b().find(css)
        if clear:
            element.clear()
        element.send_keys(text)
        return True

    def op_requests(self):
        return self._b().requests()

    def op_responses(self):
        return self._b().responses()

    def op_console(self):
        return self._b().console()

    def op_cookies(self):
        return self._b().driver.get_cookies()

    def op_screenshot(self, dir, name):
        return self._b().screenshot(dir, name)

    def op_download(self, name, timeout=20, since=None):
        return self._b().wait_download(name, timeout, since)

    def close(self):
        for server in self.servers:
            server.close()
        if self.browser is not None:
            self.browser.close()


def serve_commands(stdin=sys.stdin, stdout=sys.stdout):
    """Answers JSON commands, one per line, until `{"op": "quit"}` or the end of input."""
    commands = Commands()
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                command = json.loads(line)
                op = command.pop("op")
                if op == "quit":
                    print(json.dumps({"ok": True}), file=stdout, flush=True)
                    break
                handler = getattr(commands, "op_" + op, None)
                if handler is None:
                    raise ValueError(f"unknown op {op!r}")
                answer = {"ok": handler(**command)}
            except Exception as error:  # every failure is an answer, never a dead pipe
                answer = {"error": f"{type(error).__name__}: {error}"}
            print(json.dumps(answer, default=str), file=stdout, flush=True)
    finally:
        commands.close()


if __name__ == "__main__":
    serve_commands()
