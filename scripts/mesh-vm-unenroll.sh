#!/usr/bin/env bash
# On the host, on destroy: takes mesh VM VM out of the mesh. Stops its sidecar (istiod then drops the
# auto-registered WorkloadEntry) and deletes that entry, NAMESPACE/ENTRY, from cluster CLUSTER. Either VM may
# already be gone: that is not an error.
set -euo pipefail
: "${VM:?}" "${CLUSTER:?}" "${NAMESPACE:?}" "${ENTRY:?}"

exists() {
  multipass info "$1" >/dev/null 2>&1
}

if exists "$VM"; then
  multipass exec "$VM" -- sudo systemctl disable --now istio ||
    echo "warning: could not stop istio in VM $VM" >&2
else
  echo "VM $VM is gone: nothing to stop"
fi
if exists "$CLUSTER"; then
  multipass exec "$CLUSTER" -- sudo k3s kubectl -n "$NAMESPACE" delete workloadentry "$ENTRY" --ignore-not-found ||
    echo "warning: could not delete WorkloadEntry $NAMESPACE/$ENTRY from $CLUSTER" >&2
else
  echo "cluster $CLUSTER is gone: no WorkloadEntry to delete"
fi
