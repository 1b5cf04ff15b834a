/* The broker's declarative configuration table (Kafka key names) and the derived values:
 * listener lists, log dirs, effective retention and roll times, the default log config. */
#include "broker_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define OFF(field) offsetof(st_broker_config_t, field)
#define I32MAX INT32_MAX
#define I64MAX INT64_MAX

/* name, type, default, min, max, valid, offset, doc, secret */
const st_cfg_def_t st_broker_config_table[] = {
    { "broker.id", ST_CFG_INT, "0", -1, I32MAX, NULL, OFF(broker_id),
      "The id of this broker; unique in the cluster and recorded in meta.properties of every log dir. -1 with broker.id.generation.enable: an id above reserved.broker.max.id from ZooKeeper's /brokers/seqid (kept in meta.properties for the next start).", false },
    { "broker.id.generation.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(broker_id_generation_enable),
      "Generate broker.id (when it is -1) from ZooKeeper.", false },
    { "reserved.broker.max.id", ST_CFG_INT, "1000", 0, I32MAX, NULL, OFF(reserved_broker_max_id),
      "Largest broker.id an operator may set; generated ids start above it.", false },
    { "broker.rack", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(broker_rack),
      "Rack of this broker, returned in Metadata.", false },
    { "listeners", ST_CFG_LIST, "PLAINTEXT://:9092", 0, 0, NULL, OFF(listeners),
      "Comma-separated NAME://host:port listeners. NAME is a security protocol (PLAINTEXT, SSL) or a name mapped to one in listener.security.protocol.map. An empty host binds every interface.", false },
    { "advertised.listeners", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(advertised_listeners),
      "Listeners given to clients in Metadata, by listener name; defaults to `listeners` (an empty host becomes this machine's host name).", false },
    { "log.dir", ST_CFG_STRING, "/tmp/strand-logs", 0, 0, NULL, OFF(log_dir),
      "The directory holding the log data (used when log.dirs is not set).", false },
    { "log.dirs", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(log_dirs),
      "Comma-separated directories holding the log data; new partitions go to the one with fewest partitions. Overrides log.dir.", false },
    { "num.partitions", ST_CFG_INT, "1", 1, I32MAX, NULL, OFF(num_partitions),
      "Default number of partitions of auto-created topics and of CreateTopics with num_partitions=-1.", false },
    { "default.replication.factor", ST_CFG_INT, "1", 1, I32MAX, NULL, OFF(default_replication_factor),
      "Default replication factor of auto-created topics and of CreateTopics with replication_factor=-1.", false },
    { "min.insync.replicas", ST_CFG_INT, "1", 1, I32MAX, NULL, OFF(min_insync_replicas),
      "Minimum ISR size for acks=all produce (enforced once replication exists).", false },
    { "log.retention.hours", ST_CFG_INT, "168", -1, I32MAX, NULL, OFF(log_retention_hours),
      "Hours to keep a log segment before deleting it (lowest precedence of the three retention times). -1: unlimited.", false },
    { "log.retention.minutes", ST_CFG_INT, NULL, -1, I32MAX, NULL, OFF(log_retention_minutes),
      "Minutes to keep a log segment; overrides log.retention.hours. -1: unlimited.", false },
    { "log.retention.ms", ST_CFG_LONG, NULL, -1, I64MAX, NULL, OFF(log_retention_ms),
      "Milliseconds to keep a log segment; overrides log.retention.minutes and .hours. -1: unlimited.", false },
    { "log.retention.bytes", ST_CFG_LONG, "-1", -1, I64MAX, NULL, OFF(log_retention_bytes),
      "Maximum size of a partition's log before old segments are deleted. -1: unlimited.", false },
    { "log.segment.bytes", ST_CFG_INT, "1073741824", 14, I32MAX, NULL, OFF(log_segment_bytes),
      "Maximum size of one segment file.", false },
    { "log.segment.delete.delay.ms", ST_CFG_LONG, "60000", 0, I64MAX, NULL, OFF(log_segment_delete_delay_ms),
      "Time a deleted segment stays as *.deleted before its files are removed.", false },
    { "log.roll.hours", ST_CFG_INT, "168", 1, I32MAX, NULL, OFF(log_roll_hours),
      "Maximum age of the active segment before a new one is rolled.", false },
    { "log.roll.ms", ST_CFG_LONG, NULL, 1, I64MAX, NULL, OFF(log_roll_ms),
      "Maximum age of the active segment in milliseconds; overrides log.roll.hours.", false },
    { "log.index.interval.bytes", ST_CFG_INT, "4096", 0, I32MAX, NULL, OFF(log_index_interval_bytes),
      "Bytes of log between two entries of the offset index.", false },
    { "log.index.size.max.bytes", ST_CFG_INT, "10485760", 4, I32MAX, NULL, OFF(log_index_size_max_bytes),
      "Maximum size of an offset index file (preallocated); a full index rolls the segment.", false },
    { "log.flush.interval.messages", ST_CFG_LONG, "9223372036854775807", 1, I64MAX, NULL, OFF(log_flush_interval_messages),
      "Records appended to a partition before it is fsync'd. Default: leave flushing to the OS (durability comes from replication).", false },
    { "log.flush.interval.ms", ST_CFG_LONG, "9223372036854775807", 0, I64MAX, NULL, OFF(log_flush_interval_ms),
      "Maximum time a record stays unflushed, checked every log.retention.check.interval.ms.", false },
    { "log.flush.offset.checkpoint.interval.ms", ST_CFG_LONG, "60000", 1000, I64MAX, NULL, OFF(log_flush_offset_checkpoint_interval_ms),
      "How often recovery-point-offset-checkpoint is written.", false },
    { "log.retention.check.interval.ms", ST_CFG_LONG, "300000", 1, I64MAX, NULL, OFF(log_retention_check_interval_ms),
      "How often the background thread applies retention, compaction and time-based flush.", false },
    { "log.cleanup.policy", ST_CFG_LIST, "delete", 0, 0, NULL, OFF(log_cleanup_policy),
      "Default cleanup policy of topics: delete, compact, or compact,delete.", false },
    { "log.cleaner.delete.retention.ms", ST_CFG_LONG, "86400000", 0, I64MAX, NULL, OFF(log_cleaner_delete_retention_ms),
      "How long tombstones are kept in compacted topics.", false },
    { "compression.type", ST_CFG_STRING, "producer", 0, 0, "producer,uncompressed,lz4", OFF(compression_type),
      "Default compression.type of topics: producer keeps the producer's codec; uncompressed and lz4 make the leader re-encode batches sent in another codec (Strand has lz4 only).", false },
    { "log.message.timestamp.type", ST_CFG_STRING, "CreateTime", 0, 0, "CreateTime,LogAppendTime", OFF(log_message_timestamp_type),
      "Default message.timestamp.type of topics: LogAppendTime stamps batches with the leader's clock at append.", false },
    { "log.message.timestamp.difference.max.ms", ST_CFG_LONG, "9223372036854775807", 0, I64MAX, NULL, OFF(log_message_timestamp_difference_max_ms),
      "Default message.timestamp.difference.max.ms of topics (CreateTime batches further from the leader's clock are refused).", false },
    { "log.cleaner.min.compaction.lag.ms", ST_CFG_LONG, "0", 0, I64MAX, NULL, OFF(log_cleaner_min_compaction_lag_ms),
      "Default min.compaction.lag.ms of topics (accepted without effect).", false },
    { "log.cleaner.max.compaction.lag.ms", ST_CFG_LONG, "9223372036854775807", 1, I64MAX, NULL, OFF(log_cleaner_max_compaction_lag_ms),
      "Default max.compaction.lag.ms of topics (accepted without effect).", false },
    { "log.cleaner.min.cleanable.ratio", ST_CFG_DOUBLE, "0.5", 0, 1, NULL, OFF(log_cleaner_min_cleanable_ratio),
      "Default min.cleanable.dirty.ratio of topics (accepted without effect).", false },
    { "log.preallocate", ST_CFG_BOOL, "false", 0, 0, NULL, OFF(log_preallocate),
      "Default preallocate of topics (accepted without effect: segment files grow as written).", false },
    { "log.roll.jitter.ms", ST_CFG_LONG, NULL, 0, I64MAX, NULL, OFF(log_roll_jitter_ms),
      "Default segment.jitter.ms of topics (accepted without effect); overrides log.roll.jitter.hours.", false },
    { "log.roll.jitter.hours", ST_CFG_INT, "0", 0, I32MAX, NULL, OFF(log_roll_jitter_hours),
      "Default segment.jitter.ms of topics, in hours (accepted without effect).", false },
    { "log.message.downconversion.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(log_message_downconversion_enable),
      "Default message.downconversion.enable of topics (accepted without effect: one record format).", false },
    { "message.max.bytes", ST_CFG_INT, "1048588", 0, I32MAX, NULL, OFF(message_max_bytes),
      "Largest record batch (its total size) the broker accepts; larger ones get MESSAGE_TOO_LARGE. Per topic: max.message.bytes.", false },
    { "socket.request.max.bytes", ST_CFG_INT, "104857600", 1, I32MAX, NULL, OFF(socket_request_max_bytes),
      "Largest request frame; a larger one closes the connection.", false },
    { "socket.send.buffer.bytes", ST_CFG_INT, "-1", -1, I32MAX, NULL, OFF(socket_send_buffer_bytes),
      "SO_SNDBUF of client sockets; -1 leaves the OS default (with auto-tuning).", false },
    { "socket.receive.buffer.bytes", ST_CFG_INT, "-1", -1, I32MAX, NULL, OFF(socket_receive_buffer_bytes),
      "SO_RCVBUF of client sockets; -1 leaves the OS default (with auto-tuning).", false },
    { "num.network.threads", ST_CFG_INT, NULL, 1, 256, NULL, OFF(num_network_threads),
      "Number of network event loops (threads); requests are handled on the loop of their connection. Default: the number of cores.", false },
    { "connections.max.idle.ms", ST_CFG_LONG, "600000", 1000, I64MAX, NULL, OFF(connections_max_idle_ms),
      "Idle connections are closed after this long.", false },
    { "max.connections", ST_CFG_INT, "2147483647", 0, I32MAX, NULL, OFF(max_connections),
      "Most connections open on the broker at once, over every listener. A new connection past it is closed at once and logged (Kafka holds it in the accept backlog instead). Connections on the inter-broker listener count but are never refused when it is a listener of its own (with one listener, it is limited like any other).", false },
    { "max.connections.per.ip", ST_CFG_INT, "2147483647", 0, I32MAX, NULL, OFF(max_connections_per_ip),
      "Most connections open at once from one IP address, on every listener (the inter-broker one included, as in Kafka); a new one past it is closed at once and logged. 0 is allowed only with max.connections.per.ip.overrides (then only the listed addresses may connect).", false },
    { "max.connections.per.ip.overrides", ST_CFG_STRING, "", 0, 0, NULL, OFF(max_connections_per_ip_overrides),
      "Comma-separated host:count or ip:count limits that replace max.connections.per.ip for those addresses, e.g. hostName:100,127.0.0.1:200 ([::1]:50 for IPv6); host names are resolved at start-up.", false },
    { "auto.create.topics.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(auto_create_topics_enable),
      "Create a topic (num.partitions, default.replication.factor) when a Metadata request that allows it names an unknown topic.", false },
    { "delete.topic.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(delete_topic_enable),
      "Allow DeleteTopics.", false },
    { "zookeeper.connect", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(zookeeper_connect),
      "Required. ZooKeeper connection string host:port[,host:port][/chroot] (the chroot is created if missing): the cluster this broker joins (registration, controller election, topics, replication). A broker that cannot reach it within zookeeper.connection.timeout.ms exits 1.", false },
    { "zookeeper.session.timeout.ms", ST_CFG_INT, "18000", 1, I32MAX, NULL, OFF(zookeeper_session_timeout_ms),
      "ZooKeeper session timeout.", false },
    { "zookeeper.connection.timeout.ms", ST_CFG_INT, NULL, 1, I32MAX, NULL, OFF(zookeeper_connection_timeout_ms),
      "How long to wait for the ZooKeeper connection at start-up; unset = the session timeout.", false },
    { "unclean.leader.election.enable", ST_CFG_BOOL, "false", 0, 0, NULL, OFF(unclean_leader_election_enable),
      "Allow electing a leader outside the ISR, losing data.", false },
    { "auto.leader.rebalance.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(auto_leader_rebalance_enable),
      "The controller moves leadership back to preferred replicas when a broker's leader imbalance passes leader.imbalance.per.broker.percentage.", false },
    { "leader.imbalance.per.broker.percentage", ST_CFG_INT, "10", 0, 100, NULL, OFF(leader_imbalance_per_broker_percentage),
      "Share of a broker's preferred partitions led elsewhere above which an auto rebalance runs.", false },
    { "leader.imbalance.check.interval.seconds", ST_CFG_INT, "300", 1, I32MAX, NULL, OFF(leader_imbalance_check_interval_seconds),
      "How often the controller checks the leader imbalance.", false },
    { "controlled.shutdown.enable", ST_CFG_BOOL, "true", 0, 0, NULL, OFF(controlled_shutdown_enable),
      "On SIGTERM, ask the controller to move this broker's leaderships away before exiting.", false },
    { "controlled.shutdown.max.retries", ST_CFG_INT, "3", 0, I32MAX, NULL, OFF(controlled_shutdown_max_retries),
      "Attempts of a controlled shutdown before shutting down uncleanly.", false },
    { "controlled.shutdown.retry.backoff.ms", ST_CFG_INT, "5000", 0, I32MAX, NULL, OFF(controlled_shutdown_retry_backoff_ms),
      "Pause between controlled shutdown attempts.", false },
    { "replica.lag.time.max.ms", ST_CFG_LONG, "30000", 1, I64MAX, NULL, OFF(replica_lag_time_max_ms),
      "A follower that has not caught up for this long leaves the ISR (replication).", false },
    { "num.replica.fetchers", ST_CFG_INT, "1", 1, 64, NULL, OFF(num_replica_fetchers),
      "Replica fetcher threads per source broker (a follower's partitions of one leader are spread over them).", false },
    { "replica.fetch.max.bytes", ST_CFG_INT, "1048576", 1, I32MAX, NULL, OFF(replica_fetch_max_bytes),
      "Bytes a follower asks for per partition in one fetch (at least one whole batch is returned).", false },
    { "replica.fetch.response.max.bytes", ST_CFG_INT, "10485760", 1, I32MAX, NULL, OFF(replica_fetch_response_max_bytes),
      "Bytes a follower asks for in one whole fetch response.", false },
    { "replica.fetch.wait.max.ms", ST_CFG_INT, "500", 0, I32MAX, NULL, OFF(replica_fetch_wait_max_ms),
      "How long the leader may hold a follower's fetch when there is nothing new (keep below replica.lag.time.max.ms).", false },
    { "replica.fetch.min.bytes", ST_CFG_INT, "1", 1, I32MAX, NULL, OFF(replica_fetch_min_bytes),
      "Bytes the leader waits for before answering a follower's fetch.", false },
    { "replica.fetch.backoff.ms", ST_CFG_INT, "1000", 0, I32MAX, NULL, OFF(replica_fetch_backoff_ms),
      "Pause of a replica fetcher after a fetch error (connection refused, leader moved).", false },
    { "replica.socket.timeout.ms", ST_CFG_INT, "30000", 1, I32MAX, NULL, OFF(replica_socket_timeout_ms),
      "Timeout of one inter-broker request (replica fetch, AlterIsr).", false },
    { "replica.high.watermark.checkpoint.interval.ms", ST_CFG_LONG, "5000", 1, I64MAX, NULL, OFF(replica_high_watermark_checkpoint_interval_ms),
      "How often the high watermarks are written to replication-offset-checkpoint.", false },
    { "inter.broker.listener.name", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(inter_broker_listener_name),
      "Name of the listener brokers use between themselves (replication, controller requests); cluster APIs (UpdateMetadata, LeaderAndIsr, StopReplica, AlterIsr, follower Fetch) are accepted only there. Unset: the listener named after security.inter.broker.protocol, else the first listener with that protocol.", false },
    { "super.users", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(super_users),
      "Semicolon-separated principals (User:CN=broker1,...) allowed to send cluster APIs (LeaderAndIsr, StopReplica, AlterIsr, follower Fetch, ...) over an SSL inter-broker listener.", false },
    { "ssl.certificate.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_certificate_location),
      "PEM certificate of this broker, optionally followed by its chain; required by SSL listeners.", false },
    { "ssl.key.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_key_location),
      "PEM private key of ssl.certificate.location (PKCS#8 or traditional, encrypted or not); required by SSL listeners.", false },
    { "ssl.key.password", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_key_password),
      "Password of ssl.key.location, if encrypted.", true },
    { "ssl.ca.location", ST_CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_ca_location),
      "PEM file (or c_rehash'd directory) of the CAs whose client certificates are accepted; required unless ssl.client.auth=none.", false },
    { "ssl.client.auth", ST_CFG_STRING, "none", 0, 0, "none,requested,required", OFF(ssl_client_auth),
      "Client certificates on SSL listeners: none, requested (verified if sent) or required. A client with one is User:<subject DN>, e.g. User:CN=alice,O=acme; without, User:ANONYMOUS.", false },
    { "ssl.enabled.protocols", ST_CFG_LIST, "TLSv1.2,TLSv1.3", 0, 0, NULL, OFF(ssl_enabled_protocols),
      "TLS versions accepted on SSL listeners: TLSv1.3, TLSv1.2 (TLSv1.1 and TLSv1 only if listed).", false },
    { "ssl.cipher.suites", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(ssl_cipher_suites),
      "Cipher suites, comma-separated IANA names (TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL's; empty: OpenSSL's defaults with AES-GCM first.", false },
    { "security.inter.broker.protocol", ST_CFG_STRING, "PLAINTEXT", 0, 0, "PLAINTEXT,SSL", OFF(security_inter_broker_protocol),
      "Security protocol brokers use between themselves (replication, the controller's requests).", false },
    { "listener.security.protocol.map", ST_CFG_LIST, NULL, 0, 0, NULL, OFF(listener_security_protocol_map),
      "NAME:PROTOCOL pairs mapping listener names to security protocols (e.g. CLIENT:SSL,REPLICATION:PLAINTEXT); a listener named PLAINTEXT or SSL needs no entry.", false },
    /* ---- consumer groups (the group coordinator, broker/group/) ---- */
    { "offsets.topic.num.partitions", ST_CFG_INT, "50", 1, I32MAX, NULL, OFF(offsets_topic_num_partitions),
      "Partitions of __consumer_offsets (created on the first FindCoordinator). A group's coordinator leads partition abs(hashCode(group.id)) % this; do not change it once the topic exists.", false },
    { "offsets.topic.replication.factor", ST_CFG_INT, "3", 1, 32767, NULL, OFF(offsets_topic_replication_factor),
      "Replication factor of __consumer_offsets; capped by the number of live brokers when the topic is created.", false },
    { "offsets.topic.segment.bytes", ST_CFG_INT, "104857600", 1, I32MAX, NULL, OFF(offsets_topic_segment_bytes),
      "segment.bytes of __consumer_offsets (kept small for fast compaction and coordinator loading).", false },
    { "offsets.retention.minutes", ST_CFG_INT, "10080", 1, I32MAX, NULL, OFF(offsets_retention_minutes),
      "Committed offsets of a group expire this long after the group became empty (for a group used only for commits: after the commit).", false },
    { "offsets.retention.check.interval.ms", ST_CFG_LONG, "600000", 1, I64MAX, NULL, OFF(offsets_retention_check_interval_ms),
      "How often the coordinator looks for expired offsets.", false },
    { "offsets.commit.timeout.ms", ST_CFG_INT, "5000", 1, I32MAX, NULL, OFF(offsets_commit_timeout_ms),
      "How long an OffsetCommit waits for every in-sync replica of the offsets partition before it fails (REQUEST_TIMED_OUT).", false },
    { "offset.metadata.max.bytes", ST_CFG_INT, "4096", 0, I32MAX, NULL, OFF(offset_metadata_max_bytes),
      "Largest metadata string of a committed offset (OFFSET_METADATA_TOO_LARGE above).", false },
    { "group.initial.rebalance.delay.ms", ST_CFG_INT, "3000", 0, I32MAX, NULL, OFF(group_initial_rebalance_delay_ms),
      "How long the first rebalance of an empty group waits for more members to join (extended while new members arrive, up to the rebalance timeout).", false },
    { "group.min.session.timeout.ms", ST_CFG_INT, "6000", 1, I32MAX, NULL, OFF(group_min_session_timeout_ms),
      "Smallest session.timeout.ms a member may ask for (INVALID_SESSION_TIMEOUT below).", false },
    { "group.max.session.timeout.ms", ST_CFG_INT, "1800000", 1, I32MAX, NULL, OFF(group_max_session_timeout_ms),
      "Largest session.timeout.ms a member may ask for (INVALID_SESSION_TIMEOUT above).", false },
    { "group.max.size", ST_CFG_INT, "2147483647", 1, I32MAX, NULL, OFF(group_max_size),
      "Most members one group may have (GROUP_MAX_SIZE_REACHED beyond).", false },
    ST_CFG_END
};

