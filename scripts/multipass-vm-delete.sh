#!/usr/bin/env bash
# Deletes and purges the Multipass VM VM_NAME; a VM that is already gone is not an error.
set -euo pipefail
: "${VM_NAME:?}"

if ! command -v multipass >/dev/null 2>&1; then
  echo "multipass is not installed: VM $VM_NAME cannot exist, nothing to delete" >&2
  exit 0
fi
if multipass list --format csv | awk -F, -v name="$VM_NAME" '$1 == name { found = 1 } END { exit !found }'; then
  multipass delete --purge "$VM_NAME"
  echo "deleted VM $VM_NAME"
else
  echo "VM $VM_NAME is already gone"
fi
