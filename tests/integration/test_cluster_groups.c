/* The group coordinator on a live 3-broker cluster (real ZooKeeper, real brokers), driven with
 * raw requests (one connection per member: a parked JoinGroup holds its connection):
 *  - FindCoordinator creates __consumer_offsets (compacted, RF 3) and, once it has leaders,
 *    names the leader of partition abs(hashCode(group)) % offsets.topic.num.partitions;
 *  - two members join (MEMBER_ID_REQUIRED first) and sync: the leader's assignments are
 *    delivered; a heartbeat of an old generation is fenced (ILLEGAL_GENERATION);
 *  - LeaveGroup rebalances at once: the other member's next heartbeat says
 *    REBALANCE_IN_PROGRESS and its rejoin completes the rebalance right away;
 *  - a member that stops heartbeating is expired after its session timeout;
 *  - commit + fetch; SIGKILL of the coordinator: FindCoordinator moves, the new coordinator
 *    answers COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR until it has loaded, and the
 *    offsets are intact; strand-dump-log --offsets-decoder prints the records;
 *  - DeleteGroups (refused while members remain) writes tombstones;
 *  - a static member rejoining with its group.instance.id keeps its generation and assignment
 *    without a rebalance; its old member id is fenced (FENCED_INSTANCE_ID). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker_wire.h"
#include "cluster_harness.h"
#include "group_codec.h"
#include "st_error.h"
#include "test_util.h"

#define N_OFFSETS_PARTS 10
#define SESSION_MS 3000

static st_test_cluster_t cluster;
static int32_t corr = 1;

static void start(void)
{
    const char *ov[] = {
        "offsets.topic.num.partitions=10", "group.initial.rebalance.delay.ms=200",
        "group.min.session.timeout.ms=500", "auto.leader.rebalance.enable=false", NULL,
    };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

TestSuite(cluster_groups, .init = start, .fini = teardown, .timeout = 240);

/* A ConsumerProtocolSubscription v0 for topic "t" (the broker only reads its topics). */
static uint8_t sub_t[] = { 0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff };

static int port_of(int id)
{
    return st_test_cluster_broker(&cluster, id)->port;
}

static int connect_to(int id)
{
    int fd = st_test_connect(port_of(id));
    cr_assert_geq(fd, 0, "connect to broker %d", id);
    return fd;
}

/* ---- raw requests ----------------------------------------------------------------------------- */

static ProtobufCMessage *call(int fd, int32_t api, const ProtobufCMessage *body,
                              const ProtobufCMessageDescriptor *desc)
{
    int32_t c = corr++;
    if (tw_send(fd, api, 0, c, body, NULL, 0) < 0)
        return NULL;
    return tw_recv_response(fd, c, desc, NULL, NULL);
}

static int32_t find_coordinator(int via, const char *group, int32_t *ret_node)
{
    int fd = connect_to(via);
    Strand__FindCoordinatorRequest rq = STRAND__FIND_COORDINATOR_REQUEST__INIT;
    rq.key = (char *)group;
    Strand__FindCoordinatorResponse *r = (Strand__FindCoordinatorResponse *)
        call(fd, STRAND__API_KEY__FIND_COORDINATOR, &rq.base,
             &strand__find_coordinator_response__descriptor);
    close(fd);
    cr_assert_not_null(r, "FindCoordinator via broker %d", via);
    int32_t err = r->error_code;
    *ret_node = r->node_id;
    if (err == ST_ERR_NONE)
        cr_expect_eq(r->port, port_of(r->node_id), "the coordinator's port");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return err;
}

/* Polls FindCoordinator (on any live broker) until it names a live broker other than not_id. */
static int32_t wait_coordinator(const char *group, int not_id)
{
    int64_t deadline = st_test_now_ms() + 60000;
    while (st_test_now_ms() < deadline) {
        for (int id = 1; id <= 3; id++) {
            if (st_test_cluster_broker(&cluster, id)->pid == 0)
                continue;
            int32_t node = -1;
            int32_t err = find_coordinator(id, group, &node);
            if (err == ST_ERR_NONE && node != not_id &&
                st_test_cluster_broker(&cluster, node)->pid != 0)
                return node;
            cr_assert(err == ST_ERR_NONE || err == ST_ERR_COORDINATOR_NOT_AVAILABLE,
                      "FindCoordinator error %s", st_error_name(err));
            break;
        }
        st_test_sleep_ms(100);
    }
    cr_assert_fail("no coordinator for group %s", group);
    return -1;
}

static void send_join(int fd, int32_t c, const char *group, const char *member,
                      const char *instance, const uint8_t *md, size_t md_len)
{
    Strand__JoinGroupRequest rq = STRAND__JOIN_GROUP_REQUEST__INIT;
    Strand__JoinGroupRequestProtocol p = STRAND__JOIN_GROUP_REQUEST_PROTOCOL__INIT;
    Strand__JoinGroupRequestProtocol *ps[1] = { &p };
    p.name = "range";
    p.metadata.data = (uint8_t *)md;
    p.metadata.len = md_len;
    rq.group_id = (char *)group;
    rq.session_timeout_ms = SESSION_MS;
    rq.rebalance_timeout_ms = 10000;
    rq.member_id = (char *)member;
    rq.group_instance_id = (char *)(instance ? instance : "");
    rq.protocol_type = "consumer";
    rq.protocols = ps;
    rq.n_protocols = 1;
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__JOIN_GROUP, 0, c, &rq.base, NULL, 0), 0);
}

static Strand__JoinGroupResponse *recv_join(int fd, int32_t c)
{
    Strand__JoinGroupResponse *r = (Strand__JoinGroupResponse *)
        tw_recv_response(fd, c, &strand__join_group_response__descriptor, NULL, NULL);
    cr_assert_not_null(r, "JoinGroup response");
    return r;
}

/* The first join of a dynamic member: MEMBER_ID_REQUIRED with its id; then the real join is
 * sent (its answer read later with recv_join). Returns the correlation id; id in ret_id. */
static int32_t join_dynamic(int fd, const char *group, char *ret_id, size_t id_len)
{
    int32_t c = corr++;
    send_join(fd, c, group, "", NULL, sub_t, sizeof(sub_t));
    Strand__JoinGroupResponse *r = recv_join(fd, c);
    cr_assert_eq(r->error_code, ST_ERR_MEMBER_ID_REQUIRED, "first join: %s",
                 st_error_name(r->error_code));
    cr_assert_gt(strlen(r->member_id), 0);
    snprintf(ret_id, id_len, "%s", r->member_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    c = corr++;
    send_join(fd, c, group, ret_id, NULL, sub_t, sizeof(sub_t));
    return c;
}

static void send_sync(int fd, int32_t c, const char *group, int32_t gen, const char *member,
                      const char *instance, const char *const *ids, const char *const *asg,
                      size_t n)
{
    Strand__SyncGroupRequest rq = STRAND__SYNC_GROUP_REQUEST__INIT;
    Strand__SyncGroupRequestAssignment as[4];
    Strand__SyncGroupRequestAssignment *ptrs[4];
    for (size_t i = 0; i < n; i++) {
        strand__sync_group_request_assignment__init(&as[i]);
        as[i].member_id = (char *)ids[i];
        as[i].assignment.data = (uint8_t *)asg[i];
        as[i].assignment.len = strlen(asg[i]);
        ptrs[i] = &as[i];
    }
    rq.group_id = (char *)group;
    rq.generation_id = gen;
    rq.member_id = (char *)member;
    rq.group_instance_id = (char *)(instance ? instance : "");
    rq.protocol_type = "consumer";
    rq.protocol_name = "range";
    rq.assignments = ptrs;
    rq.n_assignments = n;
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__SYNC_GROUP, 0, c, &rq.base, NULL, 0), 0);
}