static void cfg_error(st_cfg_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfg_error(st_cfg_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void st_broker_config_init(st_broker_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    st_cfg_init(st_broker_config_table, cfg);
}

static int parse_protocol(const char *s, size_t n, st_security_protocol_t *ret)
{
    if (n == 9 && strncasecmp(s, "PLAINTEXT", 9) == 0) {
        *ret = ST_PROTO_PLAINTEXT;
        return 0;
    }
    if (n == 3 && strncasecmp(s, "SSL", 3) == 0) {
        *ret = ST_PROTO_SSL;
        return 0;
    }
    return -EINVAL;
}

/* Looks a listener name up in listener.security.protocol.map ("NAME:PROTOCOL,..."): 0 with
 * the protocol, -ENOENT if the name is not mapped, -EINVAL (err set) for a bad entry. */
static int map_protocol(const char *map, const char *name, size_t name_len,
                        st_security_protocol_t *ret, st_cfg_error_t *err)
{
    const char *p = map;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p || colon == p + n - 1) {
            cfg_error(err, "listener.security.protocol.map: '%.*s' is not NAME:PROTOCOL", (int)n, p);
            return -EINVAL;
        }
        st_security_protocol_t proto;
        if (parse_protocol(colon + 1, (size_t)(p + n - colon - 1), &proto) < 0) {
            cfg_error(err, "listener.security.protocol.map: unknown security protocol in '%.*s' "
                      "(accepted: PLAINTEXT, SSL)", (int)n, p);
            return -EINVAL;
        }
        if ((size_t)(colon - p) == name_len && strncasecmp(p, name, name_len) == 0) {
            *ret = proto;
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return -ENOENT;
}

static const char *parse_map;   /* listener.security.protocol.map while parsing (main thread) */

/* Parses one NAME://host:port (host may be empty or [ipv6]). */
static int parse_listener(const char *key, const char *item, st_listener_cfg_t *ret,
                          st_cfg_error_t *err)
{
    const char *sep = strstr(item, "://");
    if (!sep || sep == item) {
        cfg_error(err, "%s: '%s' is not NAME://host:port", key, item);
        return -EINVAL;
    }
    st_listener_cfg_t l;
    memset(&l, 0, sizeof(l));
    size_t name_len = (size_t)(sep - item);
    int mr = map_protocol(parse_map, item, name_len, &l.protocol, err);
    if (mr == -EINVAL)
        return mr;
    if (mr == -ENOENT && parse_protocol(item, name_len, &l.protocol) < 0) {
        cfg_error(err, "%s: unknown security protocol '%.*s' in '%s' (accepted: PLAINTEXT, SSL, "
                  "or a listener name mapped in listener.security.protocol.map)",
                  key, (int)name_len, item, item);
        return -EINVAL;
    }
    if (name_len >= sizeof(l.name)) {
        cfg_error(err, "%s: listener name '%.*s' is too long", key, (int)name_len, item);
        return -EINVAL;
    }
    for (size_t i = 0; i < name_len; i++)
        l.name[i] = (char)toupper((unsigned char)item[i]);
    const char *hp = sep + 3;
    const char *colon;
    if (*hp == '[') {
        const char *close = strchr(hp, ']');
        if (!close || close[1] != ':') {
            cfg_error(err, "%s: '%s': bad [ipv6]:port", key, item);
            return -EINVAL;
        }
        size_t hl = (size_t)(close - hp - 1);
        if (hl >= sizeof(l.host)) {
            cfg_error(err, "%s: '%s': host name too long", key, item);
            return -EINVAL;
        }
        memcpy(l.host, hp + 1, hl);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon) {
            cfg_error(err, "%s: '%s' has no :port", key, item);
            return -EINVAL;
        }
        size_t hl = (size_t)(colon - hp);
        if (hl >= sizeof(l.host)) {
            cfg_error(err, "%s: '%s': host name too long", key, item);
            return -EINVAL;
        }
        memcpy(l.host, hp, hl);
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535) {
        cfg_error(err, "%s: '%s': port must be an integer in [0, 65535]", key, item);
        return -EINVAL;
    }
    l.port = (int)port;
    *ret = l;
    return 0;
}

int st_broker_parse_listeners(const char *key, const char *value, st_listener_cfg_t **ret_list,
                              size_t *ret_n, st_cfg_error_t *err)
{
    if (!value || !*value) {
        cfg_error(err, "%s: no listener given", key);
        return -EINVAL;
    }
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    size_t cap = 1;
    for (const char *p = value; *p; p++)
        cap += *p == ',';
    st_listener_cfg_t *list = calloc(cap, sizeof(*list));
    if (!list) {
        free(copy);
        return -ENOMEM;
    }
    size_t n = 0;
    int r = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (!*tok)
            continue;
        r = parse_listener(key, tok, &list[n], err);
        if (r < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].name, list[n].name) == 0) {
                cfg_error(err, "%s: listener name %s appears twice", key, list[n].name);
                r = -EINVAL;
                break;
            }
        }
        if (r < 0)
            break;
        n++;
    }
    free(copy);
    if (r == 0 && n == 0) {
        cfg_error(err, "%s: no listener given", key);
        r = -EINVAL;
    }
    if (r < 0) {
        free(list);
        return r;
    }
    *ret_list = list;
    *ret_n = n;
    return 0;
}

