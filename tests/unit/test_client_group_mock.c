/* Consumer-group membership of the client library against an in-process mock coordinator (one
 * mock broker answering every API; a one-member group), for what a real coordinator produces only
 * by accident, and to check exactly what the client sends:
 *   - FindCoordinator retried while COORDINATOR_NOT_AVAILABLE; MEMBER_ID_REQUIRED answered by a
 *     second JoinGroup carrying the given member id; Kafka's defaults in JoinGroup (range,
 *     session.timeout.ms 45000, rebalance timeout = max.poll.interval.ms 300000); a new partition
 *     starts at the committed offset;
 *   - Heartbeat REBALANCE_IN_PROGRESS (eager): commit before the revocation, REVOKED, rejoin;
 *     ILLEGAL_GENERATION: LOST (nothing committed), rejoin with the same member id;
 *     UNKNOWN_MEMBER_ID: LOST, rejoin with no member id; NOT_COORDINATOR: coordinator looked up
 *     again; FENCED_INSTANCE_ID: fatal, returned by every poll;
 *   - OffsetCommit carries the position, the leader epoch of the last record, the generation and
 *     the member id, and is retried on another coordinator after NOT_COORDINATOR;
 *   - OffsetFetch retried while COORDINATOR_LOAD_IN_PROGRESS; no committed offset with
 *     auto.offset.reset=none: an error naming the partition;
 *   - max.poll.interval.ms: LeaveGroup when poll is not called in time, LOST at the next poll;
 *   - close: LeaveGroup for a dynamic member, none for a static one. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_broker.h"
#include "st_batch.h"
#include "st_consumer_protocol.h"
#include "strand.h"
#include "strand.pb-c.h"

#define EPOCH 7   /* leader epoch stamped into the mock's batches */

typedef struct gmock {
    mock_server_t srv;
    atomic_bool stop;
    mock_log_t log;
    pthread_mutex_t mu;
    /* behaviour (mu) */
    int find_fail_left;             /* FindCoordinator: COORDINATOR_NOT_AVAILABLE this often */
    int hb_error;                   /* next Heartbeat answer (one shot) */
    int commit_error;               /* next OffsetCommit answer (one shot) */
    int ofetch_load_left;           /* OffsetFetch: COORDINATOR_LOAD_IN_PROGRESS this often */
    int64_t committed;              /* t-0's committed offset (-1 none) */
    /* what the client sent (mu) */
    int n_find, n_join, n_sync, n_hb, n_commit, n_ofetch, n_leave;
    int generation;
    char join_members[8][128];      /* member_id of each JoinGroup (first 8) */
    char join_protocol[32];
    int32_t join_session, join_rebalance;
    char leave_member[128];
    int64_t commit_offset;
    int32_t commit_epoch, commit_generation;
    char commit_member[128];
    int commit_before_join;         /* n_join when the last OffsetCommit arrived */
} gmock_t;

static gmock_t mock;

static void send_simple_error(int fd, int32_t corr, int api, int err, const char *member);

