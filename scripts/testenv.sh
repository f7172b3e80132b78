#!/usr/bin/env bash
# The loopback test environment, all on 127.0.0.1:
#   Apache Cassandra 5.0 (jars from Maven Central, JDK 17, two data directories, incremental backups on)
#   with a `nodetool` that runs the real org.apache.cassandra.tools.NodeTool,
#   versitygw (S3 API), fake-gcs-server (GCS JSON API), Azurite (Azure Blob API, from npm), amazon-ec2-metadata-mock
#   (IMDSv2) and a GCE metadata fake.
#
# Usage: scripts/testenv.sh install|up|down|status|env|cluster-up|cluster-down|cluster-status|cluster-env|cluster-node stop|start N|cluster-wipe|cluster-start N...|pitr-…
#   install  download and build everything (cached in $CBR_CACHE, default ~/.cache/cass-backup-run)
#   up       install, start what is not running, wait until ready, print the environment (idempotent)
#   down     stop the processes this script started (by pid), keep the state directory
#   status   one line per service, with its resident memory
#   env      print the environment variables a test or a person needs (also in $CBR_TESTENV/env.sh)
#   cluster-up / cluster-down / cluster-status / cluster-env: a three-node cluster on 127.0.0.1-3 (testenv/cluster.sh),
#            apart from the single node; its variables also in $CBR_TESTENV/cluster/env.sh
#   pitr-up / pitr-down / pitr-status / pitr-env / pitr-node stop|start|wipe: the point-in-time-restore node on
#            127.0.0.5 with commit-log archiving (testenv/pitr.sh); its variables also in $CBR_TESTENV/pitr/env.sh
# State and logs live in $CBR_TESTENV (default <repo>/.testenv); `down --wipe` removes it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
here=$repo/scripts/testenv
cache=${CBR_CACHE:-$HOME/.cache/cass-backup-run}
state=${CBR_TESTENV:-$repo/.testenv}

