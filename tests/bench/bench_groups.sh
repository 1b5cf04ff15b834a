#!/usr/bin/env bash
# bench_groups.sh -- consumer groups: how fast a group consumes again after a member leaves or
# dies, and what consuming through a group costs against consumers with assigned partitions.
# ZooKeeper and three strand-brokers on loopback, default broker and client settings (Kafka's:
# session.timeout.ms 45000, heartbeat.interval.ms 3000, range assignor, eager rebalancing).
#
# Usage:
#   tests/bench/bench_groups.sh [BUILD_DIR]
#     BUILD_DIR   a build directory holding broker/strand-broker, tools/ and
#                 tests/bench/bench_group_member (default: $STRAND_BUILD_DIR or ./build-release;
#                 meson setup build-release --buildtype=release -Dtests=false && ninja -C build-release)
#   Environment:
#     BENCH_TMP      where the brokers' logs and ZooKeeper's data go (default /dev/shm if present)
#     RATE           records/s of the producer running during the rebalance rounds (default 3000,
#                    linger.ms=0: each record goes to a random partition, ~50/s per partition, so a
#                    partition's first record after a rebalance is at most ~20 ms away)
#     LEAVE_ROUNDS   graceful-leave rounds (default 3)
#     KILL_ROUNDS    SIGKILL rounds (default 1: each waits out the 45 s session timeout)
#     RECORDS        100-byte records of the throughput comparison (default 5000000)
#     TPUT_ROUNDS    throughput rounds of each kind (default 5; the medians are compared)
#     ONLY           space-separated subset of: leave kill tput (default: all)
#     KEEP           1 keeps the temp dir (member and broker logs)
#
# What it measures:
#   leave   3 members of one group share a 60-partition topic (RF 3) while RATE records/s arrive.
#           One member gets SIGTERM: it commits, calls its REVOKED callback and sends LeaveGroup
#           (strand_consumer_close). Measured from the SIGTERM: (a) the two others have their new
#           assignment (their ASSIGNED callback), (b) the first record of a partition the leaver
#           held is consumed by its new owner ("consuming again"; target <= 500 ms -- Kafka's
#           consumers learn of the leave at their next heartbeat, up to heartbeat.interval.ms =
#           3 s later), (c) every partition the leaver held has been consumed again. The leaver
#           then rejoins for the next round.
#   kill    the same with SIGKILL: the coordinator notices when the session times out; the same
#           three figures, and (b) minus session.timeout.ms (45000).
#   tput    RECORDS records in a 60-partition topic read (i) by a group of three members and
#           (ii) by three consumers with 20 assigned partitions each. Each member's rate is its
#           records over the time from its first record polled to its last (group joins are not
#           counted); the three rates are summed. TPUT_ROUNDS rounds of each kind, alternating;
#           the medians are compared. Target: the group reaches >= 90% of the assigned
#           consumers' rate. (Also printed per round: all records over first-to-last of the
#           three together, which favours whichever kind starts its members closer together.)
# Timestamps are wall-clock ms printed by the members when poll returned (one clock for every
# process on the machine). It prints one summary table: target, measured, PASS/MISS. Everything it
# starts is killed on exit (also on Ctrl-C).
set -euo pipefail

BUILD=${1:-${STRAND_BUILD_DIR:-./build-release}}
RATE=${RATE:-3000}
LEAVE_ROUNDS=${LEAVE_ROUNDS:-3}
KILL_ROUNDS=${KILL_ROUNDS:-1}
RECORDS=${RECORDS:-5000000}
TPUT_ROUNDS=${TPUT_ROUNDS:-5}
ONLY=${ONLY:-leave kill tput}
SESSION_MS=45000   # the client default the kill round waits out
BROKER="$BUILD/broker/strand-broker"
TOOLS="$BUILD/tools"
MEMBER="$BUILD/tests/bench/bench_group_member"
for f in "$BROKER" "$TOOLS/strand-topics" "$TOOLS/strand-producer-perf-test" "$MEMBER"; do
    [[ -x "$f" ]] || { echo "bench_groups.sh: $f not found: build first (see the header)" >&2; exit 1; }
done
. "$(dirname "$0")/bench_zk.sh"     # bench_zk_start / ZK / ZK_PID
want() { [[ " $ONLY " == *" $1 "* ]]; }

