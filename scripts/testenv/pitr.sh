# Sourced by scripts/testenv.sh: a single Cassandra 5.0 node for point-in-time-restore tests, apart from the shared
# node (which they must never restart): 127.0.0.5 (on `lo`), CQL 9542, storage 7500, JMX 7505, its own data and
# commit-log directories, 1 MiB commit-log segments, and archive_command running this checkout's
# `cass-backup-run archive-commitlog` into a staging directory. The tests stop, wipe and restart it.
# Commands: pitr-up | pitr-down | pitr-status | pitr-env | pitr-node stop|start|wipe.

pitr_dir=$state/pitr
pitr_address=${CBR_PITR_ADDRESS:-127.0.0.5}
pitr_cql_port=${CBR_PITR_CQL_PORT:-9542}
pitr_storage_port=${CBR_PITR_STORAGE_PORT:-7500}
pitr_jmx_port=${CBR_PITR_JMX_PORT:-7505}
pitr_pidfile=$pitr_dir/run/cassandra.pid
pitr_yaml=$pitr_dir/conf/cassandra.yaml

pitr_running() {
  [ -f "$pitr_pidfile" ] || return 1
  local pid; pid=$(cat "$pitr_pidfile")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pitr_yaml"
}

# The staging directory archive_command writes to is read from a file at every call, so that a test can point it
# at a small file system for a while (a full staging disk) without restarting the node.
write_pitr_configs() {
  # shellcheck source=../lib/node-env.sh
  source "$repo/scripts/lib/node-env.sh"
  local node_bin; node_bin=$(command -v node)
  mkdir -p "$pitr_dir"/{bin,run,conf,data,commitlog,saved_caches,hints,cdc_raw,logs,staging}
  sed -e "s|@NODE@|$pitr_dir|g" -e "s|@ADDRESS@|$pitr_address|g" -e "s|@STORAGE_PORT@|$pitr_storage_port|g" \
    -e "s|@CQL_PORT@|$pitr_cql_port|g" "$here/pitr.yaml.in" >"$pitr_yaml"
  cp "$here/logback.xml" "$here/logback-tools.xml" "$pitr_dir/conf/"
  [ -f "$pitr_dir/staging-path" ] || echo "$pitr_dir/staging" >"$pitr_dir/staging-path"
  cat >"$pitr_dir/bin/archive-commitlog" <<AC
#!/usr/bin/env bash
# exec: the tool's parent is Cassandra's JVM, whose start time it records with each segment.
exec "$node_bin" "$repo/dist/entry.js" archive-commitlog --commitlog-staging "\$(cat "$pitr_dir/staging-path")" "\$@"
AC
  chmod +x "$pitr_dir/bin/archive-commitlog"
  # The archiving line; a test adds restore lines for a restore and removes them again.
  [ -f "$pitr_dir/conf/commitlog_archiving.properties" ] ||
    echo "archive_command=$pitr_dir/bin/archive-commitlog %path %name" >"$pitr_dir/conf/commitlog_archiving.properties"
  cat >"$pitr_dir/bin/nodetool" <<NT
#!/usr/bin/env bash
jvm=()
while [ \$# -gt 0 ] && [[ \$1 == -D* ]]; do jvm+=("\$1"); shift; done
conn=()
if ! printf '%s\n' "\$@" | grep -qxE -- '-h|--host'; then conn+=(-h 127.0.0.1); fi
if ! printf '%s\n' "\$@" | grep -qxE -- '-p|--port'; then conn+=(-p $pitr_jmx_port); fi
mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
exec "$java_home/bin/java" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "\${opts[@]}" \\
  -Dlogback.configurationFile="$pitr_dir/conf/logback-tools.xml" -Dcassandra.storagedir="$pitr_dir" \\
  "\${jvm[@]}" -cp "$cass_lib/*" org.apache.cassandra.tools.NodeTool "\${conn[@]}" "\$@"
NT
  chmod +x "$pitr_dir/bin/nodetool"
}

start_pitr_node() {
  pitr_running && return 0
  (exec 3<>"/dev/tcp/$pitr_address/$pitr_cql_port") 2>/dev/null && die "$pitr_address:$pitr_cql_port is taken by another process"
  local jamm; jamm=$(ls "$cass_lib"/jamm-*.jar | head -1)
  local opts; mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
  log "starting the PITR node on $pitr_address (CQL $pitr_cql_port, JMX $pitr_jmx_port)"
  setsid nohup "$java_home/bin/java" -Xms256m -Xmx512m -XX:+UseG1GC -ea -da:net.openhft... -javaagent:"$jamm" "${opts[@]}" \
    -Dcassandra-foreground=yes -Dcassandra.config="file://$pitr_yaml" -Dcassandra.logdir="$pitr_dir/logs" \
    -Dlogback.configurationFile="$pitr_dir/conf/logback.xml" -Dcassandra.jmx.local.port=$pitr_jmx_port \
    -Dcom.sun.management.jmxremote.authenticate=false -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=100 \
    -Dcassandra.storagedir="$pitr_dir" -cp "$pitr_dir/conf:$cass_lib/*" org.apache.cassandra.service.CassandraDaemon \
    >>"$pitr_dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pitr_pidfile"
}

pitr_ready() { (exec 3<>"/dev/tcp/$pitr_address/$pitr_cql_port") 2>/dev/null && "$pitr_dir/bin/nodetool" status 2>/dev/null | grep -q "^UN  *${pitr_address//./\\.}"; }

wait_pitr_ready() {
  local deadline=$((SECONDS + ${CBR_PITR_START_TIMEOUT:-240}))
  sleep 1 # until the child has exec'd java, its command line is the shell's
  until pitr_ready; do
    pitr_running || { tail -30 "$pitr_dir/logs/stdout.log" >&2; die "the PITR node exited during start-up (log: $pitr_dir/logs/stdout.log)"; }
    [ $SECONDS -lt $deadline ] || die "the PITR node is not ready after ${CBR_PITR_START_TIMEOUT:-240}s"
    sleep 1
  done
}

# TERM: Cassandra's shutdown hook drains, which archives the active segment.
stop_pitr_node() { stop_process "PITR node" "$pitr_pidfile" pitr_running; }

cmd_pitr_up() {
  cmd_install
  write_pitr_configs
  start_pitr_node
  wait_pitr_ready
  cmd_pitr_env | tee "$pitr_dir/env.sh"
  log "PITR node ready"
}

cmd_pitr_node() {
  case ${1:-} in
    stop) stop_pitr_node ;;
    start) write_pitr_configs; start_pitr_node; wait_pitr_ready ;;
    wipe) pitr_running && die "stop the PITR node before wiping it"
      rm -rf "$pitr_dir"/{data,commitlog,saved_caches,hints,cdc_raw,staging}/* ;;
    *) die "pitr-node stop|start|wipe" ;;
  esac
}

cmd_pitr_down() {
  stop_pitr_node
  [ "${1:-}" = --wipe ] && rm -rf "$pitr_dir"
  return 0
}

cmd_pitr_status() { if pitr_running; then echo "pitr: running (pid $(cat "$pitr_pidfile"))"; else echo "pitr: stopped"; return 1; fi; }

cmd_pitr_env() {
  echo "export CBR_PITR_DIR=$pitr_dir CBR_PITR_HOST=$pitr_address CBR_PITR_CQL_PORT=$pitr_cql_port"
  echo "export CBR_PITR_NODETOOL=$pitr_dir/bin/nodetool CBR_PITR_YAML=$pitr_yaml CBR_PITR_DATA=$pitr_dir/data CBR_PITR_COMMITLOG=$pitr_dir/commitlog"
  echo "export CBR_PITR_STAGING=$pitr_dir/staging CBR_PITR_CONF=$pitr_dir/conf"
}