cassandra_version=${CBR_CASSANDRA_VERSION:-5.0.8}
versitygw_version=v1.7.0
fakegcs_version=v1.55.1
aemm_version=v1.13.0
java_home=${CBR_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

cql_port=${CBR_CQL_PORT:-9042}
storage_port=${CBR_STORAGE_PORT:-7000}
jmx_port=${CBR_JMX_PORT:-7199}
s3_port=${CBR_S3_PORT:-7070}
gcs_port=${CBR_GCS_PORT:-4443}
imds_port=${CBR_IMDS_PORT:-1338}
gce_port=${CBR_GCE_PORT:-8089}
azure_port=${CBR_AZURE_PORT:-10000}
# Azurite's development account and key: public, the same in every Azurite (Microsoft's documentation).
azure_account=devstoreaccount1
azure_key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
s3_access_key=cbr-test-access
s3_secret_key=cbr-test-secret
bucket=cbr-test

cass_lib=$cache/cassandra-$cassandra_version/lib
gobin=$cache/go-bin
services=(cassandra s3 gcs imds gce azure)

# The Go toolchain may be installed without being on PATH (e.g. /usr/local/go).
command -v go >/dev/null 2>&1 || { [ -x /usr/local/go/bin/go ] && PATH=/usr/local/go/bin:$PATH; }

log() { echo "testenv: $*" >&2; }
die() { echo "testenv: error: $*" >&2; exit 1; }

# ---------- install ----------

install_cassandra() {
  [ -f "$cass_lib/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "resolving cassandra-all $cassandra_version and its runtime dependencies (Maven)"
  rm -rf "$cass_lib"; mkdir -p "$cass_lib" "$state/logs"
  # The parent POM declares system-scoped artifacts with unresolved paths; Maven logs errors for them and succeeds.
  local repo=(); [ -n "${CBR_MAVEN_REPO:-}" ] && repo=(-Dmaven.repo.local="$CBR_MAVEN_REPO")
  JAVA_HOME=$java_home mvn -B -q -f "$here/cassandra-pom.xml" -Dcassandra.version="$cassandra_version" "${repo[@]}" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$cass_lib" -DincludeScope=runtime >"$state/logs/maven.log" 2>&1 \
    || { tail -20 "$state/logs/maven.log" >&2; die "maven failed (log: $state/logs/maven.log)"; }
  ls "$cass_lib"/cassandra-all-*.jar >/dev/null 2>&1 || die "cassandra-all jar missing after maven"
  touch "$cass_lib/.complete"
}

install_go_tool() { # name module@version
  local name=$1 pkg=$2 marker=$gobin/.$1-${2##*@}
  [ -f "$marker" ] && [ -x "$gobin/$name" ] && return 0
  command -v go >/dev/null || die "go not found (apt-get install golang, or a Go >= 1.25 toolchain)"
  log "building $pkg"
  mkdir -p "$gobin" "$state/logs"
  GOBIN=$gobin CGO_ENABLED=0 GOFLAGS=-mod=mod go install "$pkg" >"$state/logs/go-$name.log" 2>&1 \
    || { tail -20 "$state/logs/go-$name.log" >&2; die "go install $pkg failed"; }
  rm -f "$gobin"/.$name-*; touch "$marker"
}

cmd_install() {
  mkdir -p "$state/logs"
  [ -x "$java_home/bin/java" ] || die "JDK 17 not found at $java_home (set CBR_JAVA_HOME)"
  install_cassandra &
  local p1=$!
  install_go_tool versitygw github.com/versity/versitygw/cmd/versitygw@$versitygw_version &
  local p2=$!
  install_go_tool fake-gcs-server github.com/fsouza/fake-gcs-server@$fakegcs_version &
  local p3=$!
  install_go_tool ec2-metadata-mock github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@$aemm_version &
  local p4=$!
  local failed=0
  for p in $p1 $p2 $p3 $p4; do wait "$p" || failed=1; done
  [ $failed = 0 ] || die "install failed"
  write_configs
}

# ---------- configuration ----------

write_configs() {
  mkdir -p "$state"/{bin,logs,run} "$state"/cassandra/{conf,data1,data2,commitlog,saved_caches,hints,cdc_raw} \
    "$state"/s3/{data,meta} "$state"/gcs
  sed -e "s|@STATE@|$state|g" -e "s|@CQL_PORT@|$cql_port|g" -e "s|@STORAGE_PORT@|$storage_port|g" \
    "$here/cassandra.yaml.in" >"$state/cassandra/conf/cassandra.yaml"
  cp "$here/logback.xml" "$here/logback-tools.xml" "$state/cassandra/conf/"
  write_nodetool
  write_aemm_config
}

# A nodetool on the same classpath as the node. Like bin/nodetool, leading -D arguments go to the JVM;
# -h/-p default to this node; -u/-pw/-pwf and everything else pass through to NodeTool.
write_nodetool() {
  cat >"$state/bin/nodetool" <<EOF
#!/usr/bin/env bash
jvm=()
while [ \$# -gt 0 ] && [[ \$1 == -D* ]]; do jvm+=("\$1"); shift; done
conn=()
if ! printf '%s\n' "\$@" | grep -qxE -- '-h|--host'; then conn+=(-h 127.0.0.1); fi
if ! printf '%s\n' "\$@" | grep -qxE -- '-p|--port'; then conn+=(-p $jmx_port); fi
mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
exec "$java_home/bin/java" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "\${opts[@]}" \\
  -Dlogback.configurationFile="$state/cassandra/conf/logback-tools.xml" -Dcassandra.storagedir="$state/cassandra" \\
  "\${jvm[@]}" -cp "$cass_lib/*" org.apache.cassandra.tools.NodeTool "\${conn[@]}" "\$@"
EOF
  chmod +x "$state/bin/nodetool"
}

write_aemm_config() {
  cat >"$state/run/aemm.json" <<EOF
{
  "metadata": {
    "values": {
      "iam-security-credentials": {
        "Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
        "AccessKeyId": "$s3_access_key", "SecretAccessKey": "$s3_secret_key",
        "Token": "cbr-test-session-token", "Expiration": "2099-01-01T00:00:00Z"
      },
      "instance-id": "i-0cbr1234567890abc",
      "hostname": "ip-10-0-0-17.ec2.internal",
      "local-hostname": "ip-10-0-0-17.ec2.internal",
      "placement-region": "us-east-1",
      "placement-availability-zone": "us-east-1a"
    }
  },
  "dynamic": {
    "values": {
      "instance-identity-document": {
        "accountId": "123456789012", "architecture": "x86_64", "availabilityZone": "us-east-1a",
        "imageId": "ami-0cbr0000000000000", "instanceId": "i-0cbr1234567890abc", "instanceType": "m5.large",
        "privateIp": "10.0.0.17", "region": "us-east-1", "version": "2017-09-30", "pendingTime": "2026-01-01T00:00:00Z"
      }
    }
  }
}
EOF
}

# ---------- process management ----------

pidfile() { echo "$state/run/$1.pid"; }

# The pid is ours only if the process still runs the command we started (pids are reused).
running() {
  local f; f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  local pid; pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(marker "$1")"
}

marker() {
  case $1 in
    cassandra) echo "CassandraDaemon" ;;
    s3) echo "versitygw" ;;
    gcs) echo "fake-gcs-server" ;;
    imds) echo "ec2-metadata-mock" ;;
    gce) echo "gce-metadata-fake" ;;
    azure) echo "azurite-blob" ;;
  esac
}

