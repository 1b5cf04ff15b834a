#!/usr/bin/env bash
# bench_cluster.sh -- the replicated cluster: ZooKeeper and three strand-brokers on loopback.
#
# Usage:
#   tests/bench/bench_cluster.sh [BUILD_DIR] [RECORDS] [PARTITIONS] [ROUNDS]
#     BUILD_DIR   a build directory holding broker/strand-broker and tools/ (default:
#                 $STRAND_BUILD_DIR or ./build-release). Use a release build:
#                   meson setup build-release --buildtype=release -Dtests=false && ninja -C build-release
#     RECORDS     100-byte records of each acks=all throughput round (default 5000000)
#     PARTITIONS  partitions of the failover topic (default 1000), RF 3: every broker hosts them all
#     ROUNDS      throughput rounds (default 3); the range and the best are printed
#   Environment:
#     BENCH_TMP        where the brokers' logs and ZooKeeper's data go (default /dev/shm if
#                      present, else /tmp): the runs measure the software path, not this VM's disk
#     SESSION_MS       zookeeper.session.timeout.ms of the brokers (default 6000, as deploy/)
#     TPUT_PARTITIONS  partitions of the throughput topic (default 6: two led by each broker)
#     PRODUCER_PROPS   extra producer properties for the throughput rounds (default
#                      "linger.ms=5 batch.size=262144")
#     LAT_RECORDS      records of the latency run at 100,000 records/s (default 1000000: 10 s)
#     CS_RATE          records/s of the producer running through the controlled shutdown (default 20000)
#     LAT_NICE         e.g. -10: during the latency runs only, the brokers' and ZooKeeper's threads
#                      are reniced to it and the producer runs at it, so that other users' jobs on a
#                      shared machine queue behind them (they use ~4 % of the machine at 100,000
#                      records/s); the table says so. Needs root. Default: unset (equal priority).
#     NATS             0 skips the NATS JetStream peer (default 1; needs nats-server and libnats-dev)
#     NATS_RECORDS     messages the NATS peer publishes (default 1000000: at its ~40,000 msg/s R3
#                      rate that is already ~25 s, plus its 10 s cluster start)
#     ONLY             space-separated subset of: tput lat failover cs ctl (default: all)
#     KEEP             1 keeps the temp dir (broker logs) after the run
#
# What it does, in one run:
#   start     one ZooKeeper (ZooKeeperServerMain, tickTime=500) and brokers 1-3 on free loopback
#             ports; start-to-serving of each (spawn -> its "Broker N started" line) and RSS.
#   tput      ROUNDS x strand-producer-perf-test acks=all, 100 B, --throughput -1 on a
#             TPUT_PARTITIONS-partition RF 3 topic (min.insync.replicas=2); then
#             ../shared/peers/run_nats.sh NATS_RECORDS 3 (JetStream R3, file storage; $NATS_SCRIPT
#             overrides the path) and the ratio.
#   lat       strand-producer-perf-test acks=all at --throughput 100000 on a 3-partition RF 3
#             topic: the tool's p50/p99 (Kafka's latency: send() to acknowledgement), with the
#             producer defaults (linger.ms=5) and again with linger.ms=0, and how long the
#             brokers' threads waited for a CPU meanwhile (schedstat).
#   failover  a PARTITIONS-partition RF 3 topic whose leaders all sit on one broker L (not the
#             controller; --replica-assignment); VmRSS of the brokers with those replicas;
#             SIGKILL L; detection = SIGKILL -> the controller's "Broker L failed" line
#             (dominated by SESSION_MS); failover = that line -> the last of the surviving
#             brokers' "<topic>-<p>: ... leader L -> N" lines (every partition on every broker
#             has its new leader), confirmed by Metadata from each survivor. Then L restarts:
#             start-to-serving with PARTITIONS replicas (spawn -> "started", and -> back in every
#             ISR), its RSS, and a preferred-replica election moves the leaders back to L.
#   cs        an acks=all producer (CS_RATE records/s, 1,000 partitions) runs while L gets
#             SIGTERM: SIGTERM -> "Controlled shutdown succeeded" and -> process exit, and the
#             survivors' leader-change lines; failed sends and the log end offsets against the
#             acknowledged count (fewer = lost).
#   ctl       SIGKILL the controller: SIGKILL -> the new controller's "Ready to serve as the new
#             controller" line, against SESSION_MS + 200 ms (split by ZooKeeper's "Expiring
#             session" line and the election line).
#   The failover, shutdown and controller durations come from log stamps (ms, one wall clock for
#   every process on the machine) and `date +%s%3N` around the signals; only "back in every ISR"
#   and the preferred-election time poll Metadata (every 200 ms: coarse).
# It prints one summary table: target, measured, PASS/MISS. Everything it starts is killed on
# exit (also on Ctrl-C) and the temp dir removed (KEEP=1 keeps it).
set -euo pipefail