static void handle_group(int fd, int32_t corr, int api, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&mock.mu);
    switch (api) {
    case STRAND__API_KEY__FIND_COORDINATOR: {
        mock.n_find++;
        Strand__FindCoordinatorResponse r = STRAND__FIND_COORDINATOR_RESPONSE__INIT;
        if (mock.find_fail_left > 0) {
            mock.find_fail_left--;
            r.error_code = ST_ERR_COORDINATOR_NOT_AVAILABLE;
            r.node_id = -1;
        } else {
            r.node_id = 1;
            r.host = "127.0.0.1";
            r.port = mock.srv.port;
        }
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        break;
    }
    case STRAND__API_KEY__JOIN_GROUP: {
        Strand__JoinGroupRequest *q = strand__join_group_request__unpack(NULL, len, body);
        if (mock.n_join < 8)
            snprintf(mock.join_members[mock.n_join], 128, "%s", q->member_id);
        mock.n_join++;
        snprintf(mock.join_protocol, sizeof(mock.join_protocol), "%s",
                 q->n_protocols ? q->protocols[0]->name : "");
        mock.join_session = q->session_timeout_ms;
        mock.join_rebalance = q->rebalance_timeout_ms;
        Strand__JoinGroupResponse r = STRAND__JOIN_GROUP_RESPONSE__INIT;
        bool is_static = q->group_instance_id && *q->group_instance_id;
        if (!*q->member_id && !is_static) {
            r.error_code = ST_ERR_MEMBER_ID_REQUIRED;
            r.member_id = "member-1";
            r.generation_id = -1;
            mock_send_resp(fd, corr, &r.base, NULL, 0);
        } else {
            Strand__JoinGroupResponseMember m = STRAND__JOIN_GROUP_RESPONSE_MEMBER__INIT, *mp = &m;
            const char *id = *q->member_id ? q->member_id : "static-1";
            m.member_id = (char *)id;
            m.metadata = q->protocols[0]->metadata;
            r.generation_id = ++mock.generation;
            r.protocol_type = "consumer";
            r.protocol_name = q->protocols[0]->name;
            r.leader = (char *)id;
            r.member_id = (char *)id;
            r.n_members = 1;
            r.members = &mp;
            mock_send_resp(fd, corr, &r.base, NULL, 0);
        }
        strand__join_group_request__free_unpacked(q, NULL);
        break;
    }
    case STRAND__API_KEY__SYNC_GROUP: {
        mock.n_sync++;
        Strand__SyncGroupRequest *q = strand__sync_group_request__unpack(NULL, len, body);
        Strand__SyncGroupResponse r = STRAND__SYNC_GROUP_RESPONSE__INIT;
        r.protocol_type = "consumer";
        r.protocol_name = q->protocol_name;
        for (size_t i = 0; i < q->n_assignments; i++)
            if (strcmp(q->assignments[i]->member_id, q->member_id) == 0)
                r.assignment = q->assignments[i]->assignment;
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        strand__sync_group_request__free_unpacked(q, NULL);
        break;
    }
    case STRAND__API_KEY__HEARTBEAT: {
        mock.n_hb++;
        Strand__HeartbeatResponse r = STRAND__HEARTBEAT_RESPONSE__INIT;
        r.error_code = mock.hb_error;
        mock.hb_error = 0;
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        break;
    }
    case STRAND__API_KEY__LEAVE_GROUP: {
        mock.n_leave++;
        Strand__LeaveGroupRequest *q = strand__leave_group_request__unpack(NULL, len, body);
        if (q->n_members)
            snprintf(mock.leave_member, sizeof(mock.leave_member), "%s", q->members[0]->member_id);
        Strand__LeaveGroupResponse r = STRAND__LEAVE_GROUP_RESPONSE__INIT;
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        strand__leave_group_request__free_unpacked(q, NULL);
        break;
    }
    case STRAND__API_KEY__OFFSET_COMMIT: {
        mock.n_commit++;
        Strand__OffsetCommitRequest *q = strand__offset_commit_request__unpack(NULL, len, body);
        const Strand__OffsetCommitRequestPartition *p = q->topics[0]->partitions[0];
        int err = mock.commit_error;
        mock.commit_error = 0;
        if (!err) {
            mock.commit_offset = mock.committed = p->committed_offset;
            mock.commit_epoch = p->committed_leader_epoch;
            mock.commit_generation = q->generation_id;
            snprintf(mock.commit_member, sizeof(mock.commit_member), "%s", q->member_id);
            mock.commit_before_join = mock.n_join;
        }
        Strand__OffsetCommitResponsePartition rp = STRAND__OFFSET_COMMIT_RESPONSE_PARTITION__INIT;
        Strand__OffsetCommitResponsePartition *rpp = &rp;
        rp.partition_index = p->partition_index;
        rp.error_code = err;
        Strand__OffsetCommitResponseTopic rt = STRAND__OFFSET_COMMIT_RESPONSE_TOPIC__INIT, *rtp = &rt;
        rt.name = q->topics[0]->name;
        rt.n_partitions = 1;
        rt.partitions = &rpp;
        Strand__OffsetCommitResponse r = STRAND__OFFSET_COMMIT_RESPONSE__INIT;
        r.n_topics = 1;
        r.topics = &rtp;
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        strand__offset_commit_request__free_unpacked(q, NULL);
        break;
    }
    case STRAND__API_KEY__OFFSET_FETCH: {
        mock.n_ofetch++;
        Strand__OffsetFetchRequest *q = strand__offset_fetch_request__unpack(NULL, len, body);
        Strand__OffsetFetchResponse r = STRAND__OFFSET_FETCH_RESPONSE__INIT;
        Strand__OffsetFetchResponsePartition rp = STRAND__OFFSET_FETCH_RESPONSE_PARTITION__INIT;
        Strand__OffsetFetchResponsePartition *rpp = &rp;
        Strand__OffsetFetchResponseTopic rt = STRAND__OFFSET_FETCH_RESPONSE_TOPIC__INIT, *rtp = &rt;
        if (mock.ofetch_load_left > 0) {
            mock.ofetch_load_left--;
            r.error_code = ST_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        } else {
            rp.partition_index = 0;
            rp.committed_offset = mock.committed;
            rp.committed_leader_epoch = -1;
            rt.name = q->topics[0]->name;
            rt.n_partitions = 1;
            rt.partitions = &rpp;
            r.n_topics = 1;
            r.topics = &rtp;
        }
        mock_send_resp(fd, corr, &r.base, NULL, 0);
        strand__offset_fetch_request__free_unpacked(q, NULL);
        break;
    }
    default:
        send_simple_error(fd, corr, api, ST_ERR_INVALID_REQUEST, "");
        break;
    }
    pthread_mutex_unlock(&mock.mu);
}

