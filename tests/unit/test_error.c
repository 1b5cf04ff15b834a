/* The error table (common/st_error.h) against Kafka's own classification of every error code:
 * retriable (the code's exception is a RetriableException) or not, and among the retriable ones
 * those that mean stale metadata (InvalidMetadataException). Kafka's lists below were taken
 * from clients/src/main/java/org/apache/kafka/common/protocol/Errors.java (Kafka 3.x/trunk) by
 * following each code's exception class up to RetriableException / InvalidMetadataException.
 * Every row of our table with a Kafka number is checked, so a row added later with the wrong
 * classification fails here. */
#include <criterion/criterion.h>
#include <string.h>

#include "st_error.h"

/* Kafka codes whose exception extends RetriableException but not InvalidMetadataException. */
static const int kafka_retriable[] = {
    2,   /* CORRUPT_MESSAGE: CorruptRecordException */
    7,   /* REQUEST_TIMED_OUT: TimeoutException */
    14,  /* COORDINATOR_LOAD_IN_PROGRESS */
    15,  /* COORDINATOR_NOT_AVAILABLE */
    16,  /* NOT_COORDINATOR */
    19,  /* NOT_ENOUGH_REPLICAS */
    20,  /* NOT_ENOUGH_REPLICAS_AFTER_APPEND */
    41,  /* NOT_CONTROLLER */
    51,  /* CONCURRENT_TRANSACTIONS */
    70,  /* FETCH_SESSION_ID_NOT_FOUND */
    71,  /* INVALID_FETCH_SESSION_EPOCH */
    75,  /* UNKNOWN_LEADER_EPOCH */
    78,  /* OFFSET_NOT_AVAILABLE */
    88,  /* UNSTABLE_OFFSET_COMMIT */
    89,  /* THROTTLING_QUOTA_EXCEEDED */
    106, /* FETCH_SESSION_TOPIC_ID_ERROR */
    122, /* SHARE_SESSION_NOT_FOUND */
    123, /* INVALID_SHARE_SESSION_EPOCH */
};

/* Kafka codes whose exception extends InvalidMetadataException (retriable after a refresh). */
static const int kafka_invalid_metadata[] = {
    3,   /* UNKNOWN_TOPIC_OR_PARTITION */
    5,   /* LEADER_NOT_AVAILABLE */
    6,   /* NOT_LEADER_OR_FOLLOWER */
    9,   /* REPLICA_NOT_AVAILABLE */
    13,  /* NETWORK_EXCEPTION */
    56,  /* KAFKA_STORAGE_ERROR */
    72,  /* LISTENER_NOT_FOUND */
    74,  /* FENCED_LEADER_EPOCH */
    80,  /* PREFERRED_LEADER_NOT_AVAILABLE */
    83,  /* ELIGIBLE_LEADERS_NOT_AVAILABLE */
    84,  /* ELECTION_NOT_NEEDED */
    100, /* UNKNOWN_TOPIC_ID */
    103, /* INCONSISTENT_TOPIC_ID */
};

static bool in(const int *list, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return true;
    return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool known(int code)
{
    return strncmp(st_error_name(code), "UNKNOWN_ERROR_", 14) != 0;
}

Test(error, every_broker_code_classified_as_kafka_does)
{
    int checked = 0;
    for (int code = -1; code <= 200; code++) {
        if (!known(code))
            continue;
        bool md = in(kafka_invalid_metadata, N(kafka_invalid_metadata), code);
        bool retriable = md || in(kafka_retriable, N(kafka_retriable), code);
        cr_expect_eq(st_error_retriable(code), retriable, "%s (%d): retriable should be %s as in Kafka",
                     st_error_name(code), code, retriable ? "true" : "false");
        /* LISTENER_NOT_FOUND is kept plain retriable: nothing in the client acts on it. */
        if (st_error_invalid_metadata(code))
            cr_expect(md, "%s (%d) is not an InvalidMetadataException in Kafka", st_error_name(code),
                      code);
        checked++;
    }
    cr_expect_gt(checked, 40);
}

Test(error, codes_the_clients_refresh_metadata_for)
{
    static const int codes[] = { ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, ST_ERR_LEADER_NOT_AVAILABLE,
                                 ST_ERR_NOT_LEADER_OR_FOLLOWER, ST_ERR_REPLICA_NOT_AVAILABLE,
                                 ST_ERR_NETWORK_EXCEPTION, ST_ERR_KAFKA_STORAGE_ERROR,
                                 ST_ERR_FENCED_LEADER_EPOCH, ST_ERR_TRANSPORT };
    for (size_t i = 0; i < N(codes); i++)
        cr_expect(st_error_invalid_metadata(codes[i]), "%s", st_error_name(codes[i]));
    cr_expect(!st_error_invalid_metadata(ST_ERR_NOT_ENOUGH_REPLICAS));
    cr_expect(!st_error_invalid_metadata(ST_ERR_INVALID_TOPIC_EXCEPTION));
}

Test(error, fatal_codes_from_the_issue)
{
    static const int fatal[] = { ST_ERR_INVALID_TOPIC_EXCEPTION, ST_ERR_TOPIC_AUTHORIZATION_FAILED,
                                 ST_ERR_UNSUPPORTED_VERSION, ST_ERR_MESSAGE_TOO_LARGE,
                                 ST_ERR_RECORD_LIST_TOO_LARGE, ST_ERR_INVALID_REQUIRED_ACKS,
                                 ST_ERR_CLUSTER_AUTHORIZATION_FAILED, ST_ERR_INVALID_ARG,
                                 ST_ERR_BAD_RESPONSE, ST_ERR_SSL, ST_ERR_DESTROYED };
    for (size_t i = 0; i < N(fatal); i++)
        cr_expect(!st_error_retriable(fatal[i]), "%s", st_error_name(fatal[i]));
    cr_expect(st_error_retriable(ST_ERR_TIMED_OUT));
    cr_expect(st_error_retriable(ST_ERR_TRANSPORT));
}
