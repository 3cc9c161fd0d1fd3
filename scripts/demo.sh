#!/usr/bin/env bash
# `npm run demo`: prepare everything that is missing (npm run build), then run one real container.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ "$(id -u)" != 0 ]; then
  echo "demo: containers need root (namespaces, mounts, cgroups): run  sudo npm run demo" >&2
  exit 125
fi
exec ./bin/minidock.js run --rm --hostname demo -v "$PWD/scripts/demo-inside.sh:/demo.sh:ro" ./rootfs /bin/sh /demo.sh
