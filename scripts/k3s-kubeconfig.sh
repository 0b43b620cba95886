#!/usr/bin/env bash
# Waits for the k3s node of VM_NAME to be Ready, then prints the cluster's admin kubeconfig on stdout (and
# nothing else there: the program marks stdout secret and does not log it). While it waits it prints a line on
# stderr every PROGRESS_INTERVAL_SECONDS (default 30) with the node's Ready condition.
# Values: VM_NAME, READY_TIMEOUT_SECONDS, PROGRESS_INTERVAL_SECONDS.
set -euo pipefail
: "${VM_NAME:?}" "${READY_TIMEOUT_SECONDS:?}"
interval=${PROGRESS_INTERVAL_SECONDS:-30}
if [[ ! $interval =~ ^[1-9][0-9]*$ ]]; then
  echo "PROGRESS_INTERVAL_SECONDS is '$interval': expected a whole number of seconds, at least 1" >&2
  exit 1
fi
poll=$((interval < 5 ? interval : 5))
look="Look with: multipass exec $VM_NAME -- sudo k3s kubectl get nodes -o wide
  and: multipass exec $VM_NAME -- sudo tail -n 50 /var/log/cloud-init-output.log"

vm_state() {
  multipass list --format csv | awk -F, -v name="$VM_NAME" '$1 == name { print $2 }'
}

# The node's Ready condition, `<status> <reason>: <message>`, or why it cannot be read.
ready_condition() {
  local out rc=0
  out=$(multipass exec "$VM_NAME" -- sudo k3s kubectl get node "$VM_NAME" \
    -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}' 2>&1) || rc=$?
  if ((rc == 0)); then echo "${out:-no Ready condition yet}"; else echo "not readable: $(tail -n 1 <<<"$out")"; fi
}

started=$SECONDS
next=$((started + interval))
while :; do
  state=$(ready_condition)
  [[ $state != True* ]] || break
  if [[ $state == "not readable: "* ]]; then
    # A VM that is not running will not get there by waiting.
    vm=$(vm_state)
    if [[ $vm != Running ]]; then
      printf '%s\n%s\n' "cannot read node $VM_NAME: VM $VM_NAME is ${vm:-gone} (${state#not readable: })" \
        "Start it with: multipass start $VM_NAME, then run pulumi up again." >&2
      exit 1
    fi
  fi
  if ((SECONDS - started >= READY_TIMEOUT_SECONDS)); then
    printf '%s\n%s\n' "node $VM_NAME was not Ready within ${READY_TIMEOUT_SECONDS}s; last state: $state" "$look" >&2
    exit 1
  fi
  if ((SECONDS >= next)); then
    echo "[$VM_NAME] waiting for node $VM_NAME to be Ready: $((SECONDS - started))s of ${READY_TIMEOUT_SECONDS}s ($state)..." >&2
    next=$((SECONDS + interval))
  fi
  sleep "$poll"
done
echo "[$VM_NAME] node $VM_NAME is Ready; reading its kubeconfig" >&2
if ! multipass exec "$VM_NAME" -- sudo cat /etc/rancher/k3s/k3s.yaml; then
  printf '%s\n%s\n' "cannot read /etc/rancher/k3s/k3s.yaml in VM $VM_NAME (see above)" "$look" >&2
  exit 1
fi