spawn() { # name command...
  local name=$1; shift
  setsid nohup "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # name seconds probe...
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    running "$name" || { tail -30 "$state/logs/$name.log" >&2; die "$name exited during start-up (log: $state/logs/$name.log)"; }
    [ $SECONDS -lt $deadline ] || { tail -30 "$state/logs/$name.log" >&2; die "$name not ready after ${secs}s"; }
    sleep 1
  done
}

start_cassandra() {
  running cassandra && return 0
  port_open "$cql_port" && die "port $cql_port is taken by another process; set CBR_CQL_PORT"
  local jamm; jamm=$(ls "$cass_lib"/jamm-*.jar | head -1)
  local opts; mapfile -t opts < <(grep -v '^#' "$here/jvm17.options")
  log "starting Cassandra $cassandra_version (data: $state/cassandra/data1, data2)"
  spawn cassandra "$java_home/bin/java" -Xms${CBR_CASSANDRA_HEAP:-1g} -Xmx${CBR_CASSANDRA_HEAP:-1g} \
    -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError -ea -da:net.openhft... -javaagent:"$jamm" "${opts[@]}" \
    -Dcassandra-foreground=yes -Dcassandra.config="file://$state/cassandra/conf/cassandra.yaml" \
    -Dcassandra.logdir="$state/logs/cassandra" -Dlogback.configurationFile="$state/cassandra/conf/logback.xml" \
    -Dcassandra.jmx.local.port="$jmx_port" -Dcom.sun.management.jmxremote.authenticate=false \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=100 \
    -Dcassandra.storagedir="$state/cassandra" -Dcassandra-pidfile="$state/run/cassandra.java.pid" \
    -cp "$state/cassandra/conf:$cass_lib/*" org.apache.cassandra.service.CassandraDaemon
}

cassandra_ready() { port_open "$cql_port" && "$state/bin/nodetool" status 2>/dev/null | grep -q '^UN  *127\.0\.0\.1'; }

start_s3() {
  running s3 && return 0
  log "starting versitygw $versitygw_version on 127.0.0.1:$s3_port"
  # --keep-alive: versitygw otherwise answers every request with "Connection: close", so each request of every
  # client (ours, s5cmd, rclone) paid a TCP connect and the server a TIME-WAIT socket; S3 keeps connections open.
  ROOT_ACCESS_KEY_ID=$s3_access_key ROOT_SECRET_ACCESS_KEY=$s3_secret_key \
    spawn s3 "$gobin/versitygw" --port "127.0.0.1:$s3_port" --keep-alive posix --sidecar "$state/s3/meta" "$state/s3/data"
}

