#!/bin/sh
# Start or stop a private dockerd for dockyard's interop tests and benchmarks.
#   scripts/dockerd.sh start|stop|status
# Idempotent: `start` returns at once when the daemon already answers on the socket.
# The daemon keeps its state under $DOCKYARD_DOCKERD_ROOT (default /tmp/dockyard-dockerd)
# and listens on /var/run/docker.sock, so the docker CLI needs no extra flags.
# iptables and the bridge are off: the tests need no container networking, and the
# machine's kernel may not have the netfilter modules.
set -eu

ROOT=${DOCKYARD_DOCKERD_ROOT:-/tmp/dockyard-dockerd}
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
PIDFILE=$ROOT/dockerd.pid
DOCKER=/usr/bin/docker

answers() { "$DOCKER" -H "unix://$SOCK" version >/dev/null 2>&1; }

start() {
    if answers; then return 0; fi
    mkdir -p "$ROOT/data" "$ROOT/exec"
    /usr/sbin/dockerd \
        --data-root "$ROOT/data" --exec-root "$ROOT/exec" --pidfile "$PIDFILE" \
        --host "unix://$SOCK" --iptables=false --ip-masq=false --bridge=none \
        >"$ROOT/dockerd.log" 2>&1 &
    i=0
    while ! answers; do
        i=$((i + 1))
        if [ "$i" -gt 300 ]; then
            echo "dockerd did not come up; see $ROOT/dockerd.log" >&2
            tail -n 20 "$ROOT/dockerd.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop() {
    [ -f "$PIDFILE" ] || return 0
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do i=$((i + 1)); sleep 0.1; done
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if answers; then echo running; else echo stopped; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
