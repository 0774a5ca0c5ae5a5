#!/usr/bin/env bash
# Prepare this machine for scion's tests: packages, Podman configuration, a
# running Docker engine and the `scion-test` image in both engines.
#
# Idempotent: every step checks first and does nothing when already done, so
# a second run takes a second or two. Runs as root (CI: root, CI=true, no
# stdin, fresh Debian 12, only the Debian and PyPI registries reachable).
#
# Usage: scripts/test-env.sh [--no-engines] [--rebuild-image] | --stop-dockerd
#   --no-engines     only install packages (machines that test only the
#                    local runtime)
#   --rebuild-image  rebuild the debootstrap rootfs and re-import the test
#                    image into both engines (after changing the recipe)
#   --stop-dockerd   stop the dockerd this script started (scripts/test.sh,
#                    when dockerd was not running before its run)
#
# Environment:
#   SCION_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the one apt
#                        uses on this machine, else http://deb.debian.org/debian)
#
# What it sets up (see docs/images.md and the container-engines notes):
#   /etc/containers/containers.conf   runc, cgroupfs, file events, ulimits
#   dockerd on unix:///var/run/docker.sock (no iptables, no bridge), log in
#     /var/log/scion-dockerd.log
#   /var/cache/scion/scion-test-rootfs.tar   debootstrap bookworm minbase
#     with tmux, git, ca-certificates
#   images localhost/scion-test:latest (podman), scion-test:latest (docker)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CONTAINERS_CONF_PATH=/etc/containers/containers.conf
DOCKER_SOCK=/var/run/docker.sock
DOCKER_PIDFILE=/var/run/docker.pid
DOCKERD_LOG=/var/log/scion-dockerd.log
DOCKERD_WAIT_SECONDS=60
CACHE_DIR=/var/cache/scion
ROOTFS_TAR=$CACHE_DIR/scion-test-rootfs.tar
DEBOOTSTRAP_LOG=/var/log/scion-debootstrap.log
SUITE=bookworm
INCLUDE=tmux,git,ca-certificates
PODMAN_IMAGE=localhost/scion-test:latest
DOCKER_IMAGE=scion-test:latest
DEFAULT_MIRROR=http://deb.debian.org/debian

log() { printf 'test-env: %s\n' "$*"; }
die() { printf 'test-env: error: %s\n' "$*" >&2; exit 1; }

# pid of a live dockerd recorded in the pid file, if any
running_dockerd_pid() {
    local pid
    [[ -r $DOCKER_PIDFILE ]] || return 1
    pid=$(<"$DOCKER_PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
    printf '%s\n' "$pid"
}

no_engines=false
rebuild_image=false
stop_dockerd=false
for arg in "$@"; do
    case $arg in
        --no-engines) no_engines=true ;;
        --rebuild-image) rebuild_image=true ;;
        --stop-dockerd) stop_dockerd=true ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages, starts dockerd, writes /etc)"

start_time=$SECONDS

# One run at a time: two concurrent runs would both debootstrap into the same
# cache and import twice. Children that outlive us (dockerd) must not inherit
# the lock descriptor, or the next run would wait for ever.
LOCK_FILE=/run/lock/scion-test-env.lock
[[ -d /run/lock ]] || LOCK_FILE=/var/lock/scion-test-env.lock
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
    log "another scripts/test-env.sh run holds $LOCK_FILE; waiting for it (up to 15 min)"
    flock -w 900 9 || die "still locked after 15 min: $LOCK_FILE"
fi

if $stop_dockerd; then
    if dpid=$(running_dockerd_pid); then
        log "stopping dockerd (pid $dpid)"
        kill "$dpid" 2>/dev/null || true
        for _ in $(seq 60); do [[ -d /proc/$dpid ]] || break; sleep 0.5; done
        [[ ! -d /proc/$dpid ]] || die "dockerd (pid $dpid) still runs 30 s after SIGTERM"
    fi
    exit 0
fi

# --- 1. packages --------------------------------------------------------------

"$SCRIPT_DIR/install-deps.sh"

if $no_engines; then
    log "ready in $((SECONDS - start_time)) s: packages only (--no-engines)"
    exit 0
fi

# --- 2. podman configuration ---------------------------------------------------

# crun fails on this cgroup v1 hybrid setup and podman's default ulimits are
# above the machine's hard limits; see container-engines notes.
read -r -d '' CONTAINERS_CONF_BODY <<'EOF' || true
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF

if [[ -f $CONTAINERS_CONF_PATH ]] && [[ $(<"$CONTAINERS_CONF_PATH") == "$CONTAINERS_CONF_BODY" ]]; then
    log "ok: $CONTAINERS_CONF_PATH up to date"