s3_request() { # method path
  local how=(-X "$1"); [ "$1" = HEAD ] && how=(--head)
  curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: $empty_sha256" \
    --user "$s3_access_key:$s3_secret_key" "${how[@]}" "http://127.0.0.1:$s3_port$2"
}

empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3_ready() { [ "$(s3_request GET /)" = 200 ]; }

ensure_s3_bucket() {
  [ "$(s3_request HEAD "/$bucket")" = 200 ] && return 0
  local code; code=$(s3_request PUT "/$bucket")
  [ "$code" = 200 ] || die "creating S3 bucket $bucket failed (HTTP $code)"
}

start_gcs() {
  running gcs && return 0
  log "starting fake-gcs-server $fakegcs_version on 127.0.0.1:$gcs_port"
  spawn gcs "$gobin/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend filesystem \
    -filesystem-root "$state/gcs" -external-url "http://127.0.0.1:$gcs_port" -public-host "127.0.0.1:$gcs_port" \
    -log-level warn
}

gcs_ready() { curl -sf "http://127.0.0.1:$gcs_port/_internal/healthcheck"; }

ensure_gcs_bucket() {
  curl -sf "http://127.0.0.1:$gcs_port/storage/v1/b/$bucket" >/dev/null && return 0
  curl -sf -X POST -H 'content-type: application/json' -d "{\"name\":\"$bucket\"}" \
    "http://127.0.0.1:$gcs_port/storage/v1/b?project=cbr-test-project" >/dev/null || die "creating GCS bucket failed"
}

start_imds() {
  running imds && return 0
  log "starting amazon-ec2-metadata-mock $aemm_version (IMDSv2 only) on 127.0.0.1:$imds_port"
  spawn imds "$gobin/ec2-metadata-mock" -n 127.0.0.1 -p "$imds_port" -I -c "$state/run/aemm.json"
}

imds_ready() {
  local token; token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "http://127.0.0.1:$imds_port/latest/api/token") &&
    curl -sf -H "X-aws-ec2-metadata-token: $token" "http://127.0.0.1:$imds_port/latest/meta-data/instance-id"
}

start_gce() {
  running gce && return 0
  log "starting the GCE metadata fake on 127.0.0.1:$gce_port"
  GCE_FAKE_PORT=$gce_port spawn gce node "$here/gce-metadata-fake.ts"
}

gce_ready() { curl -sf -H 'Metadata-Flavor: Google' "http://127.0.0.1:$gce_port/computeMetadata/v1/instance/id"; }

# Azurite from the project's own node_modules (a devDependency). --loose: ignore headers it does not implement
# (e.g. an encryption scope) rather than refuse the request; --skipApiVersionCheck: the SDK may be newer than it.
start_azure() {
  running azure && return 0
  local bin=$repo/node_modules/.bin/azurite-blob
  [ -x "$bin" ] || die "azurite-blob not found in node_modules (npm ci)"
  log "starting Azurite (blob) on 127.0.0.1:$azure_port"
  mkdir -p "$state/azurite"
  spawn azure "$bin" --blobHost 127.0.0.1 --blobPort "$azure_port" --location "$state/azurite" --loose \
    --skipApiVersionCheck --disableTelemetry --disableProductStyleUrl --silent
}

# Any HTTP answer means it listens (an unauthenticated request is refused with 403).
azure_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$azure_port/$azure_account?comp=list")" != 000 ]; }

