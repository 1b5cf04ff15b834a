#!/usr/bin/env bash
# bench_tls.sh -- consumer throughput over TLS next to plaintext, in one run, 1 KiB records.
#
# Usage:
#   tests/bench/bench_tls.sh [BUILD_DIR] [RECORDS] [ROUNDS]
#     BUILD_DIR  a build directory holding broker/strand-broker and tools/ (default:
#                $STRAND_BUILD_DIR or ./build-release). Use a release build:
#                  meson setup build-release -Dbuildtype=release -Dtests=false && ninja -C build-release
#     RECORDS    1 KiB records produced once and consumed each round (default 500000, ~500 MiB)
#     ROUNDS     rounds of consuming over each listener, interleaved; the best is kept (default 3)
#   $BENCH_TMP chooses where the broker's log goes (default /dev/shm if present, else /tmp), so
#   the run measures the software path, not the disk. $FETCH_SIZE sets max.partition.fetch.bytes
#   (default 1048576, the consumer's default).
#
# What it does: makes certificates with deploy/gen-certs.sh, starts one strand-broker with a
# PLAINTEXT and an SSL listener on free loopback ports, produces RECORDS records of 1024 bytes
# to a 1-partition topic over plaintext (strand-producer-perf-test, acks=1), then runs
# strand-consumer-perf-test from the beginning of that topic over PLAINTEXT (sendfile), over
# SSL (server-authenticated TLS) and over SSL with a client certificate (mutual TLS), ROUNDS
# times each, and prints the best MB/s of each with TLS as a percentage of plaintext, and the
# CPU seconds per GB the broker and the consumer spent in that best run (a measure that a busy
# machine disturbs less than MB/s; the consumer's needs /usr/bin/time). It also shows which
# fetch path the broker's SSL listener used (kTLS SSL_sendfile, or pread + SSL_write) from the
# broker log. The broker and temp dir are removed on exit (also on Ctrl-C).
#
# Target: TLS consumer throughput >= 60% of plaintext.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BUILD=${1:-${STRAND_BUILD_DIR:-./build-release}}
N=${2:-500000}
ROUNDS=${3:-3}
FETCH_SIZE=${FETCH_SIZE:-1048576}
BROKER="$BUILD/broker/strand-broker"
TOOLS="$BUILD/tools"
for f in "$BROKER" "$TOOLS/strand-topics" "$TOOLS/strand-producer-perf-test" "$TOOLS/strand-consumer-perf-test"; do
    [[ -x "$f" ]] || { echo "bench_tls.sh: $f not found: build first (see the header)" >&2; exit 1; }
done
tmpbase=${BENCH_TMP:-$([[ -d /dev/shm ]] && echo /dev/shm || echo /tmp)}

