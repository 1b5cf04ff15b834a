/* strand.h -- the Strand client library: producer, consumer and admin client.
 *
 * Strand speaks its own protobuf-framed protocol (proto/strand.proto) but keeps Apache Kafka's
 * model and configuration names, so a Kafka user finds the same knobs here:
 *
 *   strand_conf_t      key=value configuration with Kafka's property names (bootstrap.servers,
 *                      acks, linger.ms, batch.size, compression.type, auto.offset.reset, ...).
 *   strand_producer_t  asynchronous, batching producer with per-record delivery callbacks.
 *   strand_consumer_t  consumer returning zero-copy views of fetched records: partitions
 *                      assigned by hand, or shared out by a consumer group (subscribe).
 *   strand_admin_t     create / delete / list / describe topics; list, describe and delete
 *                      consumer groups, read, alter and delete their committed offsets.
 *
 * ----------------------------------------------------------------------------------------------
 * Errors
 *   Every function that can fail returns an `int` error code: 0 (ST_ERR_NONE) on success, else
 *   one of the st_error_t codes of st_error.h (Kafka's numbers for broker errors, for example
 *   ST_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3; negative ST_ERR_* codes below -100 for client-side
 *   errors such as ST_ERR_TRANSPORT, ST_ERR_TIMED_OUT, ST_ERR_INVALID_ARG). strand_err_name()
 *   and strand_err_desc() turn a code into text. Where a function takes `errstr`/`errstr_size`
 *   it also writes one human-readable line there on failure (naming the key, the broker
 *   address, ...); errstr may be NULL. Constructors return NULL on failure.
 *
 * Threads
 *   Each producer, consumer and admin handle owns ONE background I/O thread which holds the
 *   broker connections (non-blocking sockets, epoll), sends requests and reads responses. The
 *   rules for the application's threads are given per handle type below and per function.
 *
 * Memory
 *   Strings and buffers passed IN are copied (or fully consumed) before the call returns unless
 *   stated otherwise. Memory returned OUT is either owned by the library (a "view", with its
 *   lifetime stated) or must be released with the named *_free / *_destroy function.
 *
 * Example: tools/examples/strand_example.c (built by meson) produces and consumes a few
 * records; the command-line tools in tools/ use nothing but this header.
 * ---------------------------------------------------------------------------------------------- */
#ifndef STRAND_H
#define STRAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "st_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library version, e.g. "0.1.0". Static string. */
const char *strand_version(void);

/* Error code -> "UNKNOWN_TOPIC_OR_PARTITION" / description. Static strings, never NULL.
 * Thread-safe. */
const char *strand_err_name(int err);
const char *strand_err_desc(int err);
/* True if the operation that failed with `err` may succeed when retried. */
bool strand_err_retriable(int err);

/* ============================================================================================
 * Configuration
 * ============================================================================================
 * Properties (one table for every client type; a key that does not apply to a handle type is
 * accepted and ignored by it). Defaults are Kafka's unless noted.
 *
 *   bootstrap.servers            host:port[,host:port...]  (required)
 *   client.id                    sent in every request header (default "strand")
 *   security.protocol            PLAINTEXT (default) or SSL (TLS through OpenSSL 3)
 *   -- SSL (security.protocol=SSL) --
 *   ssl.ca.location              PEM file or directory of the CAs that sign broker certificates
 *                                (unset: the system's trusted CAs)
 *   ssl.certificate.location, ssl.key.location, ssl.key.password
 *                                client certificate for mutual TLS (the broker sees the
 *                                principal User:<subject>, e.g. User:CN=alice,O=acme)
 *   ssl.endpoint.identification.algorithm  https (default): the broker certificate must name
 *                                the host connected to (DNS or IP subjectAltName); empty: off
 *   ssl.enabled.protocols        TLSv1.3,TLSv1.2 (default)
 *   ssl.cipher.suites            IANA or OpenSSL names (default: OpenSSL's, AES-GCM first)
 *   Certificate and key files are loaded when the handle is created: a missing file, a key that
 *   does not match, a wrong password fail strand_*_new() with errstr naming the file.
 *   socket.connection.setup.timeout.ms  connect + handshake timeout per attempt (10000)
 *   reconnect.backoff.ms / reconnect.backoff.max.ms  (50 / 1000)
 *   request.timeout.ms           a request without a response after this fails (30000)
 *   metadata.max.age.ms          periodic metadata refresh (300000)
 *   retry.backoff.ms             wait before retrying a failed request (100)
 *   -- producer --
 *   acks                         0, 1, -1 or all (default all, as Kafka 3.x)
 *   linger.ms                    wait up to this long to fill a batch (5)
 *   batch.size                   bytes per partition batch before it is sent (65536)
 *   compression.type             none | lz4 (gzip, snappy, zstd are rejected: not supported)
 *   retries                      retries of a retriable error (2147483647)
 *   delivery.timeout.ms          upper bound from strand_produce() to the delivery report
 *                                (120000); a record not acknowledged by then fails with
 *                                ST_ERR_TIMED_OUT
 *   max.in.flight.requests.per.connection  (5)
 *   max.request.size             bytes of record batches in one ProduceRequest (1048576)
 *   buffer.memory                bytes of records buffered before strand_produce() blocks
 *                                (33554432)
 *   max.block.ms                 how long strand_produce() may block for buffer space or
 *                                metadata (60000)
 *   enable.idempotence           accepted; only false is supported for now (default false)
 *   -- consumer --
 *   fetch.min.bytes (1), fetch.max.bytes (52428800), fetch.max.wait.ms (500),
 *   max.partition.fetch.bytes (1048576), max.poll.records (500),
 *   auto.offset.reset            earliest | latest | none (latest): where a partition without a
 *                                committed offset (or whose offset is out of range) starts
 *   check.crcs                   verify each fetched batch's CRC-32C (true)
 *   -- consumer groups (see "Consumer groups" below) --
 *   group.id                     the group; required by subscribe and committed offsets
 *   group.instance.id            static membership (KIP-345); unset: a dynamic member
 *   partition.assignment.strategy  assignors in order of preference: range (default),
 *                                roundrobin, sticky, cooperative-sticky; Kafka's class names
 *                                (org.apache.kafka.clients.consumer.RangeAssignor, ...) work too
 *   session.timeout.ms (45000, as Kafka 3.x), heartbeat.interval.ms (3000),
 *   max.poll.interval.ms (300000; also the rebalance timeout sent in JoinGroup),
 *   enable.auto.commit (true), auto.commit.interval.ms (5000),
 *   exclude.internal.topics (true: a pattern never matches __consumer_offsets)
 *
 * strand_conf_print_help() lists all of them with types, defaults and ranges.
 *
 * A strand_conf_t is NOT thread-safe: build it on one thread. Constructors copy it, so it may be
 * destroyed or reused right after strand_*_new(). */
