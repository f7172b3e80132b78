# Sourced by the project's scripts: Node >= 22 on PATH, npm dependencies installed when the lock file changed,
# and the CLI built into dist/.
# shellcheck source=node-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
