#!/usr/bin/env bash
# First boot of a cluster VM (cloud-init runcmd): k3s at a pinned version, Calico from the pinned tigera
# operator, then wait for the node to be Ready. cloud-init wrote the files this reads (k3s config, registry
# mirrors template, Calico Installation). Each step says what it does in /var/log/cloud-init-output.log, the
# wait for the node a line every PROGRESS_INTERVAL_SECONDS (default 30): the host's launch shows the last one.
# Values: K3S_VERSION, CALICO_VERSION, READY_TIMEOUT_SECONDS, PROGRESS_INTERVAL_SECONDS.
set -euo pipefail
: "${K3S_VERSION:?}" "${CALICO_VERSION:?}" "${READY_TIMEOUT_SECONDS:?}"
interval=${PROGRESS_INTERVAL_SECONDS:-30}
poll=$((interval < 5 ? interval : 5))

k3s_dir=${K3S_CONFIG_DIR:-/etc/rancher/k3s}
lab_dir=${LAB_DIR:-/etc/lab}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() {
  echo "k3s-install: $*"
}

retry() {
  local attempt=1
  until "$@"; do
    if ((attempt >= 30)); then
      echo "k3s-install: gave up after $attempt attempts: $*" >&2
      return 1
    fi
    echo "k3s-install: attempt $attempt of 30 failed, retrying in 5s: $*" >&2
    attempt=$((attempt + 1))
    sleep 5
  done
}

# The registry mirrors run on the host, which is this VM's default gateway with Multipass on macOS and Linux
# alike: find it now rather than assume an address.
if [[ -f $k3s_dir/registries.yaml.tmpl ]]; then
  gateway=$(ip -4 route show default | awk '{ print $3; exit }')
  if [[ -z $gateway ]]; then
    echo "k3s-install: no default route: cannot find the host that serves the registry mirrors; look with: ip route" >&2
    exit 1
  fi
  sed "s/@GATEWAY@/$gateway/g" "$k3s_dir/registries.yaml.tmpl" >"$k3s_dir/registries.yaml"
  say "registry mirrors at $gateway"
fi

# The install script of the pinned release tag, never the unpinned one of the k3s website.
say "installing k3s $K3S_VERSION"
retry curl -fsSL -o "$work/install-k3s.sh" "https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION//+/%2B}/install.sh"
INSTALL_K3S_VERSION=$K3S_VERSION sh "$work/install-k3s.sh"

say "installing Calico $CALICO_VERSION (tigera operator)"
retry curl -fsSL -o "$work/tigera-operator.yaml" \
  "https://raw.githubusercontent.com/projectcalico/calico/${CALICO_VERSION}/manifests/tigera-operator.yaml"
# Server-side apply: the operator's CRDs are too large for client-side apply's annotation.
retry k3s kubectl apply --server-side --force-conflicts -f "$work/tigera-operator.yaml"
retry k3s kubectl wait --for=condition=established --timeout=60s \
  crd/installations.operator.tigera.io crd/apiservers.operator.tigera.io
retry k3s kubectl apply -f "$lab_dir/calico.yaml"

node=$(hostname)
# The node's Ready condition, `<status> <reason>: <message>`, or `not registered yet`.
ready_condition() {
  local out
  if out=$(k3s kubectl get node "$node" \
    -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}' 2>/dev/null); then
    echo "${out:-no Ready condition yet}"
  else
    echo "not registered yet"
  fi
}
say "waiting for node $node to be Ready (Calico's pods start first)"
started=$SECONDS
next=$((started + interval))
while :; do
  state=$(ready_condition)
  [[ $state != True* ]] || break
  if ((SECONDS - started >= READY_TIMEOUT_SECONDS)); then
    echo "k3s-install: node $node was not Ready within ${READY_TIMEOUT_SECONDS}s; last state: $state" >&2
    echo "k3s-install: look with: multipass exec $node -- sudo k3s kubectl get nodes -o wide" >&2
    echo "k3s-install:   and: multipass exec $node -- sudo k3s kubectl get pods -A" >&2
    exit 1
  fi
  if ((SECONDS >= next)); then
    say "waiting for node $node to be Ready: $((SECONDS - started))s of ${READY_TIMEOUT_SECONDS}s ($state)..."
    next=$((SECONDS + interval))
  fi
  sleep "$poll"
done
say "node $node is Ready"
