#!/usr/bin/env bash
# On the host: enrolls mesh VM VM through cluster CLUSTER, as the original's vm-setup did: the files of
# `istioctl x workload entry configure` into their places, a fresh istio-token, then (re)starts the `istio`
# unit. Values: VM, CLUSTER, NAMESPACE, SERVICE_ACCOUNT, TOKEN_DURATION, CLUSTER_ENV, MESH_YAML, ROOT_CERT,
# HOSTS, VM_SETUP (the in-VM script). Every step overwrites, so re-running re-enrolls.
set -euo pipefail
: "${VM:?}" "${CLUSTER:?}" "${NAMESPACE:?}" "${SERVICE_ACCOUNT:?}" "${TOKEN_DURATION:?}"
: "${CLUSTER_ENV:?}" "${MESH_YAML:?}" "${ROOT_CERT:?}" "${HOSTS:?}" "${VM_SETUP:?}"

# put MODE PATH: stdin -> a root-owned file in the VM, parent directories created.
put() {
  multipass exec "$VM" -- sudo install -D -m "$1" /dev/stdin "$2"
}

# A TokenRequest for the group's service account, audience istio-ca, minted inside the cluster VM. It lives
# only in this shell and the VM: never in Pulumi's state, never printed.
token=$(multipass exec "$CLUSTER" -- sudo k3s kubectl -n "$NAMESPACE" create token "$SERVICE_ACCOUNT" \
  --audience istio-ca --duration "$TOKEN_DURATION")
if [[ -z $token ]]; then
  echo "cluster $CLUSTER returned an empty token for service account $NAMESPACE/$SERVICE_ACCOUNT" >&2
  exit 1
fi

printf '%s' "$ROOT_CERT" | put 0644 /etc/certs/root-cert.pem
printf '%s' "$token" | put 0600 /var/run/secrets/tokens/istio-token
printf '%s' "$CLUSTER_ENV" | put 0644 /var/lib/istio/envoy/cluster.env
printf '%s' "$MESH_YAML" | put 0644 /etc/istio/config/mesh
printf '%s' "$HOSTS" | put 0644 /var/lib/mesh-vm/hosts
printf '%s' "$VM_SETUP" | put 0755 /usr/local/sbin/mesh-vm-setup
multipass exec "$VM" -- sudo /usr/local/sbin/mesh-vm-setup
echo "VM $VM enrolled in the mesh through $CLUSTER as $NAMESPACE/$SERVICE_ACCOUNT"