static void send_simple_error(int fd, int32_t corr, int api, int err, const char *member)
{
    (void)api;
    (void)member;
    Strand__HeartbeatResponse r = STRAND__HEARTBEAT_RESPONSE__INIT;
    r.error_code = err;
    mock_send_resp(fd, corr, &r.base, NULL, 0);
}

static bool handle_req(void *arg, int fd, const Strand__RequestHeader *h, const uint8_t *body,
                       size_t body_len)
{
    (void)arg;
    int32_t corr = h->correlation_id;
    switch (h->api_key) {
    case STRAND__API_KEY__API_VERSIONS: {
        static const int keys[] = { 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18 };
        mock_send_api_versions(fd, corr, keys, sizeof(keys) / sizeof(keys[0]));
        break;
    }
    case STRAND__API_KEY__METADATA: {
        Strand__MetadataRequest *req = strand__metadata_request__unpack(NULL, body_len, body);
        Strand__BrokerMetadata b = STRAND__BROKER_METADATA__INIT, *bp = &b;
        b.node_id = 1;
        b.host = "127.0.0.1";
        b.port = mock.srv.port;
        Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT;
        int32_t one = 1;
        pm.leader = 1;
        pm.leader_epoch = EPOCH;
        pm.n_replicas = pm.n_isr = 1;
        pm.replicas = pm.isr = &one;
        mock_send_metadata(fd, corr, req, &bp, 1, &pm);
        strand__metadata_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__LIST_OFFSETS: {
        Strand__ListOffsetsRequest *req = strand__list_offsets_request__unpack(NULL, body_len, body);
        Strand__ListOffsetsPartitionResponse pr = STRAND__LIST_OFFSETS_PARTITION_RESPONSE__INIT;
        pr.offset = req->topics[0]->partitions[0]->timestamp == -2 ? 0 : mock.log.end;
        mock_send_list_offsets(fd, corr, req->topics[0]->name, &pr);
        strand__list_offsets_request__free_unpacked(req, NULL);
        break;
    }
    case STRAND__API_KEY__FETCH: {
        Strand__FetchRequest *req = strand__fetch_request__unpack(NULL, body_len, body);
        const Strand__FetchPartition *fp = req->topics[0]->partitions[0];
        Strand__FetchPartitionResponse pr = STRAND__FETCH_PARTITION_RESPONSE__INIT;
        pr.high_watermark = mock.log.end;
        size_t from = 0, n = 0;
        if (fp->fetch_offset > mock.log.end) {
            pr.error_code = ST_ERR_OFFSET_OUT_OF_RANGE;
        } else {
            from = mock_log_pos(&mock.log, fp->fetch_offset, NULL);
            n = mock.log.buf.len - from;
            if (!n)
                usleep(20000);
        }
        pr.records_size = (uint32_t)n;
        mock_send_fetch(fd, corr, req->topics[0]->topic, &pr, mock.log.buf.data + from, n);
        strand__fetch_request__free_unpacked(req, NULL);
        break;
    }
    default:
        handle_group(fd, corr, h->api_key, body, body_len);
        break;
    }
    return true;
}

static void mock_start(void)
{
    memset(&mock, 0, sizeof(mock));
    pthread_mutex_init(&mock.mu, NULL);
    mock.committed = -1;
    for (int i = 0; i < 3; i++)
        mock_log_append(&mock.log, 10, 20);
    /* Re-stamp every batch with leader epoch EPOCH (the mock stamps 0). */
    for (size_t pos = 0; pos < mock.log.buf.len;) {
        st_batch_header_t hdr;
        cr_assert_eq(st_batch_header_decode(mock.log.buf.data + pos, mock.log.buf.len - pos, &hdr), 0);
        st_batch_stamp(mock.log.buf.data + pos, hdr.base_offset, EPOCH);
        pos += st_batch_total_size(&hdr);
    }
    mock.srv.stop = &mock.stop;
    mock.srv.handle = handle_req;
    mock_server_start(&mock.srv);
}

static void mock_stop(void)
{
    atomic_store(&mock.stop, true);
    mock_server_join(&mock.srv);
    st_buf_free(&mock.log.buf);
    pthread_mutex_destroy(&mock.mu);
}

TestSuite(client_group_mock, .init = mock_start, .fini = mock_stop, .timeout = 60);

/* ---- the consumer side -------------------------------------------------------------------- */

typedef struct events {
    char log[4096];     /* "A:t-0 R:t-0 L:t-0 A: ..." in order */
    int assigned, revoked, lost;
} events_t;

static void on_rebalance(strand_consumer_t *c, strand_rebalance_event_t ev,
                         const strand_topic_partition_t *tps, size_t n, void *opaque)
{
    (void)c;
    events_t *e = opaque;
    const char *tag = ev == STRAND_REBALANCE_ASSIGNED ? "A" : ev == STRAND_REBALANCE_REVOKED ? "R" : "L";
    size_t used = strlen(e->log);
    used += (size_t)snprintf(e->log + used, sizeof(e->log) - used, "%s%s:", used ? " " : "", tag);
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(e->log + used, sizeof(e->log) - used, "%s%s-%d", i ? "," : "",
                                 tps[i].topic, tps[i].partition);
    if (ev == STRAND_REBALANCE_ASSIGNED)
        e->assigned++;
    else if (ev == STRAND_REBALANCE_REVOKED)
        e->revoked++;
    else
        e->lost++;
}

/* Log lines the consumer reported (strand_conf_set_log_cb), joined. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];

static void on_log(int level, const char *source, const char *message, void *opaque)
{
    (void)opaque;
    pthread_mutex_lock(&log_mu);
    size_t used = strlen(log_text);
    snprintf(log_text + used, sizeof(log_text) - used, "%d %s %s\n", level, source, message);
    pthread_mutex_unlock(&log_mu);
}

static strand_consumer_t *group_consumer(events_t *ev, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char servers[64], err[512];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", mock.srv.port);
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", servers, err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "group.id", "g", err, sizeof(err)), 0);
    cr_assert_eq(strand_conf_set(conf, "retry.backoff.ms", "10", err, sizeof(err)), 0);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    strand_conf_set_rebalance_cb(conf, on_rebalance, ev);
    log_text[0] = '\0';
    strand_conf_set_log_cb(conf, on_log, NULL);
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    const char *topics[] = { "t" };
    cr_assert_eq(strand_consumer_subscribe(c, topics, 1), 0);
    return c;
}

/* Polls until pred holds (or 10 s), counting records and the first record offset seen; the
 * first per-partition error message is kept in first_error / first_errstr. */
typedef bool pred_fn(const events_t *ev);
static int64_t first_offset;
static int64_t last_offset;
static int first_error;
static char first_errstr[512];

static void note_error(const strand_message_t *m)
{
    if (!first_error) {
        first_error = m->error;
        snprintf(first_errstr, sizeof(first_errstr), "%s", m->errstr);
    }
}
static int poll_until(strand_consumer_t *c, events_t *ev, pred_fn *pred)
{
    int64_t deadline = mock_now_ms() + 10000;
    while (!pred(ev)) {
        cr_assert_lt(mock_now_ms(), deadline, "timed out; events: %s", ev->log);
        const strand_message_t *msgs;
        size_t n = 0;
        int err = strand_consumer_poll(c, 50, &msgs, &n);
        if (err)
            return err;
        for (size_t i = 0; i < n; i++) {
            if (msgs[i].error) {
                note_error(&msgs[i]);
                continue;
            }
            if (first_offset < 0)
                first_offset = msgs[i].offset;
            last_offset = msgs[i].offset;
        }
    }
    return 0;
}

/* One poll; records update first_offset / last_offset. Returns poll's result. */
static int poll_once(strand_consumer_t *c, int timeout_ms)
{
    const strand_message_t *msgs;
    size_t n = 0;
    int err = strand_consumer_poll(c, timeout_ms, &msgs, &n);
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].error) {
            note_error(&msgs[i]);
            continue;
        }
        if (first_offset < 0)
            first_offset = msgs[i].offset;
        last_offset = msgs[i].offset;
    }
    return err;
}