BUILD=${1:-${STRAND_BUILD_DIR:-./build-release}}
RECORDS=${2:-5000000}
PARTS=${3:-1000}
ROUNDS=${4:-3}
SESSION_MS=${SESSION_MS:-6000}
TPUT_PARTITIONS=${TPUT_PARTITIONS:-6}
PRODUCER_PROPS=${PRODUCER_PROPS:-linger.ms=5 batch.size=262144}
LAT_RECORDS=${LAT_RECORDS:-1000000}
CS_RATE=${CS_RATE:-20000}
NATS=${NATS:-1}
NATS_RECORDS=${NATS_RECORDS:-1000000}
ONLY=${ONLY:-tput lat failover cs ctl}
NATS_SCRIPT=${NATS_SCRIPT:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/peers/run_nats.sh}
BROKER="$BUILD/broker/strand-broker"
TOOLS="$BUILD/tools"
for f in "$BROKER" "$TOOLS/strand-topics" "$TOOLS/strand-producer-perf-test" \
         "$TOOLS/strand-get-offsets" "$TOOLS/strand-preferred-replica-election"; do
    [[ -x "$f" ]] || { echo "bench_cluster.sh: $f not found: build first (see the header)" >&2; exit 1; }
done
. "$(dirname "$0")/bench_zk.sh"     # bench_zk_start / ZK / ZK_PID
want() { [[ " $ONLY " == *" $1 "* ]]; }