static int split_dirs(st_broker_config_t *cfg, st_cfg_error_t *err)
{
    const char *key = cfg->log_dirs ? "log.dirs" : "log.dir";
    const char *value = cfg->log_dirs ? cfg->log_dirs : cfg->log_dir;
    if (!value || !*value) {
        cfg_error(err, "%s: no log directory given", key);
        return -EINVAL;
    }
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    size_t cap = 1;
    for (const char *p = value; *p; p++)
        cap += *p == ',';
    cfg->dirs = calloc(cap, sizeof(char *));
    if (!cfg->dirs) {
        free(copy);
        return -ENOMEM;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t len = strlen(tok);
        while (len > 1 && (tok[len - 1] == '/' || isspace((unsigned char)tok[len - 1])))
            tok[--len] = '\0';
        if (!*tok)
            continue;
        if (tok[0] != '/') {
            cfg_error(err, "%s: '%s' is not an absolute path", key, tok);
            free(copy);
            return -EINVAL;
        }
        for (size_t i = 0; i < cfg->n_dirs; i++) {
            if (strcmp(cfg->dirs[i], tok) == 0) {
                cfg_error(err, "%s: '%s' appears twice", key, tok);
                free(copy);
                return -EINVAL;
            }
        }
        cfg->dirs[cfg->n_dirs] = strdup(tok);
        if (!cfg->dirs[cfg->n_dirs]) {
            free(copy);
            return -ENOMEM;
        }
        cfg->n_dirs++;
    }
    free(copy);
    if (cfg->n_dirs == 0) {
        cfg_error(err, "%s: no log directory given", key);
        return -EINVAL;
    }
    return 0;
}

