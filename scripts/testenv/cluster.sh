# Sourced by scripts/testenv.sh: a three-node Cassandra 5.0 cluster on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all on
# `lo`), standing for three hosts: one data center (dc1), racks r1..r3, 16 fixed tokens per node (interleaved, so
# all three start together as seeds), its own data, commit log, JMX port, nodetool and logs per node; keyspaces cbr_rf3
# and cbr_rf2 (NetworkTopologyStrategy, replication factor 3 and 2) with a few rows each.
# Facts behind the settings: shared/research/testinfra-cluster.md. Commands: cluster-up|cluster-down|cluster-status|cluster-env,
# and for the whole-cluster restore drills: cluster-wipe (stop every node, remove its data, commit log, caches and hints;
# keep its configuration) and cluster-start N... (start those nodes as they are configured, wait until they see each
# other). bin/ also holds the tools of the same Cassandra installation: sstableloader (BulkLoader) and cqlsh (PyPI).

cluster_dir=$state/cluster
cluster_storage_port=${CBR_CLUSTER_STORAGE_PORT:-7100}
cluster_cql_port=${CBR_CLUSTER_CQL_PORT:-9142}
cluster_jmx_base=${CBR_CLUSTER_JMX_BASE:-7300}
cluster_nodes=(1 2 3)
cqlsh_version=6.2.2
cqlsh_venv=$cache/cqlsh-$cqlsh_version

node_dir() { echo "$cluster_dir/node$1"; }
node_yaml() { echo "$(node_dir "$1")/conf/cassandra.yaml"; }
node_pidfile() { echo "$cluster_dir/run/node$1.pid"; }

# Token k = -2^63 + k * (2^64 / 48) for k = 0..47; node i takes every k with k mod 3 = i - 1. Summed step by step:
# k * step alone would overflow bash's 64-bit arithmetic.
node_tokens() {
  local i=$1 out=() k t=-9223372036854775807
  t=$((t - 1))
  for ((k = 0; k < 48; k++)); do
    ((k % 3 == i - 1)) && out+=("$t")
    t=$((t + 384307168202282325))
  done
  local IFS=,; echo "${out[*]}"
}

node_running() {
  local f; f=$(node_pidfile "$1")
  [ -f "$f" ] || return 1
  local pid; pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(node_yaml "$1")"
}

# cqlsh is Python; the PyPI package is the one Cassandra ships (the pure-Python driver: no compiler needed).
install_cqlsh() {
  [ -x "$cqlsh_venv/bin/cqlsh" ] && return 0
  command -v python3 >/dev/null || die "python3 not found (cqlsh needs it)"
  log "installing cqlsh $cqlsh_version (PyPI) into $cqlsh_venv"
  rm -rf "$cqlsh_venv"
  python3 -m venv "$cqlsh_venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  CASS_DRIVER_NO_EXTENSIONS=1 CASS_DRIVER_NO_CYTHON=1 "$cqlsh_venv/bin/pip" install -q "cqlsh==$cqlsh_version" >"$state/logs/cqlsh.log" 2>&1 \
    || { tail -20 "$state/logs/cqlsh.log" >&2; rm -rf "$cqlsh_venv"; die "installing cqlsh failed"; }
}

# The bulk loader and cqlsh beside the nodetools, as in Cassandra's bin/: the tool finds them there by default.
write_cluster_tools() {
  mkdir -p "$cluster_dir"/{bin,loader}
  cat >"$cluster_dir/bin/sstableloader" <<SL
#!/usr/bin/env bash
mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
exec "$java_home/bin/java" -Xms32m -Xmx256m -XX:+UseSerialGC "\${opts[@]}" \\
  -Dlogback.configurationFile="$here/logback-tools.xml" -Dcassandra.storagedir="$cluster_dir/loader" \\
  -cp "$cass_lib/*" org.apache.cassandra.tools.BulkLoader "\$@"
SL
  printf '#!/bin/sh\nexec "%s/bin/cqlsh" "$@"\n' "$cqlsh_venv" >"$cluster_dir/bin/cqlsh"
  chmod +x "$cluster_dir/bin/sstableloader" "$cluster_dir/bin/cqlsh"
}

