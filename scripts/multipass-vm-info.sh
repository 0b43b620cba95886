#!/usr/bin/env bash
# Prints `multipass info --format json` of VM_NAME (the program reads its IPv4 from it on every run).
set -euo pipefail
: "${VM_NAME:?}"

if ! multipass info --format json "$VM_NAME"; then
  echo "cannot read VM $VM_NAME with multipass info: if it was deleted outside Pulumi, run pulumi up --refresh" >&2
  exit 1
fi
