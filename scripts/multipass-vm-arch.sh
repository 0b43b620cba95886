#!/usr/bin/env bash
# Prints the Debian architecture of VM_NAME (amd64 or arm64).
set -euo pipefail
: "${VM_NAME:?}"

multipass exec "$VM_NAME" -- dpkg --print-architecture