static Strand__SyncGroupResponse *recv_sync(int fd, int32_t c)
{
    Strand__SyncGroupResponse *r = (Strand__SyncGroupResponse *)
        tw_recv_response(fd, c, &strand__sync_group_response__descriptor, NULL, NULL);
    cr_assert_not_null(r, "SyncGroup response");
    return r;
}

static int32_t heartbeat(int fd, const char *group, int32_t gen, const char *member,
                         const char *instance)
{
    Strand__HeartbeatRequest rq = STRAND__HEARTBEAT_REQUEST__INIT;
    rq.group_id = (char *)group;
    rq.generation_id = gen;
    rq.member_id = (char *)member;
    rq.group_instance_id = (char *)(instance ? instance : "");
    Strand__HeartbeatResponse *r = (Strand__HeartbeatResponse *)
        call(fd, STRAND__API_KEY__HEARTBEAT, &rq.base, &strand__heartbeat_response__descriptor);
    cr_assert_not_null(r);
    int32_t err = r->error_code;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return err;
}

static int32_t leave(int fd, const char *group, const char *member)
{
    Strand__LeaveGroupRequest rq = STRAND__LEAVE_GROUP_REQUEST__INIT;
    Strand__MemberIdentity mi = STRAND__MEMBER_IDENTITY__INIT;
    Strand__MemberIdentity *mis[1] = { &mi };
    mi.member_id = (char *)member;
    mi.reason = "the test closes the consumer";
    rq.group_id = (char *)group;
    rq.members = mis;
    rq.n_members = 1;
    Strand__LeaveGroupResponse *r = (Strand__LeaveGroupResponse *)
        call(fd, STRAND__API_KEY__LEAVE_GROUP, &rq.base, &strand__leave_group_response__descriptor);
    cr_assert_not_null(r);
    int32_t err = r->error_code;
    if (err == ST_ERR_NONE) {
        cr_assert_eq(r->n_members, 1);
        err = r->members[0]->error_code;
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return err;
}

static int32_t commit(int fd, const char *group, int32_t gen, const char *member,
                      const char *topic, int32_t partition, int64_t offset, const char *md)
{
    Strand__OffsetCommitRequest rq = STRAND__OFFSET_COMMIT_REQUEST__INIT;
    Strand__OffsetCommitRequestTopic t = STRAND__OFFSET_COMMIT_REQUEST_TOPIC__INIT;
    Strand__OffsetCommitRequestPartition p = STRAND__OFFSET_COMMIT_REQUEST_PARTITION__INIT;
    Strand__OffsetCommitRequestTopic *ts[1] = { &t };
    Strand__OffsetCommitRequestPartition *ps[1] = { &p };
    p.partition_index = partition;
    p.committed_offset = offset;
    p.committed_leader_epoch = -1;
    p.committed_metadata = (char *)md;
    t.name = (char *)topic;
    t.partitions = ps;
    t.n_partitions = 1;
    rq.group_id = (char *)group;
    rq.generation_id = gen;
    rq.member_id = (char *)member;
    rq.group_instance_id = "";
    rq.topics = ts;
    rq.n_topics = 1;
    Strand__OffsetCommitResponse *r = (Strand__OffsetCommitResponse *)
        call(fd, STRAND__API_KEY__OFFSET_COMMIT, &rq.base,
             &strand__offset_commit_response__descriptor);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_topics, 1);
    cr_assert_eq(r->topics[0]->n_partitions, 1);
    int32_t err = r->topics[0]->partitions[0]->error_code;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return err;
}

/* The committed offset (-1 none); *ret_err the whole-request error. */
static int64_t fetch_offset(int fd, const char *group, const char *topic, int32_t partition,
                            int32_t *ret_err, char *ret_md, size_t md_len)
{
    Strand__OffsetFetchRequest rq = STRAND__OFFSET_FETCH_REQUEST__INIT;
    Strand__OffsetFetchRequestTopic t = STRAND__OFFSET_FETCH_REQUEST_TOPIC__INIT;
    Strand__OffsetFetchRequestTopic *ts[1] = { &t };
    t.name = (char *)topic;
    t.partition_indexes = &partition;
    t.n_partition_indexes = 1;
    rq.group_id = (char *)group;
    rq.topics = ts;
    rq.n_topics = 1;
    Strand__OffsetFetchResponse *r = (Strand__OffsetFetchResponse *)
        call(fd, STRAND__API_KEY__OFFSET_FETCH, &rq.base,
             &strand__offset_fetch_response__descriptor);
    cr_assert_not_null(r);
    *ret_err = r->error_code;
    int64_t off = -2;
    if (r->error_code == ST_ERR_NONE) {
        cr_assert_eq(r->n_topics, 1);
        cr_assert_eq(r->topics[0]->n_partitions, 1);
        off = r->topics[0]->partitions[0]->committed_offset;
        if (ret_md)
            snprintf(ret_md, md_len, "%s", r->topics[0]->partitions[0]->metadata);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return off;
}

static Strand__DescribedGroup *describe(int fd, const char *group)
{
    Strand__DescribeGroupsRequest rq = STRAND__DESCRIBE_GROUPS_REQUEST__INIT;
    char *gs[1] = { (char *)group };
    rq.groups = gs;
    rq.n_groups = 1;
    Strand__DescribeGroupsResponse *r = (Strand__DescribeGroupsResponse *)
        call(fd, STRAND__API_KEY__DESCRIBE_GROUPS, &rq.base,
             &strand__describe_groups_response__descriptor);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_groups, 1);
    Strand__DescribedGroup *g = r->groups[0];
    r->groups[0] = NULL;
    r->n_groups = 0;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return g;
}

static void free_described(Strand__DescribedGroup *g)
{
    protobuf_c_message_free_unpacked(&g->base, NULL);
}

/* The coordinator of the group once it has loaded its partition (DescribeGroups stops answering
 * COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR), as a client retries. */
static int wait_ready(const char *group)
{
    int64_t deadline = st_test_now_ms() + 60000;
    while (st_test_now_ms() < deadline) {
        int coord = wait_coordinator(group, -1);
        int fd = connect_to(coord);
        Strand__DescribedGroup *d = describe(fd, group);
        int32_t err = d->error_code;
        free_described(d);
        close(fd);
        if (err == ST_ERR_NONE)
            return coord;
        cr_assert(err == ST_ERR_COORDINATOR_LOAD_IN_PROGRESS || err == ST_ERR_NOT_COORDINATOR,
                  "DescribeGroups: %s", st_error_name(err));
        st_test_sleep_ms(50);
    }
    cr_assert_fail("group %s: the coordinator never finished loading", group);
    return -1;
}

/* ---- the tests ------------------------------------------------------------------------------- */

