#!/usr/bin/env bash
# Strand local cluster: a 3-node ZooKeeper ensemble and brokers 1-3, all on 127.0.0.1.
#
#   deploy/cluster.sh [--port BASE] start   starts ZooKeeper 1-3 and brokers 1-3, waits until each serves
#   deploy/cluster.sh stop           stops the brokers (SIGTERM), then ZooKeeper; leaves nothing running
#   deploy/cluster.sh status         every process: pid, address, up/down
#   deploy/cluster.sh kill N         SIGKILL broker N
#   deploy/cluster.sh shutdown N     SIGTERM broker N (a controlled shutdown: leaderships move first)
#   deploy/cluster.sh restart N      starts broker N again (SIGTERM first if it runs)
#   deploy/cluster.sh zk-kill N      SIGKILL ZooKeeper node N
#   deploy/cluster.sh zk-restart N   starts ZooKeeper node N again (SIGTERM first if it runs)
#   deploy/cluster.sh [--port BASE] check-ports   exits 1 if a port the cluster needs is taken
#   deploy/cluster.sh [--port BASE] zk-connect | bootstrap | bootstrap-ssl   prints the
#                                    zookeeper.connect or bootstrap list of the cluster's ports
#
# Ports, with the default BASE 9092: ZooKeeper node N: client port 218N (2181-2183), quorum port
# 2888+N, election port 3888+N; broker N: 127.0.0.1:909(2+N) (9093-9095) and, when
# broker-extra.properties asks for one ({SSL_PORT}), an SSL listener on 919N (9191-9193).
# --port BASE (or $STRAND_CLUSTER_PORT) shifts every one of them by BASE-9092: --port 19092 gives
# brokers 19093-19095, ZooKeeper 12181-12183 (quorum 12889-12891, election 13889-13891) and SSL
# 19191-19193; BASE must lie in [7935, 65434] so that all of them are valid unprivileged ports.
# `start` records BASE in the cluster dir; the other commands use the recorded one.
# Before anything starts every port is checked: one in use by another process stops everything
# with "port N is in use (another broker?); try --port" (exit 1). After the start, each port must
# be held by the process this script started, else the same message and exit 1: a demo never
# talks to someone else's server.
#
# ZooKeeper: QuorumPeerMain, Debian's zookeeper package, tickTime=500. Broker N is configured by
# deploy/config/broker-N.properties with its listener, zookeeper.connect and log.dirs moved to
# this cluster's ports and dir, plus the lines of $STRAND_CLUSTER_DIR/broker-extra.properties if
# that file exists ("{N}" in it becomes the broker number, "{PORT}" its PLAINTEXT port and
# "{SSL_PORT}" its SSL port: the TLS quickstart adds SSL listeners that way).
# State (configs, data, logs, pid files) lives in ${STRAND_CLUSTER_DIR:-/tmp/strand-cluster};
# `stop` keeps it, so the next `start` has the same topics and znodes (rm -rf it for a fresh one).
# The broker is $STRAND_BROKER, else build/broker/strand-broker, built with meson and ninja if
# missing. $JAVA picks the java binary.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${STRAND_CLUSTER_DIR:-/tmp/strand-cluster}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
dir=${dir%/}
java=${JAVA:-java}
nodes=(1 2 3)
zk_main=org.apache.zookeeper.server.quorum.QuorumPeerMain
zk_jvm_flags=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData
              -XX:+ExitOnOutOfMemoryError -Dzookeeper.jmx.log4j.disable=true)
START_TIMEOUT=30   # seconds until a process must serve
STOP_TIMEOUT=30    # seconds a process gets after SIGTERM before SIGKILL

# Components this invocation launched: a start that fails part-way stops them again (abort).
launched=()
abort() {
  local name
  for name in "${launched[@]+"${launched[@]}"}"; do
    signal_and_wait "$name" TERM > /dev/null 2>&1
  done
  launched=()
  exit 1
}
die() { echo "cluster: $*" >&2; abort; }

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

# ---- ports ----------------------------------------------------------------------------------