typedef struct strand_conf strand_conf_t;

/* Returns a configuration holding every default, or NULL when out of memory. */
strand_conf_t *strand_conf_new(void);
/* Deep copy (callbacks and opaque included); NULL when out of memory. */
strand_conf_t *strand_conf_dup(const strand_conf_t *conf);
void strand_conf_destroy(strand_conf_t *conf);

/* Sets one property. ST_ERR_INVALID_CONFIG when the key is unknown or the value is bad; errstr
 * then says which key, what was wrong and what is accepted, e.g.
 * "compression.type: 'gzip' is not supported by Strand (accepted: none, lz4)". */
int strand_conf_set(strand_conf_t *conf, const char *key, const char *value,
                    char *errstr, size_t errstr_size);
/* Same, from one "key=value" string (whitespace around key and value is trimmed). */
int strand_conf_set_kv(strand_conf_t *conf, const char *kv, char *errstr, size_t errstr_size);
/* Loads a properties file ('#'/'!' comments, key=value or key: value). An unknown key or a bad
 * value fails with errstr naming file:line and key. */
int strand_conf_load_file(strand_conf_t *conf, const char *path, char *errstr,
                          size_t errstr_size);
/* Current value of a property as text (the default if never set) into buf. ST_ERR_INVALID_CONFIG
 * for an unknown key. Writes "" for an unset string. */
int strand_conf_get(const strand_conf_t *conf, const char *key, char *buf, size_t buf_size);
/* Prints every property: name, type, default, accepted values, description. */
void strand_conf_print_help(FILE *out);

/* ---- Log messages -------------------------------------------------------------------------
 * What an operator should see while a client works around trouble -- chiefly its retries: a
 * broker that cannot be reached, a produce or fetch error being retried, a topic that is not in
 * metadata yet -- is reported through a log callback, in the words of Kafka's Java clients, e.g.
 *   "[Producer clientId=strand] Got error produce response with correlation id 12 on
 *    topic-partition t-0, retrying (2147483646 attempts left). Error: NOT_LEADER_OR_FOLLOWER"
 * Each distinct condition (broker, partition and error) is reported when first seen, then at
 * most once per 10 seconds while it lasts; the number of reports suppressed meanwhile is
 * appended to the next one. Errors that end an operation are not logged: they are returned (or
 * delivered) to the application, which says them once.
 * The callback runs on the handle's I/O thread: it must be quick and must not call into the
 * handle. source names the part of the client ("strand.producer", "strand.consumer",
 * "strand.network", "strand.metadata"). Without a callback nothing is printed. */
#define STRAND_LOG_WARN 4   /* syslog numbering */
#define STRAND_LOG_INFO 6
typedef void strand_log_cb_t(int level, const char *source, const char *message, void *opaque);
void strand_conf_set_log_cb(strand_conf_t *conf, strand_log_cb_t *cb, void *opaque);

/* ============================================================================================
 * Producer
 * ============================================================================================
 * Records are appended to a per-partition batch (RecordBatch v2, optionally LZ4-compressed)
 * and sent when the batch reaches batch.size or has waited linger.ms. Several batches go in one
 * ProduceRequest and up to max.in.flight.requests.per.connection requests are in flight per
 * broker. Retriable errors (see strand_err_retriable) are retried after retry.backoff.ms,
 * refreshing metadata first when the error means the leader moved; without idempotence a retry
 * may write a record twice, as in Kafka.
 *
 * Threads: strand_produce(), strand_producer_flush() and strand_producer_partition_count() are
 * thread-safe: any number of application threads may call them concurrently.
 * strand_producer_destroy() must be called once, when no other thread uses the handle.
 *
 * Delivery callbacks run on the producer's I/O THREAD (as in Kafka's Java client), one call per
 * record, in offset order within a partition. A callback must be quick and must not block; it
 * may call strand_produce() (which then never blocks: it fails with ST_ERR_QUEUE_FULL when it
 * would have to wait) but must not call strand_producer_flush() or strand_producer_destroy(). */

typedef struct strand_producer strand_producer_t;

/* Let the partitioner choose: murmur2(key) like Kafka's default partitioner for non-null keys
 * (the same key lands on the same partition number as with Kafka), sticky partitioning
 * (KIP-480) for null keys. */
#define STRAND_PARTITION_ANY (-1)

/* One record header. key is not NUL-terminated (key_len bytes); value NULL = null value. Same
 * layout as st_record_header_t of st_batch.h. */
typedef struct strand_header {
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
} strand_header_t;

/* What a delivery callback receives. The struct and `topic` are valid during the callback
 * only. */
typedef struct strand_delivery_report {
    int error;               /* 0 = written (and acknowledged per acks), else why it failed */
    const char *errstr;      /* one line describing the error (broker's message if it gave
                                one), "" on success */
    const char *topic;
    int32_t partition;       /* partition chosen; -1 if none could be chosen */
    int64_t offset;          /* offset assigned by the broker; -1 on error or with acks=0 */
    int64_t timestamp;       /* the record's timestamp (ms) */
    void *msg_opaque;        /* the opaque given to strand_produce() */
} strand_delivery_report_t;

typedef void strand_delivery_cb_t(const strand_delivery_report_t *report, void *opaque);

/* Registers the delivery callback (NULL = none) and the `opaque` handed to it. Without a
 * callback the producer keeps no per-record state at all (only counters). */
void strand_conf_set_delivery_cb(strand_conf_t *conf, strand_delivery_cb_t *cb, void *opaque);

/* Creates a producer: validates the configuration, starts the I/O thread and bootstraps, i.e.
 * connects to the bootstrap.servers in turn until one answers ApiVersions and Metadata. Returns
 * NULL with errstr set when the configuration is invalid or no bootstrap server could be
 * reached within socket.connection.setup.timeout.ms each, e.g.
 * "cannot reach any bootstrap server: 127.0.0.1:9 (Connection refused)". `conf` is copied. */
