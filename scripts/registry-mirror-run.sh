#!/usr/bin/env bash
# Runs one pull-through registry cache on the host, or adopts the container of that name when it exists
# (starting it when stopped). Values: CONTAINER_NAME, IMAGE, HOST_PORT, REMOTE_URL.
set -euo pipefail
: "${CONTAINER_NAME:?}" "${IMAGE:?}" "${HOST_PORT:?}" "${REMOTE_URL:?}"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "docker is not installed or its daemon is not running: install Docker, or set registryMirrorsEnabled=false" >&2
  exit 1
fi

if running=$(docker container inspect --format '{{.State.Running}}' "$CONTAINER_NAME" 2>/dev/null); then
  if [[ $running == true ]]; then
    echo "adopting the running container $CONTAINER_NAME"
  else
    docker start "$CONTAINER_NAME" >/dev/null
    echo "started the existing container $CONTAINER_NAME"
  fi
else
  docker run -d --restart always --name "$CONTAINER_NAME" -p "$HOST_PORT:5000" \
    -e "REGISTRY_PROXY_REMOTEURL=$REMOTE_URL" "$IMAGE" >/dev/null
  echo "started $CONTAINER_NAME on port $HOST_PORT for $REMOTE_URL"
fi