DEFAULT_BASE=9092
# --port BASE (anywhere on the command line) or $STRAND_CLUSTER_PORT; else the base recorded by
# `start` in $dir/ports; else 9092.
base=${STRAND_CLUSTER_PORT:-}
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || { echo "cluster: --port needs a value (try --help)" >&2; exit 2; }
            base=$2; shift ;;
    --port=*) base=${1#--port=} ;;
    *) args+=("$1") ;;
  esac
  shift
done
set -- "${args[@]+"${args[@]}"}"
if [ -n "$base" ]; then
  case "$base" in
    *[!0-9]*|'') echo "cluster: --port '$base' is not a port number (try --help)" >&2; exit 2 ;;
  esac
  if [ "$base" -lt 7935 ] || [ "$base" -gt 65434 ]; then
    echo "cluster: --port $base: the base must lie in [7935, 65434] (every port is shifted by" \
         "BASE-9092, and ZooKeeper's 2181 and the SSL listeners' 9193 must stay valid)" >&2
    exit 2
  fi
  base_given=1
else
  base_given=0
  base=$DEFAULT_BASE
  [ -r "$dir/ports" ] && base=$(sed -n 's/^base=\([0-9]*\)$/\1/p' "$dir/ports")
  base=${base:-$DEFAULT_BASE}
fi
off=$((base - DEFAULT_BASE))

zk_port()    { echo $((2180 + $1 + off)); }
zk_peer()    { echo $((2888 + $1 + off)); }
zk_elect()   { echo $((3888 + $1 + off)); }
broker_port() { echo $((9092 + $1 + off)); }
ssl_port()   { echo $((9190 + $1 + off)); }
zk_connect() { local n c=; for n in "${nodes[@]}"; do c="$c${c:+,}127.0.0.1:$(zk_port "$n")"; done; echo "$c"; }
bootstrap()  { local n c=; for n in "${nodes[@]}"; do c="$c${c:+,}127.0.0.1:$(broker_port "$n")"; done; echo "$c"; }
# True if broker-extra.properties gives the brokers SSL listeners.
wants_ssl()  { [ "${STRAND_CLUSTER_SSL:-0}" = 1 ] || grep -qF '{SSL_PORT}' "$dir/broker-extra.properties" 2>/dev/null; }

port_taken() { echo "port $1 is in use (another broker?); try --port"; }

# ---- processes ------------------------------------------------------------------------------

pidfile() { echo "$dir/$1/pid"; }     # $1 = zk1..zk3 or broker1..broker3

# True if process $1 exists and is not a zombie (our detached processes are reaped by init,
# which may take a while: kill -0 alone would still see them).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ "$state" != Z ]
}

# Prints the pid of component $1 if it runs: the pid file names a live process whose command
# line mentions this cluster's directory (so a recycled pid is not mistaken for ours).
running_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null)
  [ -n "$pid" ] && alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/$1/" || return 1
  echo "$pid"
}

# Starts "$@" detached (own session, stdin from /dev/null) with output in $dir/$name/$log; the
# process writes its own pid file before it execs, so the pid is exact.
launch() {
  local name=$1 log=$2
  shift 2
  rm -f "$(pidfile "$name")"
  # shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
  setsid --fork sh -c 'echo $$ > "$0"; exec "$@"' "$(pidfile "$name")" "$@" \
    < /dev/null >> "$dir/$name/$log" 2>&1
  for _ in $(seq 50); do [ -s "$(pidfile "$name")" ] && return 0; sleep 0.02; done
  return 1
}

