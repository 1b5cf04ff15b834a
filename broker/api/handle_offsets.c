/* Committed offsets: OffsetCommit (8), OffsetFetch (9), OffsetDelete (47). The coordinator is
 * broker/group/; the protocol is written down in proto/strand.proto's "Consumer groups" block.
 *
 * OffsetCommit has acks=all semantics, as Kafka's (offsets.commit.required.acks = -1): the
 * offset records are appended to the group's __consumer_offsets partition as one batch, then
 * the request parks as a delayed operation (commit_wait below, watching that partition exactly
 * as an acks=all Produce does) until the high watermark passes the batch; only then are the
 * offsets put into the group's memory (what OffsetFetch serves) and the commit answered. Errors
 * are mapped as Kafka's GroupMetadataManager does: NOT_ENOUGH_REPLICAS(_AFTER_APPEND) ->
 * COORDINATOR_NOT_AVAILABLE, leadership lost -> NOT_COORDINATOR, waiting longer than
 * offsets.commit.timeout.ms -> REQUEST_TIMED_OUT. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "coordinator.h"
#include "delayed.h"
#include "request.h"
#include "st_buf.h"

/* ---- OffsetCommit (8) ------------------------------------------------------------------------- */

typedef struct commit_entry {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    const char *metadata;
    Strand__OffsetCommitResponsePartition *resp;
} commit_entry_t;

typedef struct commit_wait {
    st_delayed_t op;                 /* first (delayed.h) */
    st_request_t req;
    Strand__OffsetCommitResponse resp;
    const char *group_id;
    uint64_t load;
    int64_t commit_ts;
    commit_entry_t *entries;
    size_t n;
    st_partition_t *parts[1];        /* the offsets partition, referenced, watched */
    int32_t epoch;
    int64_t required;
    bool watching;
} commit_wait_t;

static st_delayed_keys_t keys_of(commit_wait_t *w)
{
    return (st_delayed_keys_t){ w->parts, 1, st_conn_loop(w->req.conn)->index, w->watching };
}

static void set_all(commit_wait_t *w, int32_t code)
{
    for (size_t i = 0; i < w->n; i++)
        w->entries[i].resp->error_code = code;
}

/* Settles the commit when the append is replicated, leadership moved, or (final) time is up. */
static int commit_check(commit_wait_t *w, bool final)
{
    int code = st_partition_acks_status(w->parts[0], w->epoch, w->required);
    if (code == -1 && !final)
        return 0;
    st_coordinator_t *c = w->req.broker->groups;
    if (code == ST_ERR_NONE) {
        st_group_t *g = NULL;
        if (st_coord_acquire(c, w->group_id, false, &g, NULL) == ST_ERR_NONE) {
            /* Only into the memory it was validated against: after a reload the log already
             * has it (it is replicated), and a deleted group must not come back. */
            if (g && st_coord_still_loaded(c, g, w->load))
                for (size_t i = 0; i < w->n; i++)
                    st_group_offset_put(g, w->entries[i].topic, w->entries[i].partition,
                                        w->entries[i].offset, w->entries[i].leader_epoch,
                                        w->entries[i].metadata, w->commit_ts);
            st_coord_release(c);
        }
    } else if (code == -1) {
        set_all(w, st_reply_error(&w->req, ST_ERR_REQUEST_TIMED_OUT, NULL, "group '%s': the "
                                  "offsets were not replicated within offsets.commit.timeout.ms",
                                  w->group_id));
    } else if (code == ST_ERR_NOT_LEADER_OR_FOLLOWER) {
        set_all(w, st_reply_error(&w->req, ST_ERR_NOT_COORDINATOR, NULL, "group '%s': the "
                                  "offsets partition moved while the commit waited", w->group_id));
    } else {
        set_all(w, st_reply_error(&w->req, ST_ERR_COORDINATOR_NOT_AVAILABLE, NULL, "group '%s': "
                                  "%s for the offsets partition", w->group_id,
                                  st_error_name(code)));
    }
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_release(&keys);
    w->watching = false;
    int r = st_request_respond(&w->req, &w->resp.base, NULL, 0);
    return r < 0 ? r : 1;
}

