#!/bin/sh
# Start or stop a private dockerd for dockyard's interop tests and benchmarks.
#   scripts/dockerd.sh start|stop|status
# Idempotent: `start` returns at once when the daemon already answers on the socket.
# The daemon keeps its state under $DOCKYARD_DOCKERD_ROOT (default /tmp/dockyard-dockerd)
# and listens on /var/run/docker.sock, so the docker CLI needs no extra flags.
# iptables and the bridge are off: the tests need no container networking, and the
# machine's kernel may not have the netfilter modules.
# DOCKYARD_DOCKERD_NETWORK=bridge starts it as installed instead (for the benches that
# compare docker's default network and its published ports): its default bridge network
# on a bridge of our own ($BRIDGE), iptables on. `stop` then deletes the bridge and puts
# back the iptables rules (filter and nat, whole: rules others added meanwhile go too,
# so this is for a machine that runs benches) and the ip_forward it found.
set -eu

ROOT=${DOCKYARD_DOCKERD_ROOT:-/tmp/dockyard-dockerd}
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
PIDFILE=$ROOT/dockerd.pid
DOCKER=/usr/bin/docker
NETWORK=${DOCKYARD_DOCKERD_NETWORK:-none}
BRIDGE=dybench0
BRIDGE_CIDR=172.30.255.1/24

answers() { "$DOCKER" -H "unix://$SOCK" version >/dev/null 2>&1; }

start() {
    if answers; then return 0; fi
    mkdir -p "$ROOT/data" "$ROOT/exec"
    netflags="--iptables=false --ip-masq=false --bridge=none"
    if [ "$NETWORK" = bridge ]; then
        if [ -e "$ROOT/iptables.saved" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
            echo "a bridge-mode dockerd was not stopped ($BRIDGE exists or $ROOT holds" \
                 "saved rules): run '$0 stop' with its root, or 'ip link del $BRIDGE'" >&2
            exit 1
        fi
        save_network
        ip link add "$BRIDGE" type bridge
        ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
        ip link set "$BRIDGE" up
        netflags="--bridge $BRIDGE"
    fi
    # shellcheck disable=SC2086 # netflags is a list of words
    /usr/sbin/dockerd \
        --data-root "$ROOT/data" --exec-root "$ROOT/exec" --pidfile "$PIDFILE" \
        --host "unix://$SOCK" $netflags \
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
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do i=$((i + 1)); sleep 0.1; done
        rm -f "$PIDFILE"
    fi
    restore_network
}

save_network() {
    # iptables-restore rewrites only the tables named in its input: name filter and nat
    # even when empty now, so that docker's chains and rules in them go too.
    iptables-save >"$ROOT/iptables.tmp"
    grep -q '^\*filter' "$ROOT/iptables.tmp" ||
        printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' \
            >>"$ROOT/iptables.tmp"
    grep -q '^\*nat' "$ROOT/iptables.tmp" ||
        printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' \
            >>"$ROOT/iptables.tmp"
    cat /proc/sys/net/ipv4/ip_forward >"$ROOT/ip_forward.saved"
    mv "$ROOT/iptables.tmp" "$ROOT/iptables.saved"  # last: its presence means "saved"
}

restore_network() {
    [ -f "$ROOT/iptables.saved" ] || return 0
    iptables-restore <"$ROOT/iptables.saved" || true
    cat "$ROOT/ip_forward.saved" >/proc/sys/net/ipv4/ip_forward || true
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -f "$ROOT/iptables.saved" "$ROOT/ip_forward.saved"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if answers; then echo running; else echo stopped; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
