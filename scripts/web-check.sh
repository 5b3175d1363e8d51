#!/usr/bin/env bash
# The committed web build (web/dist, embedded into the kefu binary) must be exactly what the
# committed sources and lockfile build: a clean install, a build, and no difference in dist —
# neither a changed nor an untracked file. Run from anywhere; needs Node 20.19+ and npm.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
    echo "web-check: npm is not installed (apt-get install -y nodejs npm)" >&2
    exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run build

if ! git diff --exit-code --stat -- dist; then
    echo "web-check: web/dist differs from a fresh build: run 'cd web && npm run build' and commit dist" >&2
    exit 1
fi
untracked=$(git status --porcelain --untracked-files=all -- dist)
if [ -n "$untracked" ]; then
    echo "web-check: web/dist has files a fresh build makes but git does not have:" >&2
    echo "$untracked" >&2
    exit 1
fi
# the type declarations the build regenerates must be committed as built, too
if ! git diff --exit-code --stat -- src/components.d.ts src/auto-imports.d.ts; then
    echo "web-check: src/components.d.ts or src/auto-imports.d.ts changed in the build: commit them" >&2
    exit 1
fi
echo "web-check: web/dist matches the sources"
