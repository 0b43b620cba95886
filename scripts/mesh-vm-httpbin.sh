#!/usr/bin/env bash
# In a mesh VM, at first boot (cloud-init): builds chinaran/go-httpbin at GO_HTTPBIN_VERSION from a clone with
# Ubuntu's Go and starts it as the `httpbin` systemd unit (the unit file is written by cloud-init). Re-running
# with that version built only makes sure the unit runs. ROOT prefixes the paths this script writes (empty in
# the VM; a scratch directory in tests).
set -euo pipefail
: "${GO_HTTPBIN_VERSION:?}"
root="${ROOT:-}"
src="$root/usr/local/src/go-httpbin"
bin="$root/usr/local/bin/go-httpbin"
marker="$root/usr/local/share/go-httpbin.version"

if [[ -x $bin && -f $marker && $(<"$marker") == "$GO_HTTPBIN_VERSION" ]]; then
  echo "go-httpbin $GO_HTTPBIN_VERSION is already built"
else
  echo "cloning chinaran/go-httpbin $GO_HTTPBIN_VERSION"
  rm -rf "$src"
  git clone --quiet --depth 1 --branch "$GO_HTTPBIN_VERSION" https://github.com/chinaran/go-httpbin.git "$src"
  echo "building go-httpbin $GO_HTTPBIN_VERSION (several minutes on a small VM)"
  # cloud-init runs this without HOME: give Go its caches explicitly.
  (
    cd "$src"
    HOME=/root GOPATH=/root/go GOCACHE=/root/.cache/go-build go build -o "$bin" ./cmd/go-httpbin
  )
  mkdir -p "$(dirname "$marker")"
  printf '%s\n' "$GO_HTTPBIN_VERSION" >"$marker"
  echo "built go-httpbin $GO_HTTPBIN_VERSION"
fi
systemctl daemon-reload
systemctl enable --now httpbin.service
