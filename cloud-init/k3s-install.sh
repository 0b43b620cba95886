#!/usr/bin/env bash
# First boot of a cluster VM (cloud-init runcmd): k3s at a pinned version, Calico from the pinned tigera
# operator, then wait for the node to be Ready. cloud-init wrote the files this reads (k3s config, registry
# mirrors template, Calico Installation). Values: K3S_VERSION, CALICO_VERSION, READY_TIMEOUT_SECONDS.
set -euo pipefail
: "${K3S_VERSION:?}" "${CALICO_VERSION:?}" "${READY_TIMEOUT_SECONDS:?}"

k3s_dir=${K3S_CONFIG_DIR:-/etc/rancher/k3s}
lab_dir=${LAB_DIR:-/etc/lab}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

retry() {
  local attempt=1
  until "$@"; do
    if ((attempt >= 30)); then
      echo "gave up after $attempt attempts: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep 5
  done
}

# The registry mirrors run on the host, which is this VM's default gateway with Multipass on macOS and Linux
# alike: find it now rather than assume an address.
if [[ -f $k3s_dir/registries.yaml.tmpl ]]; then
  gateway=$(ip -4 route show default | awk '{ print $3; exit }')
  if [[ -z $gateway ]]; then
    echo "no default route: cannot find the host that serves the registry mirrors" >&2
    exit 1
  fi
  sed "s/@GATEWAY@/$gateway/g" "$k3s_dir/registries.yaml.tmpl" >"$k3s_dir/registries.yaml"
  echo "registry mirrors at $gateway"
fi

# The install script of the pinned release tag, never the unpinned one of the k3s website.
retry curl -fsSL -o "$work/install-k3s.sh" "https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION//+/%2B}/install.sh"
INSTALL_K3S_VERSION=$K3S_VERSION sh "$work/install-k3s.sh"

retry curl -fsSL -o "$work/tigera-operator.yaml" \
  "https://raw.githubusercontent.com/projectcalico/calico/${CALICO_VERSION}/manifests/tigera-operator.yaml"
# Server-side apply: the operator's CRDs are too large for client-side apply's annotation.
retry k3s kubectl apply --server-side --force-conflicts -f "$work/tigera-operator.yaml"
retry k3s kubectl wait --for=condition=established --timeout=60s \
  crd/installations.operator.tigera.io crd/apiservers.operator.tigera.io
retry k3s kubectl apply -f "$lab_dir/calico.yaml"

node=$(hostname)
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until k3s kubectl get node "$node" >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    echo "node $node did not register within ${READY_TIMEOUT_SECONDS}s" >&2
    exit 1
  fi
  sleep 5
done
k3s kubectl wait --for=condition=Ready "node/$node" --timeout="$((deadline - SECONDS > 1 ? deadline - SECONDS : 1))s"
