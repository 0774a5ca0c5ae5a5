#!/usr/bin/env bash
# Build scion's agent images with docker or podman.
#
# Usage: images/build.sh [-n|--dry-run] [docker|podman] [IMAGE...] [-- BUILD-ARGS...]
#
#   docker|podman  the engine (default: docker if its daemon answers, else podman)
#   IMAGE...       any of: base claude gemini codex (default: all, in that order;
#                  base is always built first when it is in the list)
#   -- ARGS...     passed to every `build` (for example -- --no-cache,
#                  or -- --network host behind a restrictive bridge)
#   -n, --dry-run  print the build commands without running them
#
# Tags: scion-base:latest, scion-claude:latest, scion-gemini:latest,
# scion-codex:latest (podman stores them as localhost/scion-*:latest).
#
# Environment (each passed as a build argument when set):
#   CLAUDE_CODE_VERSION, GEMINI_CLI_VERSION, CODEX_VERSION   harness versions (default latest)
#   SCION_UID, SCION_GID                                     uid/gid of the `scion` user (default 1000)
#   NODE_IMAGE                                               node image for the harness images
#   DEBIAN_IMAGE                                             base image of scion-base
#
# Needs access to a registry with debian and node images and to the npm
# registry. See docs/images.md.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL=(base claude gemini codex)

log() { printf 'build: %s\n' "$*"; }
die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

dry_run=false
engine=""
wanted=()
extra=()
while (($#)); do
    case $1 in
        -n|--dry-run) dry_run=true ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        docker|podman)
            [[ -z $engine ]] || die "engine given twice ($engine, $1)"
            engine=$1 ;;
        base|claude|gemini|codex) wanted+=("$1") ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

if [[ -z $engine ]]; then
    if command -v docker >/dev/null && docker version >/dev/null 2>&1; then
        engine=docker
    elif command -v podman >/dev/null; then
        engine=podman
    else
        die "neither a running docker engine nor podman found; pass docker or podman"
    fi
fi
$dry_run || command -v "$engine" >/dev/null || die "$engine is not installed"

# Build order: base first, then the harness images in the order of ALL.
order=()
for name in "${ALL[@]}"; do
    if ((${#wanted[@]} == 0)) || [[ " ${wanted[*]} " == *" $name "* ]]; then
        order+=("$name")
    fi
done

# The name under which the engine stores the base image, for FROM.
if [[ $engine == podman ]]; then
    base_ref=localhost/scion-base:latest
else
    base_ref=scion-base:latest
fi

if [[ " ${order[*]} " != *" base "* ]] && ! $dry_run; then
    "$engine" image inspect "$base_ref" >/dev/null 2>&1 ||
        die "$base_ref is missing; build it first: images/build.sh $engine base"
fi

# Build arguments each Dockerfile declares (besides BASE_IMAGE); only those
# set in the environment are passed, so no engine warns about unused ones.
declare -A ARGS_OF=(
    [base]="DEBIAN_IMAGE SCION_UID SCION_GID"
    [claude]="NODE_IMAGE"
    [gemini]="NODE_IMAGE"
    [codex]="NODE_IMAGE"
)
# The harness images share images/harness/Dockerfile: package, command and
# the variable that pins the version.
declare -A PACKAGE_OF=([claude]=@anthropic-ai/claude-code [gemini]=@google/gemini-cli [codex]=@openai/codex)
declare -A VERSION_VAR_OF=([claude]=CLAUDE_CODE_VERSION [gemini]=GEMINI_CLI_VERSION [codex]=CODEX_VERSION)

start=$SECONDS
for name in "${order[@]}"; do
    cmd=("$engine" build --tag "scion-$name:latest")
    [[ $name == base ]] || cmd+=(--build-arg "BASE_IMAGE=$base_ref")
    for var in ${ARGS_OF[$name]}; do
        if [[ -n ${!var:-} ]]; then cmd+=(--build-arg "$var=${!var}"); fi
    done
    folder=$IMAGES_DIR/$name
    if [[ $name != base ]]; then
        folder=$IMAGES_DIR/harness
        version_var=${VERSION_VAR_OF[$name]}
        cmd+=(--build-arg "HARNESS_PACKAGE=${PACKAGE_OF[$name]}" --build-arg "HARNESS_COMMAND=$name"
            --build-arg "HARNESS_VERSION=${!version_var:-latest}")
    fi
    cmd+=(${extra[@]+"${extra[@]}"}
        --file "$folder/Dockerfile"
        "$folder")
    if $dry_run; then
        printf '%q ' "${cmd[@]}"
        printf '\n'
        continue
    fi
    log "building scion-$name:latest with $engine"
    t0=$SECONDS
    "${cmd[@]}"
    log "built scion-$name:latest in $((SECONDS - t0)) s"
done

$dry_run || log "done in $((SECONDS - start)) s: $(printf 'scion-%s:latest ' "${order[@]}")"
