#!/usr/bin/env bash
# Sets the image of istiod's `discovery` container (Deployment DEPLOYMENT in istio-system of the k3s cluster in
# VM CLUSTER) to IMAGE and waits for the rollout. Argo CD leaves that image alone while pilot's Application
# ignores it (debugPilotImage set); once it no longer does, Argo CD's self-heal puts the chart's image back.
set -euo pipefail
: "${CLUSTER:?}" "${DEPLOYMENT:?}" "${IMAGE:?}" "${ROLLOUT_TIMEOUT_SECONDS:?}"

kubectl() { multipass exec "$CLUSTER" -- sudo k3s kubectl "$@" </dev/null; }

kubectl -n istio-system set image "deployment/$DEPLOYMENT" "discovery=$IMAGE"
if ! kubectl -n istio-system rollout status "deployment/$DEPLOYMENT" --timeout "${ROLLOUT_TIMEOUT_SECONDS}s"; then
  echo "istiod ($DEPLOYMENT) in $CLUSTER did not roll out with image $IMAGE within ${ROLLOUT_TIMEOUT_SECONDS}s." \
    "Is the image pullable? multipass exec $CLUSTER -- sudo k3s kubectl -n istio-system get pods" >&2
  exit 1
fi
