/* Raw-protocol helpers for the broker's integration tests (test_broker_*.c): frames built with
 * st_frame + protobuf-c and sent over a plain socket, responses read back with a deadline, and
 * record batches built with st_batch_writer. Deliberately independent of the client library. */
#ifndef ST_TEST_BROKER_WIRE_H
#define ST_TEST_BROKER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_buf.h"
#include "strand.pb-c.h"

#define TW_TIMEOUT_MS 10000

/* Sends one request frame (header + body + raw tail). 0 or -errno. */
int tw_send(int fd, int32_t api_key, int32_t api_version, int32_t correlation_id,
            const ProtobufCMessage *body, const void *tail, size_t tail_len);
/* Reads one whole frame payload (after the size prefix) into buf. 0, -ETIMEDOUT, or -EPIPE when
 * the broker closed the connection. */
int tw_recv_frame(int fd, st_buf_t *buf, int timeout_ms);
/* Reads a response frame, checks its correlation id, and unpacks the body with `desc` (freed
 * with protobuf_c_message_free_unpacked). tail/tail_len (may be NULL) receive a malloc'd copy of
 * the raw tail. NULL on any failure (message on stderr). */
ProtobufCMessage *tw_recv_response(int fd, int32_t correlation_id,
                                   const ProtobufCMessageDescriptor *desc, uint8_t **ret_tail,
                                   size_t *ret_tail_len);
/* True if the broker closes the connection within timeout_ms (reads and discards anything). */
bool tw_wait_closed(int fd, int timeout_ms);

/* A batch of n records with values of value_len bytes ("v<i>..." padded), key "k<i>". */
int tw_make_batch(int n, size_t value_len, int64_t timestamp_ms, uint8_t **ret, size_t *ret_len);

/* Request helpers: each sends and waits for the response (NULL on failure). CreateTopics and
 * DeleteTopics ask the broker to wait up to 10 s for the controller to finish. */
Strand__ApiVersionsResponse *tw_api_versions(int fd, int32_t corr);
Strand__CreateTopicsResponse *tw_create_topic(int fd, int32_t corr, const char *name,
                                              int32_t partitions, int32_t rf,
                                              const char *const *configs /* k, v, ..., NULL */);
Strand__DeleteTopicsResponse *tw_delete_topic(int fd, int32_t corr, const char *name);
Strand__MetadataResponse *tw_metadata(int fd, int32_t corr, const char *topic, bool auto_create);
/* Sends a Produce of records to topic-partition (one partition), reading nothing. 0 or -errno. */
int tw_send_produce(int fd, int32_t corr, const char *topic, int32_t partition, int32_t acks,
                    int32_t timeout_ms, const void *records, size_t len);
Strand__ProduceResponse *tw_produce(int fd, int32_t corr, const char *topic, int32_t partition,
                                    int32_t acks, const void *records, size_t len);
/* A LeaderAndIsr for one partition from a test playing the controller, naming the leader's
 * endpoint 127.0.0.1:leader_port (PLAINTEXT) and at most one topic config. */
typedef struct tw_lai {
    int32_t controller_id, controller_epoch;
    int64_t broker_epoch;                 /* -1: none */
    const char *topic;
    int32_t partition, leader, leader_epoch;
    const int32_t *isr, *replicas;
    size_t n_isr, n_replicas;
    int32_t leader_port;
    const char *cfg_name, *cfg_value;     /* NULL: no config */
} tw_lai_t;
/* Sends it and reads the response; NULL on failure. */
Strand__LeaderAndIsrResponse *tw_leader_and_isr(int fd, int32_t corr, const tw_lai_t *a);
Strand__FetchResponse *tw_fetch(int fd, int32_t corr, const char *topic, int32_t partition,
                                int64_t offset, int32_t max_wait_ms, int32_t min_bytes,
                                int32_t max_bytes, int32_t partition_max_bytes,
                                uint8_t **ret_tail, size_t *ret_tail_len);
Strand__ListOffsetsResponse *tw_list_offsets(int fd, int32_t corr, const char *topic,
                                             int32_t partition, int64_t timestamp);
/* Sends a fetch without waiting for the answer. */
int tw_send_fetch(int fd, int32_t corr, const char *topic, int32_t partition, int64_t offset,
                  int32_t max_wait_ms, int32_t min_bytes);

/* Opens a fresh connection and does an ApiVersions round trip: the broker still serves. */
bool tw_broker_serves(int port);
/* Counts the whole batches and records in a fetch tail; -1 if one is corrupt. */
int tw_count_records(const uint8_t *tail, size_t len, int64_t *ret_first_offset,
                     int64_t *ret_last_offset);
/* Polls until the file contains needle (st_test_file_contains, test_util.h; e.g. the broker log)
 * or timeout_ms passes. */
bool tw_wait_file_contains(const char *path, const char *needle, int timeout_ms);

#endif
