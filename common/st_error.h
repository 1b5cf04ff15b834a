/* The one numbered error enum of Strand's wire protocol and client library.
 *
 * Numbers follow Apache Kafka's error codes where Kafka has the same error, so an operator
 * reading "error 6" means the same thing in both systems. Codes are NEVER renumbered or reused:
 * add new ones at the end of their range and leave retired ones in place.
 *
 * Each row: X(symbol, number, retriable, description). The symbol is ST_ERR_<symbol>.
 *
 * The retriable column classifies every code as Kafka's Java client does (Errors.java and the
 * exception each code maps to, clients/src/main/java/org/apache/kafka/common/errors/):
 *   false        the exception is a plain ApiException: retrying cannot help, fail at once;
 *   true         a RetriableException: retry after retry.backoff.ms;
 *   ST_RETRY_MD  an InvalidMetadataException (a RetriableException too): the client's idea of
 *                the cluster is stale, so refresh metadata before retrying.
 * tests/unit/test_error.c holds Kafka's classification of every code and checks each row
 * against it, including rows added later.
 *
 * Library-internal functions return 0 or a negative errno value (see CONVENTIONS); this enum is
 * for what crosses the wire and what the client library reports to applications. */
#ifndef ST_ERROR_H
#define ST_ERROR_H

#include <stdbool.h>

/* Retriable after a metadata refresh (Kafka's InvalidMetadataException); see above. */
#define ST_RETRY_MD 2

