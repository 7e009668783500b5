#!/usr/bin/env bash
# setup.sh - get a Debian/Ubuntu machine from a fresh checkout to a working `hone`.
#
# Idempotent: every step checks first and does nothing when already done.
#   1. Debian packages the build needs (apt-get only when something is missing;
#      sudo only when not root).
#   2. Python packages the tests use (gguf, openai); best effort, since only
#      some tests need them and those skip without them.
#   3. Configure and build build/ (Release).
#   4. `build/bin/hone pull`: fetch and verify the default model into the cache.
#
# Options: --no-packages (skip 1-2), --no-build (skip 3-4), --no-pull (skip 4).
# Environment: JOBS (parallel build jobs, default: number of CPUs),
# BUILD_DIR (default: build), HONE_CACHE (where the model goes; see `hone pull --help`).
set -euo pipefail

cd "$(dirname "$0")/.."

do_packages=1 do_build=1 do_pull=1
for arg in "$@"; do
    case "$arg" in
    --no-packages) do_packages=0 ;;
    --no-build) do_build=0 do_pull=0 ;;
    --no-pull) do_pull=0 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "setup.sh: unknown option '$arg' (see --help)" >&2
        exit 1
        ;;
    esac
done

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

log() { printf '==> %s\n' "$*" >&2; }

# ---- 1. system packages ------------------------------------------------------
install_packages() {
    local want=(cmake make gcc g++ clang pkg-config libpcre2-dev libutf8proc-dev libcjson-dev libssl-dev libmicrohttpd-dev
                gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
                chromium) # cross compiler + qemu: NEON kernel tests; chromium: the chat-page test
    # python3 and pip may come from elsewhere (pyenv, a container image):
    # only ask Debian for them when the commands are missing.
    command -v python3 >/dev/null 2>&1 || want+=(python3)
    python3 -m pip --version >/dev/null 2>&1 || want+=(python3-pip)

    local missing=() p
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "system packages: all present"
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup.sh: missing packages (${missing[*]}) and no apt-get; install them by hand" >&2
        exit 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    log "installing: ${missing[*]}"
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---- 2. python test tools ----------------------------------------------------
install_python_tools() {
    local mod pkg
    # module:package pairs
    for pair in gguf:gguf openai:openai; do
        mod=${pair%%:*} pkg=${pair#*:}
        if python3 -c "import $mod" >/dev/null 2>&1; then
            continue
        fi
        log "pip install $pkg (test tool)"
        python3 -m pip install --quiet "$pkg" ||
            echo "setup.sh: warning: could not install $pkg; the tests that need it will be skipped" >&2
    done
}

if [ $do_packages -eq 1 ]; then
    install_packages
    install_python_tools
fi

# ---- 3. build ----------------------------------------------------------------
if [ $do_build -eq 1 ]; then
    log "building $BUILD_DIR (Release, $JOBS jobs)"
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" -j "$JOBS"
fi

# ---- 4. default model ----------------------------------------------------------
if [ $do_pull -eq 1 ]; then
    log "fetching the default model"
    "$BUILD_DIR/bin/hone" pull
fi

log "done"
