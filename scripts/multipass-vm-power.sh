#!/usr/bin/env bash
# Puts the Multipass VM VM_NAME in the power state VM_POWER: `running` (multipass start when it is suspended or
# stopped) or `suspended` (multipass suspend: its memory goes back to the host). Idempotent.
# Prints only the VM's IPv4 as last seen running: while the VM is suspended, `multipass info` shows no address,
# and the program keeps using this one. On updates Pulumi passes the previous output as PULUMI_COMMAND_STDOUT.
set -euo pipefail
: "${VM_NAME:?}" "${VM_POWER:?}"

if [[ $VM_POWER != running && $VM_POWER != suspended ]]; then
  echo "VM_POWER is \"$VM_POWER\": expected running or suspended" >&2
  exit 1
fi

# Column of `multipass list --format csv` for the VM: 2 = state, 3 = IPv4.
vm_field() {
  multipass list --format csv | awk -F, -v name="$VM_NAME" -v col="$1" '$1 == name { print $col }'
}
is_ipv4() { [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; }
running_ip() {
  local ip
  ip=$(vm_field 3)
  if ! is_ipv4 "$ip"; then
    echo "VM $VM_NAME is running but has no IPv4 address (multipass list says \"$ip\")" >&2
    exit 1
  fi
  echo "$ip"
}

state=$(vm_field 2)
case "$state" in
"")
  echo "VM $VM_NAME does not exist (multipass list): it was deleted outside Pulumi. Rebuild it with" \
    "pulumi up --target-replace <URN of its launch> (pulumi stack --show-urns), or pulumi destroy then pulumi up" >&2
  exit 1
  ;;
Deleted)
  echo "VM $VM_NAME is deleted but not purged: bring it back with multipass recover $VM_NAME, then run pulumi up" >&2
  exit 1
  ;;
esac

if [[ $VM_POWER == running ]]; then
  if [[ $state == Running ]]; then
    echo "VM $VM_NAME is running" >&2
  else
    echo "resuming VM $VM_NAME (was $state)" >&2
    multipass start "$VM_NAME" >&2
  fi
  running_ip
  exit 0
fi

previous=${PULUMI_COMMAND_STDOUT:-}
previous=${previous//[[:space:]]/}
case "$state" in
Running)
  ip=$(running_ip)
  echo "suspending VM $VM_NAME" >&2
  multipass suspend "$VM_NAME" >&2
  echo "$ip"
  ;;
Suspended | Stopped)
  if is_ipv4 "$previous"; then
    echo "VM $VM_NAME is already ${state,,}" >&2
    echo "$previous"
  else
    # Suspended outside Pulumi: its address is unknown until it runs again.
    echo "VM $VM_NAME is ${state,,}; starting it once to read its address" >&2
    multipass start "$VM_NAME" >&2
    ip=$(running_ip)
    echo "suspending VM $VM_NAME" >&2
    multipass suspend "$VM_NAME" >&2
    echo "$ip"
  fi
  ;;
*)
  echo "VM $VM_NAME is $state: wait until it is Running or Suspended, then run pulumi up again" >&2
  exit 1
  ;;
esac