# Sends $2 to component $1 and waits until it is gone (SIGKILL after STOP_TIMEOUT).
signal_and_wait() {
  local name=$1 sig=$2 pid
  pid=$(running_pid "$name") || { rm -f "$(pidfile "$name")"; return 1; }
  kill "-$sig" "$pid" 2>/dev/null
  kill -CONT "$pid" 2>/dev/null      # a SIGSTOPped process could not act on SIGTERM
  for _ in $(seq $((STOP_TIMEOUT * 10))); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "cluster: $name (pid $pid) ignored SIG$sig for ${STOP_TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$(pidfile "$name")"
  echo "$name (pid $pid) stopped with SIG$sig"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Inodes of the sockets listening on TCP port $1, any address, IPv4 or IPv6 (/proc/net/tcp*:
# field 2 is address:PORT in hex, field 4 the state, 0A = LISTEN, field 10 the inode).
listen_inodes() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# A port is in use if something listens on it (or, failing /proc, answers on it).
port_in_use() {
  if [ -r /proc/net/tcp ]; then
    [ -n "$(listen_inodes "$1")" ]
  else
    port_open "$1"
  fi
}

# True if process $1 holds a socket listening on port $2: the process we started is the one
# that answers there, not another server that had (or took) the port.
owns_port() {
  local ino fds
  fds=$(ls -l "/proc/$1/fd" 2>/dev/null) || return 1
  for ino in $(listen_inodes "$2"); do
    case "$fds" in *"socket:[$ino]"*) return 0 ;; esac
  done
  return 1
}

# "name (pid N)" of whoever listens on port $1, when /proc lets us see it; empty otherwise.
who_listens() {
  local ino p
  for ino in $(listen_inodes "$1"); do
    for p in /proc/[0-9]*; do
      case "$(ls -l "$p/fd" 2>/dev/null)" in
        *"socket:[$ino]"*) echo "$(cat "$p/comm" 2>/dev/null) (pid ${p#/proc/})"; return 0 ;;
      esac
    done
  done
}