tmpbase=${BENCH_TMP:-$([[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}
DIR=$(mktemp -d "$tmpbase/strand-bench-groups-XXXXXX")
declare -A PID PORT MPID
PROD_PID=
cleanup() {
    local p
    exec 2> /dev/null
    for p in "${MPID[@]}" "${PID[@]}" "$PROD_PID"; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null || true; done
    [[ -n "$ZK_PID" ]] && kill -KILL "$ZK_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ "${KEEP:-0}" == 1 ]]; then echo "bench_groups.sh: kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now_ms() { date +%s%3N; }
say() { echo "== $*"; }
RES=()
result() { RES+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"); }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "PASS" : "MISS" }'; }

# ---- ZooKeeper and brokers --------------------------------------------------------------------
for n in 1 2 3; do PORT[$n]=$(free_port); PID[$n]=; done
BOOT="127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]},127.0.0.1:${PORT[3]}"
say "ZooKeeper and 3 brokers in $DIR"
bench_zk_start "$DIR/zk"
for n in 1 2 3; do
    mkdir -p "$DIR/b$n/logs"
    cat > "$DIR/b$n/server.properties" <<EOF
broker.id=$n
listeners=PLAINTEXT://127.0.0.1:${PORT[$n]}
log.dirs=$DIR/b$n/logs
zookeeper.connect=$ZK
zookeeper.session.timeout.ms=6000
default.replication.factor=3
EOF
    "$BROKER" "$DIR/b$n/server.properties" >> "$DIR/b$n/broker.log" 2>&1 &
    PID[$n]=$!
done
for n in 1 2 3; do
    for _ in $(seq 300); do grep -q "Broker $n started" "$DIR/b$n/broker.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "Broker $n started" "$DIR/b$n/broker.log" || { echo "broker $n did not start:"; tail "$DIR/b$n/broker.log"; exit 1; }
done
topic() { "$TOOLS/strand-topics" --bootstrap-server "$BOOT" --create --topic "$1" --partitions 60 --replication-factor 3 > /dev/null; }

# ---- members ------------------------------------------------------------------------------------
# member NAME ARGS...: starts a member with its output in $DIR/NAME.log (appended).
member() {
    local name=$1; shift
    "$MEMBER" --bootstrap "$BOOT" "$@" >> "$DIR/$name.log" 2>&1 &
    MPID[$name]=$!
}

# Log analysis (python): owned partitions, times.
analyze() {
    python3 - "$@" <<'PY'
import sys
cmd, args = sys.argv[1], sys.argv[2:]
def events(path):
    out = []
    for line in open(path, errors='replace'):
        f = line.split()
        if not f: continue
        if f[0] in ('ASSIGNED', 'REVOKED', 'LOST') and len(f) >= 2:
            out.append((f[0], int(f[1]), f[2:]))
        elif f[0] == 'R' and len(f) >= 5:
            out.append(('R', int(f[4]), ['%s-%s' % (f[1], f[2])]))
    return out
def owned_at(path, t):
    own = set()
    for kind, ms, parts in events(path):
        if ms > t: break
        if kind == 'ASSIGNED': own |= set(parts)
        elif kind in ('REVOKED', 'LOST'): own -= set(parts)
    return own
if cmd == 'owned':          # owned LOG [T]: partitions owned (at T, default: now)
    t = int(args[1]) if len(args) > 1 else 1 << 62
    print(' '.join(sorted(owned_at(args[0], t))))
elif cmd == 'balanced':     # balanced N LOG...: prints 1 when the logs own N distinct partitions,
    n = int(args[0])        # each non-empty, and each consumed a record after its last ASSIGNED
    seen, ok = set(), True
    for p in args[1:]:
        ev = events(p)
        own = owned_at(p, 1 << 62)
        last_asg = max([ms for k, ms, _ in ev if k == 'ASSIGNED'] or [-1])
        if not own or seen & own or not any(k == 'R' and ms >= last_asg for k, ms, _ in ev):
            ok = False
        seen |= own
    print(1 if ok and len(seen) == n else 0)
elif cmd == 'moved':        # moved T LEAVER SURVIVOR...: "<assigned> <first> <all> <n>" ms after T
    t, leaver, others = int(args[0]), args[1], args[2:]
    gone = owned_at(leaver, t)
    asg, first = [], {}
    for p in others:
        ev = events(p)
        a = [ms for k, ms, _ in ev if k == 'ASSIGNED' and ms >= t]
        asg.append(min(a) if a else None)
        for k, ms, parts in ev:
            if k == 'R' and ms >= t and parts[0] in gone and (a and ms >= min(a)):
                first.setdefault(parts[0], ms)
                first[parts[0]] = min(first[parts[0]], ms)
    if None in asg or len(first) < len(gone) or not gone:
        print('-1 -1 -1 %d' % len(first)); sys.exit(0)
    print('%d %d %d %d' % (max(asg) - t, min(first.values()) - t, max(first.values()) - t, len(gone)))
elif cmd == 'stats':        # stats LOG...: "<records> <sum of the members' records/s> <records/s
    total, first, last, rsum = 0, None, None, 0.0   # first record to last, over all members>"
    for p in args:
        for line in open(p, errors='replace'):
            f = line.split()
            if f and f[0] == 'STATS' and len(f) == 4:
                n, a, b = int(f[1]), int(f[2]), int(f[3])
                total += n
                if a >= 0:
                    first = a if first is None else min(first, a)
                    last = b if last is None else max(last, b)
                    rsum += n / ((b - a) / 1000.0) if b > a else 0
    span = (last - first) / 1000.0 if first is not None and last > first else 0
    print('%d %.0f %.0f' % (total, rsum, total / span if span else 0))
PY
}

# wait_balanced TIMEOUT_S LOG...: until the members own the 60 partitions and are consuming.
wait_balanced() {
    local t=$1; shift
    for _ in $(seq $((t * 10))); do
        [[ "$(analyze balanced 60 "$@")" == 1 ]] && return 0
        sleep 0.1
    done
    echo "bench_groups.sh: the group did not settle in ${t}s:"; for l in "$@"; do echo "$l: $(analyze owned "$l")"; done
    return 1
}

# rebalance_round KIND SIGNAL ROUND: one member of three leaves by SIGNAL; records the figures.
rebalance_round() {
    local kind=$1 sig=$2 round=$3 i t out
    local g="g-$kind" logs=()
    for i in 1 2 3; do
        logs+=("$DIR/$kind-$round-m$i.log")
        member "$kind-$round-m$i" --group "$g" --topic g60
    done
    wait_balanced 60 "${logs[@]}"
    sleep 2
    t=$(now_ms)
    kill "-$sig" "${MPID[$kind-$round-m3]}"
    local limit=60
    [[ "$sig" == KILL ]] && limit=$((SESSION_MS / 1000 + 60))
    for _ in $(seq $((limit * 10))); do
        out=$(analyze moved "$t" "${logs[2]}" "${logs[0]}" "${logs[1]}")
        [[ "${out%% *}" != -1 ]] && break
        sleep 0.1
    done
    read -r asg first all n <<< "$out"
    [[ "$asg" != -1 ]] || { echo "bench_groups.sh: $kind round $round: the partitions did not move"; return 1; }
    echo "   $kind round $round: $n partitions moved; new assignment +${asg} ms, first record +${first} ms, all moved partitions +${all} ms"
    wait "${MPID[$kind-$round-m3]}" 2>/dev/null || true
    unset "MPID[$kind-$round-m3]"
    for i in 1 2; do kill -TERM "${MPID[$kind-$round-m$i]}"; wait "${MPID[$kind-$round-m$i]}" 2>/dev/null || true; unset "MPID[$kind-$round-m$i]"; done
    R_ASG+=("$asg"); R_FIRST+=("$first"); R_ALL+=("$all")
}
range_of() { printf '%s\n' "$@" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{print lo "-" hi}'; }
max_of() { printf '%s\n' "$@" | sort -n | tail -1; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if want leave || want kill; then
    topic g60
    "$TOOLS/strand-producer-perf-test" --topic g60 --num-records 1000000000 --record-size 100 \
        --throughput "$RATE" --producer-props "bootstrap.servers=$BOOT" linger.ms=0 acks=1 \
        > "$DIR/producer.log" 2>&1 &
    PROD_PID=$!
fi
if want leave; then
    say "graceful leave: $LEAVE_ROUNDS round(s), 3 members, 60 partitions, $RATE records/s"
    R_ASG=(); R_FIRST=(); R_ALL=()
    for r in $(seq "$LEAVE_ROUNDS"); do rebalance_round leave TERM "$r"; done
    result "leave: SIGTERM -> others assigned (ms)" "-" "$(range_of "${R_ASG[@]}")" "-"
    result "leave: SIGTERM -> consuming again (ms)" "<= 500" "$(range_of "${R_FIRST[@]}")" \
        "$(verdict "$(max_of "${R_FIRST[@]}")" "<=" 500)"
    result "leave: SIGTERM -> every moved partition (ms)" "-" "$(range_of "${R_ALL[@]}")" "-"
fi
if want kill; then
    say "SIGKILL: $KILL_ROUNDS round(s) (session.timeout.ms=$SESSION_MS)"
    R_ASG=(); R_FIRST=(); R_ALL=()
    for r in $(seq "$KILL_ROUNDS"); do rebalance_round kill KILL "$r"; done
    extra=(); for v in "${R_FIRST[@]}"; do extra+=($((v - SESSION_MS))); done
    result "kill: SIGKILL -> consuming again (ms)" "-" "$(range_of "${R_FIRST[@]}")" "-"
    result "kill: ... minus session.timeout.ms (ms)" "-" "$(range_of "${extra[@]}")" "-"
    result "kill: SIGKILL -> every moved partition (ms)" "-" "$(range_of "${R_ALL[@]}")" "-"
fi
if [[ -n "$PROD_PID" ]]; then kill -KILL "$PROD_PID" 2>/dev/null || true; wait "$PROD_PID" 2>/dev/null || true; PROD_PID=; fi

if want tput; then
    say "throughput: $RECORDS records of 100 B in 60 partitions"
    topic tput
    "$TOOLS/strand-producer-perf-test" --topic tput --num-records "$RECORDS" --record-size 100 \
        --throughput -1 --producer-props "bootstrap.servers=$BOOT" acks=1 linger.ms=5 batch.size=262144 \
        > "$DIR/tput-producer.log" 2>&1
    # acks=1: wait until the followers caught up (consumers read up to the high watermark).
    for _ in $(seq 600); do
        hw=$("$TOOLS/strand-get-offsets" --bootstrap-server "$BOOT" --topic tput --time -1 |
             awk -F: '{ s += $3 } END { print s + 0 }')
        [[ "$hw" -ge "$RECORDS" ]] && break
        sleep 0.2
    done
    G=(); A=()
    for r in $(seq "$TPUT_ROUNDS"); do
        for i in 1 2 3; do member "tg-$r-$i" --group "tput-$r" --topic tput --quiet --idle-exit-ms 3000 \
            --property auto.offset.reset=earliest; done
        for i in 1 2 3; do wait "${MPID[tg-$r-$i]}" || true; unset "MPID[tg-$r-$i]"; done
        read -r n rate agg <<< "$(analyze stats "$DIR"/tg-"$r"-*.log)"
        [[ "$n" == "$RECORDS" ]] || echo "   group round $r: read $n of $RECORDS records"
        echo "   group of three, round $r: $rate records/s (together first-to-last: $agg)"
        G+=("$rate")
        member "ta-$r-1" --topic tput --assign 0-19 --quiet --idle-exit-ms 3000 --group -
        member "ta-$r-2" --topic tput --assign 20-39 --quiet --idle-exit-ms 3000 --group -
        member "ta-$r-3" --topic tput --assign 40-59 --quiet --idle-exit-ms 3000 --group -
        for i in 1 2 3; do wait "${MPID[ta-$r-$i]}" || true; unset "MPID[ta-$r-$i]"; done
        read -r n rate agg <<< "$(analyze stats "$DIR"/ta-"$r"-*.log)"
        [[ "$n" == "$RECORDS" ]] || echo "   assigned round $r: read $n of $RECORDS records"
        echo "   three assigned consumers, round $r: $rate records/s (together first-to-last: $agg)"
        A+=("$rate")
    done
    med_g=$(median "${G[@]}"); med_a=$(median "${A[@]}")
    pct=$(awk -v g="$med_g" -v a="$med_a" 'BEGIN { printf "%.1f", a ? 100 * g / a : 0 }')
    result "tput: group of three (records/s, median)" "-" "$med_g" "-"
    result "tput: three assigned consumers (records/s, median)" "-" "$med_a" "-"
    result "tput: group / assigned (%)" ">= 90" "$pct" "$(verdict "$pct" ">=" 90)"
fi

echo
printf '%-50s %-8s %-14s %s\n' "measure" "target" "measured" "verdict"
for row in "${RES[@]}"; do
    IFS=$'\t' read -r what tgt got v <<< "$row"
    printf '%-50s %-8s %-14s %s\n' "$what" "$tgt" "$got" "$v"
done
echo "(load: $(cut -d' ' -f1-3 /proc/loadavg); build: $BUILD)"
