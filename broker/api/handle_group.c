/* The group membership APIs (broker/group/ is the coordinator): FindCoordinator (10),
 * JoinGroup (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14), DescribeGroups (15),
 * ListGroups (16), DeleteGroups (42). The protocol is written down in proto/strand.proto's
 * "Consumer groups" block.
 *
 * JoinGroup and SyncGroup park as delayed operations of the await kind (await.h): the group
 * answers them from whichever thread completes the rebalance (a loop handling another member's
 * request, or the coordinator thread's timers), under the coordinator lock, with st_await_done;
 * the answer's error code passes through the one error path on the loop thread (finish_*). The
 * park has its own expiry (the rebalance timeout plus a margin) answering
 * REBALANCE_IN_PROGRESS, which the coordinator's own timers normally make unnecessary. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "await.h"
#include "coordinator.h"
#include "metadata_cache.h"
#include "request.h"

#define PARK_MARGIN_MS 5000

static const char *group_of(const char *id) { return id ? id : ""; }

/* "/<ip>" as Kafka's clientHost, from "ip:port" / "[ip6]:port". */
static char *client_host(st_request_t *req)
{
    char buf[80];
    const char *peer = st_conn_peer(req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (n && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    snprintf(buf, sizeof(buf), "/%.*s", (int)n, peer);
    return st_arena_strdup(req->arena, buf);
}

/* ---- FindCoordinator (10) -------------------------------------------------------------------- */

int st_handle_find_coordinator(st_request_t *req)
{
    Strand__FindCoordinatorRequest *msg =
        strand__find_coordinator_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "FindCoordinatorRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    Strand__FindCoordinatorResponse resp = STRAND__FIND_COORDINATOR_RESPONSE__INIT;
    resp.node_id = -1;
    resp.host = "";
    resp.port = -1;
    char *emsg = NULL;
    char why[256];
    int32_t node = -1;
    if (msg->key_type != 0) {
        resp.error_code = st_reply_error(req, ST_ERR_INVALID_REQUEST, &emsg, "key_type %" PRId32
                                         " is not supported (0 = group; Strand has no "
                                         "transactions)", msg->key_type);
    } else if (!msg->key || !msg->key[0]) {
        resp.error_code = st_reply_error(req, ST_ERR_INVALID_GROUP_ID, &emsg,
                                         "the group id is empty");
    } else if (!req->broker->groups) {
        resp.error_code = st_reply_error(req, ST_ERR_COORDINATOR_NOT_AVAILABLE, &emsg,
                                         "the group coordinator is not running");
    } else {
        int32_t code = st_coord_find(req->broker->groups, msg->key, &node, why, sizeof(why));
        if (code != ST_ERR_NONE) {
            resp.error_code = st_reply_error(req, code, &emsg, "group '%s': %s", msg->key, why);
        } else {
            const char *listener = st_conn_listener(req->conn)->cfg.name;
            st_md_snapshot_t *snap = st_metadata_cache_acquire(req->broker->meta);
            const st_broker_endpoint_t *be = st_md_snapshot_broker(snap, node);
            const st_listener_cfg_t *ep = be ? st_md_broker_endpoint(be, listener) : NULL;
            if (ep) {
                resp.node_id = node;
                resp.host = st_arena_strdup(req->arena, ep->host);
                resp.port = ep->port;
            } else {
                resp.error_code = st_reply_error(req, ST_ERR_COORDINATOR_NOT_AVAILABLE, &emsg,
                                                 "group '%s': the coordinator (broker %" PRId32
                                                 ") is not live or has no listener %s", msg->key,
                                                 node, listener);
            }
            st_md_snapshot_release(snap);
        }
    }
    resp.error_message = emsg;
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- JoinGroup (11) -------------------------------------------------------------------------- */

static void finish_join(st_request_t *req, ProtobufCMessage *m)
{
    Strand__JoinGroupResponse *r = (Strand__JoinGroupResponse *)m;
    if (r->error_code != ST_ERR_NONE)
        st_reply_error(req, r->error_code, &r->error_message, "JoinGroup of member '%s' "
                       "answered with %s", r->member_id, st_error_name(r->error_code));
}

static int join_error(st_request_t *req, int32_t code, const char *group, const char *member)
{
    Strand__JoinGroupResponse resp = STRAND__JOIN_GROUP_RESPONSE__INIT;
    resp.generation_id = -1;
    resp.member_id = (char *)member;
    resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s', member '%s'",
                                     group, member);
    return st_request_respond(req, &resp.base, NULL, 0);
}

int st_handle_join_group(st_request_t *req)
{
    Strand__JoinGroupRequest *msg =
        strand__join_group_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "JoinGroupRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    const char *member = msg->member_id ? msg->member_id : "";
    if (!c)
        return join_error(req, ST_ERR_COORDINATOR_NOT_AVAILABLE, group_of(msg->group_id), member);
    for (size_t i = 0; i < msg->n_protocols; i++)
        if (!msg->protocols[i]->name || !msg->protocols[i]->name[0])
            return join_error(req, ST_ERR_INCONSISTENT_GROUP_PROTOCOL, group_of(msg->group_id),
                              member);
    st_group_protocol_t *ps = st_arena_calloc(req->arena, msg->n_protocols + 1, sizeof(*ps));
    if (!ps)
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < msg->n_protocols; i++) {
        ps[i].name = msg->protocols[i]->name;
        ps[i].metadata = msg->protocols[i]->metadata.data;
        ps[i].metadata_len = msg->protocols[i]->metadata.len;
    }
    int32_t rebalance = msg->rebalance_timeout_ms > 0 ? msg->rebalance_timeout_ms
                                                      : msg->session_timeout_ms;
    st_group_t *g = NULL;
    int32_t code = st_coord_acquire(c, msg->group_id, member[0] == '\0', &g, NULL);
    if (code != ST_ERR_NONE)
        return join_error(req, code, group_of(msg->group_id), member);
    if (!g) {
        st_coord_release(c);
        return join_error(req, ST_ERR_UNKNOWN_MEMBER_ID, msg->group_id, member);
    }
    Strand__JoinGroupResponse expired = STRAND__JOIN_GROUP_RESPONSE__INIT;
    expired.error_code = ST_ERR_REBALANCE_IN_PROGRESS;
    expired.generation_id = -1;
    expired.member_id = (char *)member;
    int64_t wait = (int64_t)(rebalance > msg->session_timeout_ms ? rebalance
                                                                 : msg->session_timeout_ms) +
                   st_coord_group_config(c)->initial_rebalance_delay_ms + PARK_MARGIN_MS;
    st_await_t *aw = st_await_park(req, wait > INT32_MAX ? INT32_MAX : (int32_t)wait,
                                   &expired.base, finish_join);
    if (!aw) {
        st_coord_release(c);
        return join_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, msg->group_id, member);
    }
    st_group_join_req_t jr = {
        .member_id = member,
        .instance_id = msg->group_instance_id,
        .client_id = req->client_id,
        .client_host = client_host(req),
        .protocol_type = msg->protocol_type,
        .session_timeout_ms = msg->session_timeout_ms,
        .rebalance_timeout_ms = rebalance,
        .protocols = ps,
        .n_protocols = msg->n_protocols,
        .reason = msg->reason,
    };
    st_group_join(g, &jr, aw, st_coord_now(), st_coord_wall());
    st_coord_release(c);
    return 0;
}

