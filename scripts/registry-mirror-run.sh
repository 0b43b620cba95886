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
    if ! docker start "$CONTAINER_NAME" >/dev/null; then
      printf '%s\n' "docker start of the stopped registry cache $CONTAINER_NAME failed (see above)" \
        "Look with: docker logs $CONTAINER_NAME" >&2
      exit 1
    fi
    echo "started the existing container $CONTAINER_NAME"
  fi
else
  echo "[$CONTAINER_NAME] starting the cache (docker pulls $IMAGE the first time)" >&2
  if ! docker run -d --restart always --name "$CONTAINER_NAME" -p "$HOST_PORT:5000" \
    -e "REGISTRY_PROXY_REMOTEURL=$REMOTE_URL" "$IMAGE" >/dev/null; then
    printf '%s\n' "docker run of the registry cache $CONTAINER_NAME (port $HOST_PORT, $IMAGE) failed (see above)" \
      "Look with: docker ps -a --filter name=$CONTAINER_NAME" "  and: docker logs $CONTAINER_NAME" >&2
    exit 1
  fi
  echo "started $CONTAINER_NAME on port $HOST_PORT for $REMOTE_URL"
fi
