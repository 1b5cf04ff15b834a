# bench_zk.sh -- a standalone ZooKeeper for the benchmark scripts (sourced, not run):
#
#   . "$(dirname "$0")/bench_zk.sh"
#   bench_zk_start "$DIR/zk"        # sets ZK=127.0.0.1:<free port> and ZK_PID
#   ...                              # brokers with zookeeper.connect=$ZK
#   bench_zk_stop                    # (also call it from the script's EXIT trap)
#
# Debian's zookeeper package (ZooKeeperServerMain, tickTime=500 so that session timeouts from
# 1 s to 60 s are accepted), small JVM settings, its log in <dir>/zookeeper.log. Exits the
# calling script with a message when java or the jar is missing or the server does not answer
# `ruok` within 30 s.
ZK=
ZK_PID=

bench_zk_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

bench_zk_start() {
    local dir=$1 port cp jar
    command -v java > /dev/null || { echo "bench: java not found (Debian's zookeeper package)" >&2; exit 1; }
    [[ -r /usr/share/java/zookeeper.jar ]] || { echo "bench: /usr/share/java/zookeeper.jar not found" >&2; exit 1; }
    port=$(bench_zk_free_port)
    mkdir -p "$dir/data"
    cat > "$dir/zoo.cfg" <<CFG
tickTime=500
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
preAllocSize=4096
CFG
    cat > "$dir/log4j.properties" <<'CFG'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
CFG
    cp=/usr/share/java/zookeeper.jar
    for jar in slf4j-log4j12 log4j-1.2; do
        [[ -r /usr/share/java/$jar.jar ]] && cp="$cp:/usr/share/java/$jar.jar"
    done
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData \
        -Dzookeeper.jmx.log4j.disable=true "-Dlog4j.configuration=file:$dir/log4j.properties" \
        -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
        > "$dir/zookeeper.log" 2>&1 &
    ZK_PID=$!
    ZK="127.0.0.1:$port"
    for _ in $(seq 300); do
        if [[ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf ruok >&3; cat <&3" 2>/dev/null)" == imok ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench: ZooKeeper did not start (log: $dir/zookeeper.log)" >&2
    tail -20 "$dir/zookeeper.log" >&2
    exit 1
}

bench_zk_stop() {
    if [[ -n "$ZK_PID" ]]; then
        kill "$ZK_PID" 2>/dev/null || true
        wait "$ZK_PID" 2>/dev/null || true
        ZK_PID=
    fi
}
