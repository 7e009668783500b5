"""test_serve_api.py - `hone serve` through the official `openai` client and
raw HTTP: chat and completions (plain and streamed), stop strings, seeds,
n > 1, logprobs, /v1/models, /tokenize, /detokenize, /health, /metrics, the
chat page, and a 4xx in OpenAI's error shape for every kind of bad input.

Skips (77) when the default model is not cached or `openai` is missing.
"""
import json
import os
import sys

from clitest import FAILS, check, model_path
from servetest import Server

KEY = "test-key-123"
SOURCE = os.environ.get("HONE_SOURCE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))


def chat_stream_text(client, **kw):
    parts, finish, roles = [], None, 0
    for ch in client.chat.completions.create(stream=True, **kw):
        if not ch.choices:
            continue
        d = ch.choices[0].delta
        roles += d.role == "assistant"
        parts.append(d.content or "")
        finish = ch.choices[0].finish_reason or finish
    return "".join(parts), finish, roles


def test_openai(srv, openai):
    client = openai.OpenAI(base_url=srv.base_url, api_key=KEY, max_retries=0)
    msgs = [{"role": "user", "content": "Name three colours."}]
    models = client.models.list()
    check(len(models.data) == 1 and models.data[0].id.endswith(".gguf"), f"models: {models}")

    r = client.chat.completions.create(model="x", messages=msgs, temperature=0, max_tokens=24)
    text = r.choices[0].message.content
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", "chat object/role")
    check(len(text) > 0 and r.choices[0].finish_reason in ("stop", "length"), f"chat reply {r}")
    check(r.usage.completion_tokens <= 24 and r.usage.prompt_tokens > 5, f"usage {r.usage}")
    check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "usage total")

    # streamed == not streamed, one role delta
    s_text, s_finish, roles = chat_stream_text(client, model="x", messages=msgs, temperature=0, max_tokens=24)
    check(s_text == text, f"streamed chat differs: {s_text!r} vs {text!r}")
    check(s_finish == r.choices[0].finish_reason and roles == 1, f"stream finish {s_finish} roles {roles}")

    # usage in a stream
    chunks = list(client.chat.completions.create(model="x", messages=msgs, temperature=0, max_tokens=5, stream=True,
                                                 stream_options={"include_usage": True}))
    check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5, "stream usage chunk")

    # completions, plain and streamed
    c = client.completions.create(model="x", prompt="The capital of France is", temperature=0, max_tokens=12)
    check(c.object == "text_completion" and len(c.choices[0].text) > 0, f"completion {c}")
    st = "".join(x.choices[0].text for x in client.completions.create(
        model="x", prompt="The capital of France is", temperature=0, max_tokens=12, stream=True) if x.choices)
    check(st == c.choices[0].text, f"streamed completion differs: {st!r} vs {c.choices[0].text!r}")

    # stop strings: the reply ends before the stop text, finish_reason stop
    full = c.choices[0].text
    if len(full) > 6:
        stop = full[3:6]
        cs = client.completions.create(model="x", prompt="The capital of France is", temperature=0, max_tokens=12,
                                       stop=[stop, "zzzz"])
        check(cs.choices[0].text == full[:full.index(stop)] and cs.choices[0].finish_reason == "stop",
              f"stop {stop!r}: {cs.choices[0].text!r} finish {cs.choices[0].finish_reason}")

    # seeds: same seed, same sample; different seeds differ (on some of 3 tries)
    kw = dict(model="x", prompt="Once upon a time", temperature=1.0, max_tokens=20)
    a = client.completions.create(seed=42, **kw).choices[0].text
    b = client.completions.create(seed=42, **kw).choices[0].text
    check(a == b, f"seed 42 not reproducible: {a!r} vs {b!r}")
    others = {client.completions.create(seed=s, **kw).choices[0].text for s in (1, 2, 3)}
    check(len(others | {a}) > 1, "different seeds gave the same text")

    # n > 1: greedy choices are all the single reply; sampled choice k = seed + k
    rn = client.chat.completions.create(model="x", messages=msgs, temperature=0, max_tokens=24, n=3)
    check([ch.index for ch in rn.choices] == [0, 1, 2], "n=3 indices")
    check(all(ch.message.content == text for ch in rn.choices), "n=3 greedy choices differ from n=1")
    rs = client.completions.create(n=2, seed=7, **kw)
    r7 = client.completions.create(seed=7, **kw).choices[0].text
    r8 = client.completions.create(seed=8, **kw).choices[0].text
    check(rs.choices[0].text == r7 and rs.choices[1].text == r8, "n=2 choices are not seed, seed+1")
    texts = ["", ""]
    for x in client.completions.create(n=2, seed=7, stream=True, **kw):
        for ch in x.choices:
            texts[ch.index] += ch.text
    check(texts == [r7, r8], f"streamed n=2 differs: {texts}")

    # logprobs (chat): chosen token is the top one under greedy, sorted, <= 0
    rl = client.chat.completions.create(model="x", messages=msgs, temperature=0, max_tokens=8, logprobs=True,
                                        top_logprobs=3)
    content = rl.choices[0].logprobs.content
    check(len(content) == rl.usage.completion_tokens, "one logprob entry per token")
    for e in content:
        check(e.logprob <= 0 and len(e.top_logprobs) == 3, f"logprob entry {e}")
        check(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob, "top sorted")
        check(abs(e.top_logprobs[0].logprob - e.logprob) < 1e-6, "greedy picks the top token")
    joined = "".join(bytes(e.bytes).decode("utf-8", "replace") for e in content)
    check(joined.startswith(rl.choices[0].message.content[:5]), "logprob bytes spell the reply")
    # streamed logprobs equal non-streamed
    sl = []
    for ch in client.chat.completions.create(model="x", messages=msgs, temperature=0, max_tokens=8, logprobs=True,
                                             top_logprobs=3, stream=True):
        if ch.choices and ch.choices[0].logprobs:
            sl += ch.choices[0].logprobs.content
    check([e.logprob for e in sl] == [e.logprob for e in content], "streamed logprobs differ")
    # legacy completions logprobs
    cl = client.completions.create(model="x", prompt="The capital of France is", temperature=0, max_tokens=4, logprobs=2)
    lp = cl.choices[0].logprobs
    check(len(lp.tokens) == 4 and len(lp.token_logprobs) == 4 and len(lp.top_logprobs) == 4, f"legacy logprobs {lp}")
    check("".join(lp.tokens) == cl.choices[0].text, "legacy logprob tokens spell the text")

    # errors through the client
    for bad, what in [(dict(messages=[]), "empty messages"), (dict(messages=msgs, max_tokens=0), "max_tokens 0"),
                      (dict(messages=msgs, temperature=-1), "temperature -1"),
                      (dict(messages=[{"role": "wizard", "content": "x"}]), "bad role")]:
        try:
            client.chat.completions.create(model="x", **bad)
            check(False, f"{what}: no error")
        except openai.BadRequestError as e:
            check(e.status_code == 400 and "message" in e.body, f"{what}: {e}")
    try:
        openai.OpenAI(base_url=srv.base_url, api_key="wrong", max_retries=0).models.list()
        check(False, "bad key accepted")
    except openai.AuthenticationError as e:
        check(e.status_code == 401, f"bad key: {e}")


