#!/usr/bin/env python3
"""load_serve.py - load test for an OpenAI-compatible server (`hone serve`, or
llama-server for comparison).

C concurrent clients each send R streaming chat requests (max_tokens tokens,
greedy, ignore_eos so every reply has the same length); with --disconnect P a
request is abandoned after a random number of tokens with probability P (the
socket is closed mid-stream). Reports aggregate generated tok/s, time to
first token and inter-token latency (p50/p99), failures of requests that were
not abandoned, and for hone: KV cells leaked (/metrics), cells still used
once idle beyond the prefix cache, and server RSS before/after.

    python3 bench/load_serve.py --url http://127.0.0.1:8080 -c 64 -r 10 --disconnect 0.2
    python3 bench/load_serve.py --url http://127.0.0.1:8081 -c 16 -r 2   # llama-server
Standard library only (threads + http.client). Never run as a test.
"""
import argparse
import http.client
import json
import random
import socket
import statistics
import sys
import threading
import time
import urllib.parse

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle stays upright.",
    "What are the main causes of the French Revolution?",
    "Describe the water cycle to a ten-year-old.",
    "Give me a recipe for pancakes.",
    "Why do cats purr?",
    "List some tips for learning a new language.",
    "How does a refrigerator work?",
]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


class Result:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = 0
        self.ttft = []
        self.itl = []
        self.ok = 0
        self.failed = []
        self.abandoned = 0


def one_request(args, host, port, prefix, res, rng, i):
    body = {"messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], "max_tokens": args.max_tokens,
            "temperature": 0, "stream": True, "ignore_eos": True}
    if args.model:
        body["model"] = args.model
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = "Bearer " + args.api_key
    cut = rng.randint(1, max(1, args.max_tokens - 1)) if rng.random() < args.disconnect else None
    t0 = time.perf_counter()
    last = None
    n = 0
    c = http.client.HTTPConnection(host, port, timeout=args.timeout)
    try:
        c.request("POST", prefix + "/chat/completions", json.dumps(body), headers)
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {r.read()[:200]!r}")
        done = False
        while True:
            line = r.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            if line == b"data: [DONE]":
                done = True
                break
            ev = json.loads(line[6:])
            if "error" in ev:
                raise RuntimeError(f"error event: {ev['error']}")
            for ch in ev.get("choices") or []:
                if (ch.get("delta") or {}).get("content"):
                    now = time.perf_counter()
                    with res.lock:
                        if last is None:
                            res.ttft.append(now - t0)
                        else:
                            res.itl.append(now - last)
                        res.tokens += 1
                    last = now
                    n += 1
            if cut is not None and n >= cut:
                c.sock.shutdown(socket.SHUT_RDWR)
                with res.lock:
                    res.abandoned += 1
                return
        if not done:
            raise RuntimeError("stream ended without [DONE]")
        with res.lock:
            res.ok += 1
    except Exception as e:  # a failure of a request that was not abandoned
        with res.lock:
            res.failed.append(str(e)[:200])
    finally:
        c.close()


def get_metrics(host, port, prefix_root, api_key):
    try:
        c = http.client.HTTPConnection(host, port, timeout=10)
        h = {"Authorization": "Bearer " + api_key} if api_key else {}
        c.request("GET", prefix_root + "/metrics", headers=h)
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        if r.status != 200:
            return {}
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                try:
                    k, v = line.rsplit(" ", 1)
                    out[k] = float(v)
                except ValueError:
                    pass
        return out
    except OSError:
        return {}


def rss_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080", help="server base URL (without /v1)")
    ap.add_argument("-c", "--clients", type=int, default=64)
    ap.add_argument("-r", "--requests", type=int, default=10, help="requests per client")
    ap.add_argument("-n", "--max-tokens", type=int, default=128)
    ap.add_argument("--disconnect", type=float, default=0.0, help="probability a request is abandoned mid-stream")
    ap.add_argument("--api-key")
    ap.add_argument("--model", help="model field to send")
    ap.add_argument("--pid", type=int, help="server process id (RSS from /proc when /metrics has none)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()

    u = urllib.parse.urlparse(args.url)
    host, port = u.hostname, u.port or 80
    root = u.path.rstrip("/")
    prefix = root + "/v1"
    m0 = get_metrics(host, port, root, args.api_key)
    rss0 = m0.get("process_resident_memory_bytes") or (rss_of(args.pid) if args.pid else None)

    res = Result()

    def client(ci):
        rng = random.Random(args.seed * 1000 + ci)
        for k in range(args.requests):
            one_request(args, host, port, prefix, res, rng, ci + k)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0

    # let the server settle (cancelled sequences are freed at its next step)
    m1 = {}
    for _ in range(100):
        m1 = get_metrics(host, port, root, args.api_key)
        if not m1 or (m1.get("hone_running_requests", 0) == 0 and m1.get("hone_queue_depth", 0) == 0):
            break
        time.sleep(0.1)
    rss1 = m1.get("process_resident_memory_bytes") or (rss_of(args.pid) if args.pid else None)

    out = {
        "url": args.url, "clients": args.clients, "requests": args.clients * args.requests,
        "max_tokens": args.max_tokens, "completed": res.ok, "abandoned": res.abandoned, "failed": len(res.failed),
        "wall_s": round(wall, 3), "tokens": res.tokens, "tok_per_s": round(res.tokens / wall, 2),
        "ttft_p50_s": round(pct(res.ttft, 50), 4), "ttft_p99_s": round(pct(res.ttft, 99), 4),
        "itl_p50_ms": round(pct(res.itl, 50) * 1e3, 2), "itl_p99_ms": round(pct(res.itl, 99) * 1e3, 2),
        "rss_before_mib": round(rss0 / 2**20, 1) if rss0 else None,
        "rss_after_mib": round(rss1 / 2**20, 1) if rss1 else None,
    }
    if "hone_kv_cells_leaked" in m1:
        out["kv_cells_leaked"] = int(m1["hone_kv_cells_leaked"])
        out["kv_cells_used_idle"] = int(m1["hone_kv_cells_used"])
        out["kv_cells_prefix_cache"] = int(m1["hone_kv_cells_prefix_cache"])
        out["mean_batch_tokens"] = round(m1["hone_decode_tokens_total"] / max(1, m1["hone_decode_steps_total"]), 2)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:22} {v}")
        for f in res.failed[:5]:
            print("failure:", f)
    bad = len(res.failed) > 0 or out.get("kv_cells_leaked", 0) != 0 or \
        out.get("kv_cells_used_idle", 0) != out.get("kv_cells_prefix_cache", 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
