#!/usr/bin/env bash
# The Kubernetes test cluster (issue 9): an API server of the project's own
# (Tests/KubeTestCluster) whose pods run as real docker containers. Test
# infrastructure only: never installed.
#
# Usage: scripts/kube-test-cluster.sh up|down [--force]|status|restart|fault JSON
#   up       idempotent; builds the server if needed, makes a CA and
#            certificates, starts the server in the background; the last line
#            printed is KUBECONFIG=/path/to/kubeconfig. Every up takes a lease
#            for its holder (the calling process, or KUBE_TEST_CLUSTER_HOLDER)
#   down     releases one lease of the holder; stops the server and removes
#            exactly its own containers and state only when no live holder is
#            left (leases of processes that have exited do not count)
#   down --force  stops it whoever still holds it
#   status   says whether it runs (exit 0) or not (exit 1), and its live holders
#   restart  stops and starts the server keeping its state (objects, pods,
#            credentials, port)
#   fault    posts JSON to the fault endpoint, for example
#            '{"error":{"code":429,"count":2,"retryAfter":1}}' (see
#            Tests/KubeTestCluster/Faults.swift)
#
# Environment:
#   KUBE_TEST_CLUSTER_DIR   state folder (default /tmp/scion-kube-test-cluster);
#                           several test processes share one cluster through it
#   KUBE_TEST_CLUSTER_HOLDER  the pid that holds the lease taken by up and
#                           released by down (default: the process that runs
#                           this script, $PPID)
#   KUBE_TEST_CLUSTER_ARGS  extra server arguments, e.g. "--node-cpu 4 --node-pods 110"
#   KUBE_TEST_CLUSTER_BIN   the server binary (default .build/debug/kube-test-cluster,
#                           built with `swift build --product kube-test-cluster` if missing)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${KUBE_TEST_CLUSTER_DIR:-/tmp/scion-kube-test-cluster}
log() { printf 'kube-test-cluster: %s\n' "$*" >&2; }
die() { printf 'kube-test-cluster: error: %s\n' "$*" >&2; exit 1; }

