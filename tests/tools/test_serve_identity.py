"""test_serve_identity.py - greedy replies of `hone serve` are byte-identical
to `hone run` for the same prompt: streamed or not, with 1 client and with
16 concurrent clients (so the batch mixes decode steps and prompt chunks of
other requests), and with and without a prefix from the prefix cache.

Skips (77) when the default model is not cached.
"""
import http.client
import json
import sys
import threading

from clitest import FAILS, check, model_path
from servetest import Server, hone_run

N = 40
SYSTEM = "You are a careful assistant who answers in short, plain sentences. " * 3
LONG = ("The history of the printing press begins in the fifteenth century, when movable type made books cheaper "
        "and spread literacy across Europe. ") * 12 + "In summary,"
CASES = [
    # (name, kind, request fields, hone run arguments)
    ("chat", "chat", {"messages": [{"role": "user", "content": "Hello! What can you do?"}]},
     dict(prompt="Hello! What can you do?", chat=True)),
    ("chat-system", "chat", {"messages": [{"role": "system", "content": SYSTEM},
                                          {"role": "user", "content": "Why is the sky blue?"}]},
     dict(prompt="Why is the sky blue?", chat=True, system=SYSTEM)),
    ("completion", "completion", {"prompt": "The three primary colours are"},
     dict(prompt="The three primary colours are")),
    ("long", "completion", {"prompt": LONG}, dict(prompt=LONG)),
]
# shares SYSTEM with chat-system: its prefix comes from the cache
CACHED = ("chat-system-2", "chat", {"messages": [{"role": "system", "content": SYSTEM},
                                                 {"role": "user", "content": "What is a prime number?"}]},
          dict(prompt="What is a prime number?", chat=True, system=SYSTEM))


def ask(srv, kind, fields, stream):
    """One greedy request over raw HTTP; returns (text, finish_reason, usage)."""
    path = "/v1/chat/completions" if kind == "chat" else "/v1/completions"
    body = dict(fields, temperature=0, max_tokens=N, stream=stream)
    if stream:
        body["stream_options"] = {"include_usage": True}
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"{r.status}: {r.read()[:300]!r}")
    if not stream:
        out = json.loads(r.read())
        ch = out["choices"][0]
        return (ch["message"]["content"] if kind == "chat" else ch["text"]), ch["finish_reason"], out["usage"]
    text, finish, usage = [], None, None
    for line in r:
        line = line.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        ev = json.loads(line[6:])
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev["choices"]:
            text.append((ch.get("delta") or {}).get("content") or ch.get("text") or "")
            finish = ch["finish_reason"] or finish
    c.close()
    return "".join(text), finish, usage


def expect(ref, got, what):
    want = (ref["completion"], "stop" if ref["stop_reason"] in ("eos", "stop") else "length")
    check(got[:2] == want, f"{what}: {got[:2]!r} != hone run {want!r}")


def main():
    if not model_path():
        print("SKIP: default model not cached")
        return 77
    refs = {name: hone_run(n=N, **run) for name, _, _, run in CASES + [CACHED]}
    with Server("--parallel", "32") as srv:
        # 1 client, plain and streamed
        for name, kind, fields, _ in CASES:
            for stream in (False, True):
                expect(refs[name], ask(srv, kind, fields, stream), f"{name} stream={stream} alone")
        # a prefix from the cache (the system prompt of chat-system)
        got = ask(srv, CACHED[1], CACHED[2], False)
        expect(refs[CACHED[0]], got, "cached prefix")
        check(got[2]["prompt_tokens_details"]["cached_tokens"] > 30, f"no prefix reuse: {got[2]}")
        got = ask(srv, CACHED[1], CACHED[2], True)
        expect(refs[CACHED[0]], got, "cached prefix, streamed")
        check(got[2]["prompt_tokens_details"]["cached_tokens"] == got[2]["prompt_tokens"] - 2,
              f"a repeated prompt reuses all but 2 tokens: {got[2]}")

        # 16 concurrent clients, mixed prompts and modes
        results = [None] * 16

        def client(i):
            name, kind, fields, _ = (CASES + [CACHED])[i % 5]
            try:
                results[i] = (name, ask(srv, kind, fields, i % 2 == 1))
            except Exception as e:  # recorded, checked below
                results[i] = (name, e)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, (name, got) in enumerate(results):
            if isinstance(got, Exception):
                check(False, f"client {i}: {got}")
            else:
                expect(refs[name], got, f"{name} with 16 clients (client {i})")
        m = srv.wait_idle()
        check(m["hone_kv_cells_leaked"] == 0, "leaked cells")
        check(m["hone_kv_cells_used"] == m["hone_kv_cells_prefix_cache"], "idle: only the prefix cache holds cells")
        check(m["hone_batch_size"] >= 1 and m["hone_decode_tokens_total"] > m["hone_decode_steps_total"],
              "steps batched several tokens")
    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
