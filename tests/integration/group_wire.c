/* Raw consumer-group membership for integration tests (see group_wire.h). */
#include "group_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_consumer_protocol.h"
#include "st_error.h"

#define GW_WAIT_MS 30000

static atomic_int next_corr = 1000000;

static int32_t corr_id(void)
{
    return atomic_fetch_add(&next_corr, 1);
}

static bool coordinator_error(int32_t err)
{
    return err == ST_ERR_COORDINATOR_NOT_AVAILABLE || err == ST_ERR_NOT_COORDINATOR ||
           err == ST_ERR_COORDINATOR_LOAD_IN_PROGRESS;
}

/* One request and its response on fd; NULL on a transport failure. */
static ProtobufCMessage *call(int fd, int32_t api, const ProtobufCMessage *body,
                              const ProtobufCMessageDescriptor *desc)
{
    int32_t c = corr_id();
    if (tw_send(fd, api, 0, c, body, NULL, 0) < 0)
        return NULL;
    return tw_recv_response(fd, c, desc, NULL, NULL);
}

int gw_find_coordinator(int any_port, const char *group, int timeout_ms, int32_t *ret_node,
                        int *ret_port)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int last = -ETIMEDOUT;
    while (st_test_now_ms() < deadline) {
        int fd = st_test_connect(any_port);
        if (fd >= 0) {
            Strand__FindCoordinatorRequest rq = STRAND__FIND_COORDINATOR_REQUEST__INIT;
            rq.key = (char *)group;
            Strand__FindCoordinatorResponse *r = (Strand__FindCoordinatorResponse *)
                call(fd, STRAND__API_KEY__FIND_COORDINATOR, &rq.base,
                     &strand__find_coordinator_response__descriptor);
            close(fd);
            if (r) {
                last = r->error_code;
                if (last == ST_ERR_NONE) {
                    *ret_node = r->node_id;
                    *ret_port = r->port;
                }
                protobuf_c_message_free_unpacked(&r->base, NULL);
                if (last == ST_ERR_NONE)
                    return 0;
            }
        } else {
            last = fd;
        }
        st_test_sleep_ms(100);
    }
    return last;
}

static int encode_subscription(const char *topic, st_buf_t *out)
{
    char *topics[1] = { (char *)topic };
    st_cp_subscription_t sub = { .version = 0, .topics = topics, .topic_cnt = 1,
                                 .user_data = ST_CP_BYTES_NULL,
                                 .generation_id = ST_CP_DEFAULT_GENERATION };
    char why[256];
    return st_cp_subscription_encode(&sub, 0, out, why, sizeof(why));
}

static int encode_assignment(const char *topic, const int32_t *parts, size_t n, st_buf_t *out)
{
    st_tp_t *tps = calloc(n + 1, sizeof(*tps));
    if (!tps)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        tps[i] = (st_tp_t){ (char *)topic, parts[i] };
    st_cp_assignment_t asg = { .version = 0, .partitions = { tps, n },
                               .user_data = ST_CP_BYTES_NULL };
    char why[256];
    int r = st_cp_assignment_encode(&asg, 0, out, why, sizeof(why));
    free(tps);
    return r;
}

/* Sends a JoinGroup (correlation id c). 0 or -errno. */
static int send_join(int fd, int32_t c, const char *group, const char *member,
                     const char *instance, const st_buf_t *md, int session_ms)
{
    Strand__JoinGroupRequest rq = STRAND__JOIN_GROUP_REQUEST__INIT;
    Strand__JoinGroupRequestProtocol p = STRAND__JOIN_GROUP_REQUEST_PROTOCOL__INIT;
    Strand__JoinGroupRequestProtocol *ps[1] = { &p };
    p.name = "range";
    p.metadata.data = md->data;
    p.metadata.len = md->len;
    rq.group_id = (char *)group;
    rq.session_timeout_ms = session_ms;
    rq.rebalance_timeout_ms = 10000;
    rq.member_id = (char *)member;
    rq.group_instance_id = (char *)instance;
    rq.protocol_type = "consumer";
    rq.protocols = ps;
    rq.n_protocols = 1;
    return tw_send(fd, STRAND__API_KEY__JOIN_GROUP, 0, c, &rq.base, NULL, 0);
}

