#!/usr/bin/env bash
# test_quickstart_ports.sh -- deploy/quickstart.sh and deploy/cluster.sh never run a demo against
# someone else's server (issue 9, item 12).
#
#   tests/scripts/test_quickstart_ports.sh SOURCE_ROOT
#
# Every case works on a --port base whose ports are all free (picked here, away from the
# defaults 2181/9093 that a developer's own Kafka or ZooKeeper may hold) and a temporary cluster
# dir, and occupies one port with a listener of its own (python3):
#   1. a broker's port taken: quickstart --port B exits 1 with "port N is in use (another
#      broker?); try --port", before checking dependencies or building, and starts nothing;
#   2. a ZooKeeper client port taken (IPv4), and 3. an election port taken on [::] (IPv6): the same;
#   4. cluster.sh --port B start: the same message and exit 1, nothing started;
#   5. another process answers on ZooKeeper's client port after the check (a stand-in `java`
#      that leaves the port to a second process): cluster.sh start exits 1 with the message and
#      stops the processes it launched;
#   6. a bad --port is refused with exit 2; --help documents --port.
# Prints "ok: ..." per check; exits 1 at the first failure (with the script's output).
set -u
root=${1:?usage: test_quickstart_ports.sh SOURCE_ROOT}
quickstart="$root/deploy/quickstart.sh"
cluster="$root/deploy/cluster.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strand-qs-test-XXXXXX")
holders=()

