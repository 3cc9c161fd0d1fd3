#!/usr/bin/env bash
# Puts `minidock` on PATH: a symlink to this checkout's bin/minidock.js. Idempotent; says what it did.
#   as root:  /usr/local/bin/minidock (on every user's PATH, and in sudo's secure_path on Debian/Ubuntu)
#   as a user: ~/.local/bin/minidock when that directory is on PATH; otherwise it says what to add.
# Not `npm link`: that installs into npm's global prefix (root-owned on most machines), and not `npx`:
# npx pays npm's own start-up (~0.9 s) at every call and looks the name up in the registry outside
# this checkout. Node follows the symlink to bin/minidock.js, which finds dist/ beside itself.
set -euo pipefail
target=$(cd "$(dirname "$0")/.." && pwd)/bin/minidock.js
if [ "$(id -u)" = 0 ]; then
  dir=/usr/local/bin
else
  dir=$HOME/.local/bin
  case ":$PATH:" in
    *":$dir:"*) ;;
    *)
      echo "build: minidock is $target; to type plain \`minidock\`, run  sudo npm run build  (links /usr/local/bin/minidock), or add $dir to PATH and build again" >&2
      exit 0
      ;;
  esac
fi
link=$dir/minidock
if [ "$(readlink "$link" 2>/dev/null)" = "$target" ]; then
  exit 0
fi
if [ -e "$link" ] && [ ! -L "$link" ]; then
  echo "build: $link exists and is not a symlink; left alone. minidock is $target" >&2
  exit 0
fi
mkdir -p "$dir"
previous=$(readlink "$link" 2>/dev/null || true)
ln -sfn "$target" "$link"
if [ -n "$previous" ]; then
  echo "build: $link now points to $target (it pointed to $previous)" >&2
else
  echo "build: minidock is on PATH: $link -> $target" >&2
fi