static bool assigned1(const events_t *ev) { return ev->assigned >= 1; }
static bool assigned2(const events_t *ev) { return ev->assigned >= 2; }
static bool assigned3(const events_t *ev) { return ev->assigned >= 3; }
static bool assigned4(const events_t *ev) { return ev->assigned >= 4; }
static bool lost2(const events_t *ev) { return ev->lost >= 2; }

static int get(int *field)
{
    pthread_mutex_lock(&mock.mu);
    int v = *field;
    pthread_mutex_unlock(&mock.mu);
    return v;
}

static void set(int *field, int v)
{
    pthread_mutex_lock(&mock.mu);
    *field = v;
    pthread_mutex_unlock(&mock.mu);
}

Test(client_group_mock, join_defaults_and_committed_start)
{
    set(&mock.find_fail_left, 2);
    pthread_mutex_lock(&mock.mu);
    mock.committed = 10;
    pthread_mutex_unlock(&mock.mu);
    events_t ev = { .log = "" };
    strand_consumer_t *c = group_consumer(&ev, NULL);
    first_offset = -1;
    poll_until(c, &ev, assigned1);
    cr_assert_str_eq(ev.log, "A:t-0");
    int64_t deadline = mock_now_ms() + 5000;
    while (first_offset < 0 && mock_now_ms() < deadline)
        cr_assert_eq(poll_once(c, 50), 0);
    cr_assert_eq(first_offset, 10, "the first record is at offset %lld, not the committed 10",
                 (long long)first_offset);
    pthread_mutex_lock(&mock.mu);
    cr_expect_geq(mock.n_find, 3, "FindCoordinator was not retried (%d)", mock.n_find);
    cr_expect_geq(mock.n_join, 2);
    cr_expect_str_eq(mock.join_members[0], "");
    cr_expect_str_eq(mock.join_members[1], "member-1", "the JoinGroup after MEMBER_ID_REQUIRED");
    cr_expect_str_eq(mock.join_protocol, "range");
    cr_expect_eq(mock.join_session, 45000);
    cr_expect_eq(mock.join_rebalance, 300000);
    pthread_mutex_unlock(&mock.mu);
    strand_group_info_t gi;
    cr_assert_eq(strand_consumer_group_info(c, &gi), 0);
    cr_expect_eq(gi.generation, 1);
    cr_expect_str_eq(gi.member_id, "member-1");
    cr_expect(gi.is_leader);
    cr_expect_str_eq(gi.protocol, "range");
    cr_expect_eq(gi.coordinator, 1);
    /* Kafka's words in the log, with its prefix. */
    pthread_mutex_lock(&log_mu);
    cr_expect(strstr(log_text, "6 strand.consumer [Consumer clientId=strand, groupId=g] Discovered "
                     "group coordinator 127.0.0.1:"), "%s", log_text);
    cr_expect(strstr(log_text, "Successfully joined group with generation Generation{generationId=1, "
                     "memberId='member-1', protocol='range'}"), "%s", log_text);
    cr_expect(strstr(log_text, "Adding newly assigned partitions: t-0"), "%s", log_text);
    cr_expect(strstr(log_text, "4 strand.consumer [Consumer clientId=strand, groupId=g] "
                     "FindCoordinator for group g failed: COORDINATOR_NOT_AVAILABLE"), "%s", log_text);
    pthread_mutex_unlock(&log_mu);
    strand_consumer_destroy(c);
    cr_expect_eq(get(&mock.n_leave), 1, "close sends LeaveGroup");
    cr_expect_str_eq(mock.leave_member, "member-1");
}