#define ST_ERROR_TABLE(X) \
    X(UNKNOWN_SERVER_ERROR,        -1, false, "The server experienced an unexpected error") \
    X(NONE,                         0, false, "Success") \
    X(OFFSET_OUT_OF_RANGE,          1, false, "The requested offset is outside the range of offsets kept by the server for this partition") \
    X(CORRUPT_MESSAGE,              2, true,  "A record batch failed its CRC check, has an unsupported magic byte or inconsistent lengths") \
    X(UNKNOWN_TOPIC_OR_PARTITION,   3, ST_RETRY_MD, "This server does not host this topic-partition") \
    X(INVALID_FETCH_SIZE,           4, false, "The requested fetch size is invalid") \
    X(LEADER_NOT_AVAILABLE,         5, ST_RETRY_MD, "There is no leader for this topic-partition as we are in the middle of a leadership election") \
    X(NOT_LEADER_OR_FOLLOWER,       6, ST_RETRY_MD, "This server is not the leader for that topic-partition") \
    X(REQUEST_TIMED_OUT,            7, true,  "The request timed out") \
    X(BROKER_NOT_AVAILABLE,         8, false, "The broker is not available") \
    X(REPLICA_NOT_AVAILABLE,        9, ST_RETRY_MD, "The replica is not available for the requested topic-partition") \
    X(MESSAGE_TOO_LARGE,           10, false, "The request included a record batch larger than message.max.bytes") \
    X(STALE_CONTROLLER_EPOCH,      11, false, "The controller moved to another broker (stale controller epoch)") \
    X(NETWORK_EXCEPTION,           13, ST_RETRY_MD, "The server disconnected before a response was received") \
    X(COORDINATOR_LOAD_IN_PROGRESS,14, true,  "The coordinator is loading and hence cannot process requests") \
    X(COORDINATOR_NOT_AVAILABLE,   15, true,  "The coordinator is not available") \
    X(NOT_COORDINATOR,             16, true,  "This is not the correct coordinator") \
    X(INVALID_TOPIC_EXCEPTION,     17, false, "The request attempted to perform an operation on an invalid topic") \
    X(RECORD_LIST_TOO_LARGE,       18, false, "The request included record batches larger than the max message size the server will accept") \
    X(NOT_ENOUGH_REPLICAS,         19, true,  "Records are rejected since there are fewer in-sync replicas than required") \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, true, "Records are written to the log, but to fewer in-sync replicas than required") \
    X(INVALID_REQUIRED_ACKS,       21, false, "Produce request specified an invalid value for required acks") \
    X(INVALID_TIMESTAMP,           32, false, "The timestamp of the record is out of acceptable range") \
    X(UNSUPPORTED_VERSION,         35, false, "The version of the API is not supported") \
    X(TOPIC_ALREADY_EXISTS,        36, false, "Topic with this name already exists") \
    X(INVALID_PARTITIONS,          37, false, "Number of partitions is below 1") \
    X(INVALID_REPLICATION_FACTOR,  38, false, "Replication factor is below 1 or larger than the number of available brokers") \
    X(INVALID_REPLICA_ASSIGNMENT,  39, false, "Replica assignment is invalid") \
    X(INVALID_CONFIG,              40, false, "Configuration is invalid") \
    X(NOT_CONTROLLER,              41, true,  "This is not the correct controller for this cluster") \
    X(INVALID_REQUEST,             42, false, "The request was malformed: it could not be decoded or broke a protocol rule") \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, false, "The message format version on the broker does not support the request") \
    X(TOPIC_AUTHORIZATION_FAILED,  29, false, "Topic authorization failed") \
    X(CLUSTER_AUTHORIZATION_FAILED,31, false, "Cluster authorization failed") \
    X(SASL_AUTHENTICATION_FAILED,  58, false, "Authentication failed") \
    X(UNKNOWN_PRODUCER_ID,         59, false, "The broker could not locate the producer metadata") \
    X(KAFKA_STORAGE_ERROR,         56, ST_RETRY_MD, "Disk error when trying to access a log file on disk") \
    X(FENCED_LEADER_EPOCH,         74, ST_RETRY_MD, "The leader epoch in the request is older than the epoch on the broker") \
    X(UNKNOWN_LEADER_EPOCH,        75, true,  "The leader epoch in the request is newer than the epoch on the broker") \
    X(UNSUPPORTED_COMPRESSION_TYPE,76, false, "The requesting client does not support the compression type of given partition") \
    X(OFFSET_NOT_AVAILABLE,        78, true,  "The leader high watermark has not caught up from a recent leader election") \
    X(THROTTLING_QUOTA_EXCEEDED,   89, true,  "The throttling quota has been exceeded") \
    X(TOPIC_DELETION_DISABLED,     73, false, "Topic deletion is disabled (delete.topic.enable=false)") \
    X(REASSIGNMENT_IN_PROGRESS,    60, false, "A partition reassignment is in progress") \
    X(STALE_BROKER_EPOCH,          77, false, "The broker epoch in the request is older than the broker's current epoch") \
    X(PREFERRED_LEADER_NOT_AVAILABLE, 80, ST_RETRY_MD, "The preferred leader was not available") \
    X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, ST_RETRY_MD, "Eligible topic partition leaders are not available") \
    X(ELECTION_NOT_NEEDED,         84, ST_RETRY_MD, "Leader election not needed for topic partition") \
    X(INVALID_UPDATE_VERSION,      95, false, "The given version of the partition state does not match the current one") \
    X(LISTENER_NOT_FOUND,          72, true,  "There is no listener on the leader broker that matches the listener on which the metadata request was processed") \
    /* Consumer groups (broker/group/). */ \
    X(OFFSET_METADATA_TOO_LARGE,   12, false, "The metadata field of the offset request was too large") \
    X(ILLEGAL_GENERATION,          22, false, "Specified group generation id is not valid") \
    X(INCONSISTENT_GROUP_PROTOCOL, 23, false, "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list") \
    X(INVALID_GROUP_ID,            24, false, "The configured groupId is invalid") \
    X(UNKNOWN_MEMBER_ID,           25, false, "The coordinator is not aware of this member") \
    X(INVALID_SESSION_TIMEOUT,     26, false, "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms)") \
    X(REBALANCE_IN_PROGRESS,       27, false, "The group is rebalancing, so a rejoin is needed") \
    X(INVALID_COMMIT_OFFSET_SIZE,  28, false, "The committing offset data size is not valid") \
    X(GROUP_AUTHORIZATION_FAILED,  30, false, "Group authorization failed") \
    X(NON_EMPTY_GROUP,             68, false, "The group is not empty") \
    X(GROUP_ID_NOT_FOUND,          69, false, "The group id does not exist") \
    X(MEMBER_ID_REQUIRED,          79, false, "The group member needs to have a valid member id before actually entering a consumer group") \
    X(GROUP_MAX_SIZE_REACHED,      81, false, "The consumer group has reached its max size") \
    X(FENCED_INSTANCE_ID,          82, false, "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id") \
    X(GROUP_SUBSCRIBED_TO_TOPIC,   86, false, "The consumer group is actively subscribed to the topic") \
    /* Client-side codes (never sent by a broker); Strand-specific, negative below -100. */ \
    X(TRANSPORT,                 -101, ST_RETRY_MD, "Could not connect to, or lost the connection to, the broker") \
    X(TIMED_OUT,                 -102, true,  "The operation timed out on the client") \
    X(QUEUE_FULL,                -103, true,  "The producer's local queue is full") \
    X(INVALID_ARG,               -104, false, "An invalid argument was passed to the client library") \
    X(BAD_RESPONSE,              -105, false, "The broker's response could not be decoded") \
    X(SSL,                       -106, false, "The TLS handshake or a TLS operation failed") \
    X(DESTROYED,                 -107, false, "The client was closed before the operation finished") \
    X(ILLEGAL_STATE,             -108, false, "The call is not allowed in the client's current state (e.g. subscribe after assign, or a call after close)")

typedef enum st_error {
#define ST_ERROR_ENUM_ROW(sym, num, retriable, desc) ST_ERR_##sym = (num),
    ST_ERROR_TABLE(ST_ERROR_ENUM_ROW)
#undef ST_ERROR_ENUM_ROW
} st_error_t;

/* "OFFSET_OUT_OF_RANGE" for 1; "UNKNOWN_ERROR_<n>" style text (in a static buffer) for unknowns. */
const char *st_error_name(int code);
/* Human-readable description; never NULL. */
const char *st_error_desc(int code);
/* True if a client may retry the operation that got this code (true or ST_RETRY_MD). */
bool st_error_retriable(int code);
/* True if the code means the client's metadata is stale (ST_RETRY_MD): refresh before retrying. */
bool st_error_invalid_metadata(int code);

#endif
