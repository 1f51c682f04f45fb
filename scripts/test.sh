#!/usr/bin/env bash
# Install everything into .venv, then run the whole suite: lint, types, tests (incl. end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
if [ -f tests/e2e/emulator/package.json ]; then
  npm ci --prefix tests/e2e/emulator --no-audit --no-fund --loglevel=error
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
