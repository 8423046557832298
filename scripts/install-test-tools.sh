#!/usr/bin/env bash
# Installs the tools the tests need besides Python: the Allure 3 CLI and Newman (npm) and headless Chromium.
# Idempotent and quiet: prints the installer's output only when it fails, and then exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

quietly() {
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "install-test-tools: '$*' failed" >&2
        exit 1
    fi
}

if [[ ! -d node_modules/allure || ! -x node_modules/.bin/newman ]]; then
    quietly npm ci --no-audit --no-fund
fi

if [[ ! -x /usr/bin/chromium ]]; then
    as_root=()
    [[ $(id -u) -ne 0 ]] && as_root=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    quietly "${as_root[@]}" apt-get update
    quietly "${as_root[@]}" apt-get install -y --no-install-recommends chromium
fi

# The project's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set, each pytest process the tests start
# would compile them again.
if [[ -x .venv/bin/python ]]; then
    quietly .venv/bin/python -m compileall -q harness mockserver tmfapis tests benchmarks
fi