/* ---- SyncGroup (14) -------------------------------------------------------------------------- */

static void finish_sync(st_request_t *req, ProtobufCMessage *m)
{
    Strand__SyncGroupResponse *r = (Strand__SyncGroupResponse *)m;
    if (r->error_code != ST_ERR_NONE)
        st_reply_error(req, r->error_code, &r->error_message, "SyncGroup answered with %s",
                       st_error_name(r->error_code));
}

static int sync_error(st_request_t *req, int32_t code, const char *group, const char *member)
{
    Strand__SyncGroupResponse resp = STRAND__SYNC_GROUP_RESPONSE__INIT;
    resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s', member '%s'",
                                     group, member);
    return st_request_respond(req, &resp.base, NULL, 0);
}

int st_handle_sync_group(st_request_t *req)
{
    Strand__SyncGroupRequest *msg =
        strand__sync_group_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "SyncGroupRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    const char *member = msg->member_id ? msg->member_id : "";
    if (!c)
        return sync_error(req, ST_ERR_COORDINATOR_NOT_AVAILABLE, group_of(msg->group_id), member);
    st_group_assignment_t *as = st_arena_calloc(req->arena, msg->n_assignments + 1, sizeof(*as));
    if (!as)
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < msg->n_assignments; i++) {
        as[i].member_id = msg->assignments[i]->member_id;
        as[i].assignment = msg->assignments[i]->assignment.data;
        as[i].len = msg->assignments[i]->assignment.len;
    }
    st_group_t *g = NULL;
    int32_t code = st_coord_acquire(c, msg->group_id, false, &g, NULL);
    if (code != ST_ERR_NONE)
        return sync_error(req, code, group_of(msg->group_id), member);
    if (!g) {
        st_coord_release(c);
        return sync_error(req, ST_ERR_UNKNOWN_MEMBER_ID, msg->group_id, member);
    }
    st_group_member_t *m = st_group_member(g, member);
    int64_t wait = PARK_MARGIN_MS + (m ? (m->rebalance_timeout_ms > m->session_timeout_ms
                                              ? m->rebalance_timeout_ms : m->session_timeout_ms)
                                       : 0);
    Strand__SyncGroupResponse expired = STRAND__SYNC_GROUP_RESPONSE__INIT;
    expired.error_code = ST_ERR_REBALANCE_IN_PROGRESS;
    st_await_t *aw = st_await_park(req, wait > INT32_MAX ? INT32_MAX : (int32_t)wait,
                                   &expired.base, finish_sync);
    if (!aw) {
        st_coord_release(c);
        return sync_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, msg->group_id, member);
    }
    st_group_sync(g, msg->generation_id, member, msg->group_instance_id, msg->protocol_type,
                  msg->protocol_name, as, msg->n_assignments, aw, st_coord_now(),
                  st_coord_wall());
    st_coord_release(c);
    return 0;
}