Test(cluster_groups, find_coordinator_creates_offsets_topic)
{
    const char *group = "my-group";
    int32_t node = -1;
    int32_t err = find_coordinator(1, group, &node);
    cr_expect(err == ST_ERR_COORDINATOR_NOT_AVAILABLE || err == ST_ERR_NONE,
              "the first FindCoordinator: %s", st_error_name(err));
    node = wait_coordinator(group, -1);
    int32_t part = st_group_partition_for(group, N_OFFSETS_PARTS);
    cr_expect_eq(part, 2, "abs(-1906497762) %% 10");
    int leader = -1, epoch = -1, isr[8], n_isr = 8;
    cr_assert_eq(st_test_cluster_partition(&cluster, "__consumer_offsets", part, &leader, &epoch,
                                           isr, &n_isr), 0);
    cr_expect_eq(node, leader, "the coordinator is the leader of __consumer_offsets-%d", part);
    cr_expect_eq(n_isr, 3, "replication factor 3 (offsets.topic.replication.factor)");
    /* Compacted, with offsets.topic.segment.bytes. */
    int fd = connect_to(1);
    Strand__MetadataResponse *md = tw_metadata(fd, corr++, "__consumer_offsets", false);
    cr_assert_not_null(md);
    cr_assert_eq(md->n_topics, 1);
    cr_expect(md->topics[0]->is_internal);
    cr_expect_eq(md->topics[0]->n_partitions, N_OFFSETS_PARTS);
    protobuf_c_message_free_unpacked(&md->base, NULL);
    close(fd);
    char *out = NULL;
    const char *argv[] = { "strand-topics", "@ZK", "--describe", "--topic", "__consumer_offsets",
                           NULL };
    st_test_cluster_tool(&cluster, argv, &out, NULL, 30000);
    cr_assert_not_null(out);
    cr_expect(strstr(out, "cleanup.policy=compact") != NULL, "%s", out);
    cr_expect(strstr(out, "segment.bytes=104857600") != NULL, "%s", out);
    free(out);
    /* Another group maps to another partition: its coordinator is that partition's leader. */
    node = wait_coordinator("group1", -1);
    cr_assert_eq(st_test_cluster_partition(&cluster, "__consumer_offsets",
                                           st_group_partition_for("group1", N_OFFSETS_PARTS),
                                           &leader, &epoch, isr, &n_isr), 0);
    cr_expect_eq(node, leader);
}

/* Joins two members to a fresh group and syncs them: a (fd *fa) is the leader, b (*fb) the other
 * member (swapped when b's join got there first). */
static void two_members(const char *group, int coord, int *fa, int *fb, char *a, char *b,
                        int32_t *ret_gen)
{
    *fa = connect_to(coord);
    *fb = connect_to(coord);
    int32_t ca = join_dynamic(*fa, group, a, 200);
    int32_t cb = join_dynamic(*fb, group, b, 200);
    Strand__JoinGroupResponse *ja = recv_join(*fa, ca);
    Strand__JoinGroupResponse *jb = recv_join(*fb, cb);
    cr_assert_eq(ja->error_code, ST_ERR_NONE, "%s", st_error_name(ja->error_code));
    cr_assert_eq(jb->error_code, ST_ERR_NONE, "%s", st_error_name(jb->error_code));
    cr_assert_eq(ja->generation_id, jb->generation_id);
    cr_expect_str_eq(ja->protocol_name, "range");
    cr_assert_str_eq(ja->leader, jb->leader);
    if (strcmp(ja->leader, b) == 0) {
        /* b's join reached the coordinator first (the joins race): b leads. Swap the roles so
         * that a is the leader below, as a client would read it from the answer. */
        char tmp[200];
        snprintf(tmp, sizeof(tmp), "%s", a);
        snprintf(a, 200, "%s", b);
        snprintf(b, 200, "%s", tmp);
        int tfd = *fa;
        *fa = *fb;
        *fb = tfd;
        Strand__JoinGroupResponse *tj = ja;
        ja = jb;
        jb = tj;
    }
    cr_expect_str_eq(ja->leader, a, "the leader is a member");
    cr_expect_eq(ja->n_members, 2, "the leader gets every member's metadata");
    cr_expect_eq(jb->n_members, 0);
    for (size_t i = 0; i < ja->n_members; i++) {
        cr_expect_eq(ja->members[i]->metadata.len, sizeof(sub_t));
        cr_expect_eq(memcmp(ja->members[i]->metadata.data, sub_t, sizeof(sub_t)), 0);
    }
    int32_t gen = ja->generation_id;
    protobuf_c_message_free_unpacked(&ja->base, NULL);
    protobuf_c_message_free_unpacked(&jb->base, NULL);
    /* b syncs first (parked), then the leader with the assignments. */
    int32_t sb = corr++;
    send_sync(*fb, sb, group, gen, b, NULL, NULL, NULL, 0);
    const char *ids[2] = { a, b };
    const char *asg[2] = { "assignment-of-a", "assignment-of-b" };
    int32_t sa = corr++;
    send_sync(*fa, sa, group, gen, a, NULL, ids, asg, 2);
    Strand__SyncGroupResponse *ra = recv_sync(*fa, sa);
    Strand__SyncGroupResponse *rb = recv_sync(*fb, sb);
    cr_assert_eq(ra->error_code, ST_ERR_NONE, "%s", st_error_name(ra->error_code));
    cr_assert_eq(rb->error_code, ST_ERR_NONE, "%s", st_error_name(rb->error_code));
    cr_assert_eq(ra->assignment.len, strlen(asg[0]));
    cr_expect_eq(memcmp(ra->assignment.data, asg[0], strlen(asg[0])), 0);
    cr_assert_eq(rb->assignment.len, strlen(asg[1]));
    cr_expect_eq(memcmp(rb->assignment.data, asg[1], strlen(asg[1])), 0);
    protobuf_c_message_free_unpacked(&ra->base, NULL);
    protobuf_c_message_free_unpacked(&rb->base, NULL);
    *ret_gen = gen;
}

Test(cluster_groups, join_sync_heartbeat_leave)
{
    const char *group = "test-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    cr_expect_eq(heartbeat(fa, group, gen, a, NULL), ST_ERR_NONE);
    cr_expect_eq(heartbeat(fb, group, gen - 1, b, NULL), ST_ERR_ILLEGAL_GENERATION,
                 "a heartbeat of an old generation is fenced");
    cr_expect_eq(heartbeat(fb, group, gen, "not-a-member", NULL), ST_ERR_UNKNOWN_MEMBER_ID);
    Strand__DescribedGroup *d = describe(fa, group);
    cr_expect_str_eq(d->group_state, "Stable");
    cr_expect_str_eq(d->protocol_type, "consumer");
    cr_expect_str_eq(d->protocol_data, "range");
    cr_expect_eq(d->n_members, 2);
    cr_expect_str_eq(d->members[0]->client_host, "/127.0.0.1");
    free_described(d);

    /* a leaves: the rebalance starts at once; b's next heartbeat tells it. */
    cr_expect_eq(leave(fa, group, a), ST_ERR_NONE);
    cr_expect_eq(heartbeat(fb, group, gen, b, NULL), ST_ERR_REBALANCE_IN_PROGRESS);
    int32_t c = corr++;
    send_join(fb, c, group, b, NULL, sub_t, sizeof(sub_t));
    Strand__JoinGroupResponse *j = recv_join(fb, c);
    cr_expect_eq(j->error_code, ST_ERR_NONE);
    cr_expect_eq(j->generation_id, gen + 1);
    cr_expect_str_eq(j->leader, b);
    cr_expect_eq(j->n_members, 1);
    protobuf_c_message_free_unpacked(&j->base, NULL);
    cr_expect_eq(heartbeat(fa, group, gen, a, NULL), ST_ERR_UNKNOWN_MEMBER_ID,
                 "the member that left is gone");
    close(fa);
    close(fb);
}

