"""test_cli_tokenize.py - `hone tokenize` against llama.cpp's tokenizer vectors.

For every vocab-only GGUF in shared/golden/tokenizer/, every test string of
NAME.gguf.inp goes through `hone tokenize --ids --no-bos` (as an argument;
some through stdin and --file too, to cover those paths) and must print the
ids of the matching line of NAME.gguf.out. Then: BOS is added only when the
vocabulary asks for it, the default output is "id<TAB>'piece'", and with the
default model (when cached) "<|im_start|>" is one control token only with
--special.
"""
import os
import subprocess
import sys
import tempfile

from clitest import HONE, FAILS, check, SHARED, model_path

GOLDEN = os.path.join(SHARED, "golden/tokenizer")
SEP = b"\n__ggml_vocab_test__\n"


def tok(args, stdin=b""):
    """Run `hone tokenize ARGS...`."""
    r = subprocess.run([HONE, "tokenize", *args], capture_output=True, timeout=120, input=stdin)
    check(r.returncode >= 0, f"hone tokenize: killed by signal {-r.returncode}")
    return r


def load_cases(vocab):
    raw = open(vocab + ".inp", "rb").read()
    inputs = []
    pos = 0
    while pos < len(raw):  # the same splitting rule as llama.cpp's test-tokenizer-0
        nxt = raw.find(SEP, pos)
        if nxt < 0:
            inputs.append(raw[pos:])
            break
        inputs.append(raw[pos:nxt])
        pos = nxt + len(SEP)
    outs = [l.split() for l in open(vocab + ".out").read().split("\n")]
    return list(zip(inputs, outs)), len(inputs) <= len(outs)


def ids_of(r):
    return r.stdout.decode().split()


def main():
    if not os.access(HONE, os.X_OK):
        print(f"hone binary not found at {HONE}")
        return 1
    vocabs = sorted(os.path.join(GOLDEN, f) for f in os.listdir(GOLDEN) if f.endswith(".gguf"))
    check(len(vocabs) >= 6, f"golden vocab files found: {len(vocabs)}")
    n_cases = 0
    with tempfile.TemporaryDirectory() as d:
        for vocab in vocabs:
            name = os.path.basename(vocab)
            cases, aligned = load_cases(vocab)
            check(aligned, f"{name}: .inp and .out line up")
            for i, (text, want) in enumerate(cases):
                n_cases += 1
                if b"\0" in text:
                    continue
                # Argument after "--" (texts may start with "-"); every 3rd via stdin, every 5th via --file.
                if i % 3 == 1:
                    r = tok(["--ids", "--no-bos", "-m", vocab, "-"], stdin=text)
                elif i % 5 == 2:
                    p = os.path.join(d, "text")
                    with open(p, "wb") as f:
                        f.write(text)
                    r = tok(["--ids", "--no-bos", "-m", vocab, "--file", p])
                else:
                    r = tok(["--ids", "--no-bos", "-m", vocab, "--", text])
                check(r.returncode == 0, f"{name} case {i}: rc {r.returncode} {r.stderr!r}")
                got = ids_of(r)
                check(got == want, f"{name} case {i} {text[:40]!r}: got {got[:20]} want {want[:20]}")
                check(r.stdout.count(b"\n") == 1 and b"  " not in r.stdout,
                      f"{name} case {i}: --ids prints one line, single spaces: {r.stdout[:80]!r}")

        # BOS: only when the vocabulary's metadata asks for it.
        spm = os.path.join(GOLDEN, "ggml-vocab-llama-spm.gguf")
        if os.path.exists(spm):
            with_bos = ids_of(tok(["--ids", "-m", spm, "Hello world"]))
            no_bos = ids_of(tok(["--ids", "--no-bos", "-m", spm, "Hello world"]))
            check(with_bos[:1] == ["1"] and with_bos[1:] == no_bos, f"llama-spm adds BOS 1: {with_bos} vs {no_bos}")

        # Default output: one "id<TAB>'piece'" line per token.
        gpt2 = os.path.join(GOLDEN, "ggml-vocab-gpt-2.gguf")
        r = tok(["-m", gpt2, "Hello world\n"])
        check(r.returncode == 0 and r.stdout.decode() == "15496\t'Hello'\n995\t' world'\n198\t'\\n'\n",
              f"default output format: {r.stdout!r}")

    check(n_cases > 100, f"ran {n_cases} golden cases")

    model = model_path()
    if model:
        plain = ids_of(tok(["--ids", "-m", model, "<|im_start|>user"]))
        special = ids_of(tok(["--ids", "--special", "-m", model, "<|im_start|>user"]))
        check(special[:1] == ["1"] and len(special) == 2, f"--special: <|im_start|> is token 1: {special}")
        check("1" not in plain and len(plain) > 2, f"default: <|im_start|> is plain text: {plain}")
        # SmolLM2 does not add BOS (tokenizer.ggml.add_bos_token = false).
        a = ids_of(tok(["--ids", "-m", model, "The capital of France is"]))
        b = ids_of(tok(["--ids", "--no-bos", "-m", model, "The capital of France is"]))
        check(a == b == ["504", "3575", "282", "4649", "314"], f"SmolLM2 prompt ids: {a} {b}")
        # Default model without -m.
        r = tok(["--ids", "The capital of France is"]) if not os.environ.get("HONE_MODEL") else None
        if r is not None:
            check(ids_of(r) == a, "the default model is used without -m")
    else:
        print("default model not cached: --special checks skipped")

    print(f"{len(FAILS)} failures, {n_cases} golden cases")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
