#!/bin/sh
# The image's HEALTHCHECK, the same for every role and without curl: asks the role's liveness
# endpoint `/health/` on the port it serves. The API (and serve) serve it on ${PORT:-8000};
# the relay, worker and planner on ITINERA_METRICS_PORT, next to `/metrics` (unset: they serve
# nothing, so there is nothing to ask). The one-shots (migrate, setup, cli) serve nothing.
# CONTAINER_DRY_RUN=1 prints the URL it would ask instead (the unit tests use it).
set -eu

case "${ROLE:-}" in
    api | serve) port="${PORT:-8000}" ;;
    relay | worker | planner) port="${ITINERA_METRICS_PORT:-}" ;;
    *) port="" ;;
esac

if [ -z "$port" ]; then
    if [ "${CONTAINER_DRY_RUN:-}" = 1 ]; then
        echo "nothing to check"
    fi
    exit 0
fi
url="http://127.0.0.1:$port/health/"
if [ "${CONTAINER_DRY_RUN:-}" = 1 ]; then
    echo "$url"
    exit 0
fi
exec python -c '
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=4):
        pass
except OSError as error:  # refused, timed out, or an HTTP error status (HTTPError)
    print(f"unhealthy: {sys.argv[1]}: {error}")
    sys.exit(1)
' "$url"