Test(cluster_groups, session_timeout_expires_member)
{
    const char *group = "expiring-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    /* b heartbeats every 500 ms, a never again: after a's 3 s session b learns of the
     * rebalance. */
    int64_t t0 = st_test_now_ms();
    int32_t err = ST_ERR_NONE;
    while (err == ST_ERR_NONE && st_test_now_ms() - t0 < 20000) {
        st_test_sleep_ms(500);
        err = heartbeat(fb, group, gen, b, NULL);
    }
    int64_t waited = st_test_now_ms() - t0;
    cr_expect_eq(err, ST_ERR_REBALANCE_IN_PROGRESS, "%s", st_error_name(err));
    cr_expect_geq(waited, SESSION_MS - 600, "not before the session timeout (%lld ms)",
                  (long long)waited);
    int32_t c = corr++;
    send_join(fb, c, group, b, NULL, sub_t, sizeof(sub_t));
    Strand__JoinGroupResponse *j = recv_join(fb, c);
    cr_expect_eq(j->error_code, ST_ERR_NONE);
    cr_expect_eq(j->n_members, 1, "a was removed");
    protobuf_c_message_free_unpacked(&j->base, NULL);
    cr_expect_eq(heartbeat(fa, group, gen, a, NULL), ST_ERR_UNKNOWN_MEMBER_ID);
    close(fa);
    close(fb);
}

/* FindCoordinator, then OffsetFetch there, retrying through LOAD_IN_PROGRESS / NOT_COORDINATOR
 * (as a client does). Counts the retriable answers in *ret_retries. */
static int64_t fetch_retrying(const char *group, const char *topic, int32_t p, int not_id,
                              int *ret_coord, int *ret_retries, char *md, size_t md_len)
{
    int64_t deadline = st_test_now_ms() + 60000;
    while (st_test_now_ms() < deadline) {
        int coord = wait_coordinator(group, not_id);
        int fd = connect_to(coord);
        int32_t err;
        int64_t off = fetch_offset(fd, group, topic, p, &err, md, md_len);
        close(fd);
        if (err == ST_ERR_NONE) {
            *ret_coord = coord;
            return off;
        }
        cr_assert(err == ST_ERR_COORDINATOR_LOAD_IN_PROGRESS || err == ST_ERR_NOT_COORDINATOR,
                  "OffsetFetch: %s", st_error_name(err));
        (*ret_retries)++;
        st_test_sleep_ms(50);
    }
    cr_assert_fail("OffsetFetch never succeeded");
    return -1;
}

static char *dump_offsets_partition(int broker, int part)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/logs/__consumer_offsets-%d/00000000000000000000.log",
             st_test_cluster_broker(&cluster, broker)->dir, part);
    const char *argv[] = { "strand-dump-log", "--offsets-decoder", "--files", path, NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_run_tool(argv, NULL, &out, &err, 20000);
    cr_expect_eq(rc, 0, "strand-dump-log: %s", err ? err : "");
    free(err);
    return out;
}

Test(cluster_groups, commit_fetch_and_coordinator_failover)
{
    const char *group = "group1";
    int coord = wait_ready(group);
    int fd = connect_to(coord);
    /* A commit outside membership (generation -1), then a member's commit. */
    cr_expect_eq(commit(fd, group, -1, "", "orders", 0, 42, "first"), ST_ERR_NONE);
    int32_t err;
    char md[64];
    cr_expect_eq(fetch_offset(fd, group, "orders", 0, &err, md, sizeof(md)), 42);
    cr_expect_str_eq(md, "first");
    cr_expect_eq(fetch_offset(fd, group, "orders", 1, &err, NULL, 0), -1, "nothing committed");
    cr_expect_eq(commit(fd, group, -1, "", "orders", 0, 57, ""), ST_ERR_NONE);
    cr_expect_eq(commit(fd, group, -1, "", "orders", 1, 7, "p1"), ST_ERR_NONE);
    cr_expect_eq(commit(fd, group, 3, "ghost", "orders", 0, 99, ""), ST_ERR_UNKNOWN_MEMBER_ID,
                 "a generation >= 0 from a non-member is refused");
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_expect_eq(commit(fd, group, -1, "", "orders", 0, 99, big), ST_ERR_OFFSET_METADATA_TOO_LARGE);
    cr_expect_eq(fetch_offset(fd, group, "orders", 0, &err, NULL, 0), 57);
    close(fd);
    /* A broker that is not the coordinator says so. */
    int other = coord % 3 + 1;
    fd = connect_to(other);
    fetch_offset(fd, group, "orders", 0, &err, NULL, 0);
    cr_expect_eq(err, ST_ERR_NOT_COORDINATOR);
    close(fd);

    /* The records, as Kafka's DumpLogSegments --offsets-decoder prints them. */
    int part = st_group_partition_for(group, N_OFFSETS_PARTS);
    char *dump = dump_offsets_partition(coord, part);
    cr_assert_not_null(dump);
    cr_expect(strstr(dump, "key: offset_commit::group=group1,partition=orders-0 payload: "
                           "offset=42,metadata=first") != NULL, "%s", dump);
    cr_expect(strstr(dump, "key: offset_commit::group=group1,partition=orders-0 payload: "
                           "offset=57\n") != NULL, "%s", dump);
    free(dump);

    /* SIGKILL the coordinator: the group moves with its offsets partition's leadership. */
    st_test_broker_stop(st_test_cluster_broker(&cluster, coord), SIGKILL);
    cr_assert_eq(st_test_cluster_broker(&cluster, coord)->pid, 0);
    int retries = 0, new_coord = -1;
    char md2[64] = "";
    int64_t off = fetch_retrying(group, "orders", 1, coord, &new_coord, &retries, md2, sizeof(md2));
    printf("coordinator moved from broker %d to %d; %d retriable answers before the offsets "
           "were served\n", coord, new_coord, retries);
    cr_expect_neq(new_coord, coord);
    cr_expect_eq(off, 7, "offsets intact after the reload");
    cr_expect_str_eq(md2, "p1");
    fd = connect_to(new_coord);
    cr_expect_eq(fetch_offset(fd, group, "orders", 0, &err, NULL, 0), 57);
    /* Commits go on at the new coordinator (2 replicas left in the ISR). */
    cr_expect_eq(commit(fd, group, -1, "", "orders", 0, 80, ""), ST_ERR_NONE);
    cr_expect_eq(fetch_offset(fd, group, "orders", 0, &err, NULL, 0), 80);
    close(fd);
}