/* ---- Heartbeat (12) -------------------------------------------------------------------------- */

static void finish_heartbeat(st_request_t *req, ProtobufCMessage *m)
{
    Strand__HeartbeatResponse *r = (Strand__HeartbeatResponse *)m;
    if (r->error_code != ST_ERR_NONE)
        st_reply_error(req, r->error_code, &r->error_message, "held Heartbeat answered with %s",
                       st_error_name(r->error_code));
}

int st_handle_heartbeat(st_request_t *req)
{
    Strand__HeartbeatRequest *msg =
        strand__heartbeat_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "HeartbeatRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    Strand__HeartbeatResponse resp = STRAND__HEARTBEAT_RESPONSE__INIT;
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, msg->group_id, false, &g, NULL)
                     : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code == ST_ERR_NONE) {
        st_group_member_t *m = g && msg->max_wait_ms > 0 ? st_group_member(g, msg->member_id)
                                                          : NULL;
        if (m) {
            /* Held heartbeat (Strand extension): answered by the group or, after the wait,
             * with NONE by the park's expiry. */
            int32_t wait = msg->max_wait_ms < m->session_timeout_ms ? msg->max_wait_ms
                                                                     : m->session_timeout_ms;
            st_await_t *aw = st_await_park(req, wait, &resp.base, finish_heartbeat);
            if (aw) {
                st_group_heartbeat_hold(g, msg->generation_id, msg->member_id,
                                        msg->group_instance_id, wait, aw, st_coord_now());
                st_coord_release(c);
                return 0;
            }
        }
        code = g ? st_group_heartbeat(g, msg->generation_id, msg->member_id,
                                      msg->group_instance_id, st_coord_now())
                 : ST_ERR_UNKNOWN_MEMBER_ID;
        st_coord_release(c);
    }
    if (code != ST_ERR_NONE)
        resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s', member "
                                         "'%s', generation %" PRId32, group_of(msg->group_id),
                                         msg->member_id, msg->generation_id);
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- LeaveGroup (13) ------------------------------------------------------------------------- */