tmpbase=${BENCH_TMP:-$([[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}
DIR=$(mktemp -d "$tmpbase/strand-bench-cluster-XXXXXX")
declare -A PID PORT
cleanup() {
    local p
    exec 2> /dev/null   # no "Killed" job notices for what is stopped here
    for p in "${PID[@]}"; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null || true; done
    [[ -n "${BG_PID:-}" ]] && kill -KILL "$BG_PID" 2>/dev/null || true
    [[ -n "$ZK_PID" ]] && kill -KILL "$ZK_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ "${KEEP:-0}" == 1 ]]; then echo "bench_cluster.sh: kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now_ms() { date +%s%3N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
say() { echo "== $*"; }

# ---- results ----------------------------------------------------------------------------------
RES=()
# result WHAT TARGET MEASURED VERDICT (PASS, MISS or "-" for figures without a target)
result() { RES+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"); }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "PASS" : "MISS" }'; }

# ---- log parsing ------------------------------------------------------------------------------
# First line matching regex $2 in log $1 stamped at or after $3 (epoch ms): prints its epoch ms.
log_time() {
    python3 - "$@" <<'PY'
import re, sys, datetime
path, rx, since = sys.argv[1], re.compile(sys.argv[2]), int(sys.argv[3])
ts = re.compile(r'^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] ')
for line in open(path, errors='replace'):
    m = ts.match(line)
    if not m or not rx.search(line):
        continue
    t = int(datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp()) * 1000 + int(m.group(2))
    if t >= since:
        print(t)
        break
PY
}
# ZooKeeper's first "Expiring session" line stamped at or after $1 (epoch ms): prints its epoch ms.
zk_expiry() {
    python3 - "$DIR/zk/zookeeper.log" "$1" <<'PY'
import re, sys, datetime
path, since = sys.argv[1], int(sys.argv[2])
rx = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*Expiring session')
for line in open(path, errors='replace'):
    m = rx.match(line)
    if not m:
        continue
    t = int(datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp()) * 1000 + int(m.group(2))
    if t >= since:
        print(t)
        break
PY
}
# Leadership changes of topic $2 away from broker $3 (a line "$2-<p>: <role> -> <role>, leader
# $3 -> <n>") in log $1 stamped at or after $4: prints "<partitions seen> <last stamp ms>".
moved_away() {
    python3 - "$@" <<'PY'
import re, sys, datetime
path, topic, old, since = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rx = re.compile(r'^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] INFO (\S+)-(\d+): \S+ -> \S+, leader (-?\d+) -> (-?\d+) at leader epoch')
seen = {}
for line in open(path, errors='replace'):
    m = rx.match(line)
    if not m or m.group(3) != topic or m.group(5) != old or m.group(6) == old:
        continue
    t = int(datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp()) * 1000 + int(m.group(2))
    if t >= since and int(m.group(4)) not in seen:
        seen[int(m.group(4))] = t
print(len(seen), max(seen.values()) if seen else -1)
PY
}

# ---- ZooKeeper and brokers --------------------------------------------------------------------
for n in 1 2 3; do PORT[$n]=$(free_port); PID[$n]=; done
BOOT="127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]},127.0.0.1:${PORT[3]}"
addr() { echo "127.0.0.1:${PORT[$1]}"; }
blog() { echo "$DIR/b$1/broker.log"; }

write_config() {
    local n=$1
    mkdir -p "$DIR/b$n/logs"
    cat > "$DIR/b$n/server.properties" <<EOF
broker.id=$n
listeners=PLAINTEXT://$(addr "$n")
log.dirs=$DIR/b$n/logs
zookeeper.connect=$ZK
zookeeper.session.timeout.ms=$SESSION_MS
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
replica.lag.time.max.ms=10000
controlled.shutdown.enable=true
# the benchmark moves leaders itself (preferred-replica election)
auto.leader.rebalance.enable=false
EOF
}

# start_broker N: spawns broker N; sets SPAWN_MS.
start_broker() {
    local n=$1
    SPAWN_MS=$(now_ms)
    "$BROKER" "$DIR/b$n/server.properties" >> "$(blog "$n")" 2>&1 &
    PID[$n]=$!
}

# wait_started N SINCE_MS: waits for broker N's "Broker N started" line; prints spawn -> started ms.
wait_started() {
    local n=$1 since=$2 t
    for _ in $(seq 600); do
        t=$(log_time "$(blog "$n")" "INFO Broker $n started" "$since")
        if [[ -n "$t" ]]; then echo $((t - since)); return 0; fi
        kill -0 "${PID[$n]}" 2>/dev/null || { tail -20 "$(blog "$n")" >&2; echo "broker $n exited" >&2; exit 1; }
        sleep 0.05
    done
    echo "bench_cluster.sh: broker $n did not start within 30 s" >&2
    tail -20 "$(blog "$n")" >&2
    exit 1
}

# On-CPU and run-queue-wait ms summed over the running brokers' threads (/proc/<pid>/task/*/
# schedstat): a wait much larger than the CPU time means the brokers were queued behind other
# processes, which is what a latency tail on a shared 2-core machine is made of.
sched_ms() {
    local p t cpu=0 wait=0 a b rest
    for p in "${PID[@]}"; do
        [[ -n "$p" ]] || continue
        for t in /proc/"$p"/task/*/schedstat; do
            read -r a b rest < "$t" 2>/dev/null || continue
            cpu=$((cpu + a)); wait=$((wait + b))
        done
    done
    echo $((cpu / 1000000)) $((wait / 1000000))
}

# renice_all N: every thread of the brokers and of ZooKeeper to nice N.
renice_all() {
    local p t
    for p in "${PID[@]}" "$ZK_PID"; do
        [[ -n "$p" ]] || continue
        for t in /proc/"$p"/task/*; do renice -n "$1" -p "${t##*/}" > /dev/null 2>&1 || true; done
    done
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
rss_detail() { awk '/^(VmRSS|RssAnon|RssFile|RssShmem)/ { printf "%s %d MiB  ", $1, $2 / 1024 }' "/proc/$1/status"; }

# The live controller: the last "won the controller election" line among running brokers.
controller_id() {
    local best=0 id=- n t
    for n in 1 2 3; do
        [[ -n "${PID[$n]}" ]] && kill -0 "${PID[$n]}" 2>/dev/null || continue
        t=$(python3 - "$(blog "$n")" <<'PY'
import re, sys, datetime
last = 0
for line in open(sys.argv[1], errors='replace'):
    m = re.match(r'^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] INFO Ready to serve as the new controller', line)
    if m:
        last = int(datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp()) * 1000 + int(m.group(2))
print(last)
PY
)
        if (( t > best )); then best=$t; id=$n; fi
    done
    echo "$id"
}

topics() { "$TOOLS/strand-topics" "$@"; }

# describe TOPIC [BROKER]: partition lines of --describe as "partition leader replicas isr".
describe() {
    local boot=${2:+$(addr "$2")}
    topics --bootstrap-server "${boot:-$BOOT}" --describe --topic "$1" 2>/dev/null |
        awk -F'\t' '$3 ~ /^Partition:/ { split($3, p, ": "); split($4, l, ": "); split($5, r, ": "); split($6, i, ": "); print p[2], l[2], r[2], i[2] }'
}

# wait_topic TOPIC PARTS LEADER|any TIMEOUT_S: until every partition has that leader and a full
# ISR (as Metadata from the bootstrap list says). Prints the ms it took.
wait_topic() {
    local topic=$1 parts=$2 leader=$3 timeout=$4 t0 ok
    t0=$(now_ms)
    while :; do
        ok=$(describe "$topic" | awk -v want="$leader" '
            { n++; nr = split($3, r, ","); ni = split($4, x, ",");
              if (nr == ni && $2 != "none" && (want == "any" || $2 == want)) good++ }
            END { print good + 0 }')
        [[ "$ok" == "$parts" ]] && { echo $(($(now_ms) - t0)); return 0; }
        (( $(now_ms) - t0 > timeout * 1000 )) && { echo "bench_cluster.sh: $topic: $ok of $parts partitions ready after ${timeout}s" >&2; return 1; }
        sleep 0.2
    done
}

# perf_summary FILE: "records rec/s p50 p99 max failed" from a producer perf-test output.
perf_summary() {
    local f=$1
    awk '/ms 99th/ { n = $1; rate = $4; for (i = 1; i <= NF; i++) { if ($(i+1) == "50th,") p50 = $(i-1); if ($(i+1) == "99th,") p99 = $(i-1); if ($(i+1) == "max" && $(i+2) == "latency,") mx = $(i-1) } }
         /record\(s\) failed/ { for (i = 1; i <= NF; i++) if ($(i+1) == "record(s)") failed = $i }
         END { printf "%s %s %s %s %s %d\n", n, rate, p50, p99, mx, failed }' "$f"
}

bench_zk_start "$DIR/zk"
echo "bench_cluster.sh: $DIR, ZooKeeper $ZK, brokers $BOOT, session timeout $SESSION_MS ms"
echo "load average at start: $(load) ($(nproc) cores)"
for n in 1 2 3; do write_config "$n"; done
declare -A START_MS
for n in 1 2 3; do start_broker "$n"; START_MS[$n]=$SPAWN_MS; done
for n in 1 2 3; do
    ms=$(wait_started "$n" "${START_MS[$n]}")
    say "broker $n: spawn -> serving $ms ms, $(rss_detail "${PID[$n]}")"
    result "broker $n start-to-serving, no partitions" "-" "$ms ms" "-"
done
for _ in $(seq 200); do [[ "$(controller_id)" != - ]] && break; sleep 0.1; done
CTL=$(controller_id)
say "controller: broker $CTL"

# ---- 1. throughput ------------------------------------------------------------------------------
if want tput; then
    topics --bootstrap-server "$BOOT" --create --topic bench-tput --partitions "$TPUT_PARTITIONS" \
        --replication-factor 3 --config min.insync.replicas=2 > /dev/null
    wait_topic bench-tput "$TPUT_PARTITIONS" any 30 > /dev/null
    rates=()
    for ((r = 1; r <= ROUNDS; r++)); do
        say "throughput round $r: $RECORDS x 100 B, acks=all, RF 3, $TPUT_PARTITIONS partitions, $PRODUCER_PROPS (load $(load))"
        # shellcheck disable=SC2086
        "$TOOLS/strand-producer-perf-test" --topic bench-tput --num-records "$RECORDS" --record-size 100 \
            --throughput -1 --producer-props bootstrap.servers="$BOOT" acks=all $PRODUCER_PROPS \
            > "$DIR/tput$r.out" 2>&1 || true
        tail -1 "$DIR/tput$r.out" | sed 's/^/   /'
        read -r n rate _ _ _ failed <<< "$(perf_summary "$DIR/tput$r.out")"
        [[ "$n" == "$RECORDS" && "$failed" == 0 ]] || { echo "bench_cluster.sh: round $r: $n of $RECORDS acknowledged, $failed failed" >&2; cat "$DIR/tput$r.out" >&2; }
        rates+=("$rate")
    done
    best=$(printf '%s\n' "${rates[@]}" | sort -g | tail -1)
    worst=$(printf '%s\n' "${rates[@]}" | sort -g | head -1)
    range=$(awk -v a="$worst" -v b="$best" 'BEGIN { printf "%.0f-%.0f", a, b }')
    result "produce RF3 acks=all 100 B, records/s (best of $ROUNDS; range)" ">= 800000" \
        "$(printf '%.0f' "$best") ($range)" "$(verdict "$best" '>=' 800000)"
    if [[ "$NATS" == 1 ]]; then
        if command -v nats-server > /dev/null && [[ -r /usr/include/nats/nats.h || -r /usr/include/nats.h ]]; then
            say "NATS JetStream R3: $NATS_SCRIPT $NATS_RECORDS 3 (load $(load))"
            # Its 3-server cluster is sometimes not ready after its fixed 10 s: then the stream is
            # not created ("addstream Error") and the publish rate means nothing. Up to 3 tries.
            for _ in 1 2 3; do
                "$NATS_SCRIPT" "$NATS_RECORDS" 3 > "$DIR/nats.out" 2>&1 || true
                if grep -q '^nats consume' "$DIR/nats.out" && ! grep -qi 'error' "$DIR/nats.out"; then
                    break
                fi
                sed 's/^/   (discarded) /' "$DIR/nats.out"
                : > "$DIR/nats.out"
            done
            sed 's/^/   /' "$DIR/nats.out"
            nats=$(awk '/^nats publish/ { print $3 }' "$DIR/nats.out")
            if [[ -n "$nats" ]]; then
                ratio=$(awk -v a="$best" -v b="$nats" 'BEGIN { printf "%.1f", a / b }')
                result "NATS JetStream R3 publish, msg/s (same run)" "-" "$nats" "-"
                result "Strand / NATS R3 publish" "-" "${ratio}x" "-"
            else
                result "NATS JetStream R3 publish" "-" "failed (see above)" "-"
            fi
        else
            echo "bench_cluster.sh: NATS peer skipped: apt-get install nats-server libnats-dev" >&2
            result "NATS JetStream R3 publish" "-" "not installed" "-"
        fi
    fi
fi

# ---- 2. latency at 100,000 records/s ----------------------------------------------------------
if want lat; then
    topics --bootstrap-server "$BOOT" --create --topic bench-lat --partitions 3 --replication-factor 3 \
        --config min.insync.replicas=2 > /dev/null
    wait_topic bench-lat 3 any 30 > /dev/null
    NICE=()
    prio="equal priority"
    if [[ -n "${LAT_NICE:-}" ]]; then
        renice_all "$LAT_NICE"
        NICE=(nice -n "$LAT_NICE")
        prio="brokers, ZooKeeper and producer at nice $LAT_NICE"
    fi
    say "latency: $LAT_RECORDS x 100 B at 100,000 records/s, acks=all, RF 3, 3 partitions, $prio (load $(load))"
    read -r c0 w0 <<< "$(sched_ms)"
    "${NICE[@]}" "$TOOLS/strand-producer-perf-test" --topic bench-lat --num-records "$LAT_RECORDS" --record-size 100 \
        --throughput 100000 --producer-props bootstrap.servers="$BOOT" acks=all \
        > "$DIR/lat.out" 2>&1 || true
    read -r c1 w1 <<< "$(sched_ms)"
    sed 's/^/   /' "$DIR/lat.out"
    say "   broker threads: $((c1 - c0)) ms on a CPU, $((w1 - w0)) ms runnable but waiting for one (load $(load))"
    read -r _ _ p50 p99 _ _ <<< "$(perf_summary "$DIR/lat.out")"
    result "latency 100k rec/s acks=all, linger.ms=5 (default), $prio: p50" "-" "$p50 ms" "-"
    result "latency 100k rec/s acks=all, linger.ms=5 (default), $prio: p99" "<= 5 ms" "$p99 ms" "$(verdict "$p99" '<=' 5)"
    result "  that run: broker threads on a CPU / waiting for one" "-" "$((c1 - c0)) / $((w1 - w0)) ms" "-"
    # The same with linger.ms=0: what replication adds, without the producer's batching wait.
    say "latency, linger.ms=0 (load $(load))"
    "${NICE[@]}" "$TOOLS/strand-producer-perf-test" --topic bench-lat --num-records "$LAT_RECORDS" --record-size 100 \
        --throughput 100000 --producer-props bootstrap.servers="$BOOT" acks=all linger.ms=0 \
        > "$DIR/lat0.out" 2>&1 || true
    tail -1 "$DIR/lat0.out" | sed 's/^/   /'
    read -r _ _ p50 p99 _ _ <<< "$(perf_summary "$DIR/lat0.out")"
    result "latency 100k rec/s acks=all, linger.ms=0, $prio: p50 / p99" "-" "$p50 / $p99 ms" "-"
    [[ -n "${LAT_NICE:-}" ]] && renice_all 0
fi

# ---- 3. failover of the leader of PARTITIONS partitions --------------------------------------
FO=bench-fo
if want failover || want cs || want ctl; then
    CTL=$(controller_id)
    L=1
    [[ "$L" == "$CTL" ]] && L=2
    others=()
    for n in 1 2 3; do [[ "$n" != "$L" ]] && others+=("$n"); done
    assign=""
    for ((p = 0; p < PARTS; p++)); do
        if ((p % 2)); then a="$L:${others[0]}:${others[1]}"; else a="$L:${others[1]}:${others[0]}"; fi
        assign+="${assign:+,}$a"
    done
    say "topic $FO: $PARTS partitions, RF 3, every leader on broker $L (controller: broker $CTL)"
    topics --bootstrap-server "$BOOT" --create --topic "$FO" --replica-assignment "$assign" \
        --config min.insync.replicas=2 > /dev/null
    ms=$(wait_topic "$FO" "$PARTS" "$L" 120)
    say "   all $PARTS partitions led by $L with a full ISR after $ms ms"
    sleep 2
    for n in 1 2 3; do
        say "   broker $n with $PARTS replicas: $(rss_detail "${PID[$n]}")"
        result "broker $n RSS with $PARTS replicas (+ bench topics)" "-" "$(( $(rss_kb "${PID[$n]}") / 1024 )) MiB" "-"
    done
fi

# failover_restart: restarts broker L after a kill or shutdown, reports start-to-serving, waits
# for its ISR membership and moves the leaders back to it.
restart_leader() {
    local label=$1 ms isr
    start_broker "$L"
    local spawn=$SPAWN_MS
    ms=$(wait_started "$L" "$spawn")
    isr=$(wait_topic "$FO" "$PARTS" any 120)
    isr=$(( $(now_ms) - spawn ))
    say "   broker $L restarted: spawn -> serving $ms ms, -> in every ISR of $FO $isr ms"
    if [[ -n "$label" ]]; then
        result "broker $L start-to-serving with $PARTS replicas" "-" "$ms ms (back in all ISRs: $isr ms)" "-"
        sleep 2
        say "   broker $L after restart: $(rss_detail "${PID[$L]}")"
        result "broker $L RSS with $PARTS replicas, restarted" "-" "$(( $(rss_kb "${PID[$L]}") / 1024 )) MiB" "-"
    fi
    "$TOOLS/strand-preferred-replica-election" --bootstrap-server "$BOOT" > /dev/null 2>&1 || true
    ms=$(wait_topic "$FO" "$PARTS" "$L" 60)
    say "   preferred-replica election: every leader back on $L after $ms ms"
}

if want failover; then
    CTL=$(controller_id)
    say "failover: SIGKILL broker $L (leads $PARTS partitions), controller $CTL (load $(load))"
    t_kill=$(now_ms)
    kill -KILL "${PID[$L]}"
    wait "${PID[$L]}" 2>/dev/null || true
    PID[$L]=
    t_det=
    for _ in $(seq $(( (SESSION_MS + 30000) / 50 ))); do
        t_det=$(log_time "$(blog "$CTL")" "INFO Broker $L failed" "$t_kill")
        [[ -n "$t_det" ]] && break
        sleep 0.05
    done
    [[ -n "$t_det" ]] || { echo "bench_cluster.sh: the controller never noticed broker $L's death" >&2; exit 1; }
    done_ms=0
    for _ in $(seq 600); do
        complete=1
        done_ms=0
        for n in "${others[@]}"; do
            read -r cnt last <<< "$(moved_away "$(blog "$n")" "$FO" "$L" "$t_kill")"
            (( cnt == PARTS )) || complete=0
            (( last > done_ms )) && done_ms=$last
        done
        (( complete )) && break
        sleep 0.05
    done
    (( complete )) || { echo "bench_cluster.sh: not every partition got a new leader within 30 s" >&2; }
    for n in "${others[@]}"; do
        read -r cnt last <<< "$(moved_away "$(blog "$n")" "$FO" "$L" "$t_kill")"
        say "   broker $n: $cnt partitions left $L, last at +$((last - t_det)) ms after detection"
        bad=$(describe "$FO" "$n" | awk -v l="$L" '$2 == l || $2 == "none"' | wc -l)
        say "   Metadata from broker $n right after: $bad partitions still led by $L or leaderless"
    done
    det=$((t_det - t_kill))
    fo=$((done_ms - t_det))
    t_exp=$(zk_expiry "$t_kill")
    say "   detection $det ms (session timeout $SESSION_MS ms; ZooKeeper expired the session at +$((${t_exp:-0} - t_kill)) ms), failover $fo ms"
    result "failover detection: SIGKILL -> controller notices" "~ session timeout ($SESSION_MS ms)" \
        "$det ms (ZooKeeper expiry at $((${t_exp:-0} - t_kill)) ms)" "-"
    result "failover: noticed -> $PARTS new leaders on every broker" "<= 300 ms" "$fo ms" \
        "$( ((complete)) && verdict "$fo" '<=' 300 || echo MISS)"
    restart_leader restart
fi

# ---- 4. controlled shutdown of the leader of PARTITIONS partitions, producer running ---------
if want cs; then
    CTL=$(controller_id)
    cs_n=$((CS_RATE * 12))
    say "controlled shutdown: SIGTERM broker $L (leads $PARTS partitions) under an acks=all producer at $CS_RATE records/s (load $(load))"
    "$TOOLS/strand-producer-perf-test" --topic "$FO" --num-records "$cs_n" --record-size 100 \
        --throughput "$CS_RATE" --producer-props bootstrap.servers="$BOOT" acks=all \
        > "$DIR/cs.out" 2>&1 &
    BG_PID=$!
    # SIGTERM 6 s in: the producer's second 5-second window holds the shutdown, the first its
    # start-up (metadata of 1,000 partitions).
    sleep 6
    t_term=$(now_ms)
    kill -TERM "${PID[$L]}"
    wait "${PID[$L]}" 2>/dev/null || true
    t_exit=$(now_ms)
    PID[$L]=
    wait "$BG_PID" || true
    BG_PID=
    sed 's/^/   /' "$DIR/cs.out"
    t_cs=$(log_time "$(blog "$L")" "INFO Controlled shutdown succeeded" "$t_term")
    moved=0
    cnt_all=
    for n in "${others[@]}"; do
        read -r cnt last <<< "$(moved_away "$(blog "$n")" "$FO" "$L" "$t_term")"
        cnt_all+="$cnt "
        (( last > moved )) && moved=$last
    done
    read -r n _ _ _ _ failed <<< "$(perf_summary "$DIR/cs.out")"
    sum=$("$TOOLS/strand-get-offsets" --bootstrap-server "$BOOT" --topic "$FO" --time -1 2>/dev/null |
          awk -F: '{ s += $3 } END { print s + 0 }')
    lost=$(( n > sum ? n - sum : 0 ))
    say "   SIGTERM -> controlled shutdown succeeded $((${t_cs:-0} - t_term)) ms, -> leaders moved on every broker $((moved - t_term)) ms, -> exited $((t_exit - t_term)) ms (moved: $cnt_all)"
    say "   producer: $n acknowledged of $cs_n, $failed failed, log end offsets sum $sum ($((sum - n)) duplicates from retries, $lost lost)"
    result "controlled shutdown: SIGTERM -> leaders moved (every broker)" "-" "$((moved - t_term)) ms" "-"
    result "controlled shutdown: SIGTERM -> broker exited" "<= 1000 ms" "$((t_exit - t_term)) ms" "$(verdict $((t_exit - t_term)) '<=' 1000)"
    result "controlled shutdown: producer failed / lost sends" "0 / 0" "$failed / $lost (of $n acked)" \
        "$([[ "$failed" == 0 && "$lost" == 0 && "$n" == "$cs_n" ]] && echo PASS || echo MISS)"
    restart_leader ""
fi

# ---- 5. controller failover -------------------------------------------------------------------
if want ctl; then
    CTL=$(controller_id)
    say "controller failover: SIGKILL the controller, broker $CTL (load $(load))"
    t_kill=$(now_ms)
    kill -KILL "${PID[$CTL]}"
    wait "${PID[$CTL]}" 2>/dev/null || true
    PID[$CTL]=
    t_ready=
    for _ in $(seq $(( (SESSION_MS + 30000) / 50 ))); do
        for n in 1 2 3; do
            [[ -n "${PID[$n]}" ]] || continue
            t=$(log_time "$(blog "$n")" "INFO Ready to serve as the new controller" "$t_kill")
            if [[ -n "$t" ]]; then t_ready=$t; NEWCTL=$n; break; fi
        done
        [[ -n "$t_ready" ]] && break
        sleep 0.05
    done
    if [[ -n "$t_ready" ]]; then
        line=$(grep "Ready to serve as the new controller" "$(blog "$NEWCTL")" | tail -1)
        took=$(sed -n 's/.*failover took \([0-9]*\) ms.*/\1/p' <<< "$line")
        t_won=$(log_time "$(blog "$NEWCTL")" "INFO Broker $NEWCTL won the controller election" "$t_kill")
        ms=$((t_ready - t_kill))
        t_exp=$(zk_expiry "$t_kill")
        say "   ZooKeeper expired the controller's session $((${t_exp:-0} - t_kill)) ms after SIGKILL; broker $NEWCTL won the election at $((t_won - t_kill)) ms, was ready at $ms ms (its failover: $took ms)"
        result "controller failover: SIGKILL -> session expired / new controller elected" "-" \
            "$((${t_exp:-0} - t_kill)) / $((t_won - t_kill)) ms" "-"
        result "controller failover: SIGKILL -> new controller serving" "<= $((SESSION_MS + 200)) ms" \
            "$ms ms (failover load $took ms)" "$(verdict "$ms" '<=' $((SESSION_MS + 200)))"
    else
        result "controller failover: SIGKILL -> new controller serving" "<= $((SESSION_MS + 200)) ms" "never" MISS
    fi
fi

echo
echo "load average at end: $(load)"
echo
echo "== summary ($(date '+%Y-%m-%d %H:%M'), $(nproc) cores, session timeout $SESSION_MS ms, $PARTS partitions)"
{
    printf 'what\ttarget\tmeasured\tverdict\n'
    printf '%s\n' "${RES[@]}"
} | column -t -s $'\t'