Test(cluster_groups, delete_groups_writes_tombstones)
{
    const char *group = "doomed-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    cr_expect_eq(commit(fa, group, gen, a, "t", 0, 11, ""), ST_ERR_NONE);
    int fd = connect_to(coord);
    Strand__DeleteGroupsRequest rq = STRAND__DELETE_GROUPS_REQUEST__INIT;
    char *names[2] = { (char *)group, "no-such-group" };
    rq.groups_names = names;
    rq.n_groups_names = 2;
    Strand__DeleteGroupsResponse *r = (Strand__DeleteGroupsResponse *)
        call(fd, STRAND__API_KEY__DELETE_GROUPS, &rq.base,
             &strand__delete_groups_response__descriptor);
    cr_assert_not_null(r);
    cr_assert_eq(r->n_results, 2);
    cr_expect_eq(r->results[0]->error_code, ST_ERR_NON_EMPTY_GROUP, "%s",
                 st_error_name(r->results[0]->error_code));
    cr_expect_eq(r->results[1]->error_code, ST_ERR_GROUP_ID_NOT_FOUND);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cr_expect_eq(leave(fa, group, a), ST_ERR_NONE);
    cr_expect_eq(leave(fb, group, b), ST_ERR_NONE);
    Strand__DescribedGroup *d = describe(fd, group);
    cr_expect_str_eq(d->group_state, "Empty");
    free_described(d);
    rq.n_groups_names = 1;
    r = (Strand__DeleteGroupsResponse *)call(fd, STRAND__API_KEY__DELETE_GROUPS, &rq.base,
                                             &strand__delete_groups_response__descriptor);
    cr_assert_not_null(r);
    cr_expect_eq(r->results[0]->error_code, ST_ERR_NONE, "%s",
                 st_error_name(r->results[0]->error_code));
    protobuf_c_message_free_unpacked(&r->base, NULL);
    int32_t err;
    cr_expect_eq(fetch_offset(fd, group, "t", 0, &err, NULL, 0), -1, "the offsets are gone");
    d = describe(fd, group);
    cr_expect_str_eq(d->group_state, "Dead");
    free_described(d);
    close(fd);
    close(fa);
    close(fb);
    char *dump = dump_offsets_partition(coord, st_group_partition_for(group, N_OFFSETS_PARTS));
    cr_assert_not_null(dump);
    cr_expect(strstr(dump, "key: offset_commit::group=doomed-group,partition=t-0 payload: "
                           "<DELETE>") != NULL, "%s", dump);
    cr_expect(strstr(dump, "key: group_metadata::group=doomed-group payload: <DELETE>") != NULL,
              "%s", dump);
    cr_expect(strstr(dump, "key: group_metadata::group=doomed-group payload: {\"protocolType\":"
                           "\"consumer\",\"protocol\":\"range\",\"generationId\":1,") != NULL,
              "%s", dump);
    free(dump);
}

Test(cluster_groups, static_member_rejoins_without_rebalance)
{
    const char *group = "static-group";
    int coord = wait_ready(group);
    int fd = connect_to(coord);
    int32_t c = corr++;
    send_join(fd, c, group, "", "instance-1", sub_t, sizeof(sub_t));
    Strand__JoinGroupResponse *j = recv_join(fd, c);
    cr_assert_eq(j->error_code, ST_ERR_NONE, "a static member needs no MEMBER_ID_REQUIRED: %s",
                 st_error_name(j->error_code));
    char old_id[200];
    snprintf(old_id, sizeof(old_id), "%s", j->member_id);
    int32_t gen = j->generation_id;
    cr_expect(strncmp(old_id, "instance-1-", 11) == 0, "%s", old_id);
    protobuf_c_message_free_unpacked(&j->base, NULL);
    const char *ids[1] = { old_id };
    const char *asg[1] = { "my-partitions" };
    c = corr++;
    send_sync(fd, c, group, gen, old_id, "instance-1", ids, asg, 1);
    Strand__SyncGroupResponse *s = recv_sync(fd, c);
    cr_assert_eq(s->error_code, ST_ERR_NONE);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    close(fd);                      /* the process "restarts" (no LeaveGroup, as static members) */

    fd = connect_to(coord);
    c = corr++;
    send_join(fd, c, group, "", "instance-1", sub_t, sizeof(sub_t));
    j = recv_join(fd, c);
    cr_assert_eq(j->error_code, ST_ERR_NONE);
    cr_expect_eq(j->generation_id, gen, "no rebalance: the same generation");
    cr_expect_str_neq(j->member_id, old_id, "a new member id");
    char new_id[200];
    snprintf(new_id, sizeof(new_id), "%s", j->member_id);
    protobuf_c_message_free_unpacked(&j->base, NULL);
    c = corr++;
    send_sync(fd, c, group, gen, new_id, "instance-1", NULL, NULL, 0);
    s = recv_sync(fd, c);
    cr_assert_eq(s->error_code, ST_ERR_NONE);
    cr_expect_eq(s->assignment.len, strlen("my-partitions"), "the assignment is kept");
    protobuf_c_message_free_unpacked(&s->base, NULL);
    cr_expect_eq(heartbeat(fd, group, gen, new_id, "instance-1"), ST_ERR_NONE);
    cr_expect_eq(heartbeat(fd, group, gen, old_id, "instance-1"), ST_ERR_FENCED_INSTANCE_ID,
                 "the old incarnation is fenced");
    Strand__DescribedGroup *d = describe(fd, group);
    cr_expect_str_eq(d->group_state, "Stable");
    cr_assert_eq(d->n_members, 1);
    cr_expect_str_eq(d->members[0]->group_instance_id, "instance-1");
    cr_expect_str_eq(d->members[0]->member_id, new_id);
    free_described(d);
    close(fd);
}

Test(cluster_groups, held_heartbeat_learns_rebalance_at_once)
{
    const char *group = "held-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    /* b holds a heartbeat on a connection of its own (Strand's max_wait_ms extension). */
    int fh = connect_to(coord);
    Strand__HeartbeatRequest rq = STRAND__HEARTBEAT_REQUEST__INIT;
    rq.group_id = (char *)group;
    rq.generation_id = gen;
    rq.member_id = b;
    rq.group_instance_id = "";
    rq.max_wait_ms = 2500;              /* under the 3 s session */
    int32_t c = corr++;
    cr_assert_eq(tw_send(fh, STRAND__API_KEY__HEARTBEAT, 0, c, &rq.base, NULL, 0), 0);
    st_test_sleep_ms(300);
    int64_t t0 = st_test_now_ms();
    cr_expect_eq(leave(fa, group, a), ST_ERR_NONE);
    Strand__HeartbeatResponse *r = (Strand__HeartbeatResponse *)
        tw_recv_response(fh, c, &strand__heartbeat_response__descriptor, NULL, NULL);
    int64_t learned = st_test_now_ms() - t0;
    cr_assert_not_null(r);
    cr_expect_eq(r->error_code, ST_ERR_REBALANCE_IN_PROGRESS,
                 "released by the leave, not by the end of the wait: %s",
                 st_error_name(r->error_code));
    protobuf_c_message_free_unpacked(&r->base, NULL);
    /* b rejoins and syncs: the group consumes again. */
    c = corr++;
    send_join(fb, c, group, b, NULL, sub_t, sizeof(sub_t));
    Strand__JoinGroupResponse *j = recv_join(fb, c);
    cr_assert_eq(j->error_code, ST_ERR_NONE);
    int32_t gen2 = j->generation_id;
    protobuf_c_message_free_unpacked(&j->base, NULL);
    const char *ids[1] = { b };
    const char *asg[1] = { "everything" };
    c = corr++;
    send_sync(fb, c, group, gen2, b, NULL, ids, asg, 1);
    Strand__SyncGroupResponse *s = recv_sync(fb, c);
    cr_expect_eq(s->error_code, ST_ERR_NONE);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    printf("held heartbeat: the remaining member learned of the leave after %lld ms and was "
           "assigned again after %lld ms\n", (long long)learned,
           (long long)(st_test_now_ms() - t0));
    /* With nothing changing, a held heartbeat ends with NONE after its wait. */
    rq.generation_id = gen2;
    rq.max_wait_ms = 300;
    c = corr++;
    cr_assert_eq(tw_send(fh, STRAND__API_KEY__HEARTBEAT, 0, c, &rq.base, NULL, 0), 0);
    r = (Strand__HeartbeatResponse *)tw_recv_response(fh, c, &strand__heartbeat_response__descriptor,
                                                      NULL, NULL);
    cr_assert_not_null(r);
    cr_expect_eq(r->error_code, ST_ERR_NONE);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    close(fh);
    close(fa);
    close(fb);
}

