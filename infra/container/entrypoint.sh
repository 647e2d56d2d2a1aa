#!/bin/sh
# The image's entrypoint: one image runs every Itinera role, the one named by ROLE (seed 001,
# A2). Each role is an `itinera` subcommand; the container's arguments are passed on to it.
# The last command is `exec`ed so the role itself is the process that receives SIGTERM and
# drains within ITINERA_SHUTDOWN_GRACE_SECONDS.
#
#   api, serve                      listen on 0.0.0.0:${PORT:-8000}
#   relay, worker, planner, migrate the subcommand of that name
#   setup                           one-shot: migrate, topics create, and keys rotate when
#                                   ITINERA_KEYS_DIR has no signing key yet (so running it
#                                   again never adds a key)
#   cli                             any `itinera` command, e.g. `keys rotate`, `status`, `dlq list`
#
# CONTAINER_DRY_RUN=1 prints the command lines instead of running them (the unit tests check
# the mapping this way, with no Docker engine).
set -eu

ROLES="api serve relay worker planner migrate setup cli"

step() {
    if [ "${CONTAINER_DRY_RUN:-}" = 1 ]; then
        printf '%s\n' "$*"
    else
        "$@"
    fi
}

last() {
    if [ "${CONTAINER_DRY_RUN:-}" = 1 ]; then
        printf '%s\n' "$*"
        exit 0
    fi
    exec "$@"
}

case "${ROLE:-}" in
    api | serve)
        last itinera "$ROLE" --host 0.0.0.0 --port "${PORT:-8000}" "$@"
        ;;
    relay | worker | planner | migrate)
        last itinera "$ROLE" "$@"
        ;;
    setup)
        if [ "$#" -gt 0 ]; then
            echo "itinera-entrypoint: ROLE=setup takes no arguments (ROLE=cli runs any command)" >&2
            exit 64
        fi
        keys_dir="${ITINERA_KEYS_DIR:-${ITINERA_DATA_DIR:-.itinera}/keys}"
        step itinera migrate
        step itinera topics create
        if [ -s "$keys_dir/signing" ]; then
            echo "itinera-entrypoint: $keys_dir has a signing key already; not rotating" >&2
            exit 0
        fi
        last itinera keys rotate
        ;;
    cli)
        last itinera "$@"
        ;;
    *)
        echo "itinera-entrypoint: unknown ROLE '${ROLE:-}'; valid: $ROLES" >&2
        exit 64
        ;;
esac
