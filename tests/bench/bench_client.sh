#!/usr/bin/env bash
# bench_client.sh -- end-to-end client throughput: strand-producer-perf-test and
# strand-consumer-perf-test against one local strand-broker, with 100-byte and 1 KiB records.
#
# Usage:
#   tests/bench/bench_client.sh [BUILD_DIR] [RECORDS_100B] [RECORDS_1KIB]
#     BUILD_DIR      a build directory holding broker/strand-broker and tools/ (default:
#                    $STRAND_BUILD_DIR or ./build-release). Use a release build:
#                      meson setup build-release -Dbuildtype=release && ninja -C build-release
#     RECORDS_100B   records for the 100-byte run (default 5000000)
#     RECORDS_1KIB   records for the 1 KiB run (default 2000000: 2 GiB, enough for the consumer's
#                    MB.sec -- which, as in Kafka, counts client start-up -- to show steady state)
#   Extra producer properties can be given in $PRODUCER_PROPS (e.g. "linger.ms=10 batch.size=131072").
#   $BENCH_TMP chooses where the broker's log goes (default /tmp). On a VM whose disk absorbs
#   buffered writes at ~130 MB/s the 1 KiB producer run measures the disk, not Strand: use
#   BENCH_TMP=/dev/shm to measure the software path.
#
# What it does: starts a standalone ZooKeeper (bench_zk.sh) and a broker on a free loopback port
# with its log in a temp dir (a cluster of one: its own controller), creates the
# topics bench-100 and bench-1k (1 partition each), runs the producer perf test (acks=1,
# --throughput -1) and then the consumer perf test from the beginning of the same topic, for
# each record size, printing the tools' Kafka-style output. The broker, ZooKeeper and the temp
# dir are removed on exit (also on Ctrl-C).
#
# Targets: producer >= 2,000,000 records/s at 100 B; consumer >= 4,000,000 records/s at 100 B
# and >= 1.5 GB/s at 1 KiB.
set -euo pipefail

BUILD=${1:-${STRAND_BUILD_DIR:-./build-release}}
N100=${2:-5000000}
N1K=${3:-2000000}
BROKER="$BUILD/broker/strand-broker"
TOOLS="$BUILD/tools"
for f in "$BROKER" "$TOOLS/strand-topics" "$TOOLS/strand-producer-perf-test" "$TOOLS/strand-consumer-perf-test"; do
    [[ -x "$f" ]] || { echo "bench_client.sh: $f not found: build first (see the header)" >&2; exit 1; }
done

. "$(dirname "$0")/bench_zk.sh"
DIR=$(mktemp -d "${BENCH_TMP:-/tmp}/strand-bench-XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BOOT="127.0.0.1:$PORT"
BROKER_PID=
cleanup() {
    if [[ -n "$BROKER_PID" ]]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    bench_zk_stop
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
bench_zk_start "$DIR/zk"

cat > "$DIR/server.properties" <<PROPS
broker.id=1
listeners=PLAINTEXT://$BOOT
log.dirs=$DIR/logs
zookeeper.connect=$ZK
PROPS
"$BROKER" "$DIR/server.properties" > "$DIR/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do
    if "$TOOLS/strand-topics" --bootstrap-server "$BOOT" --list > /dev/null 2>&1; then break; fi
    sleep 0.1
done

run() {
    local topic=$1 size=$2 n=$3
    "$TOOLS/strand-topics" --bootstrap-server "$BOOT" --create --topic "$topic" --partitions 1 \
        --replication-factor 1 > /dev/null
    echo "== producer: $n records of $size bytes, acks=1 (topic $topic)"
    # shellcheck disable=SC2086
    "$TOOLS/strand-producer-perf-test" --topic "$topic" --num-records "$n" --record-size "$size" \
        --throughput -1 --producer-props bootstrap.servers="$BOOT" acks=1 ${PRODUCER_PROPS:-}
    # Let the kernel finish writing back what the producer left dirty, so the consumer measures
    # reads from the page cache rather than competing with disk writeback for the two cores.
    sync
    echo "== consumer: $n records from the beginning (topic $topic)"
    "$TOOLS/strand-consumer-perf-test" --bootstrap-server "$BOOT" --topic "$topic" --messages "$n" \
        --timeout 20000
}

run bench-100 100 "$N100"
run bench-1k 1024 "$N1K"