static int add_ip_limit(st_broker_config_t *cfg, const uint8_t addr[16], int32_t max)
{
    for (size_t i = 0; i < cfg->n_ip_limits; i++) {
        if (memcmp(cfg->ip_limits[i].addr, addr, 16) == 0) {
            cfg->ip_limits[i].max = max;   /* the later entry wins */
            return 0;
        }
    }
    st_ip_limit_t *n = realloc(cfg->ip_limits, (cfg->n_ip_limits + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    cfg->ip_limits = n;
    memcpy(n[cfg->n_ip_limits].addr, addr, 16);
    n[cfg->n_ip_limits].max = max;
    cfg->n_ip_limits++;
    return 0;
}

/* max.connections.per.ip.overrides: "host:count,ip:count,[v6]:count" (Kafka's format; a bare
 * IPv6 literal may also be written without brackets, the count being after the last colon).
 * Host names are resolved here, at start-up, as Kafka resolves them when it reads the config. */
static int parse_ip_overrides(st_broker_config_t *cfg, st_cfg_error_t *err)
{
    static const char *key = "max.connections.per.ip.overrides";
    const char *value = cfg->max_connections_per_ip_overrides;
    if (!value || !*value)
        return 0;
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    int r = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t len = strlen(tok);
        while (len && isspace((unsigned char)tok[len - 1]))
            tok[--len] = '\0';
        if (!len)
            continue;
        char *colon = strrchr(tok, ':');
        if (!colon || colon == tok || !colon[1]) {
            cfg_error(err, "%s: '%s' is not host:count", key, tok);
            r = -EINVAL;
            break;
        }
        *colon = '\0';
        char *end = NULL;
        errno = 0;
        long long max = strtoll(colon + 1, &end, 10);
        if (errno || *end || max < 0 || max > INT32_MAX) {
            cfg_error(err, "%s: count '%s' of %s is not an integer in [0, %d]", key, colon + 1, tok,
                      INT32_MAX);
            r = -EINVAL;
            break;
        }
        char *host = tok;
        size_t hlen = strlen(host);
        if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
            host[hlen - 1] = '\0';
            host++;
        }
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        struct addrinfo *res = NULL;
        int gai = getaddrinfo(host, NULL, &hints, &res);
        if (gai != 0) {
            cfg_error(err, "%s: cannot resolve '%s': %s", key, host, gai_strerror(gai));
            r = -EINVAL;
            break;
        }
        for (struct addrinfo *ai = res; ai && r == 0; ai = ai->ai_next) {
            uint8_t addr[16] = { 0 };
            if (ai->ai_family == AF_INET) {
                addr[10] = addr[11] = 0xff;
                memcpy(addr + 12, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
            } else if (ai->ai_family == AF_INET6) {
                memcpy(addr, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
            } else {
                continue;
            }
            r = add_ip_limit(cfg, addr, (int32_t)max);
        }
        freeaddrinfo(res);
    }
    free(copy);
    return r;
}

static int parse_cleanup_policy(const char *key, const char *value, bool *ret_delete,
                                bool *ret_compact, st_cfg_error_t *err)
{
    bool del = false, compact = false;
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && isspace((unsigned char)tok[len - 1]))
            tok[--len] = '\0';
        if (strcasecmp(tok, "delete") == 0)
            del = true;
        else if (strcasecmp(tok, "compact") == 0)
            compact = true;
        else {
            cfg_error(err, "%s=%s: expected delete, compact or compact,delete", key, value);
            free(copy);
            return -EINVAL;
        }
    }
    free(copy);
    if (!del && !compact) {
        cfg_error(err, "%s=%s: expected delete, compact or compact,delete", key, value ? value : "");
        return -EINVAL;
    }
    *ret_delete = del;
    *ret_compact = compact;
    return 0;
}