strand_producer_t *strand_producer_new(const strand_conf_t *conf, char *errstr,
                                       size_t errstr_size);

/* Queues one record for topic/partition (STRAND_PARTITION_ANY or 0..n-1).
 *   key == NULL: null key (key_len ignored); value == NULL: null value (tombstone).
 *   headers: header_count entries (may be NULL when 0); copied.
 *   timestamp_ms: record timestamp, 0 = now.
 *   msg_opaque: handed back in the delivery report.
 * Key, value and headers are copied into the batch before the call returns. When the topic's
 * metadata is not known yet, or buffer.memory is exhausted, the call blocks up to max.block.ms
 * (never on the I/O thread), then fails with ST_ERR_TIMED_OUT (metadata) / ST_ERR_QUEUE_FULL.
 * A topic error that retrying cannot cure (ST_ERR_INVALID_TOPIC_EXCEPTION,
 * ST_ERR_TOPIC_AUTHORIZATION_FAILED, ...) fails the call as soon as metadata says so.
 * Other errors: ST_ERR_UNKNOWN_TOPIC_OR_PARTITION (partition out of range), ST_ERR_INVALID_ARG,
 * ST_ERR_MESSAGE_TOO_LARGE (record larger than max.request.size or buffer.memory, sized as
 * Kafka does: batch overhead + the record's upper bound). strand_last_errstr() says which.
 * When strand_produce()
 * returns an error the record was not queued and no delivery report will follow; when it
 * returns 0 exactly one delivery report follows. */
int strand_produce(strand_producer_t *p, const char *topic, int32_t partition,
                   const void *key, size_t key_len, const void *value, size_t value_len,
                   const strand_header_t *headers, size_t header_count,
                   int64_t timestamp_ms, void *msg_opaque);

/* One line saying why the calling thread's last failed strand_produce() (also
 * strand_producer_partition_count, strand_consumer_assign, strand_consumer_partition_count)
 * failed, in Kafka's words where Kafka has them, e.g. for ST_ERR_MESSAGE_TOO_LARGE "The message
 * is 2000088 bytes when serialized which is larger than 1048576, which is the value of the
 * max.request.size configuration." and for a topic missing from metadata "Topic t not present in
 * metadata after 60000 ms.". Thread-local; meaningful only right after such a call returned an
 * error. Never NULL. */
const char *strand_last_errstr(void);

/* Sends every batch now (ignoring linger.ms) and waits until no record is queued or in flight,
 * i.e. every record queued before the call -- and any other thread queues meanwhile -- has had
 * its delivery report (timeout_ms < 0: wait forever). 0, or ST_ERR_TIMED_OUT. Must not be
 * called from a delivery callback (ST_ERR_INVALID_ARG). */
int strand_producer_flush(strand_producer_t *p, int timeout_ms);

/* Records queued or in flight (not yet reported). Thread-safe. */
size_t strand_producer_outq_len(strand_producer_t *p);

/* Number of partitions of topic (fetching metadata if needed, waiting up to timeout_ms) into
 * *ret_count. ST_ERR_UNKNOWN_TOPIC_OR_PARTITION if the topic does not exist. */
int strand_producer_partition_count(strand_producer_t *p, const char *topic, int timeout_ms,
                                    int32_t *ret_count);

/* Stops the producer WITHOUT flushing: records not yet acknowledged are reported with
 * ST_ERR_DESTROYED (callbacks run on the calling thread during this call), then the I/O thread
 * is joined and everything freed. Call strand_producer_flush() first to deliver them. NULL is
 * ignored. */
void strand_producer_destroy(strand_producer_t *p);

/* The partitioner Kafka uses for keyed records: (murmur2(key) & 0x7fffffff) % partition_count,
 * with Kafka's Utils.murmur2 (seed 0x9747b28c). Exposed for tools and tests. */
int32_t strand_murmur2(const void *key, size_t len);
int32_t strand_partition_for_key(const void *key, size_t len, int32_t partition_count);

/* ============================================================================================
 * Consumer
 * ============================================================================================
 * Partitions come from strand_consumer_assign() (manual assignment) or from a consumer group
 * (strand_consumer_subscribe(), below); the two are mutually exclusive on one handle. The I/O
 * thread keeps one Fetch in flight per broker while the application handles the previous
 * response, reading each response into one large buffer; strand_consumer_poll() decodes records
 * in place from those buffers.
 *
 * Threads: a consumer is NOT thread-safe. All strand_consumer_* calls on one handle must come
 * from one thread at a time (any thread, but serialised by the application).
 *
 * Positions: each assigned partition has a position, the offset of the next record poll()
 * returns. It starts at the offset given to assign/seek; STRAND_OFFSET_BEGINNING/END resolve
 * through ListOffsets; STRAND_OFFSET_INVALID starts from the group's committed offset when
 * group.id is set and one exists, else applies auto.offset.reset. When a fetch fails with
 * OFFSET_OUT_OF_RANGE, auto.offset.reset decides: earliest/latest reset the position, none
 * reports the error to the application as a message with `error` set (OFFSET_OUT_OF_RANGE,
 * errstr "Undefined offset with no reset policy for partitions: [topic-partition] ..."). */

typedef struct strand_consumer strand_consumer_t;

#define STRAND_OFFSET_END       (-1)     /* the log end: only records produced from now on */
#define STRAND_OFFSET_BEGINNING (-2)     /* the log start offset */
#define STRAND_OFFSET_INVALID   (-1001)  /* no position: use auto.offset.reset */

/* A topic-partition with an offset and an error, used in and out by several calls. */
typedef struct strand_topic_partition {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int error;
} strand_topic_partition_t;

/* One record (or one per-partition error) returned by strand_consumer_poll(). A VIEW: all
 * pointers point into the library's fetch buffers and stay valid until the next call to
 * strand_consumer_poll(), strand_consumer_assign() or strand_consumer_destroy() on the same
 * handle. Copy what must live longer. */
typedef struct strand_message {
    int error;               /* 0 = a record; else an error for topic/partition, no record */
    const char *errstr;      /* error text, "" for records */
    const char *topic;       /* NUL-terminated */
    int32_t partition;
    int64_t offset;          /* record offset; for errors the position concerned */
    int64_t timestamp;       /* ms since the epoch */
    int timestamp_type;      /* 0 CreateTime, 1 LogAppendTime */
    const void *key;         /* NULL = null key (empty keys are non-NULL with key_len 0) */
    size_t key_len;
    const void *value;       /* NULL = null value */
    size_t value_len;
    uint32_t header_count;
    const uint8_t *headers_raw;   /* encoded headers; read them with strand_message_header() */
    size_t headers_len;
} strand_message_t;

