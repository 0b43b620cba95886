#!/usr/bin/env bash
# npm run up / npm run down: pulumi up or destroy on the local state backend, with the passphrase handled.
# Usage: scripts/lab.sh up|down|preview [pulumi flags...]
set -euo pipefail

action="${1:-}"
shift || true
case "$action" in
  up) verb=(up) ;;
  down) verb=(destroy) ;;
  preview) verb=(preview) ;;
  *)
    echo "usage: scripts/lab.sh up|down|preview [pulumi flags...]" >&2
    exit 2
    ;;
esac

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "error: '$1' is not installed. $2" >&2
    exit 1
  fi
}
need pulumi "Install the Pulumi CLI: https://www.pulumi.com/docs/install/"
if [ "$action" = up ]; then
  need multipass "Install Multipass 1.11 or newer: https://multipass.run/install"
fi

# Secrets in the state are encrypted with a passphrase. Unless one is given, a random one is made once
# and kept (mode 0600) beside the local state, so that every later command finds it.
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  file="${HOME}/.pulumi/multi-primary-mesh.passphrase"
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$file")
    echo "Made a passphrase for the stack's secrets: $file (keep it; the state cannot be read without it)"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
fi

stack="${PULUMI_STACK:-dev}"
pulumi stack select --create "$stack" --non-interactive >/dev/null
exec pulumi "${verb[@]}" --stack "$stack" "$@"