cleanup() {
  local p
  for p in "${holders[@]+"${holders[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  STRAND_CLUSTER_DIR="$tmp/cluster" "$cluster" stop > /dev/null 2>&1
  for p in "$tmp"/cluster/zk*/impostor.pid; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -f "$tmp/out" ] && { echo "---- output ----" >&2; cat "$tmp/out" >&2; echo "----" >&2; }
  exit 1
}

in_use() {   # port: something listens on it (IPv4 or IPv6)
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Every port a cluster on base $1 uses (cluster.sh's layout: the defaults shifted by $1-9092).
ports_of() {
  local off=$(($1 - 9092)) n
  for n in 1 2 3; do
    echo $((2180 + n + off)) $((2888 + n + off)) $((3888 + n + off)) $((9092 + n + off)) $((9190 + n + off))
  done
}

# A base in [20000, 29000] with all its ports free (below the ephemeral range).
pick_base() {
  local b p ok
  for _ in $(seq 50); do
    b=$((20000 + RANDOM % 9000))
    ok=1
    for p in $(ports_of "$b"); do in_use "$p" && { ok=0; break; }; done
    [ "$ok" = 1 ] && { echo "$b"; return 0; }
  done
  return 1
}

# Listens on port $1 at address $2 (default 127.0.0.1) in the background until killed.
hold() {
  local port=$1 addr=${2:-127.0.0.1} fam=AF_INET
  case "$addr" in *:*) fam=AF_INET6 ;; esac
  python3 -c '
import socket, sys, time
s = socket.socket(getattr(socket, sys.argv[3]), socket.SOCK_STREAM)
s.bind((sys.argv[2], int(sys.argv[1])))
s.listen(8)
time.sleep(600)' "$port" "$addr" "$fam" &
  holders+=($!)
  for _ in $(seq 50); do in_use "$port" && return 0; sleep 0.05; done
  fail "could not listen on $addr port $port"
}

release_holders() {
  local p
  for p in "${holders[@]+"${holders[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  holders=()
}

# Nothing of the temp cluster dir runs.
nothing_started() {
  local left
  left=$(pgrep -f -- "$tmp/cluster/" || true)
  [ -z "$left" ] || fail "$1: processes of the cluster dir still run: $(ps -o pid=,args= -p "$left")"
}

expect_refusal() {   # what, expected port, command...
  local what=$1 port=$2 rc
  shift 2
  "$@" > "$tmp/out" 2>&1
  rc=$?
  [ "$rc" = 1 ] || fail "$what: exit $rc, expected 1"
  grep -qF "port $port is in use (another broker?); try --port" "$tmp/out" ||
    fail "$what: no 'port $port is in use (another broker?); try --port'"
  echo "ok: $what: exit 1, 'port $port is in use (another broker?); try --port'"
}

command -v python3 > /dev/null || fail "python3 is needed to hold a port"
base=$(pick_base) || fail "no --port base with every port free"
off=$((base - 9092))
echo "using --port $base (brokers $((base + 1))-$((base + 3)), ZooKeeper $((2181 + off))-$((2183 + off)))"
export STRAND_QUICKSTART_DIR="$tmp/cluster"

# 1. a broker's port
hold $((base + 2))
expect_refusal "quickstart, broker 2's port taken" $((base + 2)) "$quickstart" --port "$base"
grep -q "Checking dependencies\|Building" "$tmp/out" && fail "the quickstart went on to check or build"
grep -q $'\033' "$tmp/out" && fail "control characters in redirected output"
nothing_started "quickstart, broker port"
echo "ok: refused before checking dependencies or building; nothing started; no escape codes"
release_holders

# 2. a ZooKeeper client port (IPv4)
hold $((2181 + off))
expect_refusal "quickstart, ZooKeeper 1's client port taken" $((2181 + off)) "$quickstart" --port="$base"
nothing_started "quickstart, ZooKeeper port"
release_holders

# 3. an election port, held on IPv6 [::] (when this host has IPv6)
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::", 0))' 2>/dev/null; then
  hold $((3889 + off)) "::"
  expect_refusal "quickstart, ZooKeeper 1's election port taken on [::]" $((3889 + off)) \
    "$quickstart" --port "$base"
  nothing_started "quickstart, IPv6"
  release_holders
else
  echo "skip: no IPv6 here"
fi

# 4. cluster.sh start
hold $((base + 3))
expect_refusal "cluster.sh start, broker 3's port taken" $((base + 3)) \
  env STRAND_CLUSTER_DIR="$tmp/cluster" "$cluster" --port "$base" start
nothing_started "cluster.sh start"
release_holders

# 5. someone else answers on ZooKeeper 1's client port after the check: a stand-in java that
# hands its client port to a second process and stays up itself.
if [ -r /usr/share/java/zookeeper.jar ]; then
  cat > "$tmp/java" <<'FAKE'
#!/usr/bin/env bash
cfg="${*: -1}"
port=$(sed -n 's/^clientPort=//p' "$cfg")
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(600)' "$port" &
echo $! > "$(dirname "$cfg")/impostor.pid"
trap 'kill $child; exit 0' TERM
sleep 600 &
child=$!
wait
FAKE
  chmod +x "$tmp/java"
  STRAND_BROKER=/bin/true JAVA="$tmp/java" STRAND_CLUSTER_DIR="$tmp/cluster" \
    "$cluster" --port "$base" start > "$tmp/out" 2>&1
  rc=$?
  [ "$rc" = 1 ] || fail "impostor: exit $rc, expected 1"
  grep -qF "port $((2181 + off)) is in use (another broker?); try --port" "$tmp/out" ||
    fail "impostor: no 'port $((2181 + off)) is in use (another broker?); try --port'"
  grep -qF "answered by another process than zk" "$tmp/out" || fail "impostor: the message does not say why"
  nothing_started "impostor (the launched stand-ins must be stopped)"
  echo "ok: another process answering on ZooKeeper's port after the check: exit 1, launched processes stopped"
  for p in "$tmp"/cluster/zk*/impostor.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
else
  echo "skip: no /usr/share/java/zookeeper.jar (case 5)"
fi

# 6. bad --port, --help
"$quickstart" --port 80 > "$tmp/out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "--port 80: exit $rc, expected 2"
grep -qF "[7935, 65434]" "$tmp/out" || fail "--port 80: the message does not give the range"
"$quickstart" --port x9 > "$tmp/out" 2>&1
[ $? = 2 ] || fail "--port x9 not refused with exit 2"
"$quickstart" --help > "$tmp/out" 2>&1 || fail "--help failed"
grep -q -- "--port BASE" "$tmp/out" || fail "quickstart --help does not document --port"
"$cluster" --help > "$tmp/out" 2>&1 || fail "cluster.sh --help failed"
grep -q -- "--port BASE" "$tmp/out" || fail "cluster.sh --help does not document --port"
echo "ok: bad --port refused with exit 2; --help documents --port"
echo "all passed"