else
    mkdir -p "$(dirname "$CONTAINERS_CONF_PATH")"
    if [[ -f $CONTAINERS_CONF_PATH && ! -e $CONTAINERS_CONF_PATH.scion-orig ]]; then
        cp -p "$CONTAINERS_CONF_PATH" "$CONTAINERS_CONF_PATH.scion-orig"
        log "saved previous $CONTAINERS_CONF_PATH as $CONTAINERS_CONF_PATH.scion-orig"
    fi
    printf '%s\n' "$CONTAINERS_CONF_BODY" >"$CONTAINERS_CONF_PATH.tmp.$$"
    mv -f "$CONTAINERS_CONF_PATH.tmp.$$" "$CONTAINERS_CONF_PATH"
    log "wrote $CONTAINERS_CONF_PATH (runc, cgroupfs, file events, ulimits 4096)"
fi

# --- 3. docker engine ----------------------------------------------------------

dk() { docker --host "unix://$DOCKER_SOCK" "$@"; }
docker_answers() { dk version --format '{{.Server.Version}}' >/dev/null 2>&1; }

dockerd_log_tail() {
    if [[ -s $DOCKERD_LOG ]]; then
        printf -- '--- last lines of %s ---\n' "$DOCKERD_LOG" >&2
        tail -n 25 "$DOCKERD_LOG" >&2
    fi
}

if docker_answers; then
    log "ok: docker engine answers on $DOCKER_SOCK"
else
    # On a VM booted with systemd, installing docker.io enables docker.socket
    # and docker.service with the default (iptables, bridge) configuration,
    # which does not work here; stop them so they do not hold the socket.
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        for unit in docker.socket docker.service; do
            if systemctl is-active --quiet "$unit" || systemctl is-failed --quiet "$unit"; then
                log "stopping systemd unit $unit (its default configuration does not work here)"
                systemctl stop "$unit" || true
            fi
        done
    fi

    if dpid=$(running_dockerd_pid); then
        log "dockerd (pid $dpid) is running but not answering yet; waiting"
    else
        mkdir -p "$(dirname "$DOCKERD_LOG")"
        log "starting dockerd (log: $DOCKERD_LOG)"
        # setsid + nohup: dockerd outlives this script and its process group.
        nohup setsid dockerd \
            --host "unix://$DOCKER_SOCK" \
            --iptables=false \
            --bridge=none \
            --data-root /var/lib/docker \
            >"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
        dpid=$!
    fi

    deadline=$((SECONDS + DOCKERD_WAIT_SECONDS))
    waited_from=$SECONDS
    until docker_answers; do
        if ! kill -0 "$dpid" 2>/dev/null; then
            dockerd_log_tail
            die "dockerd exited before answering on $DOCKER_SOCK"
        fi
        if ((SECONDS >= deadline)); then
            dockerd_log_tail
            die "dockerd (pid $dpid) did not answer on $DOCKER_SOCK within ${DOCKERD_WAIT_SECONDS} s"
        fi
        sleep 0.5
    done
    log "docker engine up after $((SECONDS - waited_from)) s (pid $dpid)"
fi

# --- 4. test image ---------------------------------------------------------------

podman_has_image() { podman image exists "$PODMAN_IMAGE"; }
docker_has_image() { dk image inspect "$DOCKER_IMAGE" >/dev/null 2>&1; }

# --rebuild-image re-imports over the existing tags rather than removing the
# images first: containers still running from the old image keep working, and
# the old image is removed afterwards only if nothing uses it.
old_podman_id=""
old_docker_id=""
if $rebuild_image; then
    log "--rebuild-image: removing $ROOTFS_TAR, re-importing into both engines"
    rm -f "$ROOTFS_TAR"
    old_podman_id=$(podman image inspect --format '{{.Id}}' "$PODMAN_IMAGE" 2>/dev/null || true)
    old_docker_id=$(dk image inspect --format '{{.Id}}' "$DOCKER_IMAGE" 2>/dev/null || true)
fi