# Dies with the port-in-use message for port $1 ($2: what it was for).
die_port() {
  local who
  who=$(who_listens "$1")
  echo "cluster: $(port_taken "$1")" >&2
  echo "cluster:   ($2${who:+; listening there: $who})" >&2
  [ ${#launched[@]} -gt 0 ] && echo "cluster:   stopping what this start launched (${launched[*]})" >&2
  abort
}

# Four-letter word $2 to the ZooKeeper on port $1 (empty if it does not answer within 2 s).
zk_4lw() {
  # shellcheck disable=SC2016 # $0 and $1 are the inner shell's
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; printf %s "$1" >&3; cat <&3' \
    "$1" "$2" 2>/dev/null
}

zk_mode() { zk_4lw "$(zk_port "$1")" srvr | sed -n 's/^Mode: //p'; }

log_tail() {
  echo "---- last lines of $1 ----" >&2
  tail -n "${2:-30}" "$1" >&2
  echo "----" >&2
}

# ---- ZooKeeper ------------------------------------------------------------------------------

zk_classpath() {
  local cp=/usr/share/java/zookeeper.jar jar
  [ -r "$cp" ] || die "$cp not found: install Debian's zookeeper package (deploy/deps.sh)"
  for jar in slf4j-log4j12 log4j-1.2; do
    [ -r "/usr/share/java/$jar.jar" ] && cp="$cp:/usr/share/java/$jar.jar"
  done
  echo "$cp"
}

zk_write_config() {
  local n=$1 d="$dir/zk$1" m
  mkdir -p "$d/data" || die "cannot create $d"
  echo "$n" > "$d/data/myid"
  {
    echo "# written by deploy/cluster.sh"
    echo "tickTime=500"
    echo "initLimit=20"
    echo "syncLimit=10"
    echo "minSessionTimeout=1000"
    echo "maxSessionTimeout=60000"
    echo "dataDir=$d/data"
    echo "clientPort=$(zk_port "$n")"
    echo "clientPortAddress=127.0.0.1"
    echo "4lw.commands.whitelist=*"
    echo "admin.enableServer=false"
    echo "preAllocSize=4096"
    for m in "${nodes[@]}"; do
      echo "server.$m=127.0.0.1:$(zk_peer "$m"):$(zk_elect "$m")"
    done
  } > "$d/zoo.cfg"
  cat > "$d/log4j.properties" <<EOF
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [myid:$n] [%t:%C{1}@%L] - %m%n
EOF
}

# Refuses to go on if a port of ZooKeeper node $1 is taken by something else.
zk_check_ports() {
  local n=$1 p
  running_pid "zk$n" > /dev/null && return 0
  for p in "$(zk_port "$n")" "$(zk_peer "$n")" "$(zk_elect "$n")"; do
    port_in_use "$p" && die_port "$p" "a port of ZooKeeper node $n; nothing was started"
  done
  return 0
}

zk_spawn() {
  local n=$1 d="$dir/zk$1" pid
  if pid=$(running_pid "zk$n"); then
    echo "zk$n already runs (pid $pid)"
    return 0
  fi
  local cp
  cp=$(zk_classpath) || exit 1
  zk_check_ports "$n"
  zk_write_config "$n"
  launch "zk$n" zookeeper.log "$java" "${zk_jvm_flags[@]}" \
    "-Dlog4j.configuration=file:$d/log4j.properties" -cp "$cp" "$zk_main" \
    "$d/zoo.cfg" || die "zk$n did not start (see $d/zookeeper.log)"
  launched+=("zk$n")
}

# Waits until ZooKeeper node $1 serves (it needs a quorum for that) on a client port that it
# holds itself.
zk_wait() {
  local n=$1 pid port
  port=$(zk_port "$n")
  for _ in $(seq $((START_TIMEOUT * 10))); do
    if ! pid=$(running_pid "zk$n"); then
      port_in_use "$port" &&
        die_port "$port" "ZooKeeper node $n's client port, taken by another process before zk$n bound it"
      log_tail "$dir/zk$n/zookeeper.log"
      die "zk$n exited"
    fi
    # Someone listens: it must be our process (in_use first: once the port is in LISTEN state
    # the owner's fd is visible, so the ownership test cannot race our own bind). Asked only
    # then, the 4-letter word answer is our node's.
    if port_in_use "$port"; then
      owns_port "$pid" "$port" ||
        die_port "$port" "ZooKeeper node $n's client port, answered by another process than zk$n (pid $pid)"
      [ -n "$(zk_mode "$n")" ] && return 0
    fi
    sleep 0.1
  done
  log_tail "$dir/zk$n/zookeeper.log"
  die "zk$n did not serve within ${START_TIMEOUT}s (is a quorum of the ensemble up?)"
}

# ---- brokers --------------------------------------------------------------------------------

broker_exe() {
  if [ -n "${STRAND_BROKER:-}" ]; then
    [ -x "$STRAND_BROKER" ] || die "\$STRAND_BROKER=$STRAND_BROKER is not executable"
    echo "$STRAND_BROKER"
    return
  fi
  local exe="$root/build/broker/strand-broker"
  if [ ! -x "$exe" ]; then
    echo "cluster: $exe is missing, building it (meson setup build && ninja -C build)" >&2
    ( cd "$root" && { [ -f build/build.ninja ] || meson setup build >&2; } &&
      ninja -C build broker/strand-broker >&2 ) || die "building the broker failed"
  fi
  echo "$exe"
}

broker_check_port() {
  local p
  running_pid "broker$1" > /dev/null && return 0
  port_in_use "$(broker_port "$1")" && die_port "$(broker_port "$1")" "broker $1's port; nothing was started"
  if wants_ssl; then
    p=$(ssl_port "$1")
    port_in_use "$p" && die_port "$p" "broker $1's SSL port; nothing was started"
  fi
  return 0
}

broker_spawn() {
  local n=$1 exe=$2 d="$dir/broker$1" port pid
  port=$(broker_port "$n")
  if pid=$(running_pid "broker$n"); then
    echo "broker$n already runs (pid $pid)"
    return 0
  fi
  broker_check_port "$n"
  local cfg="$root/deploy/config/broker-$n.properties"
  [ -r "$cfg" ] || die "$cfg is missing"
  mkdir -p "$d/logs" || die "cannot create $d"
  # The copy in the cluster dir puts the dir on the command line (running_pid relies on it);
  # its listener and zookeeper.connect follow this cluster's ports.
  sed -e "s|^listeners=.*|listeners=PLAINTEXT://127.0.0.1:$port|" \
      -e "s|^zookeeper.connect=.*|zookeeper.connect=$(zk_connect)|" "$cfg" > "$d/server.properties"
  if [ -f "$dir/broker-extra.properties" ]; then
    { echo; echo "# ---- from $dir/broker-extra.properties ----"
      sed -e "s/{N}/$n/g" -e "s/{PORT}/$port/g" -e "s/{SSL_PORT}/$(ssl_port "$n")/g" \
        "$dir/broker-extra.properties"; } >> "$d/server.properties"
  fi
  launch "broker$n" broker.log "$exe" "$d/server.properties" --override "log.dirs=$d/logs" ||
    die "broker$n did not start (see $d/broker.log)"
  launched+=("broker$n")
}

# The number of "Broker N started" lines in broker N's log (the log is appended across runs).
broker_starts() {
  grep -c "INFO Broker $1 started" "$dir/broker$1/broker.log" 2>/dev/null || true
}

# Waits until broker $1 serves: it logged one more "started" line than $2 (registered in
# ZooKeeper, logs loaded, network loops running; it binds its listeners before that line), and
# no other process listens on its port (or SSL port): the port was free when checked, so
# another holder means someone took it since.
broker_wait() {
  local n=$1 before=${2:-0} pid p ports owned
  ports=$(broker_port "$n")
  wants_ssl && ports="$ports $(ssl_port "$n")"
  for _ in $(seq $((START_TIMEOUT * 10))); do
    if ! pid=$(running_pid "broker$n"); then
      for p in $ports; do
        port_in_use "$p" && die_port "$p" "broker $n's port, taken by another process before broker$n bound it"
      done
      log_tail "$dir/broker$n/broker.log"
      die "broker$n exited during start-up"
    fi
    owned=1
    for p in $ports; do
      # in_use before owns_port, as in zk_wait: no race with our own bind
      if ! port_in_use "$p"; then
        owned=0
      elif ! owns_port "$pid" "$p"; then
        die_port "$p" "broker $n's port, answered by another process than broker$n (pid $pid)"
      fi
    done
    [ "$owned" = 1 ] && [ "$(broker_starts "$n")" -gt "$before" ] && return 0
    sleep 0.1
  done
  log_tail "$dir/broker$n/broker.log"
  die "broker$n did not serve on $ports within ${START_TIMEOUT}s"
}

# ---- commands -------------------------------------------------------------------------------

cmd_status() {
  local n pid mode state
  for n in "${nodes[@]}"; do
    if pid=$(running_pid "zk$n"); then
      mode=$(zk_mode "$n")
      state=${mode:+up ($mode)}
      state=${state:-running, not serving}
    else
      pid=-
      state=down
    fi
    printf 'zookeeper %s  127.0.0.1:%-5s  pid %-8s %s\n' "$n" "$(zk_port "$n")" "$pid" "$state"
  done
  for n in "${nodes[@]}"; do
    if pid=$(running_pid "broker$n"); then
      if owns_port "$pid" "$(broker_port "$n")"; then state=up; else state="running, not listening"; fi
    else
      pid=-
      state=down
    fi
    printf 'broker    %s  127.0.0.1:%-5s  pid %-8s %s\n' "$n" "$(broker_port "$n")" "$pid" "$state"
  done
}

cmd_start() {
  local stop_cmd="$0 stop"
  [ "$dir" = /tmp/strand-cluster ] || stop_cmd="STRAND_CLUSTER_DIR=$dir $0 stop"
  command -v "$java" > /dev/null || die "java not found (install the zookeeper package)"
  local exe n
  exe=$(broker_exe) || exit 1
  check_base
  # Every port is checked before anything starts: a refusal leaves nothing half-started.
  cmd_check_ports
  mkdir -p "$dir" || die "cannot create $dir"
  echo "base=$base" > "$dir/ports"
  for n in "${nodes[@]}"; do zk_spawn "$n"; done
  for n in "${nodes[@]}"; do zk_wait "$n"; done
  local before=()
  for n in "${nodes[@]}"; do before[n]=$(broker_starts "$n"); broker_spawn "$n" "$exe"; done
  for n in "${nodes[@]}"; do broker_wait "$n" "${before[n]}"; done
  echo
  cmd_status
  cat <<EOF

ZooKeeper:  $(zk_connect)   (logs: $dir/zkN/zookeeper.log)
Brokers:    $(bootstrap)   (logs: $dir/brokerN/broker.log)
Stop with:  $stop_cmd
EOF
}

# A cluster of this dir that still runs keeps the ports it started with: --port cannot move it.
check_base() {
  local recorded n
  [ "$base_given" = 1 ] && [ -r "$dir/ports" ] || return 0
  recorded=$(sed -n 's/^base=\([0-9]*\)$/\1/p' "$dir/ports")
  [ -n "$recorded" ] && [ "$recorded" != "$base" ] || return 0
  for n in "${nodes[@]}"; do
    if running_pid "zk$n" > /dev/null || running_pid "broker$n" > /dev/null; then
      die "the cluster in $dir runs with --port $recorded; stop it first to move it to --port $base"
    fi
  done
}

# Every port of the cluster that is not held by this cluster's own running processes must be
# free; the first one in use ends the script with exit 1.
cmd_check_ports() {
  local n
  for n in "${nodes[@]}"; do zk_check_ports "$n"; done
  for n in "${nodes[@]}"; do broker_check_port "$n"; done
}

cmd_stop() {
  local n
  for n in "${nodes[@]}"; do signal_and_wait "broker$n" TERM; done
  for n in "${nodes[@]}"; do signal_and_wait "zk$n" TERM; done
  # A java or strand-broker of this cluster dir still running (its pid file lost) is killed too.
  local left dir_re
  dir_re=$(printf '%s' "$dir" | sed 's/[][\\.*^$+?(){}|]/\\&/g')
  mapfile -t left < <(pgrep -f -- "^([^ ]*/)?(java|strand-broker) .*$dir_re/(zk|broker)[0-9]+/")
  if [ ${#left[@]} -gt 0 ]; then
    echo "cluster: killing leftovers (pid files lost): ${left[*]}" >&2
    kill -KILL "${left[@]}" 2>/dev/null
  fi
  echo "Everything stopped (state kept in $dir)."
}

check_n() {
  case "${1:-}" in
    1|2|3) ;;
    *) die "expected a node number 1, 2 or 3 (got '${1:-}')" ;;
  esac
}

case "${1:-}" in
  start) cmd_start ;;
  check-ports) check_base; cmd_check_ports ;;
  zk-connect) zk_connect ;;
  bootstrap) bootstrap ;;
  bootstrap-ssl) for n in "${nodes[@]}"; do printf '%s127.0.0.1:%s' "${sep:-}" "$(ssl_port "$n")"; sep=,; done; echo ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill)
    check_n "${2:-}"
    signal_and_wait "broker$2" KILL || echo "broker$2 was not running" ;;
  shutdown)
    check_n "${2:-}"
    signal_and_wait "broker$2" TERM || echo "broker$2 was not running" ;;
  restart)
    check_n "${2:-}"
    exe=$(broker_exe) || exit 1
    signal_and_wait "broker$2" TERM
    starts=$(broker_starts "$2")
    broker_spawn "$2" "$exe"
    broker_wait "$2" "$starts"
    echo "broker$2 up on 127.0.0.1:$(broker_port "$2") (pid $(running_pid "broker$2"))" ;;
  zk-kill)
    check_n "${2:-}"
    signal_and_wait "zk$2" KILL || echo "zk$2 was not running" ;;
  zk-restart)
    check_n "${2:-}"
    signal_and_wait "zk$2" TERM
    zk_spawn "$2"
    zk_wait "$2"
    echo "zk$2 up on 127.0.0.1:$(zk_port "$2") ($(zk_mode "$2"), pid $(running_pid "zk$2"))" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
