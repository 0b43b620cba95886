#!/usr/bin/env bash
# On the host: collects what the mesh check judges (components/mesh-check-logic.ts), as the README's tests do.
# For each client, the sleep pod of each workload cluster (CLUSTER_CLIENTS) and each mesh VM (VM_CLIENTS):
# its IP (multipass info), REQUESTS answers to `curl -s URL`, and its sidecar's Envoy admin /clusters. Before
# collecting, waits up to WAIT_SECONDS for each sidecar to list MIN_ENDPOINTS endpoints of ENVOY_CLUSTER.
# Prints sections headed by `### ` lines; never fails on what it sees (judging is not its job).
set -euo pipefail
: "${REQUESTS:?}" "${URL:?}" "${NAMESPACE:?}" "${ENVOY_CLUSTER:?}" "${MIN_ENDPOINTS:?}" "${WAIT_SECONDS:?}"
read -r -a cluster_clients <<<"${CLUSTER_CLIENTS:-}"
read -r -a vm_clients <<<"${VM_CLIENTS:-}"

# Run by the client's shell (sh in the sleep pod, bash in a VM) with the count and the URL as $1 and $2.
# shellcheck disable=SC2016 # expanded by the client's shell, not here
requests_loop='i=0
while [ "$i" -lt "$1" ]; do
  i=$((i + 1))
  echo "### answer $i"
  curl -s -m 10 -w "\n### status %{http_code}\n" "$2" || true
done'

# on_client KIND NAME ARGS...: runs ARGS in the sleep pod's container (cluster) or in the VM.
on_client() {
  local kind=$1 name=$2
  shift 2
  if [[ $kind == cluster ]]; then
    multipass exec "$name" -- sudo k3s kubectl -n "$NAMESPACE" exec -i deploy/sleep -c "${CONTAINER:-sleep}" -- "$@"
  else
    multipass exec "$name" -- "$@"
  fi
}

clusters_dump() {
  CONTAINER=istio-proxy on_client "$1" "$2" curl -s localhost:15000/clusters
}

endpoint_count() {
  { clusters_dump "$1" "$2" 2>/dev/null || true; } | grep -F "${ENVOY_CLUSTER}::" |
    awk -F'::' '$2 ~ /:[0-9]+$/ { print $2 }' | sort -u | wc -l
}

check_client() {
  local kind=$1 name=$2 rc
  local deadline=$((SECONDS + WAIT_SECONDS))
  until (($(endpoint_count "$kind" "$name") >= MIN_ENDPOINTS)) || ((SECONDS >= deadline)); do sleep 5; done
  echo "### client $name info"
  rc=0
  multipass info --format json "$name" || rc=$?
  echo "### exit $rc"
  echo "### client $name requests"
  rc=0
  if [[ $kind == cluster ]]; then
    printf '%s\n' "$requests_loop" | on_client cluster "$name" sh -s "$REQUESTS" "$URL" 2>&1 || rc=$?
  else
    printf '%s\n' "$requests_loop" | on_client vm "$name" bash -s "$REQUESTS" "$URL" 2>&1 || rc=$?
  fi
  echo "### exit $rc"
  echo "### client $name clusters"
  rc=0
  clusters_dump "$kind" "$name" 2>&1 || rc=$?
  echo "### exit $rc"
}

for c in "${cluster_clients[@]}"; do check_client cluster "$c"; done
for v in "${vm_clients[@]}"; do check_client vm "$v"; done