/* Walks a message's headers: *pos starts at 0. Returns 1 and fills *ret_header (pointers into
 * the message's buffer, same lifetime as the message), 0 after the last one, or
 * ST_ERR_CORRUPT_MESSAGE. */
int strand_message_header(const strand_message_t *msg, size_t *pos, strand_header_t *ret_header);

/* Creates a consumer and bootstraps (as strand_producer_new). NULL with errstr on failure. */
strand_consumer_t *strand_consumer_new(const strand_conf_t *conf, char *errstr,
                                       size_t errstr_size);

/* REPLACES the assignment with the `count` partitions given (count 0 unassigns all). Each
 * entry's offset is the starting position: >= 0, STRAND_OFFSET_BEGINNING, STRAND_OFFSET_END or
 * STRAND_OFFSET_INVALID (auto.offset.reset). Partitions are checked against metadata (waiting up
 * to request.timeout.ms for it): ST_ERR_UNKNOWN_TOPIC_OR_PARTITION names the first one that
 * does not exist. Invalidates messages returned by the previous poll. */
int strand_consumer_assign(strand_consumer_t *c, const strand_topic_partition_t *tps,
                           size_t count);

/* Moves the position of one assigned partition to offset (>= 0, STRAND_OFFSET_BEGINNING or
 * STRAND_OFFSET_END). Records already fetched for it are discarded. ST_ERR_INVALID_ARG if the
 * partition is not assigned. */
int strand_consumer_seek(strand_consumer_t *c, const char *topic, int32_t partition,
                         int64_t offset);

/* Moves the position to the first record with timestamp >= timestamp_ms (ListOffsets); to the
 * log end when there is none. Blocks up to request.timeout.ms for the lookup. */
int strand_consumer_seek_timestamp(strand_consumer_t *c, const char *topic, int32_t partition,
                                   int64_t timestamp_ms);

/* Waits up to timeout_ms (0 = do not wait, < 0 = forever) for records, then returns in
 * *ret_msgs an array of *ret_count messages (at most max.poll.records; 0 on timeout), in offset
 * order within each partition. The array and everything it points to is owned by the consumer
 * and valid until the next poll/assign/destroy. Returns 0, or an error for the call itself
 * (ST_ERR_INVALID_ARG); per-partition errors arrive as messages with `error` set.
 * In a group, poll() is also where the group's work reaches the application (as in Kafka):
 * rebalance callbacks, commit-async callbacks, auto commits and commits before a revocation
 * run inside it, on the calling thread; a poll that does not come within max.poll.interval.ms
 * of the previous one makes the member leave its group (the next poll rejoins, reporting the
 * old partitions LOST). A fatal group error -- ST_ERR_FENCED_INSTANCE_ID (another consumer took
 * over this group.instance.id), ST_ERR_INCONSISTENT_GROUP_PROTOCOL, ST_ERR_INVALID_SESSION_TIMEOUT,
 * ST_ERR_GROUP_MAX_SIZE_REACHED, ST_ERR_INVALID_GROUP_ID, ST_ERR_GROUP_AUTHORIZATION_FAILED -- is
 * returned by this and every later poll (strand_consumer_fatal_error() has the text); the
 * consumer then holds no partitions and can only be destroyed. */
int strand_consumer_poll(strand_consumer_t *c, int timeout_ms, const strand_message_t **ret_msgs,
                         size_t *ret_count);

/* Offset of the next record poll() will return for an assigned partition, or
 * STRAND_OFFSET_INVALID while it is being resolved. */
int strand_consumer_position(strand_consumer_t *c, const char *topic, int32_t partition,
                             int64_t *ret_offset);

/* ListOffsets for any partitions (assigned or not). In: tps[i].topic, .partition and .offset =
 * the timestamp to look up (STRAND_OFFSET_END = -1 latest, STRAND_OFFSET_BEGINNING = -2
 * earliest, else ms). Out: tps[i].offset = the offset found (-1 if no record has a timestamp >=
 * the one asked) and tps[i].error. Blocks up to timeout_ms. Returns 0 when the request itself
 * worked (check each entry's error), else the error. */
int strand_consumer_list_offsets(strand_consumer_t *c, strand_topic_partition_t *tps,
                                 size_t count, int timeout_ms);

/* Number of partitions of a topic (metadata, waiting up to timeout_ms). */
int strand_consumer_partition_count(strand_consumer_t *c, const char *topic, int timeout_ms,
                                    int32_t *ret_count);

/* ---- Consumer groups ------------------------------------------------------------------------
 * With group.id set, strand_consumer_subscribe() makes the consumer a member of that group:
 * the group's members share the partitions of the subscribed topics (each partition goes to
 * one member: queue semantics), while consumers of other groups each read everything
 * (publish-subscribe). This is Kafka's group protocol, run by the consumer's I/O thread:
 * FindCoordinator (retried while COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS / NOT_COORDINATOR,
 * and again whenever the coordinator fails over), JoinGroup (with Kafka's MEMBER_ID_REQUIRED
 * first join), the elected leader runs partition.assignment.strategy over every member's
 * subscription, SyncGroup hands each member its partitions, and heartbeats keep the membership
 * alive from the I/O thread -- a slow application loses it only when it does not call poll()
 * within max.poll.interval.ms. A newly assigned partition starts at the group's committed offset
 * (OffsetFetch), or per auto.offset.reset when there is none (none: a per-partition error
 * message naming the partition).
 *
 * Rebalance protocols. With range, roundrobin or sticky (EAGER), a member revokes ALL its
 * partitions before it rejoins; with cooperative-sticky alone (COOPERATIVE, KIP-429) it keeps
 * them and gives up only those the new assignment takes away -- then rejoins once more so they
 * can be handed over. Partitions it keeps are not revoked and get no callback. The protocol is
 * COOPERATIVE only when every listed assignor supports it (Kafka's rule).
 *
 * Committed offsets. An offset committed for a partition is the offset of the NEXT record to
 * read (position after the last processed record). With enable.auto.commit (the default) the
 * positions of all assigned partitions are committed every auto.commit.interval.ms (from poll),
 * right before partitions are revoked, and on close; so records are neither skipped nor, beyond
 * those returned since the last commit, delivered twice after a rebalance. Commits carry the
 * leader epoch of the last record read, the generation and the member id; a commit from a
 * member whose generation is over fails with ST_ERR_ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID
 * (Kafka's CommitFailedException; the member rejoins), one during a rebalance with
 * ST_ERR_REBALANCE_IN_PROGRESS. With manual assignment and group.id the commits use generation
 * -1 (allowed while the group has no active members).
 *
 * Static membership (group.instance.id): the member keeps its identity across restarts; a
 * restart within session.timeout.ms gets the same partitions back with no rebalance for the
 * others (as long as its subscription is unchanged). A static member does not send LeaveGroup on
 * close: it leaves by session timeout. A second consumer started with the same instance id takes
 * over and the first gets ST_ERR_FENCED_INSTANCE_ID as a fatal error.
 *
 * Threads: the same rule as every consumer call: one application thread at a time. */

