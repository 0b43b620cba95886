#!/usr/bin/env bash
# Logs the host's argocd CLI in to the lab's Argo CD as a context named after the management cluster.
# Optional convenience: without the CLI it only says so. The password comes through the environment and is
# never printed.
set -euo pipefail
: "${ARGOCD_SERVER:?}" "${ARGOCD_CONTEXT:?}" "${ARGOCD_USERNAME:?}" "${ARGOCD_PASSWORD:?}"

if ! command -v argocd >/dev/null 2>&1; then
  echo "argocd CLI not found on this host: skipping the ${ARGOCD_CONTEXT} context" >&2
  exit 0
fi

# The server's certificate is Argo CD's self-signed one; the LoadBalancer may need a moment after install.
for attempt in $(seq 1 30); do
  if argocd login "${ARGOCD_SERVER}" --name "${ARGOCD_CONTEXT}" --username "${ARGOCD_USERNAME}" \
    --password "${ARGOCD_PASSWORD}" --insecure --grpc-web >/dev/null; then
    echo "argocd context ${ARGOCD_CONTEXT} -> https://${ARGOCD_SERVER}" >&2
    exit 0
  fi
  echo "[${ARGOCD_CONTEXT}] argocd login attempt ${attempt} of 30 failed; retrying in 5s" >&2
  sleep 5
done
printf '%s\n' "argocd login to https://${ARGOCD_SERVER} as ${ARGOCD_USERNAME} failed 30 times, 5s apart (last error above)" \
  "Look with: multipass exec ${ARGOCD_CONTEXT} -- sudo k3s kubectl -n argocd get pods,svc" >&2
exit 1