static int commit_try_complete(st_delayed_t *op) { return commit_check((commit_wait_t *)op, false); }
static int commit_on_expire(st_delayed_t *op) { return commit_check((commit_wait_t *)op, true); }
static void commit_abort(st_delayed_t *op)
{
    commit_wait_t *w = (commit_wait_t *)op;
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_release(&keys);
    w->watching = false;
}

static const st_delayed_ops_t commit_ops = {
    .name = "offset-commit",
    .try_complete = commit_try_complete,
    .on_expire = commit_on_expire,
    .abort = commit_abort,
};

static int32_t map_append_error(int r)
{
    switch (r) {
    case -EPERM:
    case -ENOENT: return ST_ERR_NOT_COORDINATOR;
    case -ENOTCONN: return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    case -EMSGSIZE:
    case -E2BIG: return ST_ERR_INVALID_COMMIT_OFFSET_SIZE;
    default: return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
}

int st_handle_offset_commit(st_request_t *req)
{
    Strand__OffsetCommitRequest *msg =
        strand__offset_commit_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "OffsetCommitRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    const char *group = msg->group_id ? msg->group_id : "";
    /* The response mirrors the request. */
    size_t n = 0;
    for (size_t t = 0; t < msg->n_topics; t++)
        n += msg->topics[t]->n_partitions;
    Strand__OffsetCommitResponseTopic *ts = st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*ts));
    Strand__OffsetCommitResponseTopic **tptrs = st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*tptrs));
    Strand__OffsetCommitResponsePartition *ps = st_arena_calloc(req->arena, n + 1, sizeof(*ps));
    Strand__OffsetCommitResponsePartition **pptrs = st_arena_calloc(req->arena, n + 1, sizeof(*pptrs));
    commit_wait_t *w = st_arena_calloc(req->arena, 1, sizeof(*w));
    commit_entry_t *es = st_arena_calloc(req->arena, n + 1, sizeof(*es));
    st_coord_record_t *recs = st_arena_calloc(req->arena, n + 1, sizeof(*recs));
    if (!ts || !tptrs || !ps || !pptrs || !w || !es || !recs)
        return st_reply_fatal(req->conn, req, "out of memory");
    w->resp = (Strand__OffsetCommitResponse)STRAND__OFFSET_COMMIT_RESPONSE__INIT;
    size_t k = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        strand__offset_commit_response_topic__init(&ts[t]);
        ts[t].name = msg->topics[t]->name;
        ts[t].partitions = &pptrs[k];
        ts[t].n_partitions = msg->topics[t]->n_partitions;
        tptrs[t] = &ts[t];
        for (size_t p = 0; p < msg->topics[t]->n_partitions; p++, k++) {
            strand__offset_commit_response_partition__init(&ps[k]);
            ps[k].partition_index = msg->topics[t]->partitions[p]->partition_index;
            pptrs[k] = &ps[k];
        }
    }
    w->resp.topics = tptrs;
    w->resp.n_topics = msg->n_topics;

    st_group_t *g = NULL;
    uint64_t load = 0;
    int32_t code = c ? st_coord_acquire(c, group, msg->generation_id < 0, &g, &load)
                     : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    bool locked = code == ST_ERR_NONE;
    if (code == ST_ERR_NONE && !g)
        code = ST_ERR_ILLEGAL_GENERATION;     /* Kafka: an unknown group with generation >= 0 */
    if (code == ST_ERR_NONE)
        code = st_group_validate_commit(g, msg->generation_id, msg->member_id,
                                        msg->group_instance_id, st_coord_now());
    if (code != ST_ERR_NONE) {
        if (locked)
            st_coord_release(c);
        code = st_reply_error(req, code, NULL, "group '%s': commit of member '%s' (generation %"
                              PRId32 ") refused", group, msg->member_id, msg->generation_id);
        for (size_t i = 0; i < n; i++)
            ps[i].error_code = code;
        return st_request_respond(req, &w->resp.base, NULL, 0);
    }
    /* One record per partition; bad ones answered here and left out. */
    int32_t max_md = req->broker->cfg.offset_metadata_max_bytes;
    size_t n_recs = 0;
    k = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        const Strand__OffsetCommitRequestTopic *tt = msg->topics[t];
        for (size_t p = 0; p < tt->n_partitions; p++, k++) {
            const Strand__OffsetCommitRequestPartition *pp = tt->partitions[p];
            const char *md = pp->committed_metadata ? pp->committed_metadata : "";
            if (strlen(md) > (size_t)max_md) {
                ps[k].error_code = st_reply_error(req, ST_ERR_OFFSET_METADATA_TOO_LARGE, NULL,
                                                  "%s-%" PRId32 ": metadata of %zu bytes, over "
                                                  "offset.metadata.max.bytes (%" PRId32 ")",
                                                  tt->name, pp->partition_index, strlen(md),
                                                  max_md);
                continue;
            }
            if (!tt->name || !tt->name[0]) {
                ps[k].error_code = st_reply_error(req, ST_ERR_INVALID_TOPIC_EXCEPTION, NULL,
                                                  "an empty topic name");
                continue;
            }
            st_buf_t key = ST_BUF_INIT, value = ST_BUF_INIT;
            int r = st_offsets_encode_commit_key(&key, group, tt->name, pp->partition_index);
            if (r == 0)
                r = st_offsets_encode_commit_value(&value, pp->committed_offset,
                                                   pp->committed_leader_epoch, md,
                                                   st_coord_wall());
            uint8_t *kb = key.len ? st_arena_alloc(req->arena, key.len) : NULL;
            uint8_t *vb = value.len ? st_arena_alloc(req->arena, value.len) : NULL;
            if (r == 0 && kb && vb) {
                memcpy(kb, key.data, key.len);
                memcpy(vb, value.data, value.len);
                recs[n_recs] = (st_coord_record_t){ kb, key.len, vb, value.len };
                es[n_recs] = (commit_entry_t){ tt->name, pp->partition_index, pp->committed_offset,
                                               pp->committed_leader_epoch, md, &ps[k] };
                n_recs++;
            } else {
                ps[k].error_code = st_reply_error(req, r == -EINVAL
                                                           ? ST_ERR_INVALID_COMMIT_OFFSET_SIZE
                                                           : ST_ERR_UNKNOWN_SERVER_ERROR, NULL,
                                                  "%s-%" PRId32 ": the offset record cannot be "
                                                  "encoded (name or metadata too long?)",
                                                  tt->name, pp->partition_index);
            }
            st_buf_free(&key);
            st_buf_free(&value);
        }
    }
    if (n_recs == 0) {
        st_coord_release(c);
        return st_request_respond(req, &w->resp.base, NULL, 0);
    }
    st_partition_t *part = NULL;
    int32_t epoch = -1;
    int64_t required = 0;
    int r = st_coord_append(c, g->partition, recs, n_recs, &part, &epoch, &required);
    st_coord_release(c);
    w->entries = es;
    w->n = n_recs;
    if (r < 0) {
        code = st_reply_error(req, map_append_error(r), NULL, "group '%s': appending %zu offsets "
                              "to %s-%" PRId32 ": %s", group, n_recs, ST_OFFSETS_TOPIC,
                              st_group_partition_for(group, req->broker->cfg.offsets_topic_num_partitions),
                              strerror(-r));
        set_all(w, code);
        return st_request_respond(req, &w->resp.base, NULL, 0);
    }
    /* acks=all: watch first, then check, then park (an HW move in between wakes us). */
    w->op.ops = &commit_ops;
    w->req = *req;
    w->req.body = NULL;
    w->req.tail = NULL;
    w->group_id = group;
    w->load = load;
    w->commit_ts = st_coord_wall();
    w->parts[0] = part;
    w->epoch = epoch;
    w->required = required;
    st_delayed_keys_t keys = keys_of(w);
    st_delayed_watch(&keys, true);
    w->watching = keys.watching;
    int done = commit_check(w, false);
    if (done != 0)
        return done < 0 ? done : 0;
    st_conn_park(req->conn, &w->op, req->broker->cfg.offsets_commit_timeout_ms);
    return 0;
}