Test(client_group_mock, heartbeat_errors)
{
    events_t ev = { .log = "" };
    const char *kvs[] = { "heartbeat.interval.ms=50", "session.timeout.ms=1000",
                          "auto.offset.reset=earliest", NULL };
    strand_consumer_t *c = group_consumer(&ev, kvs);
    first_offset = -1;
    poll_until(c, &ev, assigned1);
    /* consume a little so there is a position to commit */
    int64_t deadline = mock_now_ms() + 5000;
    while (first_offset < 0 && mock_now_ms() < deadline)
        cr_assert_eq(poll_once(c, 20), 0);
    /* REBALANCE_IN_PROGRESS (eager): commit first, REVOKED, then a new generation. */
    int joins = get(&mock.n_join);
    set(&mock.hb_error, ST_ERR_REBALANCE_IN_PROGRESS);
    poll_until(c, &ev, assigned2);
    cr_assert_str_eq(ev.log, "A:t-0 R:t-0 A:t-0");
    pthread_mutex_lock(&mock.mu);
    cr_expect_eq(mock.commit_before_join, joins, "the commit came after the rejoin");
    cr_expect_geq(mock.commit_offset, 1, "committed %lld", (long long)mock.commit_offset);
    cr_expect_eq(mock.commit_generation, 1);
    cr_expect_str_eq(mock.commit_member, "member-1");
    cr_expect_eq(mock.commit_epoch, EPOCH, "leader epoch %d", mock.commit_epoch);
    pthread_mutex_unlock(&mock.mu);
    /* ILLEGAL_GENERATION: LOST (no commit), rejoin with the same member id. */
    int commits = get(&mock.n_commit);
    joins = get(&mock.n_join);
    set(&mock.hb_error, ST_ERR_ILLEGAL_GENERATION);
    poll_until(c, &ev, assigned3);
    cr_assert_str_eq(ev.log, "A:t-0 R:t-0 A:t-0 L:t-0 A:t-0");
    pthread_mutex_lock(&mock.mu);
    cr_expect_str_eq(mock.join_members[joins], "member-1", "rejoin after ILLEGAL_GENERATION");
    cr_expect_eq(mock.n_commit, commits, "a LOST partition was committed");
    pthread_mutex_unlock(&mock.mu);
    /* UNKNOWN_MEMBER_ID: LOST, rejoin without a member id (MEMBER_ID_REQUIRED again). */
    joins = get(&mock.n_join);
    set(&mock.hb_error, ST_ERR_UNKNOWN_MEMBER_ID);
    poll_until(c, &ev, lost2);
    poll_until(c, &ev, assigned4);
    cr_assert_str_eq(ev.log, "A:t-0 R:t-0 A:t-0 L:t-0 A:t-0 L:t-0 A:t-0");
    pthread_mutex_lock(&mock.mu);
    cr_expect_str_eq(mock.join_members[joins], "", "rejoin after UNKNOWN_MEMBER_ID");
    pthread_mutex_unlock(&mock.mu);
    /* NOT_COORDINATOR: the coordinator is looked up again; no rebalance. */
    int finds = get(&mock.n_find);
    int assigned = ev.assigned;
    set(&mock.hb_error, ST_ERR_NOT_COORDINATOR);
    deadline = mock_now_ms() + 5000;
    while (get(&mock.n_find) == finds && mock_now_ms() < deadline)
        poll_once(c, 20);
    cr_expect_gt(get(&mock.n_find), finds, "no FindCoordinator after NOT_COORDINATOR");
    usleep(300000);
    poll_once(c, 20);
    cr_expect_eq(ev.assigned, assigned, "NOT_COORDINATOR caused a rebalance: %s", ev.log);
    strand_consumer_destroy(c);
}

