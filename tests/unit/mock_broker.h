/* In-process mock brokers for the client unit tests (test_client_mock.c, test_client_failover.c):
 * a thread per mock accepts loopback connections, reads Strand request frames and hands each
 * parsed request to the test's handler; the test answers with mock_send_resp() or one of the
 * mock_send_<api>() builders (single-partition responses). Also the mock's partition log
 * (stamped batches of "v<offset>" records), a delivery-report counter and a monotonic clock. */
#ifndef STRAND_TEST_MOCK_BROKER_H
#define STRAND_TEST_MOCK_BROKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_buf.h"
#include "strand.h"
#include "strand.pb-c.h"

/* Handles one request on connection fd; returns false to close the connection. */
typedef bool (*mock_handler_fn)(void *arg, int fd, const Strand__RequestHeader *h,
                                const uint8_t *body, size_t body_len);

typedef struct mock_server {
    int lfd, port;
    pthread_t thread;
    const atomic_bool *stop;   /* the thread exits once *stop is set */
    mock_handler_fn handle;
    void *arg;
} mock_server_t;

/* The partition's log: whole batches, stamped; end is the next offset. */
typedef struct mock_log {
    st_buf_t buf;
    int64_t end;
} mock_log_t;

/* Delivery reports a producer's callback counted (mock_on_report, opaque = the mock_reports_t). */
typedef struct mock_reports {
    atomic_int n, errors;
    int last_error;
    char last_errstr[256];
} mock_reports_t;
void mock_on_report(const strand_delivery_report_t *rep, void *opaque);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t mock_now_ms(void);

/* A TCP socket bound to an ephemeral loopback port (not listening); returns the port. */
int mock_bind_loopback(int *ret_fd);

/* Binds s->lfd/s->port, listens and starts the server thread (s->stop, s->handle, s->arg set). */
void mock_server_start(mock_server_t *s);

/* Joins the server thread (after *s->stop was set) and closes the listening socket. */
void mock_server_join(mock_server_t *s);

/* Writes one response frame: header with corr, body, then tail_len raw bytes of tail. */
void mock_send_resp(int fd, int32_t corr, const ProtobufCMessage *body, const void *tail,
                    size_t tail_len);

/* The responses the mocks send (one topic, one partition, as the clients ask): */
/* ApiVersions listing keys[0..n-1] (at most 16). */
void mock_send_api_versions(int fd, int32_t corr, const int *keys, size_t n);
/* Metadata with the brokers, controller 1, and for each requested topic (at most 4): `pm` as
 * partition 0 of "t", UNKNOWN_TOPIC_OR_PARTITION for any other. req may be NULL. */
void mock_send_metadata(int fd, int32_t corr, const Strand__MetadataRequest *req,
                        Strand__BrokerMetadata **brokers, size_t n_brokers,
                        Strand__PartitionMetadata *pm);
void mock_send_list_offsets(int fd, int32_t corr, const char *topic,
                            Strand__ListOffsetsPartitionResponse *pr);
/* pr->records_size must be len: the records follow the body. */
void mock_send_fetch(int fd, int32_t corr, const char *topic, Strand__FetchPartitionResponse *pr,
                     const void *records, size_t len);
void mock_send_produce(int fd, int32_t corr, const char *topic,
                       Strand__ProducePartitionResponse *pr);

/* Appends a batch of n records with values "v<offset>": exactly that string when value_size is 0,
 * else value_size bytes ("v<offset>" padded with 'x'). */
void mock_log_append(mock_log_t *log, int n, size_t value_size);

/* Byte position of the batch containing offset (or the log's length); *ret_len (if not NULL) is
 * that batch's size (0 at the end). */
size_t mock_log_pos(const mock_log_t *log, int64_t offset, size_t *ret_len);

#endif