write_cluster_configs() {
  mkdir -p "$cluster_dir"/{bin,run}
  for i in "${cluster_nodes[@]}"; do
    local d; d=$(node_dir "$i")
    mkdir -p "$d"/{conf,data,commitlog,saved_caches,hints,cdc_raw,logs}
    sed -e "s|@NODE@|$d|g" -e "s|@ADDRESS@|127.0.0.$i|g" -e "s|@STORAGE_PORT@|$cluster_storage_port|g" \
      -e "s|@CQL_PORT@|$cluster_cql_port|g" -e "s|@TOKENS@|$(node_tokens "$i")|g" "$here/cluster.yaml.in" >"$(node_yaml "$i")"
    printf 'dc=dc1\nrack=r%s\n' "$i" >"$d/conf/cassandra-rackdc.properties"
    cp "$here/logback.xml" "$here/logback-tools.xml" "$d/conf/"
    # JMX binds to 127.0.0.1 only: node i is reached as -h 127.0.0.1 -p <its port>.
    cat >"$cluster_dir/bin/nodetool-$i" <<NT
#!/usr/bin/env bash
jvm=()
while [ \$# -gt 0 ] && [[ \$1 == -D* ]]; do jvm+=("\$1"); shift; done
conn=()
if ! printf '%s\n' "\$@" | grep -qxE -- '-h|--host'; then conn+=(-h 127.0.0.1); fi
if ! printf '%s\n' "\$@" | grep -qxE -- '-p|--port'; then conn+=(-p $((cluster_jmx_base + i))); fi
mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
exec "$java_home/bin/java" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "\${opts[@]}" \\
  -Dlogback.configurationFile="$d/conf/logback-tools.xml" -Dcassandra.storagedir="$d" \\
  "\${jvm[@]}" -cp "$cass_lib/*" org.apache.cassandra.tools.NodeTool "\${conn[@]}" "\$@"
NT
    chmod +x "$cluster_dir/bin/nodetool-$i"
  done
}

start_cluster_node() {
  local i=$1 d; d=$(node_dir "$i")
  node_running "$i" && return 0
  (exec 3<>"/dev/tcp/127.0.0.$i/$cluster_cql_port") 2>/dev/null && die "127.0.0.$i:$cluster_cql_port is taken by another process"
  local jamm; jamm=$(ls "$cass_lib"/jamm-*.jar | head -1)
  local opts; mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
  log "starting cluster node $i on 127.0.0.$i (JMX $((cluster_jmx_base + i)))"
  setsid nohup "$java_home/bin/java" -Xms256m -Xmx512m -XX:+UseG1GC -ea -da:net.openhft... -javaagent:"$jamm" "${opts[@]}" \
    -Dcassandra-foreground=yes -Dcassandra.config="file://$(node_yaml "$i")" -Dcassandra.logdir="$d/logs" \
    -Dlogback.configurationFile="$d/conf/logback.xml" -Dcassandra.jmx.local.port=$((cluster_jmx_base + i)) \
    -Dcom.sun.management.jmxremote.authenticate=false -Dcassandra.ring_delay_ms=1000 \
    -Dcassandra.storagedir="$d" -cp "$d/conf:$cass_lib/*" org.apache.cassandra.service.CassandraDaemon \
    >"$d/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$(node_pidfile "$i")"
}

# Starts the given nodes and waits until each sees exactly them Up/Normal; a node that exits fails at once.
start_nodes_and_wait() {
  local i
  for i in "$@"; do start_cluster_node "$i"; done
  local deadline=$((SECONDS + ${CBR_CLUSTER_START_TIMEOUT:-300}))
  until cluster_ready "$@"; do
    for i in "$@"; do
      node_running "$i" || { tail -30 "$(node_dir "$i")/logs/stdout.log" >&2; die "cluster node $i exited during start-up"; }
    done
    [ $SECONDS -lt $deadline ] || die "cluster nodes $* are not ready after ${CBR_CLUSTER_START_TIMEOUT:-300}s"
    sleep 2
  done
}

cluster_ready() { # every node given (default: all three) sees that many nodes Up/Normal
  local i nodes=("$@")
  [ $# -gt 0 ] || nodes=("${cluster_nodes[@]}")
  for i in "${nodes[@]}"; do
    [ "$("$cluster_dir/bin/nodetool-$i" status 2>/dev/null | grep -c '^UN ')" = "${#nodes[@]}" ] || return 1
  done
}

stop_cluster_node() { stop_process "cluster node $1" "$(node_pidfile "$1")" node_running "$1"; }

cmd_cluster_up() {
  cmd_install
  install_cqlsh
  write_cluster_configs
  write_cluster_tools
  start_nodes_and_wait "${cluster_nodes[@]}"
  # shellcheck source=../lib/node-env.sh
  source "$repo/scripts/lib/node-env.sh"
  (cd "$repo" && node "$here/cluster-keyspaces.ts" 127.0.0.1,127.0.0.2,127.0.0.3 "$cluster_cql_port") || die "creating the cluster's keyspaces failed"
  cmd_cluster_env | tee "$cluster_dir/env.sh"
  log "cluster ready"
}

# `cluster-node-stop N` / `cluster-node-start N`: one node down and up again (tests of a node missing from a slot).
cmd_cluster_node() {
  local what=$1 i=$2
  case $what in
    stop) stop_cluster_node "$i" ;;
    start) start_cluster_node "$i"
      local deadline=$((SECONDS + 180))
      until cluster_ready; do [ $SECONDS -lt $deadline ] || die "node $i did not rejoin"; sleep 2; done ;;
  esac
}