Test(client_group_mock, fenced_instance_is_fatal)
{
    events_t ev = { .log = "" };
    const char *kvs[] = { "heartbeat.interval.ms=50", "session.timeout.ms=1000",
                          "group.instance.id=inst-1", NULL };
    strand_consumer_t *c = group_consumer(&ev, kvs);
    poll_until(c, &ev, assigned1);
    set(&mock.hb_error, ST_ERR_FENCED_INSTANCE_ID);
    int64_t deadline = mock_now_ms() + 5000;
    int err = 0;
    while (!err && mock_now_ms() < deadline)
        err = poll_once(c, 50);
    cr_assert_eq(err, ST_ERR_FENCED_INSTANCE_ID, "poll returned %s", strand_err_name(err));
    cr_assert_eq(poll_once(c, 0), ST_ERR_FENCED_INSTANCE_ID, "the error is sticky");
    char text[512];
    cr_assert_eq(strand_consumer_fatal_error(c, text, sizeof(text)), ST_ERR_FENCED_INSTANCE_ID);
    cr_expect(strstr(text, "inst-1"), "%s", text);
    strand_topic_partition_t *tps;
    size_t n;
    cr_assert_eq(strand_consumer_assignment(c, &tps, &n), 0);
    cr_expect_eq(n, 0, "a fenced consumer holds no partitions");
    free(tps);
    int leaves = get(&mock.n_leave);
    strand_consumer_destroy(c);
    cr_expect_eq(get(&mock.n_leave), leaves, "a static member sent LeaveGroup");
}

