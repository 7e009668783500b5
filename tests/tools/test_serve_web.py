"""test_serve_web.py - the chat page at GET / works in a real browser: headless
Chromium (Debian `chromium`) loads /?q=...&temperature=0, the page sends the
question to /v1/chat/completions with stream: true and renders the streamed
reply, which must equal `hone run --chat`'s greedy reply.

The browser is driven over the DevTools protocol with a minimal WebSocket
client (standard library only). Skips (77) without chromium or the model.
"""
import base64
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

from clitest import FAILS, check, model_path
from servetest import Server, hone_run

QUESTION = "Hello! What can you do?"
N = 24


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames, client masking."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket handshake failed: {head[:100]!r}")
        self.next_id = 0

    def _exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise RuntimeError("websocket closed")
            b += chunk
        return b

    def send(self, text):
        data = text.encode()
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                                if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            if b0 & 0x0F in (0x9, 0xA):  # ping/pong: ignore
                continue
            msg += payload
            if b0 & 0x80:
                return msg.decode()

    def call(self, method, **params):
        self.next_id += 1
        self.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = json.loads(self.recv())
            if m.get("id") == self.next_id:
                return m

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r.get("result", {}).get("result", {}).get("value")


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not model_path():
        print("SKIP: default model not cached")
        return 77
    if not chromium:
        print("SKIP: chromium is not installed (Debian package `chromium`)")
        return 77
    ref = hone_run(QUESTION, n=N, chat=True)["completion"]
    profile = tempfile.mkdtemp(prefix="hone-web-test-")
    browser = None
    try:
        with Server() as srv:
            url = (f"http://127.0.0.1:{srv.port}/?q={urllib.parse.quote(QUESTION)}&max_tokens={N}&temperature=0")
            browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                        "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}",
                                        "--remote-debugging-port=0", "about:blank"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            port = None
            deadline = time.time() + 60
            while port is None and time.time() < deadline:
                line = browser.stderr.readline()
                if not line:
                    break
                m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
                if m:
                    port = int(m.group(1))
            check(port is not None, "chromium did not open its DevTools port")
            if port is None:
                return 1
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/json/list")
            pages = [t for t in json.loads(c.getresponse().read()) if t["type"] == "page"]
            ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
            ws.call("Page.navigate", url=url)
            text, done = None, False
            deadline = time.time() + 120
            while time.time() < deadline:
                st = ws.evaluate("(() => { const r = document.getElementById('reply-1');"
                                 " return r ? [r.className, r.dataset.done || '', r.textContent] : null; })()")
                if st and (st[1] == "1" or "error" in st[0]):
                    text, done = st[2], st[1] == "1"
                    break
                time.sleep(0.2)
            check(done, f"the page did not finish a reply (last state {st})")
            check(text == ref, f"page reply {text!r} != hone run --chat {ref!r}")
            title = ws.evaluate("document.title")
            check(title == "hone chat", f"title {title!r}")
    finally:
        if browser:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
