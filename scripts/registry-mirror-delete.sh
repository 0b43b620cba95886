#!/usr/bin/env bash
# Removes one pull-through registry cache container. Values: CONTAINER_NAME.
set -euo pipefail
: "${CONTAINER_NAME:?}"

if ! command -v docker >/dev/null 2>&1; then
  echo "docker is not installed: container $CONTAINER_NAME cannot exist, nothing to remove" >&2
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  echo "the docker daemon is not running: start Docker so that container $CONTAINER_NAME can be removed" >&2
  exit 1
fi
docker rm -f "$CONTAINER_NAME" >/dev/null
echo "removed container $CONTAINER_NAME"
