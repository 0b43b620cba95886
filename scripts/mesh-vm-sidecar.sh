#!/usr/bin/env bash
# In a mesh VM, at first boot (cloud-init): installs Istio's sidecar package (istio-agent, Envoy, the `istio`
# systemd unit) for ISTIO_VERSION and the VM's own architecture. Re-running with the package in place does
# nothing. ROOT prefixes the paths this script writes (empty in the VM; a scratch directory in tests).
set -euo pipefail
: "${ISTIO_VERSION:?}"
root="${ROOT:-}"
marker="$root/var/lib/istio/sidecar-package-version"

arch=$(dpkg --print-architecture)
case "$arch" in
amd64) deb=istio-sidecar.deb ;;
arm64) deb=istio-sidecar-arm64.deb ;;
*)
  echo "Istio publishes no sidecar package for architecture $arch (only amd64 and arm64)" >&2
  exit 1
  ;;
esac

if dpkg-query -W -f='${Status}' istio-sidecar 2>/dev/null | grep -q 'install ok installed' &&
  [[ -f $marker && $(<"$marker") == "$ISTIO_VERSION" ]]; then
  echo "istio-sidecar $ISTIO_VERSION ($deb) is already installed"
  exit 0
fi

url="https://storage.googleapis.com/istio-release/releases/${ISTIO_VERSION}/deb/${deb}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "installing $url"
curl -fsSL --retry 5 --retry-delay 5 -o "$tmp/$deb" "$url"
# apt-get (not dpkg -i) so that the package's dependencies come along.
DEBIAN_FRONTEND=noninteractive apt-get install -y "$tmp/$deb"
mkdir -p "$(dirname "$marker")"
printf '%s\n' "$ISTIO_VERSION" >"$marker"
