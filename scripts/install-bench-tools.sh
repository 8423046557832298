#!/usr/bin/env bash
# Installs what benchmarks/bench_server.py compares with and loads servers with: json-server (npm) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x node_modules/.bin/json-server ]] || npm ci --no-audit --no-fund
if ! command -v wrk >/dev/null; then
    as_root=()
    [[ $(id -u) -ne 0 ]] && as_root=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update
    "${as_root[@]}" apt-get install -y --no-install-recommends wrk
fi
