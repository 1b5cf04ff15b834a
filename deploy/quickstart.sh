#!/usr/bin/env bash
# Strand quickstart: installs what is missing, builds (release), starts one real broker with
# deploy/config/server.properties, creates a topic, produces and consumes a few records, shows
# the on-disk log, and leaves the broker running.
#
#   ./deploy/quickstart.sh                 plaintext on 127.0.0.1:9092
#   ./deploy/quickstart.sh --tls           TLS (certificates made by deploy/gen-certs.sh)
#   ./deploy/quickstart.sh --port 19092    another port
#   ./deploy/quickstart.sh --stop          stops the quickstart broker
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
port=9092
tls=0
stop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tls) tls=1 ;;
    --port) port="$2"; shift ;;
    --stop) stop=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

work=${STRAND_QUICKSTART_DIR:-/tmp/strand-quickstart}
pidfile="$work/broker.pid"

stop_broker() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 1 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    echo "Stopped the quickstart broker (pid $(cat "$pidfile"))."
  fi
  rm -f "$pidfile"
}
if [ "$stop" = 1 ]; then stop_broker; exit 0; fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Checking dependencies"
. deploy/deps.sh
strand_install_deps

step "Building (release) in build-release/"
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Dtests=false >/dev/null
ninja -C build-release >/dev/null
bin="$root/build-release"
broker="$bin/broker/strand-broker"
tools="$bin/tools"

stop_broker
rm -rf "$work"
mkdir -p "$work"

client_args=()
listener="PLAINTEXT://127.0.0.1:$port"
cp deploy/config/server.properties "$work/server.properties"
if [ "$tls" = 1 ]; then
  . deploy/quickstart-tls.sh
  strand_quickstart_tls_setup "$work" "$port"   # appends ssl.* to server.properties, writes client.properties
  listener="SSL://127.0.0.1:$port"
  client_args=(--command-config "$work/client.properties")
fi

step "Starting strand-broker on $listener (logs in $work/logs, output in $work/broker.log)"
"$broker" "$work/server.properties" --override "listeners=$listener" \
  --override "log.dirs=$work/logs" > "$work/broker.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$work/broker.log"; echo "the broker exited" >&2; exit 1; }
  sleep 0.1
done
head -n 8 "$work/broker.log"

bs="127.0.0.1:$port"
step "strand-topics --create --topic quickstart-events --partitions 3 --replication-factor 1"
"$tools/strand-topics" --bootstrap-server "$bs" "${client_args[@]}" --create \
  --topic quickstart-events --partitions 3 --replication-factor 1
step "strand-topics --describe --topic quickstart-events"
"$tools/strand-topics" --bootstrap-server "$bs" "${client_args[@]}" --describe --topic quickstart-events

step "strand-console-producer (keys parsed with ':')"
printf '%s\n' "alice:signed up" "bob:signed up" "alice:bought a book" "carol:signed up" \
  "bob:left a review" "alice:logged out" | tee /dev/stderr | \
  "$tools/strand-console-producer" --bootstrap-server "$bs" "${client_args[@]}" --topic quickstart-events \
    --property parse.key=true --property key.separator=: --producer-property acks=all

step "strand-console-consumer --from-beginning (partition, offset, key, value)"
"$tools/strand-console-consumer" --bootstrap-server "$bs" "${client_args[@]}" --topic quickstart-events \
  --from-beginning --max-messages 6 --timeout-ms 10000 \
  --property print.partition=true --property print.offset=true --property print.key=true

step "strand-get-offsets --time -1"
"$tools/strand-get-offsets" --bootstrap-server "$bs" "${client_args[@]}" --topic quickstart-events --time -1

step "On disk, exactly as Kafka lays it out: strand-dump-log --print-data-log"
ls "$work/logs/quickstart-events-0"
for p in 0 1 2; do
  "$tools/strand-dump-log" --files "$work/logs/quickstart-events-$p/00000000000000000000.log" --print-data-log
done

cat <<MSG

The broker is still running (pid $(cat "$pidfile")) on $listener with its data in $work/logs.
Try:   $tools/strand-console-consumer --bootstrap-server $bs ${client_args[*]} --topic quickstart-events --from-beginning
Stop:  ./deploy/quickstart.sh --stop      (or: kill $(cat "$pidfile"))
MSG
