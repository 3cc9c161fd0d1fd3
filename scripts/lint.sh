#!/usr/bin/env bash
# The formatter and the linter, run by `npm test` before the tests (so CI enforces them):
#   - Biome (biome.jsonc) formats and lints the TypeScript and JavaScript: `biome ci` fails on a file
#     that is not formatted or on a lint error. Fix with `npx biome check --write .`
#   - clang-format (.clang-format) for native/: fix with `clang-format -i native/*.[ch] native/probes/*.c`
#     (as root, this installs Debian's clang-format when it is missing; otherwise the C check is
#     skipped and says so).
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/biome ci --colors=off --reporter=summary . >/tmp/minidock-biome.$$ 2>&1 || { cat /tmp/minidock-biome.$$ >&2; rm -f /tmp/minidock-biome.$$; echo "lint: biome found the problems above; \`npx biome check --write .\` fixes the formatting" >&2; exit 1; }
rm -f /tmp/minidock-biome.$$
if ! command -v clang-format >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "lint: installing clang-format (apt-get install clang-format)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format >/dev/null 2>&1; } || true
fi
if command -v clang-format >/dev/null 2>&1; then
  clang-format --dry-run -Werror native/*.c native/*.h native/probes/*.c
else
  echo "lint: SKIPPED the C formatting check: clang-format is not installed (apt-get install clang-format)" >&2
fi
echo "lint: biome and clang-format are satisfied" >&2