/* st_broker_config_finish's work, with parse_map set for the listener lists. */
static int config_finish(st_broker_config_t *cfg, st_cfg_error_t *err)
{
    /* ZooKeeper is the one source of cluster metadata: there is no broker without it (Kafka's
     * ZooKeeper mode says the same, in the same words). */
    if (!cfg->zookeeper_connect || !*cfg->zookeeper_connect) {
        cfg_error(err, "Missing required configuration \"zookeeper.connect\" which has no "
                  "default value (the ZooKeeper ensemble of the cluster, host:port[,host:port]"
                  "[/chroot])");
        return -EINVAL;
    }
    if (cfg->broker_id == -1 && !cfg->broker_id_generation_enable) {
        cfg_error(err, "broker.id=-1 asks for a generated id, which needs "
                  "broker.id.generation.enable=true");
        return -EINVAL;
    }
    if (cfg->broker_id > cfg->reserved_broker_max_id) {
        cfg_error(err, "broker.id=%" PRId32 " is larger than reserved.broker.max.id=%" PRId32
                  " (ids above it are generated ones)", cfg->broker_id,
                  cfg->reserved_broker_max_id);
        return -EINVAL;
    }
    int r = st_broker_parse_listeners("listeners", cfg->listeners, &cfg->listener_list,
                                      &cfg->n_listeners, err);
    if (r < 0)
        return r;

    /* advertised.listeners: by name; a listener without an advertised entry advertises itself. */
    cfg->advertised_list = calloc(cfg->n_listeners, sizeof(st_listener_cfg_t));
    if (!cfg->advertised_list)
        return -ENOMEM;
    memcpy(cfg->advertised_list, cfg->listener_list, cfg->n_listeners * sizeof(st_listener_cfg_t));
    if (cfg->advertised_listeners && *cfg->advertised_listeners) {
        st_listener_cfg_t *adv = NULL;
        size_t n_adv = 0;
        r = st_broker_parse_listeners("advertised.listeners", cfg->advertised_listeners, &adv,
                                      &n_adv, err);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n_adv; i++) {
            size_t j = 0;
            while (j < cfg->n_listeners && strcmp(cfg->listener_list[j].name, adv[i].name) != 0)
                j++;
            if (j == cfg->n_listeners) {
                cfg_error(err, "advertised.listeners: %s is not one of the listeners (%s)",
                          adv[i].name, cfg->listeners);
                free(adv);
                return -EINVAL;
            }
            cfg->advertised_list[j] = adv[i];
        }
        free(adv);
    }
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        st_listener_cfg_t *a = &cfg->advertised_list[i];
        if (a->host[0] == '\0' || strcmp(a->host, "0.0.0.0") == 0 || strcmp(a->host, "::") == 0) {
            if (gethostname(a->host, sizeof(a->host)) < 0 || !a->host[0])
                snprintf(a->host, sizeof(a->host), "localhost");
            a->host[sizeof(a->host) - 1] = '\0';
        }
    }

    /* The inter-broker listener (Kafka's rule): inter.broker.listener.name, else the listener
     * named after security.inter.broker.protocol, else the first listener with that protocol,
     * else the first listener. */
    cfg->inter_broker_listener = 0;
    if (cfg->inter_broker_listener_name && *cfg->inter_broker_listener_name) {
        size_t j = 0;
        while (j < cfg->n_listeners &&
               strcasecmp(cfg->listener_list[j].name, cfg->inter_broker_listener_name) != 0)
            j++;
        if (j == cfg->n_listeners) {
            cfg_error(err, "inter.broker.listener.name: %s is not one of the listeners (%s)",
                      cfg->inter_broker_listener_name, cfg->listeners);
            return -EINVAL;
        }
        cfg->inter_broker_listener = (int)j;
    } else {
        const char *proto = cfg->security_inter_broker_protocol ? cfg->security_inter_broker_protocol
                                                                : "PLAINTEXT";
        st_security_protocol_t want = strcasecmp(proto, "SSL") == 0 ? ST_PROTO_SSL
                                                                    : ST_PROTO_PLAINTEXT;
        int by_protocol = -1, by_name = -1;
        for (size_t j = 0; j < cfg->n_listeners; j++) {
            if (by_name < 0 && strcasecmp(cfg->listener_list[j].name, proto) == 0)
                by_name = (int)j;
            if (by_protocol < 0 && cfg->listener_list[j].protocol == want)
                by_protocol = (int)j;
        }
        cfg->inter_broker_listener = by_name >= 0 ? by_name : by_protocol >= 0 ? by_protocol : 0;
    }

    r = split_dirs(cfg, err);
    if (r < 0)
        return r;

    if (cfg->log_retention_ms != ST_CFG_UNSET_LONG)
        cfg->retention_ms = cfg->log_retention_ms;
    else if (cfg->log_retention_minutes != ST_CFG_UNSET_INT)
        cfg->retention_ms = cfg->log_retention_minutes < 0 ? -1 : (int64_t)cfg->log_retention_minutes * 60000;
    else
        cfg->retention_ms = cfg->log_retention_hours < 0 ? -1 : (int64_t)cfg->log_retention_hours * 3600000;
    cfg->roll_ms = cfg->log_roll_ms != ST_CFG_UNSET_LONG ? cfg->log_roll_ms
                                                         : (int64_t)cfg->log_roll_hours * 3600000;

    r = parse_cleanup_policy("log.cleanup.policy", cfg->log_cleanup_policy, &cfg->cleanup_delete,
                             &cfg->cleanup_compact, err);
    if (r < 0)
        return r;

    if (cfg->num_network_threads == ST_CFG_UNSET_INT) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->num_network_threads = (int32_t)(cores < 1 ? 1 : cores > 256 ? 256 : cores);
    }
    r = parse_ip_overrides(cfg, err);
    if (r < 0)
        return r;
    if (cfg->max_connections_per_ip == 0 && cfg->n_ip_limits == 0) {
        cfg_error(err, "max.connections.per.ip=0 refuses every connection: it is allowed only "
                  "with max.connections.per.ip.overrides");
        return -EINVAL;
    }
    if (cfg->message_max_bytes > cfg->socket_request_max_bytes) {
        cfg_error(err, "message.max.bytes=%" PRId32 " is larger than socket.request.max.bytes=%" PRId32
                  ": such batches could never arrive", cfg->message_max_bytes,
                  cfg->socket_request_max_bytes);
        return -EINVAL;
    }
    return 0;
}