int st_handle_leave_group(st_request_t *req)
{
    Strand__LeaveGroupRequest *msg =
        strand__leave_group_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "LeaveGroupRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    st_coordinator_t *c = req->broker->groups;
    Strand__LeaveGroupResponse resp = STRAND__LEAVE_GROUP_RESPONSE__INIT;
    Strand__MemberResponse *ms = st_arena_calloc(req->arena, msg->n_members + 1, sizeof(*ms));
    Strand__MemberResponse **ptrs = st_arena_calloc(req->arena, msg->n_members + 1, sizeof(*ptrs));
    if (!ms || !ptrs)
        return st_reply_fatal(req->conn, req, "out of memory");
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, msg->group_id, false, &g, NULL)
                     : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code != ST_ERR_NONE) {
        resp.error_code = st_reply_error(req, code, &resp.error_message, "group '%s'",
                                         group_of(msg->group_id));
        return st_request_respond(req, &resp.base, NULL, 0);
    }
    int32_t *codes = st_arena_calloc(req->arena, msg->n_members + 1, sizeof(*codes));
    if (!codes) {
        st_coord_release(c);
        return st_reply_fatal(req->conn, req, "out of memory");
    }
    int64_t now = st_coord_now(), wall = st_coord_wall();
    for (size_t i = 0; i < msg->n_members; i++) {
        const Strand__MemberIdentity *mi = msg->members[i];
        codes[i] = g ? st_group_leave(g, mi->member_id, mi->group_instance_id, mi->reason, now,
                                      wall)
                     : ST_ERR_UNKNOWN_MEMBER_ID;
    }
    st_coord_release(c);
    for (size_t i = 0; i < msg->n_members; i++) {
        const Strand__MemberIdentity *mi = msg->members[i];
        strand__member_response__init(&ms[i]);
        ms[i].member_id = mi->member_id;
        ms[i].group_instance_id = mi->group_instance_id;
        ms[i].error_code = codes[i] == ST_ERR_NONE ? ST_ERR_NONE
                           : st_reply_error(req, codes[i], NULL, "group '%s': member '%s' "
                                            "(instance '%s') cannot leave", msg->group_id,
                                            mi->member_id, mi->group_instance_id);
        ptrs[i] = &ms[i];
    }
    resp.members = ptrs;
    resp.n_members = msg->n_members;
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- DescribeGroups (15) --------------------------------------------------------------------- */

static void describe_one(st_request_t *req, st_coordinator_t *c, const char *id,
                         Strand__DescribedGroup *out)
{
    strand__described_group__init(out);
    out->group_id = (char *)id;
    out->group_state = "Dead";
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, id, false, &g, NULL) : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code != ST_ERR_NONE) {
        out->error_code = st_reply_error(req, code, &out->error_message, "group '%s'", id);
        return;
    }
    if (!g) {                                   /* Kafka: an unknown group is Dead, no error */
        st_coord_release(c);
        return;
    }
    out->group_state = (char *)st_group_state_name(g->state);
    out->protocol_type = st_arena_strdup(req->arena, g->protocol_type ? g->protocol_type : "");
    /* Kafka's GroupMetadata.summary: only a Stable group reports its protocol and the members'
     * metadata and assignments; in any other state they are being replaced, so a describe shows
     * the members without them (summaryNoMetadata) rather than the previous generation's. */
    const bool stable = g->state == ST_GROUP_STABLE;
    out->protocol_data = st_arena_strdup(req->arena,
                                         stable && g->protocol_name ? g->protocol_name : "");
    size_t n = g->n_members;
    Strand__DescribedGroupMember *ms = st_arena_calloc(req->arena, n + 1, sizeof(*ms));
    Strand__DescribedGroupMember **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!ms || !ptrs) {
        st_coord_release(c);
        out->error_code = st_reply_error(req, ST_ERR_UNKNOWN_SERVER_ERROR, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const st_group_member_t *m = g->members[i];
        strand__described_group_member__init(&ms[i]);
        ms[i].member_id = st_arena_strdup(req->arena, m->member_id);
        ms[i].group_instance_id = st_arena_strdup(req->arena, m->instance_id ? m->instance_id : "");
        ms[i].client_id = st_arena_strdup(req->arena, m->client_id);
        ms[i].client_host = st_arena_strdup(req->arena, m->client_host);
        size_t len = 0;
        const uint8_t *md = stable ? st_group_member_metadata(g, m, &len) : NULL;
        if (len) {
            ms[i].member_metadata.data = st_arena_alloc(req->arena, len);
            if (ms[i].member_metadata.data) {
                memcpy(ms[i].member_metadata.data, md, len);
                ms[i].member_metadata.len = len;
            }
        }
        if (stable && m->assignment_len) {
            ms[i].member_assignment.data = st_arena_alloc(req->arena, m->assignment_len);
            if (ms[i].member_assignment.data) {
                memcpy(ms[i].member_assignment.data, m->assignment, m->assignment_len);
                ms[i].member_assignment.len = m->assignment_len;
            }
        }
        ptrs[i] = &ms[i];
    }
    out->members = ptrs;
    out->n_members = n;
    st_coord_release(c);
}

