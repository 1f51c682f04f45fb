#!/usr/bin/env bash
# Install everything into .venv, then run the whole suite: lint, types, tests (incl. end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# No pip upgrade: README command 1 uses the pip `python3 -m venv` provides, and so must this,
# or a dependency that only a newer pip resolves would pass here and fail for users.
.venv/bin/python -m pip install --quiet -e '.[dev]'
# System tools of the deployment tests: nginx (webhook proxy), systemd-analyze (package systemd),
# openssl (test certificate), setpriv (util-linux). nginx lives in /usr/sbin.
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v openssl >/dev/null || need+=(openssl)
command -v setpriv >/dev/null || need+=(util-linux)
command -v node >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing system packages: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
if [ -f tests/e2e/emulator/package.json ]; then
  npm ci --prefix tests/e2e/emulator --no-audit --no-fund --loglevel=error
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
