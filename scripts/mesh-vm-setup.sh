#!/usr/bin/env bash
# In a mesh VM, as root, after the enrollment files are in place (scripts/mesh-vm-enroll.sh): adds istiod's
# address (staged in /var/lib/mesh-vm/hosts) to /etc/hosts, replacing an older line for the same name, gives
# the files to istio-proxy and (re)starts the sidecar. ROOT prefixes the paths (empty in the VM; a scratch
# directory in tests).
set -euo pipefail
root="${ROOT:-}"
hosts="$root/etc/hosts"

if ! dpkg-query -W -f='${Status}' istio-sidecar 2>/dev/null | grep -q 'install ok installed'; then
  echo "istio-sidecar is not installed: the VM's first boot did not finish (see /var/log/cloud-init-output.log)" >&2
  exit 1
fi

read -r ip name <"$root/var/lib/mesh-vm/hosts"
if [[ -z ${ip:-} || -z ${name:-} ]]; then
  echo "$root/var/lib/mesh-vm/hosts does not hold '<ip> <name>'" >&2
  exit 1
fi
# Idempotent: drop any line for this name (the gateway's IP may have changed), then add the current one.
awk -v name="$name" '!(NF == 2 && $2 == name)' "$hosts" >"$hosts.mesh-vm"
printf '%s %s\n' "$ip" "$name" >>"$hosts.mesh-vm"
cat "$hosts.mesh-vm" >"$hosts"
rm -f "$hosts.mesh-vm"

mkdir -p "$root/etc/istio/proxy"
chown -R istio-proxy "$root/etc/certs" "$root/var/run/secrets/tokens" "$root/var/lib/istio" \
  "$root/etc/istio/config" "$root/etc/istio/proxy"
systemctl enable istio
systemctl restart istio
echo "istio (re)started; istiod is $name at $ip"
