#!/usr/bin/env bash
# On the host: enrolls mesh VM VM through cluster CLUSTER, as the original's vm-setup did: the files of
# `istioctl x workload entry configure` into their places, a fresh istio-token, then (re)starts the `istio`
# unit. Values: VM, CLUSTER, NAMESPACE, SERVICE_ACCOUNT, TOKEN_DURATION, CLUSTER_ENV, MESH_YAML, ROOT_CERT,
# HOSTS, VM_SETUP (the in-VM script). Every step overwrites, so re-running re-enrolls. Each step is named on
# stderr; a failure says where to look.
set -euo pipefail
: "${VM:?}" "${CLUSTER:?}" "${NAMESPACE:?}" "${SERVICE_ACCOUNT:?}" "${TOKEN_DURATION:?}"
: "${CLUSTER_ENV:?}" "${MESH_YAML:?}" "${ROOT_CERT:?}" "${HOSTS:?}" "${VM_SETUP:?}"

# put MODE PATH: stdin -> a root-owned file in the VM, parent directories created.
put() {
  multipass exec "$VM" -- sudo install -D -m "$1" /dev/stdin "$2"
}

token_failed() {
  printf '%s\n' "cluster $CLUSTER $1 for service account $NAMESPACE/$SERVICE_ACCOUNT" \
    "Look with: multipass exec $CLUSTER -- sudo k3s kubectl -n $NAMESPACE get serviceaccount $SERVICE_ACCOUNT" >&2
  exit 1
}

# A TokenRequest for the group's service account, audience istio-ca, minted inside the cluster VM. It lives
# only in this shell and the VM: never in Pulumi's state, never printed.
echo "[$VM] minting a bootstrap token for $NAMESPACE/$SERVICE_ACCOUNT in cluster $CLUSTER" >&2
token=$(multipass exec "$CLUSTER" -- sudo k3s kubectl -n "$NAMESPACE" create token "$SERVICE_ACCOUNT" \
  --audience istio-ca --duration "$TOKEN_DURATION") || token_failed "could not mint a token (see above)"
[[ -n $token ]] || token_failed "returned an empty token"

echo "[$VM] writing the enrollment files" >&2
printf '%s' "$ROOT_CERT" | put 0644 /etc/certs/root-cert.pem
printf '%s' "$token" | put 0600 /var/run/secrets/tokens/istio-token
printf '%s' "$CLUSTER_ENV" | put 0644 /var/lib/istio/envoy/cluster.env
printf '%s' "$MESH_YAML" | put 0644 /etc/istio/config/mesh
printf '%s' "$HOSTS" | put 0644 /var/lib/mesh-vm/hosts
printf '%s' "$VM_SETUP" | put 0755 /usr/local/sbin/mesh-vm-setup
echo "[$VM] (re)starting its istio sidecar" >&2
if ! multipass exec "$VM" -- sudo /usr/local/sbin/mesh-vm-setup; then
  printf '%s\n' "enrolling VM $VM failed in mesh-vm-setup (see above)" \
    "Look with: multipass exec $VM -- sudo tail -n 50 /var/log/istio/istio.log" \
    "  and: multipass exec $VM -- sudo systemctl status istio --no-pager" \
    "  and: multipass exec $VM -- sudo tail -n 50 /var/log/cloud-init-output.log" >&2
  exit 1
fi
echo "VM $VM enrolled in the mesh through $CLUSTER as $NAMESPACE/$SERVICE_ACCOUNT"
