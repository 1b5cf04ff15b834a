/* Request dispatch (header decode, API/version check against the advertised table), the one
 * error path st_reply_error with its counters, and response queueing. */
#include "request.h"

#include "inter_broker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "st_frame.h"
#include "st_logger.h"

static const st_api_def_t api_table[] = {
    { STRAND__API_KEY__PRODUCE,       0, 0, "Produce",      st_handle_produce },
    { STRAND__API_KEY__FETCH,         0, 0, "Fetch",        st_handle_fetch },
    { STRAND__API_KEY__LIST_OFFSETS,  0, 0, "ListOffsets",  st_handle_list_offsets },
    { STRAND__API_KEY__METADATA,      0, 0, "Metadata",     st_handle_metadata },
    { STRAND__API_KEY__API_VERSIONS,  0, 0, "ApiVersions",  st_handle_api_versions },
    { STRAND__API_KEY__CREATE_TOPICS, 0, 0, "CreateTopics", st_handle_create_topics },
    { STRAND__API_KEY__DELETE_TOPICS, 0, 0, "DeleteTopics", st_handle_delete_topics },
    { STRAND__API_KEY__UPDATE_METADATA, 0, 0, "UpdateMetadata", st_handle_update_metadata },
    { STRAND__API_KEY__CONTROLLED_SHUTDOWN, 0, 0, "ControlledShutdown", st_handle_controlled_shutdown },
    { STRAND__API_KEY__CREATE_PARTITIONS, 0, 0, "CreatePartitions", st_handle_create_partitions },
    { STRAND__API_KEY__ELECT_LEADERS, 0, 0, "ElectLeaders", st_handle_elect_leaders },
    { STRAND__API_KEY__DESCRIBE_CONFIGS, 0, 0, "DescribeConfigs", st_handle_describe_configs },
    { STRAND__API_KEY__INCREMENTAL_ALTER_CONFIGS, 0, 0, "IncrementalAlterConfigs",
      st_handle_incremental_alter_configs },
    { STRAND__API_KEY__ALTER_ISR, 0, 0, "AlterIsr", st_handle_alter_isr },
    { STRAND__API_KEY__LEADER_AND_ISR, 0, 0, "LeaderAndIsr", st_handle_leader_and_isr },
    { STRAND__API_KEY__STOP_REPLICA,  0, 0, "StopReplica",  st_handle_stop_replica },
    { STRAND__API_KEY__OFFSET_FOR_LEADER_EPOCH, 0, 0, "OffsetForLeaderEpoch",
      st_handle_offset_for_leader_epoch },
    /* Consumer groups (broker/group/). */
    { STRAND__API_KEY__FIND_COORDINATOR, 0, 0, "FindCoordinator", st_handle_find_coordinator },
    { STRAND__API_KEY__JOIN_GROUP,    0, 0, "JoinGroup",    st_handle_join_group },
    { STRAND__API_KEY__HEARTBEAT,     0, 0, "Heartbeat",    st_handle_heartbeat },
    { STRAND__API_KEY__LEAVE_GROUP,   0, 0, "LeaveGroup",   st_handle_leave_group },
    { STRAND__API_KEY__SYNC_GROUP,    0, 0, "SyncGroup",    st_handle_sync_group },
    { STRAND__API_KEY__DESCRIBE_GROUPS, 0, 0, "DescribeGroups", st_handle_describe_groups },
    { STRAND__API_KEY__LIST_GROUPS,   0, 0, "ListGroups",   st_handle_list_groups },
    { STRAND__API_KEY__DELETE_GROUPS, 0, 0, "DeleteGroups", st_handle_delete_groups },
    { STRAND__API_KEY__OFFSET_COMMIT, 0, 0, "OffsetCommit", st_handle_offset_commit },
    { STRAND__API_KEY__OFFSET_FETCH,  0, 0, "OffsetFetch",  st_handle_offset_fetch },
    { STRAND__API_KEY__OFFSET_DELETE, 0, 0, "OffsetDelete", st_handle_offset_delete },
};

#define N_APIS (sizeof(api_table) / sizeof(api_table[0]))

const st_api_def_t *st_api_table(size_t *ret_n)
{
    *ret_n = N_APIS;
    return api_table;
}

