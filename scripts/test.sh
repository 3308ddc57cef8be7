#!/usr/bin/env bash
# Sets everything up, starts the peers the tests need, then runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/dockerd.sh ]; then
  bash scripts/dockerd.sh start
  trap 'bash scripts/dockerd.sh stop || true' EXIT
fi
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/pytest -q "$@"
