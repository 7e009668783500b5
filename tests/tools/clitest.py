"""clitest.py - what every end-to-end CLI test needs: where the binary, the
shared data and the default model are, and failure bookkeeping.

Each test script records failures with check() and exits with finish()
(0 passed, 1 failed); 77 means skipped to ctest.
"""
import os

HONE = os.path.join(os.environ.get("HONE_BIN", "build/bin"), "hone")
SHARED = os.environ.get("HONE_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared"))
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FAILS = []


def check(cond, what):
    """Record a failure (and print it) unless cond holds."""
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def cache_dir():
    """hone's model cache: $HONE_CACHE, else $XDG_CACHE_HOME/hone, else ~/.cache/hone."""
    if os.environ.get("HONE_CACHE"):
        return os.environ["HONE_CACHE"]
    if os.environ.get("XDG_CACHE_HOME"):
        return os.path.join(os.environ["XDG_CACHE_HOME"], "hone")
    return os.path.expanduser("~/.cache/hone")


def model_path():
    """The default model ($HONE_MODEL or the cached file), or None when absent."""
    if os.environ.get("HONE_MODEL"):
        return os.environ["HONE_MODEL"]
    p = os.path.join(cache_dir(), MODEL_NAME)
    return p if os.path.exists(p) else None