static const st_api_def_t *find_api(int32_t key)
{
    for (size_t i = 0; i < N_APIS; i++)
        if (api_table[i].key == key)
            return &api_table[i];
    return NULL;
}

const char *st_api_name(int32_t api_key)
{
    const st_api_def_t *api = find_api(api_key);
    return api ? api->name : "UnknownApi";
}

/* ---- the error path ---------------------------------------------------------------------- */

/* Codes are in [-128, 127]; one counter per possible code. */
static atomic_uint_fast64_t error_counts[256];

static void count_error(int code)
{
    if (code >= -128 && code <= 127)
        atomic_fetch_add_explicit(&error_counts[code + 128], 1, memory_order_relaxed);
}

uint64_t st_error_count(int code)
{
    if (code < -128 || code > 127)
        return 0;
    return atomic_load_explicit(&error_counts[code + 128], memory_order_relaxed);
}

static st_level_t level_for(int code)
{
    switch (code) {
    case ST_ERR_UNKNOWN_SERVER_ERROR:
    case ST_ERR_KAFKA_STORAGE_ERROR:
        return ST_LEVEL_ERROR;
    case ST_ERR_CORRUPT_MESSAGE:
    case ST_ERR_MESSAGE_TOO_LARGE:
    case ST_ERR_UNSUPPORTED_VERSION:
    case ST_ERR_INVALID_REQUIRED_ACKS:
    case ST_ERR_INVALID_REQUEST:
    case ST_ERR_UNSUPPORTED_COMPRESSION_TYPE:
    case ST_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case ST_ERR_STALE_CONTROLLER_EPOCH:
    case ST_ERR_STALE_BROKER_EPOCH:
        return ST_LEVEL_INFO;
    default:
        return ST_LEVEL_DEBUG;
    }
}

/* Client-supplied text (names, client ids) ends up in log lines and error messages: control
 * bytes are replaced so that a request cannot forge log lines or mangle a terminal. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* One request can produce an error per partition (10,000 of them in a hostile request): only
 * the first few are logged, the rest are counted. */
#define MAX_LOGGED_PER_REQUEST 16

int32_t st_reply_error(st_request_t *req, int code, char **ret_msg, const char *fmt, ...)
{
    count_error(code);
    st_level_t level = level_for(code);
    bool log = level >= st_logger_level() &&
               (level >= ST_LEVEL_ERROR || req->n_logged < MAX_LOGGED_PER_REQUEST);
    if (!log && !ret_msg)
        return code;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sanitize(msg);
    if (log && ++req->n_logged == MAX_LOGGED_PER_REQUEST && level < ST_LEVEL_ERROR)
        st_logger_write(level, "%s request from %s (client '%s', correlation id %" PRId32 "): "
                        "further errors of this request are counted but not logged",
                        st_api_name(req->api_key), st_conn_peer(req->conn), req->client_id,
                        req->correlation_id);
    if (log && level >= ST_LEVEL_ERROR) {
        /* a client retrying against a broken disk gets the same error every retry: written
         * once per 10 s with a count (the key leaves the correlation id out) */
        static st_log_limit_t limit = ST_LOG_LIMIT_INIT(10000);
        char key[768];
        snprintf(key, sizeof(key), "%s|%s|%s|%d|%s", st_api_name(req->api_key),
                 st_conn_peer(req->conn), req->client_id, code, msg);
        st_logger_write_limited(&limit, level, key,
                                "%s request from %s (client '%s', correlation id %" PRId32 "): "
                                "%s: %s", st_api_name(req->api_key), st_conn_peer(req->conn),
                                req->client_id, req->correlation_id, st_error_name(code), msg);
    } else if (log) {
        st_logger_write(level, "%s request from %s (client '%s', correlation id %" PRId32 "): %s: %s",
                        st_api_name(req->api_key), st_conn_peer(req->conn), req->client_id,
                        req->correlation_id, st_error_name(code), msg);
    }
    if (ret_msg)
        *ret_msg = st_arena_strdup(req->arena, msg);
    return code;
}