Test(cluster_groups, stable_group_survives_coordinator_failover)
{
    const char *group = "surviving-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    /* A member's commit: acks=all, so the group record written before it is replicated too. */
    cr_expect_eq(commit(fa, group, gen, a, "t", 3, 1234, "by-a"), ST_ERR_NONE);
    close(fa);
    close(fb);
    st_test_broker_stop(st_test_cluster_broker(&cluster, coord), SIGKILL);
    int retries = 0, new_coord = -1;
    char md[64] = "";
    int64_t off = fetch_retrying(group, "t", 3, coord, &new_coord, &retries, md, sizeof(md));
    cr_expect_eq(off, 1234);
    cr_expect_str_eq(md, "by-a");
    /* The new coordinator loaded the group Stable with its members: the same generation's
     * heartbeats go on, and a rejoin-free sync returns the stored assignment. */
    fa = connect_to(new_coord);
    fb = connect_to(new_coord);
    cr_expect_eq(heartbeat(fa, group, gen, a, NULL), ST_ERR_NONE);
    cr_expect_eq(heartbeat(fb, group, gen, b, NULL), ST_ERR_NONE);
    int32_t c = corr++;
    send_sync(fb, c, group, gen, b, NULL, NULL, NULL, 0);
    Strand__SyncGroupResponse *s = recv_sync(fb, c);
    cr_expect_eq(s->error_code, ST_ERR_NONE);
    cr_expect_eq(s->assignment.len, strlen("assignment-of-b"));
    protobuf_c_message_free_unpacked(&s->base, NULL);
    Strand__DescribedGroup *d = describe(fa, group);
    cr_expect_str_eq(d->group_state, "Stable");
    cr_expect_eq(d->n_members, 2);
    free_described(d);
    printf("group %s moved from broker %d to %d (%d retriable answers) and stayed Stable\n",
           group, coord, new_coord, retries);
    close(fa);
    close(fb);
}

/* ---- malformed requests ---------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Sends one frame with raw body bytes on a fresh connection; reads for up to 30 ms (an answer,
 * a close, or a parked request that the close then aborts). */
static void send_raw(int port, int32_t api, const uint8_t *body, size_t len)
{
    int fd = st_test_connect(port);
    cr_assert_geq(fd, 0);
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api;
    hdr.correlation_id = corr++;
    hdr.client_id = "hostile";
    size_t hlen = protobuf_c_message_get_packed_size(&hdr.base);
    uint8_t *frame = malloc(4 + 2 + hlen + 4 + len);
    cr_assert_not_null(frame);
    st_put_be32(frame, (uint32_t)(2 + hlen + 4 + len));
    st_put_be16(frame + 4, (uint16_t)hlen);
    protobuf_c_message_pack(&hdr.base, frame + 6);
    st_put_be32(frame + 6 + hlen, (uint32_t)len);
    if (len)
        memcpy(frame + 10 + hlen, body, len);
    st_test_send_all(fd, frame, 10 + hlen + len);
    free(frame);
    st_buf_t buf = ST_BUF_INIT;
    tw_recv_frame(fd, &buf, 30);
    st_buf_free(&buf);
    close(fd);
}