int st_handle_describe_groups(st_request_t *req)
{
    Strand__DescribeGroupsRequest *msg =
        strand__describe_groups_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "DescribeGroupsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    Strand__DescribeGroupsResponse resp = STRAND__DESCRIBE_GROUPS_RESPONSE__INIT;
    Strand__DescribedGroup *gs = st_arena_calloc(req->arena, msg->n_groups + 1, sizeof(*gs));
    Strand__DescribedGroup **ptrs = st_arena_calloc(req->arena, msg->n_groups + 1, sizeof(*ptrs));
    if (!gs || !ptrs)
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < msg->n_groups; i++) {
        describe_one(req, req->broker->groups, msg->groups[i], &gs[i]);
        ptrs[i] = &gs[i];
    }
    resp.groups = ptrs;
    resp.n_groups = msg->n_groups;
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- ListGroups (16) ------------------------------------------------------------------------- */

typedef struct list_ctx {
    st_request_t *req;
    const Strand__ListGroupsRequest *msg;
    Strand__ListedGroup **out;
    size_t n, cap;
    bool oom;
} list_ctx_t;

static void list_visit(void *arg, const st_group_t *g)
{
    list_ctx_t *l = arg;
    const char *state = st_group_state_name(g->state);
    if (l->msg->n_states_filter) {
        bool match = false;
        for (size_t i = 0; i < l->msg->n_states_filter; i++)
            match |= strcasecmp(l->msg->states_filter[i], state) == 0;
        if (!match)
            return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        Strand__ListedGroup **p = st_arena_calloc(l->req->arena, cap, sizeof(*p));
        if (!p) {
            l->oom = true;
            return;
        }
        if (l->n)
            memcpy(p, l->out, l->n * sizeof(*p));
        l->out = p;
        l->cap = cap;
    }
    Strand__ListedGroup *x = st_arena_calloc(l->req->arena, 1, sizeof(*x));
    if (!x) {
        l->oom = true;
        return;
    }
    strand__listed_group__init(x);
    x->group_id = st_arena_strdup(l->req->arena, g->id);
    x->protocol_type = st_arena_strdup(l->req->arena, g->protocol_type ? g->protocol_type : "");
    x->group_state = (char *)state;
    l->out[l->n++] = x;
}

