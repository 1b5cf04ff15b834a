#!/usr/bin/env bash
# Strand quickstart: installs what is missing, builds (release), starts a 3-node ZooKeeper
# ensemble and brokers 1, 2, 3 with deploy/cluster.sh, and runs the Kafka walkthrough end to
# end, printing the describe output at each step:
#   create a replicated topic, describe it, produce and consume, SIGKILL broker 1 and watch its
#   leaderships move, restart it and watch the ISR fill again, run the preferred-replica
#   election and watch every partition go back to its first listed replica.
# The cluster is left running, with the commands to explore and stop it.
#
#   ./deploy/quickstart.sh              the walkthrough (ZooKeeper 2181-2183, brokers 9093-9095)
#   ./deploy/quickstart.sh --port BASE  the same with every port shifted by BASE-9092: --port 19092
#                                       gives brokers 19093-19095 and ZooKeeper 12181-12183
#                                       (quorum 12889-12891, election 13889-13891, SSL 19191-19193);
#                                       BASE in [7935, 65434]
#   ./deploy/quickstart.sh --tls        the same, clients over TLS (SSL listeners 9191-9193, mutual
#                                       TLS with certificates from deploy/gen-certs.sh)
#   ./deploy/quickstart.sh --stop       stops the cluster
#
# Before building or starting anything it checks every port: one already in use (a Kafka on
# 9093, a ZooKeeper on 2181, ...) ends it with "port N is in use (another broker?); try --port"
# and exit 1, and after the start each port must be held by the process it started. The output
# is plain lines (no colours unless stdout is a terminal), in order also when redirected to a file.
# State: $STRAND_QUICKSTART_DIR (default /tmp/strand-quickstart).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
tls=0
stop=0
port_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tls) tls=1 ;;
    --stop) stop=1 ;;
    --port)
      [ $# -ge 2 ] || { echo "quickstart: --port needs a value (try --help)" >&2; exit 2; }
      port_args=(--port "$2"); shift ;;
    --port=*) port_args=(--port "${1#--port=}") ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

export STRAND_CLUSTER_DIR=${STRAND_QUICKSTART_DIR:-/tmp/strand-quickstart}
cluster() { ./deploy/cluster.sh "${port_args[@]+"${port_args[@]}"}" "$@"; }
if [ "$stop" = 1 ]; then
  ./deploy/cluster.sh stop
  exit 0
fi

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { printf '\n'; bold "==> $*"; }

# A fresh cluster every run: stop one left by an earlier run (only processes of this cluster
# dir), then check that every port is free before spending minutes on a build.
./deploy/cluster.sh stop >/dev/null 2>&1 || true
rm -rf "$STRAND_CLUSTER_DIR"
mkdir -p "$STRAND_CLUSTER_DIR"
# exit 1 with "port N is in use (another broker?); try --port"; 2 for a bad --port
[ "$tls" = 1 ] && export STRAND_CLUSTER_SSL=1
cluster check-ports || exit $?
zk=$(cluster zk-connect)
bs=$(cluster bootstrap)

step "Checking dependencies"
. deploy/deps.sh
strand_install_deps

step "Building (release) in build-release/"
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Dtests=false >/dev/null
ninja -C build-release >/dev/null
export STRAND_BROKER="$root/build-release/broker/strand-broker"
tools="$root/build-release/tools"

client_args=()
admin_args=()
if [ "$tls" = 1 ]; then
  . deploy/quickstart-tls.sh
  strand_quickstart_tls_cluster "$STRAND_CLUSTER_DIR"   # SSL listeners, client.properties
  bs=$(cluster bootstrap-ssl)
  client_args=(--command-config "$STRAND_CLUSTER_DIR/client.properties")
  admin_args=(--admin.config "$STRAND_CLUSTER_DIR/client.properties")
fi

step "Starting a 3-node ZooKeeper ensemble and brokers 1, 2, 3 (deploy/cluster.sh start)"
cluster start