int st_reply_fatal(st_conn_t *conn, const st_request_t *req, const char *fmt, ...)
{
    count_error(ST_ERR_INVALID_REQUEST);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sanitize(msg);
    if (req)
        ST_ERROR("Closing connection from %s (client '%s'): %s request (correlation id %" PRId32
                 "): %s", st_conn_peer(conn), req->client_id, st_api_name(req->api_key),
                 req->correlation_id, msg);
    else
        ST_ERROR("Closing connection from %s (client '%s'): %s", st_conn_peer(conn),
                 st_conn_client_id(conn), msg);
    return -EBADMSG;
}

void st_error_counts_log(void)
{
    char line[2048];
    size_t used = 0;
    line[0] = '\0';
    for (int code = -128; code <= 127; code++) {
        uint64_t n = st_error_count(code);
        if (!n || code == ST_ERR_NONE)
            continue;
        int w = snprintf(line + used, sizeof(line) - used, "%s%s=%" PRIu64, used ? ", " : "",
                         st_error_name(code), n);
        if (w < 0 || (size_t)w >= sizeof(line) - used)
            break;
        used += (size_t)w;
    }
    ST_INFO("Errors sent to clients since start-up: %s", used ? line : "none");
}

/* ---- cluster API authorization ------------------------------------------------------------ */


/* ---- dispatch ---------------------------------------------------------------------------- */

bool st_request_require_inter_broker(st_request_t *req, ProtobufCMessage *resp, int32_t *code,
                                     int *ret)
{
    char why[256];
    if (st_request_is_inter_broker(req, why, sizeof(why)))
        return true;
    *code = st_reply_error(req, ST_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL, "%s refused: %s",
                           st_api_name(req->api_key), why);
    *ret = st_request_respond(req, resp, NULL, 0);
    return false;
}

int st_request_respond(st_request_t *req, const ProtobufCMessage *body, st_log_slice_t *slices,
                       size_t n_slices)
{
    int r = st_conn_queue_response(req->conn, req->correlation_id, body, slices, n_slices);
    if (r < 0)
        return st_reply_fatal(req->conn, req, "cannot queue the response: %s", strerror(-r));
    return 0;
}

int st_request_dispatch(st_conn_t *conn, st_broker_t *broker, uint8_t *payload, size_t len)
{
    st_frame_view_t view;
    const char *reason = NULL;
    if (st_frame_parse(payload, len, &view, &reason) < 0)
        return st_reply_fatal(conn, NULL, "malformed frame of %zu bytes: %s", len, reason);
    st_arena_t *arena = st_conn_arena(conn);
    Strand__RequestHeader *hdr = strand__request_header__unpack(&arena->pb, view.header_len,
                                                                view.header);
    if (!hdr)
        return st_reply_fatal(conn, NULL, "request header of %zu bytes does not decode "
                              "(invalid protobuf)", view.header_len);
    if (hdr->client_id)
        sanitize(hdr->client_id);             /* arena copy: ours to edit */
    st_conn_set_client_id(conn, hdr->client_id ? hdr->client_id : "");
    st_request_t req = {
        .conn = conn,
        .broker = broker,
        .arena = arena,
        .api_key = hdr->api_key,
        .api_version = hdr->api_version,
        .correlation_id = hdr->correlation_id,
        .client_id = hdr->client_id ? hdr->client_id : "",
        .body = view.body,
        .body_len = view.body_len,
        .tail = (uint8_t *)view.tail,
        .tail_len = view.tail_len,
    };
    const st_api_def_t *api = find_api(hdr->api_key);
    if (!api || hdr->api_version < api->min_version || hdr->api_version > api->max_version) {
        int32_t code;
        if (!api)
            code = st_reply_error(&req, ST_ERR_UNSUPPORTED_VERSION, NULL,
                                  "unknown API key %" PRId32, hdr->api_key);
        else
            code = st_reply_error(&req, ST_ERR_UNSUPPORTED_VERSION, NULL,
                                  "%s version %" PRId32 " is not supported (versions %" PRId32
                                  "..%" PRId32 ")", api->name, hdr->api_version,
                                  api->min_version, api->max_version);
        return st_api_versions_respond(&req, code);
    }
    if (view.tail_len && api->key != STRAND__API_KEY__PRODUCE)
        return st_reply_fatal(conn, &req, "%zu bytes of record data follow a request that "
                              "carries none", view.tail_len);
    return api->handler(&req);
}
