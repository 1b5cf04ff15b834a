/* Helpers for the client-library integration tests (test_client_*.c, test_tools_*.c): client
 * configuration against a test broker, topic creation, and collecting consumed records. */
#ifndef ST_TEST_CLIENT_UTIL_H
#define ST_TEST_CLIENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "strand.h"

/* A configuration with bootstrap.servers = b's address plus the NULL-terminated "k=v" list
 * (may be NULL). Asserts on error. */
strand_conf_t *ct_conf(const st_test_broker_t *b, const char *const *kvs);
/* Creates a topic (asserts success). */
void ct_create_topic(const st_test_broker_t *b, const char *topic, int partitions);

/* A copy of one consumed record. */
typedef struct ct_rec {
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    char *key;          /* NULL for a null key */
    size_t key_len;
    char *value;        /* NULL for a null value */
    size_t value_len;
    size_t n_headers;
    strand_header_t headers[4];   /* copies (key/value malloc'd) */
} ct_rec_t;

/* Consumes from the given partitions (offset BEGINNING) until `want` records arrived or
 * timeout_ms passed; returns the count and the records in *ret (free with ct_recs_free). */
size_t ct_consume(const st_test_broker_t *b, const char *topic, const int32_t *partitions,
                  size_t n_partitions, size_t want, int timeout_ms, ct_rec_t **ret);
void ct_recs_free(ct_rec_t *recs, size_t n);

/* Monotonic ms. */
int64_t ct_now_ms(void);

/* Delivery bookkeeping for a producer: records per report into a fixed table. */
typedef struct ct_dr {
    int error;
    int32_t partition;
    int64_t offset;
    bool done;
} ct_dr_t;

typedef struct ct_dr_table {
    ct_dr_t *rows;          /* indexed by (intptr_t)msg_opaque */
    size_t n;
    long errors;
    long reports;
    char first_error[256];
} ct_dr_table_t;

/* Delivery callback storing into the ct_dr_table_t passed as its opaque. */
void ct_dr_cb(const strand_delivery_report_t *rep, void *opaque);

#endif
