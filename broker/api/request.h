/* Request dispatch, the one error path, and the handlers' common interface.
 *
 * A request is handled inline on its connection's loop thread: st_request_dispatch decodes the
 * header, checks the API key and version against the table ApiVersions advertises, and calls
 * the handler, which decodes its body (into the connection's arena), does the work and queues
 * exactly one response with st_request_respond -- or none for Produce with acks=0, or parks
 * (Fetch). A handler returns 0, or a negative value after st_reply_fatal when the request broke
 * the protocol (-EBADMSG), or -ECONNABORTED after logging why (a failed acks=0 Produce): the
 * connection is then closed.
 *
 * Unsupported API key or version: the broker answers with an ApiVersionsResponse carrying
 * UNSUPPORTED_VERSION and the supported ranges, whatever the API asked for (Kafka does this for
 * ApiVersions; Strand does it for every API so that a client can always decode the answer to a
 * request it should not have sent as an ApiVersionsResponse). The connection stays usable. */
#ifndef ST_REQUEST_H
#define ST_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strand.pb-c.h"

#include "arena.h"
#include "broker.h"
#include "conn.h"
#include "st_error.h"

typedef struct st_request {
    st_conn_t *conn;
    st_broker_t *broker;
    st_arena_t *arena;
    int32_t api_key;
    int32_t api_version;
    int32_t correlation_id;
    const char *client_id;
    const uint8_t *body;
    size_t body_len;
    uint8_t *tail;               /* writable: Produce appends stamp batches in place */
    size_t tail_len;
    unsigned n_logged;           /* errors of this request logged so far (st_reply_error caps) */
} st_request_t;

typedef struct st_api_def {
    int32_t key;
    int32_t min_version, max_version;
    const char *name;
    int (*handler)(st_request_t *req);
} st_api_def_t;

const st_api_def_t *st_api_table(size_t *ret_n);
const char *st_api_name(int32_t api_key);

/* Handles one frame payload (after the size prefix). <0: close the connection (logged). */
int st_request_dispatch(st_conn_t *conn, st_broker_t *broker, uint8_t *payload, size_t len);

/* THE error path: every error the broker reports to a client goes through here. Counts the
 * code, logs it with the peer, client id and API (at INFO for codes that point at a client bug
 * or a limit, DEBUG for routine ones like UNKNOWN_TOPIC_OR_PARTITION, ERROR for storage
 * errors), and returns the code for the response field. With ret_msg non-NULL the formatted
 * message is also copied into the arena for the response's error_message. */
int32_t st_reply_error(st_request_t *req, int code, char **ret_msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A protocol violation: counted as INVALID_REQUEST, logged at ERROR naming the peer ("closing
 * connection"), returns -EBADMSG for the caller to return (the connection is closed). req may
 * be NULL when no request header was decoded yet. */
int st_reply_fatal(st_conn_t *conn, const st_request_t *req, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How many times each error code was sent, logged in one line (at shutdown). */
void st_error_counts_log(void);
uint64_t st_error_count(int code);

/* For the APIs refused as a whole when they do not come from a broker (LeaderAndIsr,
 * StopReplica, ControlledShutdown, AlterIsr): true when the request passes the inter-broker
 * check (broker/cluster/inter_broker.h); otherwise answers it with `resp` (the API's empty
 * response; *code, its error_code, set to CLUSTER_AUTHORIZATION_FAILED through the error path,
 * naming the failed rule), stores the handler's return value in *ret and returns false. */
bool st_request_require_inter_broker(st_request_t *req, ProtobufCMessage *resp, int32_t *code,
                                     int *ret);

/* Queues the response (see st_conn_queue_response). */
int st_request_respond(st_request_t *req, const ProtobufCMessage *body, st_log_slice_t *slices,
                       size_t n_slices);


/* Handlers (handle_*.c). */
int st_handle_leader_and_isr(st_request_t *req);
int st_handle_stop_replica(st_request_t *req);
int st_handle_offset_for_leader_epoch(st_request_t *req);
int st_handle_api_versions(st_request_t *req);
int st_handle_metadata(st_request_t *req);
int st_handle_produce(st_request_t *req);
int st_handle_fetch(st_request_t *req);
int st_handle_list_offsets(st_request_t *req);
int st_handle_create_topics(st_request_t *req);
int st_handle_delete_topics(st_request_t *req);
int st_handle_create_partitions(st_request_t *req);
/* handle_controller_apis.c: handed to the controller this broker hosts. */
int st_handle_elect_leaders(st_request_t *req);
int st_handle_describe_configs(st_request_t *req);
int st_handle_incremental_alter_configs(st_request_t *req);
int st_handle_controlled_shutdown(st_request_t *req);
int st_handle_alter_isr(st_request_t *req);
int st_handle_update_metadata(st_request_t *req);
/* Consumer groups (handle_group.c, handle_offsets.c; the coordinator is broker/group/). */
int st_handle_find_coordinator(st_request_t *req);
int st_handle_join_group(st_request_t *req);
int st_handle_heartbeat(st_request_t *req);
int st_handle_leave_group(st_request_t *req);
int st_handle_sync_group(st_request_t *req);
int st_handle_describe_groups(st_request_t *req);
int st_handle_list_groups(st_request_t *req);
int st_handle_delete_groups(st_request_t *req);
int st_handle_offset_commit(st_request_t *req);
int st_handle_offset_fetch(st_request_t *req);
int st_handle_offset_delete(st_request_t *req);
/* The ApiVersionsResponse with this error code (used for unsupported versions too). */
int st_api_versions_respond(st_request_t *req, int32_t error_code);

#endif