static Strand__JoinGroupResponse *join(int fd, const char *group, const char *member,
                                       const char *instance, const st_buf_t *md, int session_ms)
{
    int32_t c = corr_id();
    if (send_join(fd, c, group, member, instance, md, session_ms) < 0)
        return NULL;
    return (Strand__JoinGroupResponse *)tw_recv_response(
        fd, c, &strand__join_group_response__descriptor, NULL, NULL);
}

static void *heartbeat_main(void *arg)
{
    gw_member_t *m = arg;
    while (!atomic_load(&m->hb_stop)) {
        Strand__HeartbeatRequest rq = STRAND__HEARTBEAT_REQUEST__INIT;
        rq.group_id = m->group;
        rq.generation_id = m->generation;
        rq.member_id = m->member_id;
        rq.group_instance_id = m->instance_id;
        Strand__HeartbeatResponse *r = (Strand__HeartbeatResponse *)
            call(m->hb_fd, STRAND__API_KEY__HEARTBEAT, &rq.base,
                 &strand__heartbeat_response__descriptor);
        if (r) {
            atomic_store(&m->hb_error, r->error_code);
            atomic_fetch_add(&m->hb_count, 1);
            protobuf_c_message_free_unpacked(&r->base, NULL);
        } else {
            atomic_store(&m->hb_error, -EPIPE);
        }
        for (int waited = 0; waited < m->hb_interval_ms && !atomic_load(&m->hb_stop); waited += 20)
            st_test_sleep_ms(20);
    }
    return NULL;
}

/* Join and sync once against the current coordinator; a coordinator-class error is returned for
 * the caller to retry. */
