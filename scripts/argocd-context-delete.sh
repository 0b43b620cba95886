#!/usr/bin/env bash
# Removes the argocd CLI context the lab created (as bin/delete did); nothing to do without the CLI or context.
set -euo pipefail
: "${ARGOCD_CONTEXT:?}"

if ! command -v argocd >/dev/null 2>&1; then
  exit 0
fi
if argocd context 2>/dev/null | awk 'NR > 1 { sub(/^\*/, ""); print $1 }' | grep -qx "${ARGOCD_CONTEXT}"; then
  argocd context "${ARGOCD_CONTEXT}" --delete >&2
fi