/* ---- OffsetFetch (9) ------------------------------------------------------------------------- */

static void fill_partition(st_request_t *req, const st_group_t *g, const char *topic,
                           int32_t partition, Strand__OffsetFetchResponsePartition *out)
{
    strand__offset_fetch_response_partition__init(out);
    out->partition_index = partition;
    out->committed_offset = -1;
    out->committed_leader_epoch = -1;
    out->metadata = "";
    const st_group_offset_t *o = g ? st_group_offset_get(g, topic, partition) : NULL;
    if (o) {
        out->committed_offset = o->offset;
        out->committed_leader_epoch = o->leader_epoch;
        out->metadata = st_arena_strdup(req->arena, o->metadata ? o->metadata : "");
    }
}

int st_handle_offset_fetch(st_request_t *req)
{
    Strand__OffsetFetchRequest *msg =
        strand__offset_fetch_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "OffsetFetchRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    Strand__OffsetFetchResponse resp = STRAND__OFFSET_FETCH_RESPONSE__INIT;
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, msg->group_id, false, &g, NULL)
                     : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code != ST_ERR_NONE) {
        resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s'",
                                         msg->group_id ? msg->group_id : "");
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    if (msg->all_topics) {
        /* Every committed offset, grouped by topic (in the order first seen). */
        size_t n = g ? g->n_offsets : 0;
        Strand__OffsetFetchResponseTopic **tp = st_arena_calloc(req->arena, n + 1, sizeof(*tp));
        Strand__OffsetFetchResponsePartition *ps = st_arena_calloc(req->arena, n + 1, sizeof(*ps));
        size_t n_topics = 0;
        for (size_t i = 0; tp && ps && i < n; i++) {
            const st_group_offset_t *o = &g->offsets[i];
            Strand__OffsetFetchResponseTopic *t = NULL;
            for (size_t k = 0; k < n_topics && !t; k++)
                if (strcmp(tp[k]->name, o->topic) == 0)
                    t = tp[k];
            if (!t) {
                t = st_arena_calloc(req->arena, 1, sizeof(*t));
                Strand__OffsetFetchResponsePartition **pp =
                    st_arena_calloc(req->arena, n + 1, sizeof(*pp));
                if (!t || !pp)
                    break;
                strand__offset_fetch_response_topic__init(t);
                t->name = st_arena_strdup(req->arena, o->topic);
                t->partitions = pp;
                tp[n_topics++] = t;
            }
            fill_partition(req, g, o->topic, o->partition, &ps[i]);
            t->partitions[t->n_partitions++] = &ps[i];
        }
        resp.topics = tp;
        resp.n_topics = n_topics;
    } else {
        Strand__OffsetFetchResponseTopic *ts =
            st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*ts));
        Strand__OffsetFetchResponseTopic **tp =
            st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*tp));
        for (size_t t = 0; ts && tp && t < msg->n_topics; t++) {
            const Strand__OffsetFetchRequestTopic *rt = msg->topics[t];
            strand__offset_fetch_response_topic__init(&ts[t]);
            ts[t].name = rt->name;
            Strand__OffsetFetchResponsePartition *ps =
                st_arena_calloc(req->arena, rt->n_partition_indexes + 1, sizeof(*ps));
            Strand__OffsetFetchResponsePartition **pp =
                st_arena_calloc(req->arena, rt->n_partition_indexes + 1, sizeof(*pp));
            if (!ps || !pp)
                break;
            for (size_t p = 0; p < rt->n_partition_indexes; p++) {
                fill_partition(req, g, rt->name ? rt->name : "", rt->partition_indexes[p], &ps[p]);
                pp[p] = &ps[p];
            }
            ts[t].partitions = pp;
            ts[t].n_partitions = rt->n_partition_indexes;
            tp[t] = &ts[t];
            resp.n_topics = t + 1;
        }
        resp.topics = tp;
    }
    st_coord_release(c);
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- OffsetDelete (47) ----------------------------------------------------------------------- */