typedef enum strand_rebalance_event {
    STRAND_REBALANCE_ASSIGNED = 1,   /* these partitions were added to the assignment */
    STRAND_REBALANCE_REVOKED = 2,    /* these partitions are being given up in an orderly way
                                        (auto commit already committed their positions) */
    STRAND_REBALANCE_LOST = 3,       /* the membership was lost (session timeout,
                                        max.poll.interval.ms, fenced generation): the partitions
                                        may already belong to another member, so nothing is
                                        committed for them */
} strand_rebalance_event_t;

/* A rebalance callback (Kafka's ConsumerRebalanceListener). It runs on the application thread
 * inside strand_consumer_poll() (or strand_consumer_unsubscribe/close), never on the I/O thread.
 * `partitions` (count entries, sorted by topic then partition; offset and error unused) is
 * valid during the call only. It may call strand_consumer_commit_sync(), _committed(),
 * _position(), _seek() (ASSIGNED: to start a partition elsewhere than its committed offset) and
 * _assignment(), but not poll, subscribe, unsubscribe, assign, close or destroy.
 * When it is called:
 *   EAGER        REVOKED with every owned partition before each rejoin (not called when it owns
 *                none), then ASSIGNED with the whole new assignment (possibly empty) after it;
 *   COOPERATIVE  REVOKED only for partitions taken away (never empty), ASSIGNED with the
 *                partitions added (possibly empty) after every completed rebalance;
 *   LOST         instead of REVOKED when the membership was lost;
 *   close / unsubscribe: REVOKED (or LOST) with the partitions still owned. */
typedef void strand_rebalance_cb_t(strand_consumer_t *c, strand_rebalance_event_t event,
                                   const strand_topic_partition_t *partitions, size_t count,
                                   void *opaque);

/* Registers a rebalance callback on the configuration (copied into every consumer created from
 * it) or on one consumer (replacing the configuration's). NULL = none. */
void strand_conf_set_rebalance_cb(strand_conf_t *conf, strand_rebalance_cb_t *cb, void *opaque);
void strand_consumer_set_rebalance_cb(strand_consumer_t *c, strand_rebalance_cb_t *cb,
                                      void *opaque);

/* Joins the group (group.id) with a subscription to these `count` topics (they need not exist
 * yet: partitions of topics created later are assigned once metadata shows them, within
 * metadata.max.age.ms). Calling it again replaces the subscription and rebalances. Returns at
 * once; the assignment arrives through poll(). ST_ERR_INVALID_CONFIG without group.id,
 * ST_ERR_ILLEGAL_STATE after strand_consumer_assign() with partitions (unassign first), inside a
 * callback or after close, ST_ERR_INVALID_ARG for a NULL or empty topic name. count 0 is
 * strand_consumer_unsubscribe(), as Kafka's subscribe(emptyList). */
int strand_consumer_subscribe(strand_consumer_t *c, const char *const *topics, size_t count);

/* The same with every topic whose WHOLE name matches the POSIX extended regular expression
 * (Java's Pattern.matcher(topic).matches(): "t.*" matches "t1", not "at1"); internal topics are
 * skipped unless exclude.internal.topics=false. Topics created (or deleted) later join (or leave)
 * the subscription when metadata shows them: metadata is then asked about every topic.
 * ST_ERR_INVALID_ARG with the regex error (regerror) in errstr for a bad regex. */
int strand_consumer_subscribe_pattern(strand_consumer_t *c, const char *regex, char *errstr,
                                      size_t errstr_size);

/* Leaves the group: commits (enable.auto.commit), REVOKED callback for the owned partitions,
 * LeaveGroup (dynamic members), then no subscription and no partitions. 0 when not subscribed. */
int strand_consumer_unsubscribe(strand_consumer_t *c);

/* The current assignment (group or manual) as a malloc'd array (free() it) of *ret_count
 * entries, sorted by topic then partition, with offset = position (STRAND_OFFSET_INVALID while
 * being resolved). The topic strings belong to the consumer and live until
 * strand_consumer_destroy(). */
int strand_consumer_assignment(strand_consumer_t *c, strand_topic_partition_t **ret_tps,
                               size_t *ret_count);

/* Commits offsets and waits for the coordinator's answer, up to timeout_ms (< 0: 60000, Kafka's
 * default.api.timeout.ms), retrying while the coordinator is unavailable or moving.
 * offsets == NULL (count 0): the current positions of every assigned partition (those whose
 * position is still being resolved are skipped). Else each entry's offset (>= 0, the next record
 * to read) is committed for topic/partition; each entry's `error` is set on return.
 * Returns 0 if every partition was committed, else the first error: ST_ERR_ILLEGAL_GENERATION /
 * UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS (see above), ST_ERR_FENCED_INSTANCE_ID,
 * ST_ERR_TIMED_OUT, ST_ERR_INVALID_CONFIG without group.id. Also delivers pending commit-async
 * callbacks first. */
int strand_consumer_commit_sync(strand_consumer_t *c, strand_topic_partition_t *offsets,
                                size_t count, int timeout_ms);

/* The result of strand_consumer_commit_async(): err (0 or the first error) and each partition
 * with its offset and error; valid during the call only. Runs on the application thread inside a
 * later strand_consumer_poll() / commit_sync / close. */
typedef void strand_commit_cb_t(strand_consumer_t *c, int err,
                                const strand_topic_partition_t *offsets, size_t count,
                                void *opaque);

