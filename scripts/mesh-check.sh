#!/usr/bin/env bash
# On the host: collects what the mesh check judges (components/mesh-check-logic.ts), as the README's tests do.
# For each client, the sleep pod of each workload cluster (CLUSTER_CLIENTS) and each mesh VM (VM_CLIENTS):
# its IP (multipass info), REQUESTS answers to `curl -s URL`, and its sidecar's Envoy admin /clusters. Before
# collecting, waits up to WAIT_SECONDS for each sidecar to list MIN_ENDPOINTS endpoints of ENVOY_CLUSTER, with
# a line on stderr every PROGRESS_INTERVAL_SECONDS (default 30). Prints sections headed by `### ` lines on
# stdout; never fails on what it sees (judging is not its job).
set -euo pipefail
: "${REQUESTS:?}" "${URL:?}" "${NAMESPACE:?}" "${ENVOY_CLUSTER:?}" "${MIN_ENDPOINTS:?}" "${WAIT_SECONDS:?}"
interval=${PROGRESS_INTERVAL_SECONDS:-30}
if [[ ! $interval =~ ^[1-9][0-9]*$ ]]; then
  echo "PROGRESS_INTERVAL_SECONDS is '$interval': expected a whole number of seconds, at least 1" >&2
  exit 1
fi
poll=$((interval < 5 ? interval : 5))
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
  { clusters_dump "$1" "$2" 2>/dev/null || true; } | { grep -F "${ENVOY_CLUSTER}::" || true; } |
    awk -F'::' '$2 ~ /:[0-9]+$/ { print $2 }' | sort -u | wc -l
}

# The command a person runs to see what the client's sidecar lists.
clusters_command() {
  if [[ $1 == cluster ]]; then
    printf 'multipass exec %s -- sudo k3s kubectl -n %s exec deploy/sleep -c istio-proxy -- curl -s localhost:15000/clusters' "$2" "$NAMESPACE"
  else
    printf 'multipass exec %s -- curl -s localhost:15000/clusters' "$2"
  fi
  printf " | grep -F '%s::'\n" "$ENVOY_CLUSTER"
}

wait_for_endpoints() {
  local kind=$1 name=$2 have started=$SECONDS next=$((SECONDS + interval))
  while :; do
    have=$(endpoint_count "$kind" "$name")
    ((have < MIN_ENDPOINTS)) || return 0
    if ((SECONDS - started >= WAIT_SECONDS)); then
      echo "[$name] its sidecar lists $have of $MIN_ENDPOINTS endpoints of $ENVOY_CLUSTER after ${WAIT_SECONDS}s; checking anyway. Look with: $(clusters_command "$kind" "$name")" >&2
      return 0
    fi
    if ((SECONDS >= next)); then
      echo "[$name] waiting for its sidecar to list $MIN_ENDPOINTS endpoints of $ENVOY_CLUSTER: $((SECONDS - started))s of ${WAIT_SECONDS}s (has $have)..." >&2
      next=$((SECONDS + interval))
    fi
    sleep "$poll"
  done
}

check_client() {
  local kind=$1 name=$2 rc
  wait_for_endpoints "$kind" "$name"
  echo "[$name] sending $REQUESTS requests to $URL" >&2
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