# The Debian mirror apt uses on this machine (the only one reachable in CI).
# Reads one-line *.list and deb822 *.sources files in apt's order and prints
# "URI KEYRING" for the first enabled "deb" entry that carries $SUITE
# (KEYRING is "-" when the entry names no usable keyring file).
apt_mirror() {
    local files=() f
    if [[ -f /etc/apt/sources.list ]]; then files+=(/etc/apt/sources.list); fi
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        if [[ -f $f ]]; then files+=("$f"); fi
    done
    ((${#files[@]})) || return 1
    awk -v suite="$SUITE" '
        function usable(uri) { return uri ~ /^(https?|file):\/\// }
        function has(list, word,   n, i, a) {
            n = split(list, a, /[ \t]+/)
            for (i = 1; i <= n; i++) if (a[i] == word) return 1
            return 0
        }
        function flush_stanza(   n, i, u) {
            if (types != "" && has(types, "deb") && has(suites, suite) && enabled != "no") {
                n = split(uris, u, /[ \t]+/)
                for (i = 1; i <= n; i++) if (usable(u[i])) { print u[i], (keyring == "" ? "-" : keyring); found = 1; exit }
            }
            types = suites = uris = keyring = enabled = ""
        }
        FNR == 1 { if (deb822) flush_stanza(); deb822 = (FILENAME ~ /\.sources$/) }
        !deb822 {
            sub(/#.*/, "")
            if ($1 != "deb") next
            kr = ""; i = 2
            if ($2 ~ /^\[/) {
                opts = ""
                while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
                if (match(opts, /signed-by=[^ \]]+/)) kr = substr(opts, RSTART + 10, RLENGTH - 10)
            }
            if ($(i + 1) == suite && usable($i)) { print $i, (kr == "" ? "-" : kr); found = 1; exit }
            next
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush_stanza(); next }
        /^[ \t]/ { next }   # continuation line (e.g. an inline Signed-By key)
        {
            key = tolower($1); sub(/:$/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
            else if (key == "signed-by" && val ~ /^\//) keyring = val
        }
        END { if (deb822 && !found) flush_stanza() }
    ' "${files[@]}"
}

# Unmount anything debootstrap left mounted under $1, then remove it without
# ever crossing into another file system.
remove_rootfs() {
    local dir=$1 mnt
    [[ -d $dir ]] || return 0
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$dir"
}

build_rootfs_tar() {
    local mirror keyring="-" found rootfs_parent t0
    if [[ -n ${SCION_DEBIAN_MIRROR:-} ]]; then
        mirror=$SCION_DEBIAN_MIRROR
    elif found=$(apt_mirror) && [[ -n $found ]]; then
        read -r mirror keyring <<<"$found"
    else
        mirror=$DEFAULT_MIRROR
        log "no $SUITE entry found in apt sources; falling back to $mirror"
    fi
    local dbs_args=(--variant=minbase "--include=$INCLUDE")
    # debootstrap checks signatures with gpgv, which reads binary keyrings only.
    if [[ $keyring != "-" && $keyring == *.gpg && -r $keyring ]]; then
        dbs_args+=("--keyring=$keyring")
    fi

    # debootstrap fetches with wget, which does not read apt's proxy setting.
    local apt_proxy=""
    eval "$(apt-config shell apt_proxy Acquire::http::Proxy)"
    if [[ -n $apt_proxy && -z ${http_proxy:-} ]]; then
        export http_proxy=$apt_proxy
        log "using apt's HTTP proxy $apt_proxy for debootstrap"
    fi

    mkdir -p "$CACHE_DIR"
    # Leftovers of an interrupted run (we hold the lock, so none is in use).
    local stale
    for stale in "$CACHE_DIR"/build.*; do
        if [[ -d $stale ]]; then remove_rootfs "$stale"; fi
    done
    rm -f "$ROOTFS_TAR".tmp.*
    rootfs_parent=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -f '$ROOTFS_TAR.tmp.$$'; remove_rootfs '$rootfs_parent'" EXIT

    log "building test image (about 35 s): debootstrap $SUITE from $mirror (log: $DEBOOTSTRAP_LOG)"
    t0=$SECONDS
    if ! debootstrap "${dbs_args[@]}" "$SUITE" "$rootfs_parent/rootfs" "$mirror" \
            >"$DEBOOTSTRAP_LOG" 2>&1 </dev/null; then
        printf -- '--- last lines of %s ---\n' "$DEBOOTSTRAP_LOG" >&2
        tail -n 25 "$DEBOOTSTRAP_LOG" >&2
        die "debootstrap from $mirror failed (set SCION_DEBIAN_MIRROR to another mirror?)"
    fi
    log "debootstrap done in $((SECONDS - t0)) s"

    # The downloaded .debs, apt's package lists and its caches are a third of
    # the rootfs and useless without a network; drop them as slim Debian
    # images do.
    rm -rf "$rootfs_parent/rootfs/var/lib/apt/lists/"*
    mkdir -p "$rootfs_parent/rootfs/var/lib/apt/lists/partial"
    rm -f "$rootfs_parent/rootfs/var/cache/apt/"*.bin "$rootfs_parent/rootfs/var/cache/apt/archives/"*.deb

    # Write then rename, so an existing tarball is always complete.
    tar --numeric-owner -C "$rootfs_parent/rootfs" -cf "$ROOTFS_TAR.tmp.$$" .
    mv -f "$ROOTFS_TAR.tmp.$$" "$ROOTFS_TAR"
    log "cached rootfs at $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"

    remove_rootfs "$rootfs_parent"
    trap - EXIT
}

need_podman=false
need_docker=false
if $rebuild_image; then
    need_podman=true
    need_docker=true
else
    if podman_has_image; then log "ok: podman has $PODMAN_IMAGE"; else need_podman=true; fi
    if docker_has_image; then log "ok: docker has $DOCKER_IMAGE"; else need_docker=true; fi
fi

if $need_podman || $need_docker; then
    if [[ -s $ROOTFS_TAR ]]; then
        log "using cached rootfs $ROOTFS_TAR"
    else
        build_rootfs_tar
    fi
    if $need_podman; then
        log "importing into podman as $PODMAN_IMAGE"
        podman import --quiet - "$PODMAN_IMAGE" <"$ROOTFS_TAR" >/dev/null
    fi
    if $need_docker; then
        log "importing into docker as $DOCKER_IMAGE"
        dk import - "$DOCKER_IMAGE" <"$ROOTFS_TAR" >/dev/null
    fi
    if [[ -n $old_podman_id ]] && podman rmi "$old_podman_id" >/dev/null 2>&1; then
        log "removed the previous podman image ${old_podman_id:0:12}"
    fi
    if [[ -n $old_docker_id ]] && dk rmi "$old_docker_id" >/dev/null 2>&1; then
        log "removed the previous docker image ${old_docker_id:7:12}"
    fi
fi

# --- 4b. the non-root agent user in the test image (issue 14) ------------------

# Agents may run as a non-root user (runtimes.<name>.run_as_user); the real
# CLIs want a passwd entry for their uid. The image gets a user, uid and gid
# 1000 (named `scion`, as in the product images of docs/images.md), once:
# a container adds it and is committed over the same tag (an image without
# it predates this step or was just imported).
AGENT_UID=1000
ensure_agent_user() { # program image [commit option]
    local program=$1 image=$2 quiet=${3:-} name
    if "$program" run --rm --network none "$image" sh -c "[ \"\$(id -u scion 2>/dev/null):\$(id -g scion 2>/dev/null)\" = $AGENT_UID:$AGENT_UID ]" >/dev/null 2>&1; then
        log "ok: $image has user scion ($AGENT_UID:$AGENT_UID)"
        return 0
    fi
    name=scion-test-env-agent-user-$$
    "$program" rm -f "$name" >/dev/null 2>&1 || true
    "$program" run --name "$name" --network none "$image" \
        useradd --uid "$AGENT_UID" --user-group --create-home --shell /bin/sh scion >/dev/null ||
        die "cannot add user scion ($AGENT_UID) to $image"
    "$program" commit ${quiet:+"$quiet"} --change 'CMD ["/bin/sh"]' "$name" "$image" >/dev/null || die "cannot commit $image with user scion"
    "$program" rm -f "$name" >/dev/null 2>&1 || true
    log "added user scion ($AGENT_UID:$AGENT_UID) to $image"
}
ensure_agent_user podman "$PODMAN_IMAGE" --quiet
ensure_agent_user dk "$DOCKER_IMAGE"

# --- 5. smoke check ----------------------------------------------------------------

# One throwaway container per engine (about half a second each): proves the
# runtime configuration works before any test depends on it.
podman_runtime=$(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null || true)
[[ $podman_runtime == runc ]] || die "podman uses OCI runtime '${podman_runtime:-?}', expected runc (check $CONTAINERS_CONF_PATH${CONTAINERS_CONF:+ and CONTAINERS_CONF=$CONTAINERS_CONF})"
if ! out=$(podman run --rm --network none "$PODMAN_IMAGE" tmux -V 2>&1); then
    printf '%s\n' "$out" >&2
    die "podman cannot run $PODMAN_IMAGE"
fi
if ! out=$(dk run --rm --network none "$DOCKER_IMAGE" tmux -V 2>&1); then
    printf '%s\n' "$out" >&2
    die "docker cannot run $DOCKER_IMAGE"
fi

log "ready in $((SECONDS - start_time)) s: podman (runc) $PODMAN_IMAGE, docker $(dk version --format '{{.Server.Version}}') $DOCKER_IMAGE, $out in the image"
