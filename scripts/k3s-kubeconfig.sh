#!/usr/bin/env bash
# Waits for the k3s node of VM_NAME to be Ready, then prints the cluster's admin kubeconfig on stdout (and
# nothing else there: the program marks stdout secret and does not log it). Values: VM_NAME, READY_TIMEOUT_SECONDS.
set -euo pipefail
: "${VM_NAME:?}" "${READY_TIMEOUT_SECONDS:?}"

multipass exec "$VM_NAME" -- sudo k3s kubectl wait --for=condition=Ready "node/$VM_NAME" \
  --timeout="${READY_TIMEOUT_SECONDS}s" >&2
multipass exec "$VM_NAME" -- sudo cat /etc/rancher/k3s/k3s.yaml