Test(cluster_groups, malformed_group_requests_are_survived)
{
    const char *group = "hostile-group";
    int coord = wait_ready(group);
    int port = port_of(coord);
    /* Valid requests of every group API, packed, as the seeds of the mutations. */
    Strand__JoinGroupRequestProtocol p = STRAND__JOIN_GROUP_REQUEST_PROTOCOL__INIT;
    Strand__JoinGroupRequestProtocol *ps[1] = { &p };
    p.name = "range";
    p.metadata.data = sub_t;
    p.metadata.len = sizeof(sub_t);
    Strand__JoinGroupRequest join = STRAND__JOIN_GROUP_REQUEST__INIT;
    join.group_id = (char *)group;
    join.session_timeout_ms = 1000;
    join.rebalance_timeout_ms = 1000;
    join.member_id = "";
    join.protocol_type = "consumer";
    join.protocols = ps;
    join.n_protocols = 1;
    Strand__SyncGroupRequestAssignment as = STRAND__SYNC_GROUP_REQUEST_ASSIGNMENT__INIT;
    Strand__SyncGroupRequestAssignment *asp[1] = { &as };
    as.member_id = "m";
    as.assignment.data = sub_t;
    as.assignment.len = sizeof(sub_t);
    Strand__SyncGroupRequest sync = STRAND__SYNC_GROUP_REQUEST__INIT;
    sync.group_id = (char *)group;
    sync.generation_id = 1;
    sync.member_id = "m";
    sync.assignments = asp;
    sync.n_assignments = 1;
    Strand__HeartbeatRequest hb = STRAND__HEARTBEAT_REQUEST__INIT;
    hb.group_id = (char *)group;
    hb.member_id = "m";
    hb.max_wait_ms = 100;
    Strand__MemberIdentity mi = STRAND__MEMBER_IDENTITY__INIT;
    Strand__MemberIdentity *mis[1] = { &mi };
    mi.member_id = "m";
    Strand__LeaveGroupRequest lv = STRAND__LEAVE_GROUP_REQUEST__INIT;
    lv.group_id = (char *)group;
    lv.members = mis;
    lv.n_members = 1;
    Strand__OffsetCommitRequestPartition cp = STRAND__OFFSET_COMMIT_REQUEST_PARTITION__INIT;
    Strand__OffsetCommitRequestPartition *cps[1] = { &cp };
    cp.committed_offset = 5;
    cp.committed_metadata = "md";
    Strand__OffsetCommitRequestTopic ct = STRAND__OFFSET_COMMIT_REQUEST_TOPIC__INIT;
    Strand__OffsetCommitRequestTopic *cts[1] = { &ct };
    ct.name = "t";
    ct.partitions = cps;
    ct.n_partitions = 1;
    Strand__OffsetCommitRequest oc = STRAND__OFFSET_COMMIT_REQUEST__INIT;
    oc.group_id = (char *)group;
    oc.generation_id = -1;
    oc.member_id = "";
    oc.topics = cts;
    oc.n_topics = 1;
    int32_t pidx = 0;
    Strand__OffsetFetchRequestTopic ft = STRAND__OFFSET_FETCH_REQUEST_TOPIC__INIT;
    Strand__OffsetFetchRequestTopic *fts[1] = { &ft };
    ft.name = "t";
    ft.partition_indexes = &pidx;
    ft.n_partition_indexes = 1;
    Strand__OffsetFetchRequest of = STRAND__OFFSET_FETCH_REQUEST__INIT;
    of.group_id = (char *)group;
    of.topics = fts;
    of.n_topics = 1;
    char *names[1] = { (char *)group };
    Strand__DescribeGroupsRequest dg = STRAND__DESCRIBE_GROUPS_REQUEST__INIT;
    dg.groups = names;
    dg.n_groups = 1;
    char *states[1] = { "Stable" };
    Strand__ListGroupsRequest lg = STRAND__LIST_GROUPS_REQUEST__INIT;
    lg.states_filter = states;
    lg.n_states_filter = 1;
    Strand__DeleteGroupsRequest del = STRAND__DELETE_GROUPS_REQUEST__INIT;
    del.groups_names = names;
    del.n_groups_names = 1;
    Strand__OffsetDeleteRequestPartition dp = STRAND__OFFSET_DELETE_REQUEST_PARTITION__INIT;
    Strand__OffsetDeleteRequestPartition *dps[1] = { &dp };
    Strand__OffsetDeleteRequestTopic dt = STRAND__OFFSET_DELETE_REQUEST_TOPIC__INIT;
    Strand__OffsetDeleteRequestTopic *dts[1] = { &dt };
    dt.name = "t";
    dt.partitions = dps;
    dt.n_partitions = 1;
    Strand__OffsetDeleteRequest od = STRAND__OFFSET_DELETE_REQUEST__INIT;
    od.group_id = (char *)group;
    od.topics = dts;
    od.n_topics = 1;
    Strand__FindCoordinatorRequest fc = STRAND__FIND_COORDINATOR_REQUEST__INIT;
    fc.key = (char *)group;
    struct { int32_t api; ProtobufCMessage *msg; } seeds[] = {
        { STRAND__API_KEY__FIND_COORDINATOR, &fc.base }, { STRAND__API_KEY__JOIN_GROUP, &join.base },
        { STRAND__API_KEY__SYNC_GROUP, &sync.base }, { STRAND__API_KEY__HEARTBEAT, &hb.base },
        { STRAND__API_KEY__LEAVE_GROUP, &lv.base }, { STRAND__API_KEY__OFFSET_COMMIT, &oc.base },
        { STRAND__API_KEY__OFFSET_FETCH, &of.base }, { STRAND__API_KEY__DESCRIBE_GROUPS, &dg.base },
        { STRAND__API_KEY__LIST_GROUPS, &lg.base }, { STRAND__API_KEY__DELETE_GROUPS, &del.base },
        { STRAND__API_KEY__OFFSET_DELETE, &od.base },
    };
    int sent = 0;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t len = protobuf_c_message_get_packed_size(seeds[s].msg);
        uint8_t *orig = malloc(len + 64);
        uint8_t *mut = malloc(len + 64);
        cr_assert(orig && mut);
        protobuf_c_message_pack(seeds[s].msg, orig);
        send_raw(port, seeds[s].api, orig, len);           /* the valid one */
        for (int i = 0; i < 150; i++) {
            memcpy(mut, orig, len);
            size_t mlen = len;
            int kind = (int)(next_rand() % 4);
            if (kind == 0 && mlen) {                        /* flip bytes */
                for (int k = 0; k < 1 + (int)(next_rand() % 4); k++)
                    mut[next_rand() % mlen] ^= (uint8_t)(1 + next_rand() % 255);
            } else if (kind == 1 && mlen) {                 /* truncate */
                mlen = next_rand() % mlen;
            } else if (kind == 2) {                         /* random tail */
                size_t extra = 1 + next_rand() % 63;
                for (size_t k = 0; k < extra; k++)
                    mut[mlen + k] = (uint8_t)next_rand();
                mlen += extra;
            } else if (mlen) {                              /* set a byte to an extreme value */
                mut[next_rand() % mlen] = (next_rand() & 1) ? 0xff : 0x7f;
            }
            send_raw(port, seeds[s].api, mut, mlen);
            sent++;
        }
        free(orig);
        free(mut);
    }
    printf("%d mutated group requests sent to broker %d\n", sent, coord);
    cr_assert(tw_broker_serves(port), "the coordinator still serves");
    int fd = connect_to(wait_ready("after-hostile"));
    cr_expect_eq(commit(fd, "after-hostile", -1, "", "t", 0, 3, ""), ST_ERR_NONE);
    int32_t err;
    cr_expect_eq(fetch_offset(fd, "after-hostile", "t", 0, &err, NULL, 0), 3);
    close(fd);
}

/* ---- compaction of __consumer_offsets ---------------------------------------------------------- */

static void start_compacting(void)
{
    const char *ov[] = {
        "offsets.topic.num.partitions=10", "group.initial.rebalance.delay.ms=200",
        "group.min.session.timeout.ms=500", "auto.leader.rebalance.enable=false",
        "offsets.topic.segment.bytes=1500", "log.retention.check.interval.ms=300",
        "log.cleaner.delete.retention.ms=0", NULL,
    };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
}

TestSuite(cluster_groups_compaction, .init = start_compacting, .fini = teardown, .timeout = 240);

/* Every segment of __consumer_offsets-part on the broker, decoded. */
static char *dump_all_segments(int broker, int part)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/logs/__consumer_offsets-%d",
             st_test_cluster_broker(&cluster, broker)->dir, part);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "ls %s/*.log | paste -sd, -", dir);
    FILE *ls = popen(cmd, "r");
    cr_assert_not_null(ls);
    char files[8192] = "";
    if (!fgets(files, sizeof(files), ls))
        files[0] = '\0';
    pclose(ls);
    files[strcspn(files, "\n")] = '\0';
    const char *argv[] = { "strand-dump-log", "--offsets-decoder", "--files", files, NULL };
    char *out = NULL;
    st_test_run_tool(argv, NULL, &out, NULL, 20000);
    return out;
}

