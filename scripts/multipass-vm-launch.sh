#!/usr/bin/env bash
# Launches the Multipass VM VM_NAME with the cloud-init user-data read from stdin, or adopts the VM of that
# name when it already exists (starting it when stopped, never relaunching it); then waits for cloud-init.
# Values: VM_NAME, VM_IMAGE, VM_CPUS, VM_MEMORY_GIB, VM_DISK_GIB, VM_TIMEOUT_SECONDS.
set -euo pipefail
: "${VM_NAME:?}" "${VM_IMAGE:?}" "${VM_CPUS:?}" "${VM_MEMORY_GIB:?}" "${VM_DISK_GIB:?}" "${VM_TIMEOUT_SECONDS:?}"

if ! command -v multipass >/dev/null 2>&1; then
  echo "multipass is not installed: install Multipass 1.11 or newer (https://multipass.run/install)" >&2
  exit 1
fi

vm_state() {
  multipass list --format csv | awk -F, -v name="$VM_NAME" '$1 == name { print $2 }'
}

deadline=$((SECONDS + VM_TIMEOUT_SECONDS))
state=$(vm_state)
case "$state" in
"")
  echo "launching VM $VM_NAME: Ubuntu $VM_IMAGE, $VM_CPUS CPUs, ${VM_MEMORY_GIB}G memory, ${VM_DISK_GIB}G disk"
  if ! multipass launch --name "$VM_NAME" --cpus "$VM_CPUS" --memory "${VM_MEMORY_GIB}G" \
    --disk "${VM_DISK_GIB}G" --timeout "$VM_TIMEOUT_SECONDS" --cloud-init - "$VM_IMAGE"; then
    # A heavy cloud-init can outlast launch's own wait: carry on when the VM runs, fail when it does not.
    if [[ $(vm_state) != Running ]]; then
      echo "multipass launch of VM $VM_NAME failed (see above); fix the cause and run pulumi up again" >&2
      exit 1
    fi
  fi
  ;;
Running)
  echo "adopting the running VM $VM_NAME"
  ;;
Deleted)
  echo "recovering the deleted (not purged) VM $VM_NAME"
  multipass recover "$VM_NAME"
  multipass start "$VM_NAME"
  ;;
*)
  echo "starting the existing VM $VM_NAME (was $state)"
  multipass start "$VM_NAME"
  ;;
esac

cloud_init_failed() {
  echo "$1; last lines of /var/log/cloud-init-output.log:" >&2
  multipass exec "$VM_NAME" -- sudo tail -n 25 /var/log/cloud-init-output.log </dev/null >&2 || true
  echo "Look further with: multipass exec $VM_NAME -- sudo cat /var/log/cloud-init-output.log" >&2
  echo "Once fixed, remove the VM (multipass delete --purge $VM_NAME) and run pulumi up again." >&2
  exit 1
}

remaining=$((deadline - SECONDS))
if ((remaining < 60)); then remaining=60; fi
rc=0
# stdin (the user-data) is not for the VM's commands.
multipass exec "$VM_NAME" -- timeout "$remaining" cloud-init status --wait </dev/null >/dev/null || rc=$?
case $rc in
0) echo "cloud-init finished on VM $VM_NAME" ;;
2) echo "warning: cloud-init finished on VM $VM_NAME with recoverable errors (cloud-init status --long)" >&2 ;;
124) cloud_init_failed "cloud-init did not finish on VM $VM_NAME within ${VM_TIMEOUT_SECONDS}s" ;;
*) cloud_init_failed "cloud-init failed on VM $VM_NAME (cloud-init status exit code $rc)" ;;
esac
