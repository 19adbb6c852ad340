#!/usr/bin/env bash
# Makes a fresh clone runnable with only Node and npm: installs pnpm when it is missing, and the
# locked dependencies when they are missing or older than the lockfile. Quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=12.21.0
if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm $PNPM_VERSION" >&2
  npm install --global "pnpm@$PNPM_VERSION" >&2
fi
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "bootstrap: installing dependencies from pnpm-lock.yaml" >&2
  CI=true pnpm install --frozen-lockfile >&2
fi