/* Starts a commit (offsets as for commit_sync; NULL = current positions) and returns at once;
 * cb (may be NULL) reports the outcome. Commits are sent in call order. A retriable failure is
 * retried up to request.timeout.ms. 0, or an error for the call itself. */
int strand_consumer_commit_async(strand_consumer_t *c, const strand_topic_partition_t *offsets,
                                 size_t count, strand_commit_cb_t *cb, void *opaque);

/* The group's committed offsets (OffsetFetch) for `count` partitions: tps[i].offset is set to the
 * committed offset, or STRAND_OFFSET_INVALID when none is committed, and tps[i].error. Waits up
 * to timeout_ms (< 0: 60000). 0, or the error of the request as a whole. */
int strand_consumer_committed(strand_consumer_t *c, strand_topic_partition_t *tps, size_t count,
                              int timeout_ms);

/* The member's view of its group. */
typedef struct strand_group_info {
    int32_t generation;          /* -1 when not (yet) a member of a completed rebalance */
    char member_id[256];         /* "" before the first JoinGroup answer */
    char protocol[32];           /* the assignor chosen by the coordinator, "" if none */
    bool is_leader;              /* this member ran the assignor for `generation` */
    int32_t coordinator;         /* broker id of the coordinator, -1 unknown */
    int64_t rebalances;          /* completed rebalances (assignments received) so far */
} strand_group_info_t;

/* Fills *ret (ST_ERR_INVALID_CONFIG without group.id). */
int strand_consumer_group_info(strand_consumer_t *c, strand_group_info_t *ret);

/* 0 while the consumer works; else the fatal group error (see poll) with its text in errstr. */
int strand_consumer_fatal_error(strand_consumer_t *c, char *errstr, size_t errstr_size);

/* Leaves the group in an orderly way, waiting up to timeout_ms (< 0: 30000, Kafka's close
 * timeout): commits positions (enable.auto.commit), waits for pending async commits, calls the
 * rebalance callback (REVOKED or LOST) for the owned partitions, and sends LeaveGroup (dynamic
 * members: the others rebalance at once instead of after session.timeout.ms). The handle then
 * only accepts strand_consumer_destroy(). Returns 0 or the first error met (the close still
 * completes). Without group.id: only the commit part applies (nothing without group.id). */
int strand_consumer_close(strand_consumer_t *c, int timeout_ms);

/* Closes (strand_consumer_close(c, -1) if it was not closed yet), closes connections, joins the
 * I/O thread and frees everything (messages included). */
void strand_consumer_destroy(strand_consumer_t *c);

/* ============================================================================================
 * Admin
 * ============================================================================================
 * Synchronous calls; thread-safe (calls are serialised internally). CreateTopics and
 * DeleteTopics go to the controller named by the metadata; group calls to the group's
 * coordinator (see "consumer groups" below); configs of a broker to that broker; the others to
 * any broker. */

typedef struct strand_admin strand_admin_t;

strand_admin_t *strand_admin_new(const strand_conf_t *conf, char *errstr, size_t errstr_size);
void strand_admin_destroy(strand_admin_t *a);

typedef struct strand_new_topic {
    const char *name;
    int32_t num_partitions;          /* -1: broker default (num.partitions) */
    int32_t replication_factor;      /* -1: broker default (default.replication.factor) */
    const char *const *config_keys;  /* config_count topic configs, e.g. "cleanup.policy" */
    const char *const *config_values;
    size_t config_count;
    /* Explicit replica assignment (Kafka's --replica-assignment), or NULL for the broker's
     * balanced assignment: num_partitions rows of replication_factor broker ids, row-major,
     * the preferred leader first in each row. Both counts must then be given (not -1). */
    const int32_t *replica_assignment;
} strand_new_topic_t;

/* Creates one topic. Returns the broker's code (ST_ERR_TOPIC_ALREADY_EXISTS,
 * ST_ERR_INVALID_PARTITIONS, ...) with the broker's message, or a client error, in errstr. */
int strand_admin_create_topic(strand_admin_t *a, const strand_new_topic_t *topic, int timeout_ms,
                              char *errstr, size_t errstr_size);
/* Deletes one topic; same error reporting. */
int strand_admin_delete_topic(strand_admin_t *a, const char *name, int timeout_ms,
                              char *errstr, size_t errstr_size);

/* Names of all topics, sorted, into a malloc'd array of malloc'd strings: release it with
 * strand_names_free(names, count). include_internal: also topics such as __consumer_offsets. */
int strand_admin_list_topics(strand_admin_t *a, bool include_internal, int timeout_ms,
                             char ***ret_names, size_t *ret_count);
void strand_names_free(char **names, size_t count);

typedef struct strand_partition_info {
    int32_t partition;
    int error;                       /* e.g. LEADER_NOT_AVAILABLE */
    int32_t leader;                  /* broker id, -1 = none */
    int32_t leader_epoch;
    int32_t *replicas;   size_t replica_count;
    int32_t *isr;        size_t isr_count;
    int32_t *offline;    size_t offline_count;
} strand_partition_info_t;

typedef struct strand_topic_info {
    char *name;
    int error;                       /* ST_ERR_UNKNOWN_TOPIC_OR_PARTITION for a missing topic */
    bool is_internal;
    strand_partition_info_t *partitions;   /* sorted by partition number */
    size_t partition_count;
    int32_t min_insync_replicas;     /* the topic's min.insync.replicas as the broker reports it
                                        (single broker: the topic's value; cluster: the broker
                                        default, topic overrides unknown); 0 = not reported */
} strand_topic_info_t;

typedef struct strand_broker_info {
    int32_t node_id;
    char *host;
    int32_t port;
    char *rack;                      /* "" if none */
} strand_broker_info_t;

/* Describes the `count` topics named (count 0: every topic, sorted by name) into a malloc'd
 * array released with strand_topic_infos_free(). A topic that does not exist is reported in its
 * entry's error, not as a failure of the call. */
int strand_admin_describe_topics(strand_admin_t *a, const char *const *names, size_t count,
                                 int timeout_ms, strand_topic_info_t **ret_topics,
                                 size_t *ret_count);
void strand_topic_infos_free(strand_topic_info_t *topics, size_t count);

/* The cluster's brokers (sorted by id), controller id and cluster id; release with
 * strand_broker_infos_free(). ret_controller_id / ret_cluster_id may be NULL; *ret_cluster_id is
 * malloc'd (free()). */