running() {
    [[ -f $dir/pid ]] || return 1
    local pid
    pid=$(cat "$dir/pid")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

binary() {
    local bin=${KUBE_TEST_CLUSTER_BIN:-$root/.build/debug/kube-test-cluster}
    if [[ ! -x $bin || -n ${KUBE_TEST_CLUSTER_REBUILD:-} ]]; then
        log "building kube-test-cluster"
        (cd "$root" && swift build --product kube-test-cluster >&2)
    fi
    printf '%s\n' "$bin"
}

certificates() {
    [[ -f $dir/ca.crt && -f $dir/server.crt && -f $dir/cert-user.crt ]] && return 0
    command -v openssl >/dev/null || die "openssl is needed to make the test cluster's certificates (apt-get install openssl)"
    local ext=$dir/server.ext
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=scion-test-ca" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >"$ext"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 30 -extfile "$ext" -out "$dir/server.crt" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=cert-user/O=system:authenticated" \
        -keyout "$dir/cert-user.key" -out "$dir/cert-user.csr" 2>/dev/null
    openssl x509 -req -in "$dir/cert-user.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 30 -extfile "$ext" -out "$dir/cert-user.crt" 2>/dev/null
    rm -f "$dir"/*.csr "$ext"
    chmod 600 "$dir"/*.key
}

start() {
    local bin
    bin=$(binary)
    certificates
    rm -f "$dir/ready"
    # shellcheck disable=SC2086
    setsid "$bin" --state "$dir" ${KUBE_TEST_CLUSTER_ARGS:-} >>"$dir/server.log" 2>&1 </dev/null 9>&- &
    echo $! >"$dir/pid"
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -f $dir/ready ]] && return 0
        running || { tail -20 "$dir/server.log" >&2; die "the server exited at start (log: $dir/server.log)"; }
        sleep 0.1
    done
    die "the server did not get ready within 30 s (log: $dir/server.log)"
}

stop() {
    running || return 0
    local pid i
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    # What the server started and left behind (its docker events stream, log followers)
    # is in its process group (setsid made it the leader).
    kill -TERM -- "-$pid" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/ready"
}

with_lock() {
    mkdir -p "$dir"
    chmod 700 "$dir"
    exec 9>"$dir/lock"
    flock -w 300 9 || die "another kube-test-cluster.sh holds $dir/lock"
}

# Leases: one line "pid start-time" per up in $dir/leases; the start time (field
# 22 of /proc/pid/stat) tells a live holder from a new process that reuses its pid.
holder=${KUBE_TEST_CLUSTER_HOLDER:-$PPID}
started_at() { [[ -r /proc/$1/stat ]] && sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
live_leases() {
    [[ -f $dir/leases ]] || return 0
    local pid since
    while read -r pid since; do
        if [[ -n $pid && $(started_at "$pid" 2>/dev/null) == "$since" ]]; then printf '%s %s\n' "$pid" "$since"; fi
    done <"$dir/leases"
    return 0
}
take_lease() {
    local since
    since=$(started_at "$holder") || die "the lease holder $holder is not a running process (KUBE_TEST_CLUSTER_HOLDER)"
    { live_leases; printf '%s %s\n' "$holder" "$since"; } >"$dir/leases.new"
    mv "$dir/leases.new" "$dir/leases"
}
# Drops one lease of the holder and the stale ones; prints how many live ones are left.
release_lease() {
    local since dropped="" pid at
    since=$(started_at "$holder" 2>/dev/null || true)
    live_leases | while read -r pid at; do
        if [[ -z $dropped && $pid == "$holder" && $at == "$since" ]]; then dropped=1; continue; fi
        printf '%s %s\n' "$pid" "$at"
    done >"$dir/leases.new" || true
    mv "$dir/leases.new" "$dir/leases"
    wc -l <"$dir/leases"
}

case ${1:-} in
up)
    with_lock
    if running && [[ -f $dir/ready ]]; then
        log "already running (pid $(cat "$dir/pid"))"
    else
        docker version >/dev/null 2>&1 || die "docker does not answer; start it with scripts/test-env.sh"
        rm -f "$dir/leases"
        start
        log "running (pid $(cat "$dir/pid")), state in $dir"
    fi
    take_lease
    echo "KUBECONFIG=$dir/kubeconfig"
    ;;
down)
    [[ -z ${2:-} || ${2:-} == --force ]] || die "usage: $0 down [--force]"
    with_lock
    left=$(release_lease)
    if running && ((left > 0)) && [[ ${2:-} != --force ]]; then
        log "lease released; still held by $left live holder(s) (pids $(cut -d' ' -f1 "$dir/leases" | paste -sd' ')), so it keeps running; down --force stops it anyway"
        exit 0
    fi
    stop
    if [[ -f $dir/cluster-id ]] && command -v docker >/dev/null; then
        ids=$(docker ps -aq --filter "label=scion.kube-test-cluster=$(cat "$dir/cluster-id")" 2>/dev/null || true)
        # shellcheck disable=SC2086
        [[ -n $ids ]] && docker rm -f $ids >/dev/null
    fi
    # Keep the lock file until the end: remove everything else.
    find "$dir" -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
    log "stopped; its containers and state are gone"
    ;;
restart)
    with_lock
    stop
    start
    log "restarted with its state kept (pid $(cat "$dir/pid"))"
    echo "KUBECONFIG=$dir/kubeconfig"
    ;;
status)
    if running && [[ -f $dir/ready ]]; then
        echo "running (pid $(cat "$dir/pid")), $(live_leases | wc -l) live holder(s), KUBECONFIG=$dir/kubeconfig"
    else
        echo "not running"
        exit 1
    fi
    ;;
fault)
    [[ -n ${2:-} ]] || die "usage: $0 fault JSON"
    running || die "not running"
    token=$(sed -n 's/.*"admin":"\([^"]*\)".*/\1/p' "$dir/tokens.json")
    curl -sS --fail-with-body --cacert "$dir/ca.crt" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -X POST --data "$2" \
        "https://127.0.0.1:$(cat "$dir/port")/scion-test/faults"
    echo
    ;;
*)
    sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