int st_handle_offset_delete(st_request_t *req)
{
    Strand__OffsetDeleteRequest *msg =
        strand__offset_delete_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "OffsetDeleteRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    const char *group = msg->group_id ? msg->group_id : "";
    Strand__OffsetDeleteResponse resp = STRAND__OFFSET_DELETE_RESPONSE__INIT;
    size_t n = 0;
    for (size_t t = 0; t < msg->n_topics; t++)
        n += msg->topics[t]->n_partitions;
    Strand__OffsetDeleteResponseTopic *ts = st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*ts));
    Strand__OffsetDeleteResponseTopic **tp = st_arena_calloc(req->arena, msg->n_topics + 1, sizeof(*tp));
    Strand__OffsetDeleteResponsePartition *ps = st_arena_calloc(req->arena, n + 1, sizeof(*ps));
    Strand__OffsetDeleteResponsePartition **pp = st_arena_calloc(req->arena, n + 1, sizeof(*pp));
    const char **del_topics = st_arena_calloc(req->arena, n + 1, sizeof(*del_topics));
    int32_t *del_parts = st_arena_calloc(req->arena, n + 1, sizeof(*del_parts));
    if (!ts || !tp || !ps || !pp || !del_topics || !del_parts)
        return st_reply_fatal(req->conn, req, "out of memory");
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, group, false, &g, NULL)
                     : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code == ST_ERR_NONE && !g) {
        st_coord_release(c);
        code = ST_ERR_GROUP_ID_NOT_FOUND;
    }
    bool consumer = code == ST_ERR_NONE && g->protocol_type &&
                    strcmp(g->protocol_type, "consumer") == 0;
    if (code == ST_ERR_NONE && g->state != ST_GROUP_EMPTY && !consumer) {
        st_coord_release(c);
        code = ST_ERR_NON_EMPTY_GROUP;
    }
    if (code != ST_ERR_NONE) {
        resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s'", group);
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    size_t k = 0, n_del = 0;
    for (size_t t = 0; t < msg->n_topics; t++) {
        const Strand__OffsetDeleteRequestTopic *rt = msg->topics[t];
        const char *topic = rt->name ? rt->name : "";
        strand__offset_delete_response_topic__init(&ts[t]);
        ts[t].name = rt->name;
        ts[t].partitions = &pp[k];
        ts[t].n_partitions = rt->n_partitions;
        tp[t] = &ts[t];
        bool subscribed = g->state != ST_GROUP_EMPTY && st_group_subscribed(g, topic);
        for (size_t p = 0; p < rt->n_partitions; p++, k++) {
            strand__offset_delete_response_partition__init(&ps[k]);
            ps[k].partition_index = rt->partitions[p]->partition_index;
            pp[k] = &ps[k];
            if (subscribed) {
                ps[k].error_code = st_reply_error(req, ST_ERR_GROUP_SUBSCRIBED_TO_TOPIC, NULL,
                                                  "group '%s' is subscribed to topic '%s'",
                                                  group, topic);
            } else if (st_group_offset_get(g, topic, ps[k].partition_index)) {
                del_topics[n_del] = topic;
                del_parts[n_del++] = ps[k].partition_index;
            }
        }
    }
    st_coord_tombstone_offsets(c, g, del_topics, del_parts, n_del);
    for (size_t i = 0; i < n_del; i++)
        st_group_offset_remove(g, del_topics[i], del_parts[i]);
    st_coord_release(c);
    resp.topics = tp;
    resp.n_topics = msg->n_topics;
    return st_request_respond(req, &resp.base, NULL, 0);
}