# Every node stopped and emptied (data, commit log, saved caches, hints): a cluster lost, its configuration kept.
cmd_cluster_wipe() {
  local i d
  for i in "${cluster_nodes[@]}"; do
    stop_cluster_node "$i"
    d=$(node_dir "$i")
    rm -rf "$d"/{data,commitlog,saved_caches,hints,cdc_raw}
    mkdir -p "$d"/{data,commitlog,saved_caches,hints,cdc_raw}
  done
}

# `cluster-start 1 2`: those nodes as configured now (a restore drill edits their cassandra.yaml), until they see each other.
cmd_cluster_start() {
  [ $# -gt 0 ] || die "cluster-start needs node numbers"
  start_nodes_and_wait "$@"
  log "nodes $* ready"
}

cmd_cluster_down() {
  local i
  for i in "${cluster_nodes[@]}"; do stop_cluster_node "$i"; done
  [ "${1:-}" = --wipe ] && rm -rf "$cluster_dir"
  return 0
}

cmd_cluster_status() {
  local i all=0
  for i in "${cluster_nodes[@]}"; do
    if node_running "$i"; then echo "node $i: running (pid $(cat "$(node_pidfile "$i")"))"; else echo "node $i: stopped"; all=1; fi
  done
  return $all
}

cmd_cluster_env() {
  echo "export CBR_CLUSTER_DIR=$cluster_dir CBR_CLUSTER_CQL_PORT=$cluster_cql_port"
  echo "export CBR_CLUSTER_HOSTS=127.0.0.1,127.0.0.2,127.0.0.3 CBR_CLUSTER_STORAGE_PORT=$cluster_storage_port"
  echo "export CBR_CLUSTER_SSTABLELOADER=$cluster_dir/bin/sstableloader CBR_CLUSTER_CQLSH=$cluster_dir/bin/cqlsh"
  local i
  for i in "${cluster_nodes[@]}"; do
    echo "export CBR_CLUSTER_NODETOOL_$i=$cluster_dir/bin/nodetool-$i CBR_CLUSTER_YAML_$i=$(node_yaml "$i") CBR_CLUSTER_DATA_$i=$(node_dir "$i")/data"
  done
}