def test_raw(srv):
    def err(status, path, body, what, headers=None):
        st, h, data = srv.request("POST", path, body, headers=headers)
        ok = st == status
        try:
            e = json.loads(data)["error"]
            ok = ok and isinstance(e["message"], str) and len(e["message"]) > 5 and "type" in e
        except (ValueError, KeyError, TypeError):
            ok = False
        check(ok, f"{what}: expected {status} with an error object, got {st} {data[:200]!r}")
        return h

    chat, comp = "/v1/chat/completions", "/v1/completions"
    err(400, chat, "{not json", "malformed JSON")
    err(400, chat, "[1, 2]", "array body")
    err(400, chat, "", "empty body")
    err(400, chat, '{"messages": [{"role": "user", "content": "hi"}]} trailing', "trailing garbage")
    err(400, chat, {"messages": "hi"}, "messages not an array")
    err(400, chat, {}, "missing messages")
    err(400, chat, {"messages": [], "max_tokens": -1}, "empty messages + max_tokens -1")
    err(400, chat, {"messages": [{"role": "user"}]}, "message without content")
    err(400, chat, {"messages": [{"content": "x"}]}, "message without role")
    err(400, chat, {"messages": [{"role": "user", "content": 5}]}, "content not a string")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}, "max_tokens string")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}, "max_tokens fractional")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "max_tokens": 10**9}, "max_tokens too large")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature 3")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "top_p": 2}, "top_p 2")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "n": 0}, "n 0")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream string")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "stop": [1]}, "stop not strings")
    err(400, chat, {"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}, "top_logprobs w/o logprobs")
    err(400, comp, {"prompt": 5}, "prompt a number")
    err(400, comp, {"prompt": ""}, "empty prompt")
    err(400, comp, {"prompt": [1, 999999]}, "token id out of range")
    err(400, comp, {"prompt": "hello " * 5000, "max_tokens": 4}, "prompt longer than the context")
    h = err(413, comp, json.dumps({"prompt": "x" * (2 << 20)}), "oversize body")
    err(401, comp, {"prompt": "hi"}, "missing key", headers={"Authorization": "Basic abc"})
    st, _, _ = srv.request("GET", "/v1/nope")
    check(st == 404, f"unknown endpoint: {st}")
    st, _, _ = srv.request("GET", chat)
    check(st == 405, f"GET on a POST endpoint: {st}")
    # unknown fields are ignored
    st, body = srv.post_json(comp, {"prompt": "Hi", "max_tokens": 2, "temperature": 0, "frobnicate": {"x": [1]},
                                    "model": "anything"})
    check(st == 200 and body["usage"]["completion_tokens"] == 2, f"unknown field: {st} {body}")
    # tokenize / detokenize round trip
    st, t = srv.post_json("/tokenize", {"content": "Hello world"})
    check(st == 200 and len(t["tokens"]) == 2, f"tokenize: {t}")
    st, d = srv.post_json("/detokenize", {"tokens": t["tokens"]})
    check(st == 200 and d["content"] == "Hello world", f"detokenize: {d}")
    st, _ = srv.post_json("/detokenize", {"tokens": ["a"]})
    check(st == 400, "detokenize of a string")
    # health needs no key; metrics do
    st, _, body = srv.request("GET", "/health", headers={"Authorization": ""})
    check(st == 200 and json.loads(body)["status"] == "ok", "health")
    m = srv.metrics()
    check(m["hone_kv_cells_leaked"] == 0 and m["hone_kv_cells_total"] > 1000, "metrics kv")
    check(m['hone_requests_total{outcome="ok"}'] > 0, "metrics request counter")
    # the chat page is web/index.html, byte for byte
    st, h, page = srv.request("GET", "/")
    with open(os.path.join(SOURCE, "web/index.html"), "rb") as f:
        check(st == 200 and page == f.read() and h["content-type"].startswith("text/html"), "GET / is the page")


def main():
    if not model_path():
        print("SKIP: default model not cached")
        return 77
    try:
        import openai
    except ImportError:
        print("SKIP: the openai package is not installed")
        return 77
    with Server(api_key=KEY) as srv:
        test_openai(srv, openai)
        test_raw(srv)
        rc = srv.stop()
        check(rc == 0, f"server exit code {rc} after SIGTERM")
        log = srv.log_text()
        check("#1 " in log and "stopped" in log, "request log lines and a clean stop")
    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