cmd_up() {
  # shellcheck source=lib/node-env.sh
  source "$repo/scripts/lib/node-env.sh"
  cmd_install
  start_cassandra; start_s3; start_gcs; start_imds; start_gce; start_azure
  wait_for s3 30 s3_ready && ensure_s3_bucket
  wait_for gcs 30 gcs_ready && ensure_gcs_bucket
  wait_for imds 30 imds_ready
  wait_for gce 30 gce_ready
  wait_for azure 30 azure_ready
  wait_for cassandra "${CBR_CASSANDRA_START_TIMEOUT:-240}" cassandra_ready
  cmd_env | tee "$state/env.sh"
  log "ready"
}

# stop_process LABEL PIDFILE CHECK...: stops the process group of PIDFILE's pid while CHECK says it is still ours
# (TERM, then KILL after 30 s), and removes PIDFILE.
stop_process() {
  local label=$1 f=$2; shift 2
  if ! "$@"; then rm -f "$f"; return 0; fi
  local pid; pid=$(cat "$f")
  log "stopping $label (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do "$@" || break; sleep 0.5; done
  "$@" && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; }
  rm -f "$f"
}

stop_one() { stop_process "$1" "$(pidfile "$1")" running "$1"; }

cmd_down() {
  for s in "${services[@]}"; do stop_one "$s"; done
  cmd_cluster_down
  cmd_pitr_down
  if [ "${1:-}" = --wipe ]; then log "removing $state"; rm -rf "$state"; fi
}

cmd_status() {
  local all=0
  for s in "${services[@]}"; do
    if running "$s"; then
      local pid; pid=$(cat "$(pidfile "$s")")
      echo "$s: running (pid $pid, rss $(( $(ps -o rss= -s "$pid" 2>/dev/null | awk '{s+=$1} END {print s+0}') / 1024 )) MiB)"
    else echo "$s: stopped"; all=1; fi
  done
  return $all
}

cmd_env() {
  cat <<EOF
export CBR_TESTENV=$state
export CBR_NODETOOL=$state/bin/nodetool
export CBR_CASSANDRA_YAML=$state/cassandra/conf/cassandra.yaml
export CBR_DATA_DIRS=$state/cassandra/data1:$state/cassandra/data2
export CBR_CQL_HOST=127.0.0.1 CBR_CQL_PORT=$cql_port CBR_JMX_PORT=$jmx_port
export CBR_S3_ENDPOINT=http://127.0.0.1:$s3_port CBR_S3_BUCKET=$bucket
export CBR_S3_ACCESS_KEY=$s3_access_key CBR_S3_SECRET_KEY=$s3_secret_key
export CBR_GCS_ENDPOINT=http://127.0.0.1:$gcs_port CBR_GCS_BUCKET=$bucket
export CBR_IMDS_ENDPOINT=http://127.0.0.1:$imds_port
export CBR_GCE_METADATA_HOST=127.0.0.1:$gce_port
export CBR_AZURE_ENDPOINT=http://127.0.0.1:$azure_port/$azure_account CBR_AZURE_ACCOUNT=$azure_account CBR_AZURE_CONTAINER=$bucket
export CBR_AZURE_KEY=$azure_key
EOF
}

# shellcheck source=testenv/cluster.sh
source "$here/cluster.sh"
# shellcheck source=testenv/pitr.sh
source "$here/pitr.sh"

case ${1:-} in
  install) mkdir -p "$state"; cmd_install ;;
  cluster-up) mkdir -p "$state"; cmd_cluster_up ;;
  cluster-down) shift; cmd_cluster_down "$@" ;;
  cluster-status) cmd_cluster_status ;;
  cluster-env) cmd_cluster_env ;;
  cluster-node) shift; cmd_cluster_node "$@" ;;
  cluster-wipe) cmd_cluster_wipe ;;
  cluster-start) shift; cmd_cluster_start "$@" ;;
  pitr-up) mkdir -p "$state"; cmd_pitr_up ;;
  pitr-down) shift; cmd_pitr_down "$@" ;;
  pitr-status) cmd_pitr_status ;;
  pitr-env) cmd_pitr_env ;;
  pitr-node) shift; cmd_pitr_node "$@" ;;
  up) mkdir -p "$state"; cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