int strand_admin_describe_cluster(strand_admin_t *a, int timeout_ms,
                                  strand_broker_info_t **ret_brokers, size_t *ret_count,
                                  int32_t *ret_controller_id, char **ret_cluster_id);
void strand_broker_infos_free(strand_broker_info_t *brokers, size_t count);

/* Raises a topic's partition count to new_total (Kafka's CreatePartitions). assignment: NULL for
 * the broker's balanced placement, else n_rows (= new_total - current count) rows of
 * replica_count broker ids for the new partitions, row-major. */
int strand_admin_create_partitions(strand_admin_t *a, const char *topic, int32_t new_total,
                                   const int32_t *assignment, size_t n_rows, size_t replica_count,
                                   int timeout_ms, char *errstr, size_t errstr_size);

/* Leader elections (Kafka's ElectLeaders, sent to the controller). */
typedef enum strand_election_type {
    STRAND_ELECTION_PREFERRED = 0,   /* move leadership to the first replica if it is in the ISR */
    STRAND_ELECTION_UNCLEAN = 1,     /* elect a live replica outside the ISR for leaderless partitions */
} strand_election_type_t;

typedef struct strand_election_result {
    char *topic;
    int32_t partition;
    int error;                       /* 0, ST_ERR_ELECTION_NOT_NEEDED, ..._NOT_AVAILABLE, ... */
    char *message;                   /* the controller's explanation, "" if none */
} strand_election_result_t;

/* Runs an election for `count` partitions (topic and partition of each; offset and error are
 * not used), or, with count 0, for every partition of the cluster. The call
 * fails (non-zero, errstr) only when the request as a whole failed; per-partition outcomes are
 * in the malloc'd results, released with strand_election_results_free(). */
int strand_admin_elect_leaders(strand_admin_t *a, strand_election_type_t type,
                               const strand_topic_partition_t *partitions, size_t count,
                               int timeout_ms, strand_election_result_t **ret_results,
                               size_t *ret_count, char *errstr, size_t errstr_size);
void strand_election_results_free(strand_election_result_t *results, size_t count);

/* ---- consumer groups (Kafka's Admin group calls; st_admin_group.c) ----------------------------
 * A group's requests go to its coordinator, the broker FindCoordinator names (the leader of the
 * group's __consumer_offsets partition). While the coordinator moves or loads -- the errors
 * COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, or a lost connection
 * to it -- a call looks the coordinator up again and retries after retry.backoff.ms until
 * timeout_ms (< 0: request.timeout.ms) has passed, then fails with ST_ERR_TIMED_OUT and errstr
 * naming the group and the last error. Any other error fails the call (or the group's entry) at
 * once, with its name in errstr, e.g. "group 'g': NON_EMPTY_GROUP: The group is not empty".
 * The strings in results are malloc'd and released by the matching *_free function. */

/* One group as ListGroups reports it. */
typedef struct strand_group_listing {
    char *group_id;
    char *protocol_type;     /* "consumer" for consumer groups; "" for a group that only has
                                committed offsets (no member ever joined) */
    char *state;             /* Empty, PreparingRebalance, CompletingRebalance, Stable, Dead */
    int32_t coordinator_id;  /* the broker that listed it */
} strand_group_listing_t;

/* Every group of the cluster: ListGroups to each broker of the metadata, merged (a group listed
 * twice while its coordinator moves appears once), sorted by group id. states/n_states: only
 * groups in these states (case-insensitive names as above; n_states 0: all). Like Kafka's
 * listConsumerGroups, groups of other protocol types (not "consumer" and not "") are left out
 * unless all_types is true. A broker still loading a __consumer_offsets partition
 * (COORDINATOR_LOAD_IN_PROGRESS) or unreachable is retried until timeout_ms; then the call
 * fails naming it. */
int strand_admin_list_groups(strand_admin_t *a, const char *const *states, size_t n_states,
                             bool all_types, int timeout_ms, strand_group_listing_t **ret_groups,
                             size_t *ret_count, char *errstr, size_t errstr_size);
void strand_group_listings_free(strand_group_listing_t *groups, size_t count);

/* One member of a described group. */
typedef struct strand_group_member {
    char *member_id;
    char *group_instance_id;         /* "" for a dynamic member */
    char *client_id;
    char *host;                      /* as the coordinator saw it, Kafka-style: "/127.0.0.1" */
    /* The member's assignment, decoded from Kafka's ConsumerProtocolAssignment when the group's
     * protocol_type is "consumer" (topics malloc'd, offset -1, error 0), in the order the leader
     * wrote it; empty before the member's first SyncGroup or for other protocol types. */
    strand_topic_partition_t *assignment;
    size_t assignment_count;
    int assignment_error;            /* ST_ERR_CORRUPT_MESSAGE if the bytes did not decode */
    uint8_t *metadata;               /* the raw protocol metadata and assignment bytes */
    size_t metadata_len;
    uint8_t *assignment_raw;
    size_t assignment_raw_len;
} strand_group_member_t;

typedef struct strand_group_description {
    char *group_id;
    int error;                       /* 0, or why this group could not be described */
    char *errstr;                    /* one line for error, "" when 0 */
    char *state;                     /* "Dead" for a group that does not exist (as Kafka) */
    char *protocol_type;             /* "consumer", "" (offsets only), ... */
    char *protocol;                  /* the chosen assignor ("range", ...), "" when none */
    strand_broker_info_t coordinator;    /* node_id (-1 unknown), host, port; rack "" */
    strand_group_member_t *members;
    size_t member_count;
} strand_group_description_t;

/* Describes the `count` groups named (FindCoordinator + DescribeGroups per group), in the order
 * given, into a malloc'd array released with strand_group_descriptions_free(). A group that
 * cannot be described has its entry's error set; the call itself fails only on bad arguments
 * or out of memory. */
int strand_admin_describe_groups(strand_admin_t *a, const char *const *groups, size_t count,
                                 int timeout_ms, strand_group_description_t **ret_groups,
                                 size_t *ret_count);
void strand_group_descriptions_free(strand_group_description_t *groups, size_t count);

/* A committed offset. */
typedef struct strand_group_offset {
    char *topic;
    int32_t partition;
    int64_t offset;                  /* the committed offset (>= 0) */
    int32_t leader_epoch;            /* -1: unknown */
    char *metadata;                  /* the committer's metadata string, "" if none */
} strand_group_offset_t;

