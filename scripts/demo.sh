#!/usr/bin/env bash
# The main job: sets everything up, then walks the docker image workflow with dockyard
# on a busybox image built from Debian's busybox-static. Uses a private store root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

WORK=$(mktemp -d /tmp/dockyard-demo.XXXXXX)
export DOCKYARD_ROOT="$WORK/store"
REGISTRY_PID=""
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== building a busybox root filesystem from busybox-static"
.venv/bin/python -c "
from pathlib import Path
from tests.imagefactory import busybox_rootfs_tar
busybox_rootfs_tar(Path('$WORK/busybox-rootfs.tar'))
"

echo "== images are layered, content addressed and stored once"
step dockyard import -c 'CMD ["sh"]' -m "busybox from busybox-static" "$WORK/busybox-rootfs.tar" busybox:latest
step dockyard images
step dockyard history busybox
step dockyard inspect -f '{{.Id}} {{json .RootFS}}' busybox
step dockyard tag busybox mhk/busybox:1.3
step dockyard images

echo "== save and load, in docker's archive format"
step dockyard save -o "$WORK/busybox.tar" mhk/busybox:1.3
step dockyard rmi mhk/busybox:1.3
step dockyard load -i "$WORK/busybox.tar"
step dockyard system df -v

if dockyard registry --help >/dev/null 2>&1; then
  echo "== a private registry: dockyard registry serve"
  PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dockyard registry serve --addr "127.0.0.1:$PORT" --root "$WORK/registry" >"$WORK/registry.log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
  step curl -s "http://127.0.0.1:$PORT/v2/"
  echo
  step curl -s "http://127.0.0.1:$PORT/v2/_catalog"
  echo
fi
echo
echo "demo finished"