int st_handle_list_groups(st_request_t *req)
{
    Strand__ListGroupsRequest *msg =
        strand__list_groups_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "ListGroupsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    for (size_t i = 0; i < msg->n_states_filter; i++)
        if (st_group_state_parse(msg->states_filter[i]) < 0) {
            Strand__ListGroupsResponse bad = STRAND__LIST_GROUPS_RESPONSE__INIT;
            bad.error_code = st_reply_error(req, ST_ERR_INVALID_REQUEST, NULL, "states_filter "
                                            "'%s' is not a group state (Empty, "
                                            "PreparingRebalance, CompletingRebalance, Stable, "
                                            "Dead)", msg->states_filter[i]);
            return st_request_respond(req, &bad.base, NULL, 0);
        }
    Strand__ListGroupsResponse resp = STRAND__LIST_GROUPS_RESPONSE__INIT;
    list_ctx_t l = { .req = req, .msg = msg };
    if (req->broker->groups) {
        int32_t code = st_coord_visit(req->broker->groups, list_visit, &l);
        if (code != ST_ERR_NONE)
            resp.error_code = st_reply_error(req, code, NULL, "some offsets partitions are "
                                             "still loading");
    }
    if (l.oom)
        return st_reply_fatal(req->conn, req, "out of memory");
    resp.groups = l.out;
    resp.n_groups = l.n;
    return st_request_respond(req, &resp.base, NULL, 0);
}

/* ---- DeleteGroups (42) ----------------------------------------------------------------------- */

static int32_t delete_one(st_request_t *req, st_coordinator_t *c, const char *id, char **ret_msg)
{
    st_group_t *g = NULL;
    int32_t code = c ? st_coord_acquire(c, id, false, &g, NULL) : ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (code != ST_ERR_NONE)
        return st_reply_error(req, code, ret_msg, "group '%s'", id);
    if (!g) {
        st_coord_release(c);
        return st_reply_error(req, ST_ERR_GROUP_ID_NOT_FOUND, ret_msg, "Group '%s' does not "
                              "exist", id);
    }
    if (g->state != ST_GROUP_EMPTY) {
        const char *state = st_group_state_name(g->state);
        size_t n = g->n_members;
        st_coord_release(c);
        return st_reply_error(req, ST_ERR_NON_EMPTY_GROUP, ret_msg, "Group '%s' is not empty "
                              "(state %s, %zu members)", id, state, n);
    }
    /* Tombstones for every offset, then for the group itself (Kafka's cleanupGroupMetadata). */
    size_t n = g->n_offsets;
    const char **topics = calloc(n + 1, sizeof(*topics));
    int32_t *parts = calloc(n + 1, sizeof(*parts));
    if (topics && parts) {
        for (size_t i = 0; i < n; i++) {
            topics[i] = g->offsets[i].topic;
            parts[i] = g->offsets[i].partition;
        }
        st_coord_tombstone_offsets(c, g, topics, parts, n);
    }
    free(topics);
    free(parts);
    st_group_shutdown(g, ST_ERR_COORDINATOR_NOT_AVAILABLE, st_coord_wall());
    st_coord_store_group(c, g);                   /* Dead: the group tombstone */
    st_coord_forget(c, g);
    st_coord_release(c);
    return ST_ERR_NONE;
}

int st_handle_delete_groups(st_request_t *req)
{
    Strand__DeleteGroupsRequest *msg =
        strand__delete_groups_request__unpack(&req->arena->pb, req->body_len, req->body);
    if (!msg)
        return st_reply_fatal(req->conn, req, "DeleteGroupsRequest body of %zu bytes does not "
                              "decode (invalid protobuf)", req->body_len);
    Strand__DeleteGroupsResponse resp = STRAND__DELETE_GROUPS_RESPONSE__INIT;
    size_t n = msg->n_groups_names;
    Strand__DeletableGroupResult *rs = st_arena_calloc(req->arena, n + 1, sizeof(*rs));
    Strand__DeletableGroupResult **ptrs = st_arena_calloc(req->arena, n + 1, sizeof(*ptrs));
    if (!rs || !ptrs)
        return st_reply_fatal(req->conn, req, "out of memory");
    for (size_t i = 0; i < n; i++) {
        strand__deletable_group_result__init(&rs[i]);
        rs[i].group_id = msg->groups_names[i];
        rs[i].error_code = delete_one(req, req->broker->groups, msg->groups_names[i],
                                      &rs[i].error_message);
        ptrs[i] = &rs[i];
    }
    resp.results = ptrs;
    resp.n_results = n;
    return st_request_respond(req, &resp.base, NULL, 0);
}
