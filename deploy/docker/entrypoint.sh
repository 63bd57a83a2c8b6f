#!/bin/sh
# Entrypoint of every Ring image.
#   no arguments   -> exec `ring serve "$RING_SERVICE"` (the service baked in at build time)
#   any arguments  -> exec them as given, e.g. `ring admin create ...` or `ring settings`
set -eu
if [ "$#" -eq 0 ]; then
    exec ring serve "${RING_SERVICE:?RING_SERVICE is not set; build with --build-arg SERVICE=<name>}"
fi
exec "$@"