. "$(dirname "$0")/bench_zk.sh"
DIR=$(mktemp -d "$tmpbase/strand-bench-tls-XXXXXX")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
PLAIN_PORT=$(free_port)
SSL_PORT=$(free_port)
PLAIN="127.0.0.1:$PLAIN_PORT"
SSL="127.0.0.1:$SSL_PORT"
BROKER_PID=
cleanup() {
    if [[ -n "$BROKER_PID" ]]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    bench_zk_stop
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
bench_zk_start "$DIR/zk"

"$root/deploy/gen-certs.sh" "$DIR/certs" > /dev/null
cat > "$DIR/server.properties" <<PROPS
broker.id=1
listeners=PLAINTEXT://$PLAIN,SSL://$SSL
log.dirs=$DIR/logs
ssl.certificate.location=$DIR/certs/broker.pem
ssl.key.location=$DIR/certs/broker.key
ssl.ca.location=$DIR/certs/ca.pem
ssl.client.auth=requested
zookeeper.connect=$ZK
PROPS
"$BROKER" "$DIR/server.properties" > "$DIR/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do
    if "$TOOLS/strand-topics" --bootstrap-server "$PLAIN" --list > /dev/null 2>&1; then break; fi
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$DIR/broker.log" >&2; exit 1; }
    sleep 0.1
done

TOPIC=bench-tls-1k
"$TOOLS/strand-topics" --bootstrap-server "$PLAIN" --create --topic "$TOPIC" --partitions 1 \
    --replication-factor 1 > /dev/null
echo "== producing $N records of 1024 bytes over PLAINTEXT (acks=1)"
"$TOOLS/strand-producer-perf-test" --topic "$TOPIC" --num-records "$N" --record-size 1024 \
    --throughput -1 --producer-props bootstrap.servers="$PLAIN" acks=1

TICK=$(getconf CLK_TCK)
broker_cpu() { awk -v t="$TICK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$BROKER_PID/stat"; }
TIME=()
[[ -x /usr/bin/time ]] && TIME=(/usr/bin/time -f "CPU %U %S" -o "$DIR/time.out")

# consume NAME BOOTSTRAP [CONFIG]: prints "MB/s records/s broker-cpu-s consumer-cpu-s" of one
# consumer-perf-test run (consumer CPU "-" without /usr/bin/time).
consume() {
    local boot=$2 cfg=${3:-} args=() b0 b1 res
    [[ -n "$cfg" ]] && args=(--consumer.config "$cfg")
    rm -f "$DIR/time.out"
    b0=$(broker_cpu)
    res=$("${TIME[@]}" "$TOOLS/strand-consumer-perf-test" --bootstrap-server "$boot" --topic "$TOPIC" \
        --messages "$N" --timeout 20000 --fetch-size "$FETCH_SIZE" --hide-header "${args[@]}" |
        awk -F', *' 'NF >= 6 { printf "%s %s\n", $4, $6 }')
    b1=$(broker_cpu)
    local ccpu=-
    [[ -s "$DIR/time.out" ]] && ccpu=$(awk '/^CPU/ { print $2 + $3 }' "$DIR/time.out")
    echo "$res $(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.3f", b - a }') $ccpu"
}

GB=$(awk -v n="$N" 'BEGIN { printf "%.6f", n * 1024 / 1e9 }')
per_gb() { [[ "$1" == - ]] && { echo -; return; }; awk -v c="$1" -v g="$GB" 'BEGIN { printf "%.2f", c / g }'; }

declare -A best_mb best_rec best_bcpu best_ccpu
names=(PLAINTEXT SSL SSL+client-cert)
for ((r = 1; r <= ROUNDS; r++)); do
    for name in "${names[@]}"; do
        case "$name" in
            PLAINTEXT) out=$(consume "$name" "$PLAIN") ;;
            SSL) out=$(consume "$name" "$SSL" "$DIR/certs/client-ssl.properties") ;;
            SSL+client-cert) out=$(consume "$name" "$SSL" "$DIR/certs/client-mtls.properties") ;;
        esac
        read -r mb rec bcpu ccpu <<< "$out"
        [[ -n "${mb:-}" ]] || { echo "bench_tls.sh: the $name consumer run failed" >&2; exit 1; }
        printf '   round %d %-16s %10.1f MB/s %12.0f records/s   CPU s/GB: broker %s consumer %s\n' \
            "$r" "$name" "$mb" "$rec" "$(per_gb "$bcpu")" "$(per_gb "$ccpu")"
        if [[ -z "${best_mb[$name]:-}" ]] || awk -v a="$mb" -v b="${best_mb[$name]}" 'BEGIN { exit !(a > b) }'; then
            best_mb[$name]=$mb
            best_rec[$name]=$rec
            best_bcpu[$name]=$(per_gb "$bcpu")
            best_ccpu[$name]=$(per_gb "$ccpu")
        fi
    done
done

echo
echo "== consumer throughput, $N x 1 KiB records, best of $ROUNDS"
printf '%-18s %12s %14s %10s %16s %18s\n' listener MB/s records/s "% plain" "broker CPU s/GB" "consumer CPU s/GB"
for name in "${names[@]}"; do
    pct=$(awk -v a="${best_mb[$name]}" -v b="${best_mb[PLAINTEXT]}" 'BEGIN { printf "%.0f", 100 * a / b }')
    printf '%-18s %12.1f %14.0f %9s%% %16s %18s\n' "$name" "${best_mb[$name]}" "${best_rec[$name]}" \
        "$pct" "${best_bcpu[$name]}" "${best_ccpu[$name]}"
done
echo
echo "== broker's TLS fetch path:"
grep -E "listener SSL: (kernel TLS|fetched records)" "$DIR/broker.log" | sed 's/^/   /'
