#!/usr/bin/env bash
# Launches the Multipass VM VM_NAME with the cloud-init user-data read from stdin, or adopts the VM of that
# name when it already exists (starting it when stopped, never relaunching it); then waits for cloud-init.
# While it waits it prints a line on stderr every PROGRESS_INTERVAL_SECONDS (default 30): what it waits for,
# for how long, the VM's state and the last line of its cloud-init log.
# Values: VM_NAME, VM_IMAGE, VM_CPUS, VM_MEMORY_GIB, VM_DISK_GIB, VM_TIMEOUT_SECONDS, PROGRESS_INTERVAL_SECONDS.
set -euo pipefail
: "${VM_NAME:?}" "${VM_IMAGE:?}" "${VM_CPUS:?}" "${VM_MEMORY_GIB:?}" "${VM_DISK_GIB:?}" "${VM_TIMEOUT_SECONDS:?}"
interval=${PROGRESS_INTERVAL_SECONDS:-30}
if [[ ! $interval =~ ^[1-9][0-9]*$ ]]; then
  echo "PROGRESS_INTERVAL_SECONDS is '$interval': expected a whole number of seconds, at least 1" >&2
  exit 1
fi
log=/var/log/cloud-init-output.log

if ! command -v multipass >/dev/null 2>&1; then
  echo "multipass is not installed: install Multipass 1.11 or newer (https://multipass.run/install)" >&2
  exit 1
fi

vm_state() {
  multipass list --format csv | awk -F, -v name="$VM_NAME" '$1 == name { print $2 }'
}

# The last line of the VM's cloud-init log; nothing while the VM cannot be reached. stdin (the user-data) is
# never for the VM's commands.
last_log_line() {
  multipass exec "$VM_NAME" -- sudo tail -n 1 "$log" </dev/null 2>/dev/null || true
}

started=$SECONDS
deadline=$((started + VM_TIMEOUT_SECONDS))
# progress WHAT STATE: one line on stderr.
progress() {
  echo "[$VM_NAME] waiting for $1: $((SECONDS - started))s of ${VM_TIMEOUT_SECONDS}s ($2)..." >&2
}

# with_progress WHAT COMMAND...: runs COMMAND, with a progress line every interval while it runs.
with_progress() {
  local what=$1 pid rc=0 next=$((SECONDS + interval)) state
  shift
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= next)); then
      state=$(vm_state)
      if [[ $state == Running ]]; then
        progress "$what" "VM Running; log: $(last_log_line)"
      else
        progress "$what" "VM ${state:-not created yet}"
      fi
      next=$((SECONDS + interval))
    fi
    sleep 1
  done
  wait "$pid" || rc=$?
  return "$rc"
}

# fail MESSAGE LOOK ADVICE: the failure, where to look, what to do; exit 1.
fail() {
  printf '%s\nLook with: %s\n%s\n' "$1" "$2" "$3" >&2
  exit 1
}

user_data=$(mktemp)
trap 'rm -f "$user_data"' EXIT
cat >"$user_data"
launch() {
  multipass launch --name "$VM_NAME" --cpus "$VM_CPUS" --memory "${VM_MEMORY_GIB}G" \
    --disk "${VM_DISK_GIB}G" --timeout "$VM_TIMEOUT_SECONDS" --cloud-init - "$VM_IMAGE" <"$user_data"
}

start() {
  with_progress "multipass start" multipass start "$VM_NAME" ||
    fail "multipass start of VM $VM_NAME failed (see above); the VM is $(vm_state)." \
      "multipass info $VM_NAME" "Fix the cause and run pulumi up again."
}

state=$(vm_state)
case "$state" in
"")
  echo "launching VM $VM_NAME: Ubuntu $VM_IMAGE, $VM_CPUS CPUs, ${VM_MEMORY_GIB}G memory, ${VM_DISK_GIB}G disk"
  echo "[$VM_NAME] follow its first boot with: multipass exec $VM_NAME -- sudo tail -f $log" >&2
  rc=0
  with_progress "multipass launch (boot, then cloud-init)" launch || rc=$?
  # A heavy cloud-init can outlast launch's own wait: carry on when the VM runs, fail when it does not.
  if ((rc != 0)); then
    state=$(vm_state)
    if [[ -z $state ]]; then
      fail "multipass launch of VM $VM_NAME failed (exit code $rc, see above); no VM was created." \
        "multipass list" "Fix the cause and run pulumi up again."
    elif [[ $state != Running ]]; then
      fail "multipass launch of VM $VM_NAME failed (exit code $rc, see above); the VM is $state." \
        "multipass info $VM_NAME" \
        "Fix the cause, remove the VM (multipass delete --purge $VM_NAME) and run pulumi up again."
    fi
  fi
  ;;
Running)
  echo "adopting the running VM $VM_NAME"
  ;;
Deleted)
  echo "recovering the deleted (not purged) VM $VM_NAME"
  multipass recover "$VM_NAME"
  start
  ;;
*)
  echo "starting the existing VM $VM_NAME (was $state)"
  start
  ;;
esac

# cloud_init_failed MESSAGE ADVICE: the message, the log's tail, where to look further; exit 1.
cloud_init_failed() {
  echo "$1; last lines of $log:" >&2
  multipass exec "$VM_NAME" -- sudo tail -n 25 "$log" </dev/null >&2 || true
  {
    echo "Look further with: multipass exec $VM_NAME -- sudo tail -n 50 $log"
    echo "  and: multipass exec $VM_NAME -- cloud-init status --long"
    echo "$2"
  } >&2
  exit 1
}

# The launch may have used the whole timeout: give cloud-init at least another minute (or the whole timeout
# when that is shorter).
grace=$((VM_TIMEOUT_SECONDS < 60 ? VM_TIMEOUT_SECONDS : 60))
if ((deadline - SECONDS < grace)); then deadline=$((SECONDS + grace)); fi
poll=$((interval < 5 ? interval : 5))
next=$((SECONDS + interval))
while :; do
  rc=0
  out=$(multipass exec "$VM_NAME" -- cloud-init status </dev/null 2>&1) || rc=$?
  status=$(awk '/^status:/ { sub(/^status: */, ""); print; exit }' <<<"$out")
  [[ -n $status ]] || status="unknown, $(tail -n 1 <<<"$out")"
  case "$status" in
  done) break ;;
  error)
    cloud_init_failed "cloud-init failed on VM $VM_NAME (status: error)" \
      "Once fixed, remove the VM (multipass delete --purge $VM_NAME) and run pulumi up again."
    ;;
  esac
  if ((SECONDS >= deadline)); then
    cloud_init_failed "cloud-init did not finish on VM $VM_NAME within ${VM_TIMEOUT_SECONDS}s (last status: $status)" \
      "If it is still working, run pulumi up again to wait longer; if it is stuck, remove the VM (multipass delete --purge $VM_NAME) and run pulumi up again."
  fi
  if ((SECONDS >= next)); then
    progress cloud-init "status: $status; log: $(last_log_line)"
    next=$((SECONDS + interval))
  fi
  sleep "$poll"
done
if ((rc == 2)); then
  echo "warning: cloud-init finished on VM $VM_NAME with recoverable errors; look with: multipass exec $VM_NAME -- cloud-init status --long" >&2
else
  echo "cloud-init finished on VM $VM_NAME"
fi