static int join_once(gw_member_t *m, const char *topic, const int32_t *partitions, size_t n,
                     int session_ms)
{
    st_buf_t md = ST_BUF_INIT, asg = ST_BUF_INIT;
    int err = encode_subscription(topic, &md);
    if (!err)
        err = encode_assignment(topic, partitions, n, &asg);
    m->fd = err ? -1 : st_test_connect(m->coord_port);
    if (!err && m->fd < 0)
        err = m->fd;
    Strand__JoinGroupResponse *j = NULL;
    if (!err) {
        j = join(m->fd, m->group, "", m->instance_id, &md, session_ms);
        err = j ? j->error_code : -EPIPE;
        if (err == ST_ERR_MEMBER_ID_REQUIRED) {
            snprintf(m->member_id, sizeof(m->member_id), "%s", j->member_id);
            protobuf_c_message_free_unpacked(&j->base, NULL);
            j = join(m->fd, m->group, m->member_id, m->instance_id, &md, session_ms);
            err = j ? j->error_code : -EPIPE;
        }
        if (!err)                            /* a static member is admitted at once */
            snprintf(m->member_id, sizeof(m->member_id), "%s", j->member_id);
    }
    if (!err && strcmp(j->leader, m->member_id) != 0)
        err = -EPROTO;                       /* another member leads: not a fresh group */
    if (!err) {
        m->generation = j->generation_id;
        Strand__SyncGroupRequest rq = STRAND__SYNC_GROUP_REQUEST__INIT;
        Strand__SyncGroupRequestAssignment a = STRAND__SYNC_GROUP_REQUEST_ASSIGNMENT__INIT;
        Strand__SyncGroupRequestAssignment *as[1] = { &a };
        a.member_id = m->member_id;
        a.assignment.data = asg.data;
        a.assignment.len = asg.len;
        rq.group_id = m->group;
        rq.generation_id = m->generation;
        rq.member_id = m->member_id;
        rq.group_instance_id = m->instance_id;
        rq.protocol_type = "consumer";
        rq.protocol_name = "range";
        rq.assignments = as;
        rq.n_assignments = 1;
        Strand__SyncGroupResponse *s = (Strand__SyncGroupResponse *)
            call(m->fd, STRAND__API_KEY__SYNC_GROUP, &rq.base,
                 &strand__sync_group_response__descriptor);
        err = s ? s->error_code : -EPIPE;
        if (s)
            protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    if (j)
        protobuf_c_message_free_unpacked(&j->base, NULL);
    st_buf_free(&md);
    st_buf_free(&asg);
    if (err && m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    return err;
}

int gw_join_alone(gw_member_t *m, int any_port, const char *group, const char *instance,
                  const char *topic, const int32_t *partitions, size_t n, int session_ms)
{
    memset(m, 0, sizeof(*m));
    m->fd = m->hb_fd = -1;
    snprintf(m->group, sizeof(m->group), "%s", group);
    snprintf(m->instance_id, sizeof(m->instance_id), "%s", instance ? instance : "");
    int64_t deadline = st_test_now_ms() + GW_WAIT_MS;
    int err;
    for (;;) {
        err = gw_find_coordinator(any_port, group, GW_WAIT_MS, &m->coord_node, &m->coord_port);
        if (!err)
            err = join_once(m, topic, partitions, n, session_ms);
        if (!coordinator_error(err) || st_test_now_ms() > deadline)
            break;
        st_test_sleep_ms(100);
    }
    if (err)
        return err;
    m->hb_fd = st_test_connect(m->coord_port);
    if (m->hb_fd < 0)
        return m->hb_fd;
    m->hb_interval_ms = session_ms / 4;
    if (pthread_create(&m->hb_thread, NULL, heartbeat_main, m) != 0)
        return -EAGAIN;
    m->hb_started = true;
    return 0;
}

int gw_join_begin(gw_member_t *m, int any_port, const char *group, const char *topic,
                  int session_ms)
{
    memset(m, 0, sizeof(*m));
    m->fd = m->hb_fd = -1;
    snprintf(m->group, sizeof(m->group), "%s", group);
    int err = gw_find_coordinator(any_port, group, GW_WAIT_MS, &m->coord_node, &m->coord_port);
    if (err)
        return err;
    st_buf_t md = ST_BUF_INIT;
    err = encode_subscription(topic, &md);
    m->fd = err ? -1 : st_test_connect(m->coord_port);
    if (!err && m->fd < 0)
        err = m->fd;
    if (!err) {
        Strand__JoinGroupResponse *j = join(m->fd, group, "", "", &md, session_ms);
        err = j ? j->error_code : -EPIPE;
        if (err == ST_ERR_MEMBER_ID_REQUIRED) {
            snprintf(m->member_id, sizeof(m->member_id), "%s", j->member_id);
            err = send_join(m->fd, corr_id(), group, m->member_id, "", &md, session_ms);
        } else if (!err) {
            err = -EPROTO;                   /* expected to be told to come back with an id */
        }
        if (j)
            protobuf_c_message_free_unpacked(&j->base, NULL);
    }
    st_buf_free(&md);
    return err;
}

static Strand__OffsetCommitResponse *commit_request(int fd, const char *group, int32_t gen,
                                                    const char *member, const char *topic,
                                                    const int32_t *partitions,
                                                    const int64_t *offsets, size_t n)
{
    Strand__OffsetCommitRequest rq = STRAND__OFFSET_COMMIT_REQUEST__INIT;
    Strand__OffsetCommitRequestTopic t = STRAND__OFFSET_COMMIT_REQUEST_TOPIC__INIT;
    Strand__OffsetCommitRequestTopic *ts[1] = { &t };
    Strand__OffsetCommitRequestPartition *ps = calloc(n + 1, sizeof(*ps));
    Strand__OffsetCommitRequestPartition **pp = calloc(n + 1, sizeof(*pp));
    if (!ps || !pp) {
        free(ps);
        free(pp);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        strand__offset_commit_request_partition__init(&ps[i]);
        ps[i].partition_index = partitions[i];
        ps[i].committed_offset = offsets[i];
        ps[i].committed_leader_epoch = -1;
        ps[i].committed_metadata = "";
        pp[i] = &ps[i];
    }
    t.name = (char *)topic;
    t.partitions = pp;
    t.n_partitions = n;
    rq.group_id = (char *)group;
    rq.generation_id = gen;
    rq.member_id = (char *)member;
    rq.group_instance_id = "";
    rq.topics = ts;
    rq.n_topics = 1;
    Strand__OffsetCommitResponse *r = (Strand__OffsetCommitResponse *)
        call(fd, STRAND__API_KEY__OFFSET_COMMIT, &rq.base,
             &strand__offset_commit_response__descriptor);
    free(ps);
    free(pp);
    return r;
}

/* The first partition error of a commit response (0 if none). */
static int commit_result(Strand__OffsetCommitResponse *r, size_t n)
{
    if (!r)
        return -EPIPE;
    int err = 0;
    size_t seen = 0;
    for (size_t t = 0; t < r->n_topics; t++)
        for (size_t p = 0; p < r->topics[t]->n_partitions; p++, seen++)
            if (!err)
                err = r->topics[t]->partitions[p]->error_code;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return err ? err : seen == n ? 0 : -EPROTO;
}

int gw_commit(gw_member_t *m, const char *topic, const int32_t *partitions,
              const int64_t *offsets, size_t n)
{
    return commit_result(commit_request(m->fd, m->group, m->generation, m->member_id, topic,
                                        partitions, offsets, n), n);
}

int gw_commit_offsets(int any_port, const char *group, const char *topic,
                      const int32_t *partitions, const int64_t *offsets, size_t n)
{
    int64_t deadline = st_test_now_ms() + GW_WAIT_MS;
    int err;
    for (;;) {
        int32_t node;
        int port;
        err = gw_find_coordinator(any_port, group, GW_WAIT_MS, &node, &port);
        if (!err) {
            int fd = st_test_connect(port);
            err = fd < 0 ? fd
                         : commit_result(commit_request(fd, group, -1, "", topic, partitions,
                                                        offsets, n), n);
            if (fd >= 0)
                close(fd);
        }
        if (!coordinator_error(err) || st_test_now_ms() > deadline)
            return err;
        st_test_sleep_ms(100);
    }
}

int gw_leave(gw_member_t *m, bool leave)
{
    if (m->hb_started) {
        atomic_store(&m->hb_stop, true);
        pthread_join(m->hb_thread, NULL);
        m->hb_started = false;
    }
    if (m->hb_fd >= 0)
        close(m->hb_fd);
    m->hb_fd = -1;
    int err = 0;
    if (leave && m->fd >= 0) {
        Strand__LeaveGroupRequest rq = STRAND__LEAVE_GROUP_REQUEST__INIT;
        Strand__MemberIdentity mi = STRAND__MEMBER_IDENTITY__INIT;
        Strand__MemberIdentity *mis[1] = { &mi };
        mi.member_id = m->member_id;
        mi.group_instance_id = m->instance_id;
        mi.reason = "the test leaves";
        rq.group_id = m->group;
        rq.members = mis;
        rq.n_members = 1;
        Strand__LeaveGroupResponse *r = (Strand__LeaveGroupResponse *)
            call(m->fd, STRAND__API_KEY__LEAVE_GROUP, &rq.base,
                 &strand__leave_group_response__descriptor);
        err = r ? r->error_code : -EPIPE;
        if (r && !err && r->n_members == 1)
            err = r->members[0]->error_code;
        if (r)
            protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    return err;
}
