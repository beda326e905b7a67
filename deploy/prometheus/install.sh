#!/usr/bin/env bash
# Makes `prometheus` and `promtool` available for the tests (Debian/Ubuntu package
# `prometheus`). Idempotent and quiet: does nothing when both are on PATH; otherwise installs
# the package with apt-get (as root, or through password-less sudo) and prints one line.
#
# Note: on a host with systemd the Debian package also enables a `prometheus` service on
# :9090; the tests never use it (they start their own server on a free loopback port).
set -euo pipefail

say() { printf 'install.sh: %s\n' "$*" >&2; }

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  say "prometheus/promtool missing and no root: run 'apt-get install prometheus' as root"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "prometheus/promtool missing and no apt-get: install Prometheus 2.x so both are on PATH"
  exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS
# The package lists of a fresh machine may be empty or stale: update once if the install fails.
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >"$log" 2>&1; then
  if ! { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1; then
    cat "$log" >&2
    say "could not install the Debian package prometheus"
    exit 1
  fi
fi
command -v promtool >/dev/null 2>&1 || { say "promtool still missing after install"; exit 1; }
say "installed $(prometheus --version 2>&1 | head -n 1) in $((SECONDS - started)) s"
