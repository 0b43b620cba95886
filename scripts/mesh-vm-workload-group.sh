#!/usr/bin/env bash
# On the host: prints the WorkloadGroup NAMESPACE/GROUP as cluster CLUSTER stores it (JSON), the input of the
# VM's enrollment files (what istioctl reads for `x workload entry configure`).
set -euo pipefail
: "${CLUSTER:?}" "${NAMESPACE:?}" "${GROUP:?}"
multipass exec "$CLUSTER" -- sudo k3s kubectl -n "$NAMESPACE" get workloadgroup "$GROUP" -o json
