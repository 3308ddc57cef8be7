#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) for dockyard: system packages, a venv
# with dockyard and its test extras. Idempotent: quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev gcc            # the venv; gcc for any sdist
  runc tini busybox-static                        # containers, --init, the test image
  docker.io docker-registry skopeo podman         # peers for interop tests and benches
  debootstrap wrk apache2-utils curl iproute2 tar # bench fixtures, load, htpasswd
  ca-certificates git
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a registry on :5000; tests start their own.
if systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

# Debian's own interpreter, built with PGO and LTO: `dockyard run` takes about 10% less
# than on a self-built one (such as pyenv's, which may come first in PATH).
PYTHON=${PYTHON:-/usr/bin/python3}
if [ -f .venv/pyvenv.cfg ] \
   && ! grep -qx "home = $(dirname "$(readlink -f "$(command -v "$PYTHON")")")" .venv/pyvenv.cfg; then
  rm -rf .venv  # made from another interpreter
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import dockyard, pytest, mypy' 2>/dev/null \
   || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q --upgrade pip 2>/dev/null || true
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi
# An editable install leaves src/ uncompiled, and with PYTHONDONTWRITEBYTECODE set no
# .pyc is ever written: every command would recompile its modules (about 30 ms of a
# `run`). Compile them once, as a regular pip install does.
.venv/bin/python -m compileall -q src >/dev/null