# The tools' stdout is line-buffered (stdbuf) so that, with 2>&1 into a file, their records and
# their stderr summary lines keep the order in which they were printed.
lb() { if command -v stdbuf >/dev/null; then stdbuf -oL "$@"; else "$@"; fi; }
topics() { lb "$tools/strand-topics" "$@"; }
describe() {
  printf '$ strand-topics --describe --zookeeper %s --topic topic1\n' "$zk"
  topics --describe --zookeeper "$zk" --topic topic1
}
# Polls until strand-topics --describe satisfies the awk condition (max $2 seconds).
wait_for() {
  local cond=$1 secs=$2
  for _ in $(seq $((secs * 10))); do
    topics --describe --zookeeper "$zk" --topic topic1 2>/dev/null | awk "$cond" && return 0
    sleep 0.1
  done
  echo "quickstart: the cluster did not reach the expected state within ${secs}s" >&2
  return 1
}
# Every partition line has a leader and an ISR of 3 members.
full_isr='/Partition:/ { n++; split($0, f, "\t"); isr = f[6]; sub("Isr: ", "", isr); if (split(isr, a, ",") == 3 && f[4] != "Leader: none") ok++ } END { exit !(n == 5 && ok == 5) }'

step "Create a topic with 5 partitions, each on all 3 brokers"
echo "\$ strand-topics --create --zookeeper $zk --replication-factor 3 --partitions 5 --topic topic1"
topics --create --zookeeper "$zk" --replication-factor 3 --partitions 5 --topic topic1
wait_for "$full_isr" 20
describe
echo "(Leaders are spread over brokers 1, 2 and 3; each partition's first listed replica leads.)"

step "Produce 6 keyed records with acks=all, then consume them from another broker"
printf '%s\n' "alice:signed up" "bob:signed up" "alice:bought a book" "carol:signed up" \
  "bob:left a review" "alice:logged out" |
  lb "$tools/strand-console-producer" --bootstrap-server "$bs" "${client_args[@]}" --topic topic1 \
    --property parse.key=true --property key.separator=: --producer-property acks=all
lb "$tools/strand-console-consumer" --bootstrap-server "$bs" "${client_args[@]}" --topic topic1 \
  --from-beginning --max-messages 6 --timeout-ms 10000 \
  --property print.partition=true --property print.key=true 2>&1

step "kill -9 broker 1 (deploy/cluster.sh kill 1)"
cluster kill 1
wait_for '/Partition:/ { n++; if ($0 ~ /Leader: 1\t/ || $0 ~ /Isr: (1,|.*,1$|1$)/) bad++ } END { exit !(n == 5 && bad == 0) }' 30
describe
echo "(Partitions broker 1 led are now led by 2 or 3; the ISRs no longer list 1.)"

step "The records are all still there (consumed from the surviving brokers)"
lb "$tools/strand-console-consumer" --bootstrap-server "$bs" "${client_args[@]}" --topic topic1 \
  --from-beginning --max-messages 6 --timeout-ms 10000 --property print.key=true 2>&1

step "Start broker 1 again (deploy/cluster.sh restart 1)"
cluster restart 1
wait_for "$full_isr" 30
describe
echo "(Broker 1 caught up and is back in every ISR; the leaders did not change.)"

step "Preferred replica election"
echo "\$ strand-preferred-replica-election --zookeeper $zk"
lb "$tools/strand-preferred-replica-election" --zookeeper "$zk"
wait_for '/Partition:/ { n++; split($0, f, "\t"); l = f[4]; sub("Leader: ", "", l); r = f[5]; sub("Replicas: ", "", r); split(r, a, ","); if (l == a[1]) ok++ } END { exit !(n == 5 && ok == 5) }' 20
describe
echo "(Every partition is led by its first listed replica again.)"

stop_cmd="./deploy/quickstart.sh --stop"
[ "$STRAND_CLUSTER_DIR" = /tmp/strand-quickstart ] || stop_cmd="STRAND_QUICKSTART_DIR=$STRAND_CLUSTER_DIR $stop_cmd"
cat <<MSG

The cluster is still running (state in $STRAND_CLUSTER_DIR):
  ZooKeeper  $zk
  Brokers    $bs
Explore:
  $tools/strand-topics --describe --bootstrap-server $bs${client_args[*]+ ${client_args[*]}}
  STRAND_CLUSTER_DIR=$STRAND_CLUSTER_DIR ./deploy/cluster.sh status | kill N | shutdown N | restart N | zk-kill N | zk-restart N
  $tools/strand-leader-election --bootstrap-server $bs${admin_args[*]+ ${admin_args[*]}} --election-type preferred --all-topic-partitions
Stop:
  $stop_cmd
MSG
