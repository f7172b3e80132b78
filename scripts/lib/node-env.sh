# Sourced by the project's scripts: puts a Node.js >= 22 first on PATH.
# The machine's node is used when it is new enough; otherwise Node 24 comes from the npm package `node@24`
# (it ships the official runtime) into a cache outside the repository. cbr_pinned_node_bin gives that pinned
# runtime's bin directory whatever the machine has (the single executable is built from it: build-binary.sh).
cbr_cache=${CBR_CACHE:-$HOME/.cache/cass-backup-run}
cbr_node_version=${CBR_NODE_VERSION:-24.21.0}

cbr_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

cbr_pinned_node_bin() {
  local dir=$cbr_cache/node-$cbr_node_version
  local bin=$dir/node_modules/node/bin
  if [ ! -x "$bin/node" ] || ! "$bin/node" --version >/dev/null 2>&1; then
    command -v npm >/dev/null || { echo "node-env: need npm (any version) to install Node $cbr_node_version" >&2; return 1; }
    echo "node-env: installing Node $cbr_node_version into $dir" >&2
    mkdir -p "$dir"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dir" "node@$cbr_node_version" >&2 || return 1
  fi
  echo "$bin"
}

if [ "$(cbr_node_major)" -lt 22 ]; then
  cbr_node_bin=$(cbr_pinned_node_bin) || { return 1 2>/dev/null || exit 1; }
  export PATH="$cbr_node_bin:$PATH"
fi
if [ "$(cbr_node_major)" -lt 22 ]; then
  echo "node-env: Node >= 22 is required, found $(node --version 2>/dev/null || echo none)" >&2
  return 1 2>/dev/null || exit 1
fi