static int count_in(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

Test(cluster_groups_compaction, deleted_group_compacted_away)
{
    const char *doomed = "compacted-group";
    int part = st_group_partition_for(doomed, N_OFFSETS_PARTS);
    char other[32];
    for (int i = 0;; i++) {                        /* a group of the same offsets partition */
        snprintf(other, sizeof(other), "other-%d", i);
        if (st_group_partition_for(other, N_OFFSETS_PARTS) == part)
            break;
    }
    int coord = wait_ready(doomed);
    int fd = connect_to(coord);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(commit(fd, doomed, -1, "", "t", i % 3, i, ""), ST_ERR_NONE);
    char *before = dump_all_segments(coord, part);
    int n_before = count_in(before, "key: offset_commit::group=compacted-group");
    cr_assert_geq(n_before, 3, "the group's commits are in the log before the deletion "
                  "(older ones of the same key may already be compacted): %d", n_before);
    free(before);
    Strand__DeleteGroupsRequest rq = STRAND__DELETE_GROUPS_REQUEST__INIT;
    char *names[1] = { (char *)doomed };
    rq.groups_names = names;
    rq.n_groups_names = 1;
    Strand__DeleteGroupsResponse *r = (Strand__DeleteGroupsResponse *)
        call(fd, STRAND__API_KEY__DELETE_GROUPS, &rq.base,
             &strand__delete_groups_response__descriptor);
    cr_assert_not_null(r);
    cr_expect_eq(r->results[0]->error_code, ST_ERR_NONE);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    /* More commits of another group roll the tombstones out of the active segment. */
    for (int i = 0; i < 40; i++)
        cr_assert_eq(commit(fd, other, -1, "", "u", 0, 1000 + i, ""), ST_ERR_NONE);
    int64_t deadline = st_test_now_ms() + 60000;
    char *dump = NULL;
    int left = -1;
    while (st_test_now_ms() < deadline) {
        free(dump);
        dump = dump_all_segments(coord, part);
        left = count_in(dump, "group=compacted-group");
        if (left == 0)
            break;
        st_test_sleep_ms(300);
    }
    cr_expect_eq(left, 0, "the deleted group's records and tombstones are compacted away:\n%s",
                 dump ? dump : "");
    cr_expect(strstr(dump, "key: offset_commit::group=other-") != NULL);
    cr_expect_leq(count_in(dump, "partition=u-0 payload"), 40);
    free(dump);
    int32_t err;
    cr_expect_eq(fetch_offset(fd, other, "u", 0, &err, NULL, 0), 1039);
    cr_expect_eq(fetch_offset(fd, doomed, "t", 0, &err, NULL, 0), -1);
    close(fd);
    /* A reload from the compacted log gives the same offsets. */
    st_test_broker_stop(st_test_cluster_broker(&cluster, coord), SIGKILL);
    int retries = 0, new_coord = -1;
    cr_expect_eq(fetch_retrying(other, "u", 0, coord, &new_coord, &retries, NULL, 0), 1039);
    cr_expect_eq(fetch_retrying(doomed, "t", 0, coord, &new_coord, &retries, NULL, 0), -1);
}

Test(cluster_groups, offset_delete_and_list_groups)
{
    const char *group = "listed-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    cr_expect_eq(commit(fa, group, gen, a, "t", 0, 10, ""), ST_ERR_NONE);
    cr_expect_eq(commit(fa, group, gen, a, "u", 0, 20, ""), ST_ERR_NONE);
    /* OffsetDelete: the subscribed topic is refused, the other deleted. */
    Strand__OffsetDeleteRequestPartition p0 = STRAND__OFFSET_DELETE_REQUEST_PARTITION__INIT;
    Strand__OffsetDeleteRequestPartition *pps[1] = { &p0 };
    Strand__OffsetDeleteRequestTopic tt = STRAND__OFFSET_DELETE_REQUEST_TOPIC__INIT;
    Strand__OffsetDeleteRequestTopic tu = STRAND__OFFSET_DELETE_REQUEST_TOPIC__INIT;
    Strand__OffsetDeleteRequestTopic *ts[2] = { &tt, &tu };
    tt.name = "t";
    tt.partitions = pps;
    tt.n_partitions = 1;
    tu.name = "u";
    tu.partitions = pps;
    tu.n_partitions = 1;
    Strand__OffsetDeleteRequest od = STRAND__OFFSET_DELETE_REQUEST__INIT;
    od.group_id = (char *)group;
    od.topics = ts;
    od.n_topics = 2;
    Strand__OffsetDeleteResponse *r = (Strand__OffsetDeleteResponse *)
        call(fa, STRAND__API_KEY__OFFSET_DELETE, &od.base,
             &strand__offset_delete_response__descriptor);
    cr_assert_not_null(r);
    cr_expect_eq(r->error_code, ST_ERR_NONE);
    cr_assert_eq(r->n_topics, 2);
    cr_expect_eq(r->topics[0]->partitions[0]->error_code, ST_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    cr_expect_eq(r->topics[1]->partitions[0]->error_code, ST_ERR_NONE);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    int32_t err;
    cr_expect_eq(fetch_offset(fa, group, "t", 0, &err, NULL, 0), 10);
    cr_expect_eq(fetch_offset(fa, group, "u", 0, &err, NULL, 0), -1);
    od.group_id = "never-seen";
    r = (Strand__OffsetDeleteResponse *)call(fa, STRAND__API_KEY__OFFSET_DELETE, &od.base,
                                             &strand__offset_delete_response__descriptor);
    cr_assert_not_null(r);
    cr_expect(r->error_code == ST_ERR_GROUP_ID_NOT_FOUND || r->error_code == ST_ERR_NOT_COORDINATOR,
              "%s", st_error_name(r->error_code));
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* ListGroups on the coordinator: the group, Stable, consumer; filtered out by "Empty". */
    Strand__ListGroupsRequest lg = STRAND__LIST_GROUPS_REQUEST__INIT;
    Strand__ListGroupsResponse *l = (Strand__ListGroupsResponse *)
        call(fa, STRAND__API_KEY__LIST_GROUPS, &lg.base, &strand__list_groups_response__descriptor);
    cr_assert_not_null(l);
    cr_expect_eq(l->error_code, ST_ERR_NONE);
    bool found = false;
    for (size_t i = 0; i < l->n_groups; i++)
        if (strcmp(l->groups[i]->group_id, group) == 0) {
            found = true;
            cr_expect_str_eq(l->groups[i]->group_state, "Stable");
            cr_expect_str_eq(l->groups[i]->protocol_type, "consumer");
        }
    cr_expect(found, "ListGroups lists %s", group);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    char *empty[1] = { "Empty" };
    lg.states_filter = empty;
    lg.n_states_filter = 1;
    l = (Strand__ListGroupsResponse *)call(fa, STRAND__API_KEY__LIST_GROUPS, &lg.base,
                                           &strand__list_groups_response__descriptor);
    cr_assert_not_null(l);
    for (size_t i = 0; i < l->n_groups; i++)
        cr_expect_str_neq(l->groups[i]->group_id, group);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    char *bogus[1] = { "Sleepy" };
    lg.states_filter = bogus;
    l = (Strand__ListGroupsResponse *)call(fa, STRAND__API_KEY__LIST_GROUPS, &lg.base,
                                           &strand__list_groups_response__descriptor);
    cr_assert_not_null(l);
    cr_expect_eq(l->error_code, ST_ERR_INVALID_REQUEST);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    close(fa);
    close(fb);
}

Test(cluster_groups, shutdown_answers_parked_join)
{
    const char *group = "shutdown-group";
    int coord = wait_ready(group);
    int fa, fb;
    char a[200], b[200];
    int32_t gen;
    two_members(group, coord, &fa, &fb, a, b, &gen);
    /* a rejoins (the leader rejoining starts a rebalance): its JoinGroup parks, waiting for b. */
    int32_t c = corr++;
    send_join(fa, c, group, a, NULL, sub_t, sizeof(sub_t));
    st_test_sleep_ms(200);
    int status = st_test_broker_stop(st_test_cluster_broker(&cluster, coord), SIGTERM);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "clean exit (status 0x%x)", status);
    Strand__JoinGroupResponse *j = (Strand__JoinGroupResponse *)
        tw_recv_response(fa, c, &strand__join_group_response__descriptor, NULL, NULL);
    if (j) {
        cr_expect_eq(j->error_code, ST_ERR_NOT_COORDINATOR, "%s", st_error_name(j->error_code));
        protobuf_c_message_free_unpacked(&j->base, NULL);
    }
    printf("the parked JoinGroup was %s\n", j ? "answered NOT_COORDINATOR" : "closed");
    close(fa);
    close(fb);
}
