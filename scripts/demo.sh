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
  dockyard rm -f $(dockyard ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== building a busybox root filesystem from busybox-static"
.venv/bin/python -c "
from pathlib import Path
from dockyard.busybox_rootfs import busybox_rootfs_tar
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
step dockyard rmi mhk/busybox:1.3
step dockyard system df -v

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

echo "== containers: a writable overlay layer on top of the read-only image layers"
step dockyard run --name c1 busybox sh -c 'echo "vim would be here" > /root/vim.txt; rm /bin/vi; echo done'
step dockyard ps -a
step dockyard diff c1
step dockyard commit -m="add vim" -a="mhk" c1 mhk/busybox:1.3
step dockyard images
step dockyard history mhk/busybox:1.3
step dockyard run --rm mhk/busybox:1.3 sh -c 'cat /root/vim.txt; ls /bin/vi || echo "vi is gone"'
step dockyard run -d --name web busybox sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done'
sleep 1.5
step dockyard ps
step dockyard logs web
step dockyard exec web sh -c 'echo "inside $(hostname)"; ps'
step dockyard stop -t 1 web
step dockyard start web
step dockyard ps
step dockyard rm -f web c1

echo "== data volumes: a host directory bind-mounted into a container"
step dockyard run -d --name myu --privileged=true -v "$WORK/myHostData:/etc/myDockerData" busybox sleep 300
step dockyard inspect -f '{{json .Mounts}}' myu
step dockyard exec myu sh -c 'echo "docker update 123" > /etc/myDockerData/a.log'
step cat "$WORK/myHostData/a.log"
echo "host update 456" >> "$WORK/myHostData/a.log"
step dockyard exec myu cat /etc/myDockerData/a.log
step dockyard stop -t 1 myu
echo "host update 789" >> "$WORK/myHostData/a.log"
step dockyard start myu
step dockyard exec myu cat /etc/myDockerData/a.log
step dockyard run --rm -v "$WORK/myHostData:/data:ro" busybox sh -c 'touch /data/x || echo "read-only, as asked"'

echo "== volumes are inherited and shared: --volumes-from"
step dockyard run --name u1 --privileged=true -v "$WORK/mydocker/u:/tmp" busybox touch /tmp/u1_data.txt
step dockyard run --name u2 --privileged=true --volumes-from u1 busybox sh -c 'ls /tmp; touch /tmp/u2_data.txt'
step dockyard run --rm --volumes-from u2 busybox ls -l /tmp
step ls "$WORK/mydocker/u"

echo "== named volumes outlive their containers"
step dockyard run --name w1 -v mydata:/data busybox sh -c 'echo "kept in a volume" > /data/f'
step dockyard volume ls
step dockyard volume inspect mydata
step dockyard rm -f myu u1 u2 w1
step ls "$WORK/myHostData" "$WORK/mydocker/u"
step dockyard run --rm -v mydata:/again busybox cat /again/f
step dockyard system df
step dockyard volume rm mydata

echo "== the walkthrough's private registry: registry:2 in a container, on a published port"
echo "(built from Debian's docker-registry: there is no Docker Hub to pull it from)"
DOCKYARD=dockyard bash scripts/registry-image.sh registry >/dev/null
step dockyard images registry
# The walkthrough mounts /tmp/registry; registry:2 keeps its data in /var/lib/registry.
step dockyard run -d --name myregistry -p 5000:5000 -v "$WORK/myregistry/:/var/lib/registry" --privileged=true registry
wait_http "http://127.0.0.1:5000/v2/"
step dockyard ps
step curl -s http://127.0.0.1:5000/v2/_catalog
step dockyard tag mhk/busybox:1.3 127.0.0.1:5000/mhk/busybox:1.3
step dockyard push 127.0.0.1:5000/mhk/busybox:1.3
step curl -s http://127.0.0.1:5000/v2/_catalog
step ls "$WORK/myregistry/docker/registry/v2/repositories/mhk"
step dockyard rmi 127.0.0.1:5000/mhk/busybox:1.3
step dockyard pull 127.0.0.1:5000/mhk/busybox:1.3
step dockyard rm -f myregistry

echo "== a private registry with basic auth (htpasswd), like docker's registry:2"
PORT=$(free_port)
REG="127.0.0.1:$PORT"
htpasswd -Bbn mhk secret123 > "$WORK/htpasswd"
cat > "$WORK/registry.yml" <<YML
version: 0.1
storage:
  filesystem: {rootdirectory: $WORK/registry}
  delete: {enabled: true}
http: {addr: "$REG"}
auth:
  htpasswd: {realm: dockyard-demo, path: $WORK/htpasswd}
YML
dockyard registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
wait_http "http://$REG/v2/"
step curl -s -u mhk:secret123 "http://$REG/v2/_catalog"
echo
export DOCKER_CONFIG="$WORK/docker-config"
echo secret123 | step dockyard login "$REG" -u mhk --password-stdin
step dockyard tag mhk/busybox:1.3 "$REG/mhk/busybox:1.3"
step dockyard push "$REG/mhk/busybox:1.3"
step curl -s -u mhk:secret123 "http://$REG/v2/_catalog"
echo
step dockyard rmi "$REG/mhk/busybox:1.3" mhk/busybox:1.3
step dockyard pull "$REG/mhk/busybox:1.3"
step dockyard run --rm "$REG/mhk/busybox:1.3" cat /root/vim.txt
step dockyard logout "$REG"
kill "$REGISTRY_PID"; wait "$REGISTRY_PID" 2>/dev/null || true; REGISTRY_PID=""

echo "== token auth (Docker Hub's flow): the registry runs its own token issuer"
PORT=$(free_port)
REG="127.0.0.1:$PORT"
dockyard registry gen-key "$WORK/token.key" "$WORK/token.crt" >/dev/null
cat > "$WORK/token.yml" <<YML
version: 0.1
storage:
  filesystem: {rootdirectory: $WORK/registry-token}
http: {addr: "$REG"}
auth:
  token: {realm: "http://$REG/auth/token", service: dockyard-demo, issuer: dockyard-demo,
          rootcertbundle: $WORK/token.crt}
dockyard:
  tokenissuer:
    signingkey: $WORK/token.key
    htpasswd: $WORK/htpasswd
    rules:
      - {repository: "library/*", anonymous: true, actions: [pull]}
      - {repository: "*", users: [mhk], actions: [pull, push, delete]}
YML
dockyard registry serve "$WORK/token.yml" >"$WORK/registry-token.log" 2>&1 &
REGISTRY_PID=$!
wait_http "http://$REG/v2/"
step curl -s -i "http://$REG/v2/" | grep -i -e "^HTTP" -e "^www-authenticate"
echo secret123 | step dockyard login "$REG" -u mhk --password-stdin
step dockyard tag busybox "$REG/library/busybox:latest"
step dockyard push "$REG/library/busybox:latest"
step dockyard logout "$REG"
step dockyard rmi "$REG/library/busybox:latest"
echo "(anonymous pull of a public repository: 401, then an anonymous token, then the pull)"
step dockyard pull "$REG/library/busybox:latest"
kill "$REGISTRY_PID"; wait "$REGISTRY_PID" 2>/dev/null || true; REGISTRY_PID=""

echo
echo "demo finished"
