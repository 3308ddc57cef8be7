#!/usr/bin/env bash
# Builds an image like Docker Hub's registry:2 from Debian's docker-registry (the CNCF
# distribution registry) and imports it as NAME (default "registry") into the store
# of the `dockyard` on PATH (or $DOCKYARD): there is no Docker Hub to pull it from.
#   scripts/registry-image.sh [NAME]
# As registry:2: the binary, its config at /etc/docker/registry/config.yml, data in
# the volume /var/lib/registry, port 5000.
set -euo pipefail

NAME=${1:-registry}
DOCKYARD=${DOCKYARD:-dockyard}
BINARY=${REGISTRY_BINARY:-/usr/bin/docker-registry}
[ -x "$BINARY" ] || { echo "registry-image: $BINARY not found (apt-get install docker-registry)" >&2; exit 1; }

ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT
mkdir -p "$ROOTFS"/{bin,etc/docker/registry,var/lib/registry,tmp}
chmod 1777 "$ROOTFS/tmp"
cp "$BINARY" "$ROOTFS/bin/registry"
# The shared libraries it links against (Go with cgo: libc and the loader).
for lib in $(ldd "$BINARY" | grep -o '/[^ ]*'); do
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
cat > "$ROOTFS/etc/docker/registry/config.yml" <<'YML'
version: 0.1
log:
  fields: {service: registry}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: /var/lib/registry}
  delete: {enabled: true}
http:
  addr: :5000
  headers: {X-Content-Type-Options: [nosniff]}
YML
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOTFS/etc/passwd"
echo "root:x:0:" > "$ROOTFS/etc/group"
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -cf "$ROOTFS.tar" .
trap 'rm -rf "$ROOTFS" "$ROOTFS.tar"' EXIT
"$DOCKYARD" import \
  -c 'ENTRYPOINT ["/bin/registry"]' \
  -c 'CMD ["serve", "/etc/docker/registry/config.yml"]' \
  -c 'EXPOSE 5000' \
  -c 'VOLUME ["/var/lib/registry"]' \
  -m "registry:2 from Debian's docker-registry" \
  "$ROOTFS.tar" "$NAME"