/* The group's committed offsets (OffsetFetch for all of its partitions), sorted by topic and
 * partition; partitions without a committed offset are left out (an unknown group has none). */
int strand_admin_list_group_offsets(strand_admin_t *a, const char *group, int timeout_ms,
                                    strand_group_offset_t **ret_offsets, size_t *ret_count,
                                    char *errstr, size_t errstr_size);
void strand_group_offsets_free(strand_group_offset_t *offsets, size_t count);

/* Commits offsets[i].offset for each (topic, partition) on behalf of the group, outside group
 * membership (OffsetCommit with generation -1 and an empty member id, as Kafka's
 * alterConsumerGroupOffsets): the coordinator accepts it only while the group has no members
 * (Empty, or unknown: the commit creates it), otherwise the partitions fail with
 * UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION. Each entry's error is set (0 = committed, replicated
 * to the offsets partition's ISR). Returns 0 when every partition was committed, else the first
 * partition's error (errstr names it) or the request's. */
int strand_admin_alter_group_offsets(strand_admin_t *a, const char *group,
                                     strand_topic_partition_t *offsets, size_t count,
                                     int timeout_ms, char *errstr, size_t errstr_size);

/* The outcome of a per-group operation. */
typedef struct strand_group_result {
    char *group_id;
    int error;                       /* 0, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ... */
    char *errstr;                    /* one line for error, "" when 0 */
} strand_group_result_t;

/* Deletes the `count` groups named (DeleteGroups to each one's coordinator): a group must be
 * Empty (NON_EMPTY_GROUP otherwise) and exist (GROUP_ID_NOT_FOUND); its committed offsets go
 * with it. Results in the order given, released with strand_group_results_free(). The call
 * fails only on bad arguments or out of memory. */
int strand_admin_delete_groups(strand_admin_t *a, const char *const *groups, size_t count,
                               int timeout_ms, strand_group_result_t **ret_results);
void strand_group_results_free(strand_group_result_t *results, size_t count);

/* Deletes the group's committed offsets of the `count` partitions given (OffsetDelete; offset
 * ignored). Returns the group-level error -- GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (a group with
 * members that is not a consumer group), ... -- with errstr, or 0; per-partition outcomes are
 * in each entry's error (GROUP_SUBSCRIBED_TO_TOPIC while a member subscribes to the topic). When
 * the group-level error is set every entry carries it too. */
int strand_admin_delete_group_offsets(strand_admin_t *a, const char *group,
                                      strand_topic_partition_t *partitions, size_t count,
                                      int timeout_ms, char *errstr, size_t errstr_size);

/* ---- dynamic configuration (Kafka's DescribeConfigs and IncrementalAlterConfigs) ----------- */

typedef enum strand_resource_type {
    STRAND_RESOURCE_TOPIC = 2,
    STRAND_RESOURCE_BROKER = 4,      /* name: a broker id, or "" for the cluster-wide default */
} strand_resource_type_t;

/* Where a value comes from (Kafka's ConfigEntry.ConfigSource). */
typedef enum strand_config_source {
    STRAND_CONFIG_SOURCE_UNKNOWN = 0,
    STRAND_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,          /* the topic's override */
    STRAND_CONFIG_SOURCE_DYNAMIC_BROKER = 2,         /* /config/brokers/<id> */
    STRAND_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3, /* /config/brokers/<default> */
    STRAND_CONFIG_SOURCE_STATIC_BROKER = 4,          /* server.properties / --override */
    STRAND_CONFIG_SOURCE_DEFAULT = 5,                /* the built-in default */
} strand_config_source_t;

/* "DYNAMIC_TOPIC_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG",
 * "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG" or "UNKNOWN" (Kafka's names, as kafka-configs prints
 * them). */
const char *strand_config_source_name(int source);

typedef struct strand_config_synonym {
    char *name;
    char *value;                     /* NULL when sensitive */
    int source;                      /* strand_config_source_t */
} strand_config_synonym_t;

typedef struct strand_config_entry {
    char *name;
    char *value;                     /* NULL when sensitive or unset */
    bool read_only;
    bool is_sensitive;
    int source;                      /* strand_config_source_t */
    strand_config_synonym_t *synonyms;   /* highest precedence first */
    size_t synonym_count;
    char *documentation;             /* "" unless asked for */
} strand_config_entry_t;

/* The configuration of one resource (a topic, a broker id, or "" with STRAND_RESOURCE_BROKER
 * for the cluster default; a broker is asked directly), every key (key_count 0) or the keys
 * named, into a malloc'd array released with strand_config_entries_free(). The broker's code
 * (UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST, ...) with its message in errstr on failure. */
int strand_admin_describe_configs(strand_admin_t *a, strand_resource_type_t type,
                                  const char *name, const char *const *keys, size_t key_count,
                                  bool include_synonyms, bool include_documentation,
                                  int timeout_ms, strand_config_entry_t **ret_entries,
                                  size_t *ret_count, char *errstr, size_t errstr_size);
void strand_config_entries_free(strand_config_entry_t *entries, size_t count);

/* Incremental operations (Kafka's AlterConfigOp.OpType). */
typedef enum strand_alter_op {
    STRAND_ALTER_SET = 0,
    STRAND_ALTER_DELETE = 1,         /* back to the default (value ignored) */
    STRAND_ALTER_APPEND = 2,         /* list keys (cleanup.policy) only */
    STRAND_ALTER_SUBTRACT = 3,       /* list keys only */
} strand_alter_op_t;

typedef struct strand_alter_config {
    const char *name;
    strand_alter_op_t op;
    const char *value;
} strand_alter_config_t;

/* Applies the operations to one resource (all or nothing). validate_only: every check, nothing
 * written. The broker writes ZooKeeper and announces the change; every broker applies it
 * without a restart. INVALID_CONFIG (unknown key, bad value), INVALID_REQUEST (a broker key that
 * cannot change dynamically, APPEND to a non-list key), UNKNOWN_TOPIC_OR_PARTITION, with the
 * broker's message in errstr. */
int strand_admin_incremental_alter_configs(strand_admin_t *a, strand_resource_type_t type,
                                           const char *name, const strand_alter_config_t *ops,
                                           size_t op_count, bool validate_only, int timeout_ms,
                                           char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif

#endif