int st_broker_config_finish(st_broker_config_t *cfg, st_cfg_error_t *err)
{
    parse_map = cfg->listener_security_protocol_map;
    int r = config_finish(cfg, err);
    parse_map = NULL;
    return r;
}

void st_broker_config_free(st_broker_config_t *cfg)
{
    st_cfg_free(st_broker_config_table, cfg);
    free(cfg->listener_list);
    free(cfg->advertised_list);
    free(cfg->ip_limits);
    cfg->ip_limits = NULL;
    cfg->n_ip_limits = 0;
    for (size_t i = 0; i < cfg->n_dirs; i++)
        free(cfg->dirs[i]);
    free(cfg->dirs);
    cfg->listener_list = cfg->advertised_list = NULL;
    cfg->dirs = NULL;
    cfg->n_listeners = cfg->n_dirs = 0;
}

void st_broker_config_log_defaults(const st_broker_config_t *cfg, st_log_config_t *ret)
{
    st_log_config_t lc;
    st_log_config_defaults(&lc);
    lc.segment_bytes = cfg->log_segment_bytes;
    lc.roll_ms = cfg->roll_ms;
    lc.index_interval_bytes = cfg->log_index_interval_bytes;
    lc.index_max_bytes = cfg->log_index_size_max_bytes;
    lc.flush_interval_messages = cfg->log_flush_interval_messages;
    lc.flush_interval_ms = cfg->log_flush_interval_ms;
    lc.retention_ms = cfg->retention_ms;
    lc.retention_bytes = cfg->log_retention_bytes;
    lc.cleanup_delete = cfg->cleanup_delete;
    lc.cleanup_compact = cfg->cleanup_compact;
    lc.delete_retention_ms = cfg->log_cleaner_delete_retention_ms;
    lc.file_delete_delay_ms = cfg->log_segment_delete_delay_ms;
    *ret = lc;
}

/* Formats one field as text (for the non-default summary). */
static void format_value(const st_cfg_def_t *def, const void *obj, char *out, size_t len)
{
    st_cfg_format_one(def, obj, out, len);
}

void st_broker_config_describe_non_default(const st_broker_config_t *cfg, char *out, size_t len)
{
    st_broker_config_t defaults;
    st_broker_config_init(&defaults);
    size_t used = 0;
    out[0] = '\0';
    for (const st_cfg_def_t *def = st_broker_config_table; def->name; def++) {
        char cur[512], dflt[512];
        format_value(def, cfg, cur, sizeof(cur));
        format_value(def, &defaults, dflt, sizeof(dflt));
        if (strcmp(cur, dflt) == 0)
            continue;
        int n = snprintf(out + used, len - used, "%s%s=%s", used ? ", " : "", def->name,
                         def->secret ? "[hidden]" : cur);
        if (n < 0 || (size_t)n >= len - used) {
            out[len - 1] = '\0';
            break;
        }
        used += (size_t)n;
    }
    st_cfg_free(st_broker_config_table, &defaults);
}