Test(client_group_mock, commit_retried_after_not_coordinator)
{
    events_t ev = { .log = "" };
    const char *kvs[] = { "auto.offset.reset=earliest", "enable.auto.commit=false", NULL };
    strand_consumer_t *c = group_consumer(&ev, kvs);
    first_offset = last_offset = -1;
    poll_until(c, &ev, assigned1);
    int64_t deadline = mock_now_ms() + 5000;
    while (last_offset < 29 && mock_now_ms() < deadline)
        cr_assert_eq(poll_once(c, 50), 0);
    cr_assert_eq(last_offset, 29);
    int finds = get(&mock.n_find);
    set(&mock.commit_error, ST_ERR_NOT_COORDINATOR);
    cr_assert_eq(strand_consumer_commit_sync(c, NULL, 0, 5000), 0);
    pthread_mutex_lock(&mock.mu);
    cr_expect_eq(mock.n_commit, 2, "%d OffsetCommit requests", mock.n_commit);
    cr_expect_gt(mock.n_find, finds);
    cr_expect_eq(mock.commit_offset, 30);
    cr_expect_eq(mock.commit_epoch, EPOCH);
    pthread_mutex_unlock(&mock.mu);
    strand_topic_partition_t tp = { "t", 0, 0, 0 };
    cr_assert_eq(strand_consumer_committed(c, &tp, 1, 5000), 0);
    cr_expect_eq(tp.offset, 30);
    /* Explicit offsets; an async commit's callback runs in a later poll. */
    strand_topic_partition_t off = { "t", 0, 12, 0 };
    cr_assert_eq(strand_consumer_commit_sync(c, &off, 1, 5000), 0);
    cr_expect_eq(off.error, 0);
    cr_expect_eq(mock.committed, 12);
    cr_expect_eq(mock.commit_epoch, -1, "an explicit offset other than the position has no epoch");
    strand_consumer_destroy(c);
}

