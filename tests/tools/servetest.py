"""servetest.py - what the end-to-end tests of `hone serve` share: start a
real server on a free loopback port, wait for /health, raw HTTP helpers,
and `hone run --json` for the reference replies.

Used by tests/tools/test_serve_*.py (the only scripts ctest runs).
"""
import http.client
import json
import os
import socket
import subprocess
import time

from clitest import HONE, model_path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """`hone serve` as a subprocess; use as a context manager."""

    def __init__(self, *args, api_key=None, threads=2):
        self.port = free_port()
        self.api_key = api_key
        self.cmd = [HONE, "serve", "-m", model_path(), "--port", str(self.port), "-t", str(threads)] + list(args)
        if api_key:
            self.cmd += ["--api-key", api_key]
        self.log = open(f"/tmp/hone-serve-test-{self.port}.log", "w+")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hone serve exited with {self.proc.returncode}: {self.log_text()}")
            try:
                st, _, _ = self.request("GET", "/health")
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("hone serve did not become healthy")

    def __exit__(self, *exc):
        self.stop()

    def stop(self, sig=15, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def request(self, method, path, body=None, headers=None, timeout=300):
        """One raw request; returns (status, headers dict, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if self.api_key and "Authorization" not in h:
            h["Authorization"] = "Bearer " + self.api_key
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def post_json(self, path, obj):
        st, _, data = self.request("POST", path, obj)
        return st, json.loads(data) if data else None

    def metrics(self):
        st, _, data = self.request("GET", "/metrics")
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def wait_idle(self, timeout=30):
        """Wait until nothing runs or waits; returns the metrics then."""
        deadline = time.time() + timeout
        while True:
            m = self.metrics()
            if (m["hone_running_requests"] == 0 and m["hone_queue_depth"] == 0) or time.time() > deadline:
                return m
            time.sleep(0.05)


def hone_run(prompt, n=32, chat=False, system=None, special=True, extra=()):
    """`hone run --json` greedy: returns the parsed JSON object."""
    cmd = [HONE, "run", "-m", model_path(), "--temp", "0", "-n", str(n), "--json", "-t", "2", "-q", "-p", prompt]
    if chat:
        cmd.append("--chat")
        if system is not None:
            cmd += ["--system", system]
    elif special:
        cmd.append("--special")
    cmd += list(extra)
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    if r.returncode:
        raise RuntimeError(f"hone run failed: {r.stderr.decode(errors='replace')}")
    return json.loads(r.stdout)
