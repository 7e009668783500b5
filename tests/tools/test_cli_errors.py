"""test_cli_errors.py - the CLI's failure behaviour, as a user meets it.

Exit codes are a contract (0 ok, 1 usage, 2 bad input file, 3 runtime): bad
command lines must give 1; missing, empty, random, truncated and hostile GGUF
files must give 2 with a "hone <cmd>: ..." message on stderr that names the
file, for info, tokenize and run alike; and nothing may ever die of a signal.
The hostile files are generated here, in a temporary directory.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

from clitest import HONE, FAILS, check, SHARED



def hone(args, env=None, stdin=b""):
    r = subprocess.run([HONE, *args], capture_output=True, timeout=120, env=env, input=stdin)
    check(r.returncode >= 0 and r.returncode < 128,
          f"hone {' '.join(map(str, args))}: died (rc {r.returncode}) stderr={r.stderr[-300:]!r}")
    return r


def expect(args, rc, needle=None, env=None):
    r = hone(args, env=env)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == rc, f"hone {' '.join(map(str, args))}: rc {r.returncode}, expected {rc}; stderr={err!r}")
    if rc != 0:
        cmd = args[0] if args and not args[0].startswith("-") else None
        if cmd in ("info", "tokenize", "run", "chat", "pull"):
            check(err.startswith(f"hone {cmd}: "), f"hone {' '.join(map(str, args))}: message format {err!r}")
        check(r.stdout == b"", f"hone {' '.join(map(str, args))}: nothing on stdout on failure ({r.stdout[:100]!r})")
    if needle:
        check(needle in err, f"hone {' '.join(map(str, args))}: stderr should mention {needle!r}: {err!r}")
    return r


def gguf_header(version=3, n_tensors=0, n_kv=0):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def make_files(d):
    files = {}

    def put(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        files[name] = p

    put("empty.gguf", b"")
    rng = random.Random(1234)
    put("random.gguf", bytes(rng.getrandbits(8) for _ in range(4096)))
    put("random-magic.gguf", b"GGUF" + bytes(rng.getrandbits(8) for _ in range(4092)))
    put("bad-version.gguf", gguf_header(version=99))
    put("header-only.gguf", b"GGUF\x03\x00")
    # Counts that would ask for absurd allocations if trusted.
    put("huge-tensors.gguf", gguf_header(n_tensors=1 << 62))
    put("huge-kv.gguf", gguf_header(n_kv=(1 << 64) - 1))
    # One key whose length runs far past the end of the file.
    put("huge-keylen.gguf", gguf_header(n_kv=1) + struct.pack("<Q", 1 << 60) + b"general.architecture")
    # A string value whose length runs past the end.
    put("huge-strlen.gguf", gguf_header(n_kv=1) + gguf_str("general.architecture") + struct.pack("<IQ", 8, 1 << 62))
    # An array claiming 2^61 uint32 elements.
    put("huge-array.gguf", gguf_header(n_kv=1) + gguf_str("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 4, 1 << 61))
    # A tensor with dims whose product overflows, pointing outside the file.
    put("hostile-tensor.gguf", gguf_header(n_tensors=1, n_kv=0) + gguf_str("t") +
        struct.pack("<I", 4) + struct.pack("<4q", 1 << 40, 1 << 40, 1 << 40, 1 << 40) + struct.pack("<IQ", 0, 0))
    vocab = os.path.join(SHARED, "golden/tokenizer/ggml-vocab-gpt-2.gguf")
    if os.path.exists(vocab):
        data = open(vocab, "rb").read()
        put("truncated-half.gguf", data[: len(data) // 2])
        put("truncated-100.gguf", data[:100])
    return files


def main():
    if not os.access(HONE, os.X_OK):
        print(f"hone binary not found at {HONE}")
        return 1

    # --- usage errors: exit 1 ---------------------------------------------
    expect([], 1)
    expect(["frobnicate"], 1, "unknown command")
    expect(["info", "--bogus"], 1, "--bogus")
    expect(["info", "a.gguf", "b.gguf"], 1)
    expect(["run"], 1, "-p")
    expect(["run", "-p", "x", "-f", "y"], 1)
    expect(["run", "-p", "x", "-n"], 1, "needs a value")
    expect(["run", "-p", "x", "-n", "abc"], 1, "abc")
    expect(["run", "-p", "x", "-n", "12x"], 1)
    expect(["run", "-p", "x", "--temp", "-1"], 1, "--temp")
    expect(["run", "-p", "x", "--top-p", "nan"], 1)
    expect(["run", "-p", "x", "--seed", "-5"], 1)
    expect(["run", "-p", "x", "--n-seq", "0"], 1)
    expect(["run", "-p", "x", "--system", "s"], 1, "--chat")
    expect(["run", "-p", "x", "extra"], 1, "extra")
    expect(["tokenize"], 1, "no text")
    expect(["tokenize", "-f", "x", "text"], 1)
    expect(["tokenize", "--ids=yes", "t"], 1, "takes no value")
    expect(["chat", "--bogus"], 1)
    expect(["pull", "extra"], 1)
    r = hone(["--help"])
    check(r.returncode == 0 and b"usage: hone" in r.stdout, "hone --help: rc 0 and usage on stdout")
    r = hone(["--version"])
    check(r.returncode == 0 and r.stdout.startswith(b"hone "), "hone --version")
    for cmd in ("run", "chat", "info", "tokenize", "pull"):
        r = hone([cmd, "--help"])
        check(r.returncode == 0 and r.stdout.startswith(f"usage: hone {cmd}".encode()), f"hone {cmd} --help")

    with tempfile.TemporaryDirectory() as d:
        # --- no model: exit 2, pointing at `hone pull` ---------------------
        env = dict(os.environ, HONE_CACHE=os.path.join(d, "empty-cache"))
        env.pop("HONE_MODEL", None)
        for args in (["info"], ["tokenize", "hi"], ["run", "-p", "hi"]):
            expect(args, 2, "hone pull", env=env)
        r = hone(["chat"], env=env)
        check(r.returncode == 2 and b"hone pull" in r.stderr, "chat without a model: exit 2")

        # --- missing / unreadable files ----------------------------------
        missing = os.path.join(d, "does-not-exist.gguf")
        expect(["info", missing], 2, missing)
        expect(["tokenize", "-m", missing, "hi"], 2, missing)
        expect(["run", "-m", missing, "-p", "hi", "-n", "1"], 2, missing)
        expect(["info", d], 2, d)  # a directory
        expect(["tokenize", "-m", missing, "-f", missing], 2, missing)  # unreadable text file
        expect(["run", "-m", missing, "-f", missing], 2, missing)

        # --- malformed files ---------------------------------------------
        for name, path in make_files(d).items():
            expect(["info", path], 2, name)
            expect(["info", "--json", path], 2, name)
            expect(["tokenize", "-m", path, "hello"], 2, name)
            expect(["run", "-m", path, "-p", "hello", "-n", "1", "-q"], 2, name)

        # --- valid GGUF that is not a runnable model: exit 2 ---------------
        vocab = os.path.join(SHARED, "golden/tokenizer/ggml-vocab-gpt-2.gguf")
        if os.path.exists(vocab):
            expect(["run", "-m", vocab, "-p", "hello", "-n", "1", "-q"], 2, "ggml-vocab-gpt-2.gguf")

    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