Test(client_group_mock, offset_fetch_load_in_progress_then_none)
{
    set(&mock.ofetch_load_left, 3);
    events_t ev = { .log = "" };
    const char *kvs[] = { "auto.offset.reset=none", NULL };
    strand_consumer_t *c = group_consumer(&ev, kvs);
    first_offset = -1;
    first_error = 0;
    poll_until(c, &ev, assigned1);
    int64_t deadline = mock_now_ms() + 5000;
    while (!first_error && mock_now_ms() < deadline)
        cr_assert_eq(poll_once(c, 50), 0);
    cr_assert_eq(first_offset, -1, "a record with auto.offset.reset=none");
    cr_assert_eq(first_error, ST_ERR_OFFSET_OUT_OF_RANGE, "no error for a partition without a "
                 "committed offset (%s)", strand_err_name(first_error));
    cr_expect(strstr(first_errstr, "Undefined offset with no reset policy for partitions: [t-0]"),
              "%s", first_errstr);
    cr_expect_geq(get(&mock.n_ofetch), 4, "OffsetFetch was not retried");
    strand_consumer_destroy(c);
}

Test(client_group_mock, max_poll_interval_leaves)
{
    events_t ev = { .log = "" };
    const char *kvs[] = { "max.poll.interval.ms=500", "heartbeat.interval.ms=50",
                          "session.timeout.ms=1000", NULL };
    strand_consumer_t *c = group_consumer(&ev, kvs);
    poll_until(c, &ev, assigned1);
    int joins = get(&mock.n_join);
    usleep(1200 * 1000);   /* no poll for longer than max.poll.interval.ms */
    cr_expect_eq(get(&mock.n_leave), 1, "no LeaveGroup after max.poll.interval.ms");
    pthread_mutex_lock(&log_mu);
    cr_expect(strstr(log_text, "4 strand.consumer [Consumer clientId=strand, groupId=g] consumer "
                     "poll timeout has expired."), "%s", log_text);
    pthread_mutex_unlock(&log_mu);
    cr_expect_eq(get(&mock.n_join), joins, "rejoined without a poll");
    poll_until(c, &ev, assigned2);
    cr_assert_str_eq(ev.log, "A:t-0 L:t-0 A:t-0");
    strand_consumer_destroy(c);
}
