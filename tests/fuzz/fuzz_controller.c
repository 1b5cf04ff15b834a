/* libFuzzer harness for the controller as a hostile peer and a hand-edited ZooKeeper see it:
 * the real controller code (controller/st_node.c .. st_ctl_admin.c, topic admin, the znode
 * codecs) runs on this thread against an in-memory ZooKeeper (fake_zk.c) holding a 3-broker
 * cluster, with the controller channel's client replaced by a capture (below): every request
 * the controller sends is parsed as a broker would (frame + protobuf), and answered with a
 * success or with fuzzer bytes (the controller decoding a broker's garbage answer).
 *
 * Input: records [u8 op][u16 little-endian len][len bytes]; see the OP_* list. Records before
 * the first OP_ELECT-or-later op edit the znodes before the election (a hand-edited cluster
 * meeting a new controller: failover must load it or name the bad znode, never crash); the
 * election then runs (also when the input has no such op), and the later records are events
 * and requests: ElectLeaders, ControlledShutdown and AlterIsr bodies as a broker or an admin
 * would send them (protobuf, unpacked as st_node_submit_* does), topic creation and growth
 * through st_topic_admin, znode edits followed by the watch event the controller would get,
 * broker deaths, auto rebalance, re-election.
 *
 * Properties checked after every event (abort = a finding): the controller's invariants (its
 * own asserts, ctl_context_check, ctl_part_check of every partition); every state znode the
 * controller believes in (has_lisr) exists in ZooKeeper, decodes, and equals its cache
 * (leader, epochs, ISR, version: P4) unless the fuzzer edited that znode behind its back;
 * every request it sends parses; every response it gives packs and unpacks; an accepted
 * AlterIsr wrote only an ISR that keeps the leader. See README.md for how to run it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fake_zk.h"
#include "pb_mutate.h"
#include "st_client.h"
#include "st_ctl.h"
#include "st_error.h"
#include "st_frame.h"
#include "st_logger.h"
#include "st_topic_admin.h"
#include "st_znode.h"
#include "strand.pb-c.h"

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_controller: check failed at %s:%d: %s\n", __FILE__, \
                    __LINE__, #cond);                                                \
            abort();                                                                 \
        }                                                                            \
    } while (0)

enum {
    OP_PUT = 0x01,              /* path NUL data: create or overwrite a znode */
    OP_DELETE = 0x02,           /* path: delete it (recursively) */
    OP_UNCLEAN = 0x03,          /* unclean.leader.election.enable = true */
    OP_ELECT = 0x40,            /* the election (implicit before the first op >= 0x40) */
    OP_ELECT_LEADERS = 0x41,    /* ElectLeadersRequest body */
    OP_SHUTDOWN = 0x42,         /* ControlledShutdownRequest body */
    OP_ALTER_ISR = 0x43,        /* AlterIsrRequest body */
    OP_CREATE_TOPIC = 0x44,     /* u8 partitions, u8 rf, name */
    OP_ADD_PARTITIONS = 0x45,   /* u8 new total, name */
    OP_DELETE_TOPIC = 0x46,     /* name */
    OP_EDIT = 0x47,             /* path NUL data, then the watch event of that path */
    OP_REMOVE = 0x48,           /* path, then the watch event */
    OP_BROKER_DIES = 0x49,      /* u8 broker id: its registration goes */
    OP_BROKER_BOUNCES = 0x4a,   /* u8 broker id: re-registered with a new czxid */
    OP_REBALANCE = 0x4b,        /* the auto-rebalance check */
    OP_REPLIES = 0x4c,          /* the next channel replies' bodies, split on 0xff bytes */
    OP_REELECT = 0x4d,          /* resign and stand again (failover over the current znodes) */
    OP_PREFERRED = 0x4e,        /* /admin/preferred_replica_election with these bytes */
};

/* ---- the controller channel's client, captured --------------------------------------------- */

typedef struct sent {
    st_req_t *req;
    struct sent *next;
} sent_t;

static sent_t *sent_head, **sent_tail = &sent_head;
static const uint8_t *reply_data;     /* OP_REPLIES bodies still to hand out */
static size_t reply_len;

int st_client_init(st_client_t *cl, const strand_conf_t *conf, const st_client_role_t *role,
                   void *role_arg, char *errstr, size_t errstr_size)
{
    (void)conf;
    (void)errstr;
    (void)errstr_size;
    memset(cl, 0, sizeof(*cl));
    cl->role = role;
    cl->role_arg = role_arg;
    return 0;
}

void st_client_stop(st_client_t *cl) { (void)cl; }
void st_client_destroy(st_client_t *cl) { (void)cl; }
void st_client_wake(st_client_t *cl) { (void)cl; }

st_req_t *st_req_new(st_client_t *cl, int32_t api_key, const ProtobufCMessage *body,
                     size_t tail_len, int32_t target, int timeout_ms, st_req_cb_t *cb, void *arg)
{
    (void)cl;
    (void)timeout_ms;
    st_req_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api_key;
    hdr.correlation_id = 1;
    hdr.client_id = "controller";
    CHECK(st_frame_encode(&req->out, &hdr.base, body, tail_len) == 0);
    req->api_key = api_key;
    req->target = target;
    req->cb = cb;
    req->arg = arg;
    return req;
}

void st_req_free(st_req_t *req)
{
    if (!req)
        return;
    st_buf_free(&req->out);
    free(req);
}

void st_client_submit(st_client_t *cl, st_req_t *req)
{
    (void)cl;
    sent_t *s = calloc(1, sizeof(*s));
    CHECK(s);
    s->req = req;
    *sent_tail = s;
    sent_tail = &s->next;
}

static bool ids_ok(const int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (v[j] == v[i])
                return false;
    }
    return true;
}

/* What every broker's metadata cache requires of an UpdateMetadata (validate_partition in
 * broker/cluster/metadata_cache.c), where one bad partition state refuses the whole request:
 * a state znode the controller read must never make it send one. */
static void refused(const char *what, int32_t id)
{
    fprintf(stderr, "fuzz_controller: UpdateMetadata every broker refuses: broker %d: %s\n", id,
            what);
    abort();
}

static void check_update_metadata(const Strand__UpdateMetadataRequest *um)
{
    /* the live brokers: convert_brokers (broker/api/handle_update_metadata.c) and
     * validate_brokers (metadata_cache.c) */
    for (size_t i = 0; i < um->n_live_brokers; i++) {
        const Strand__UpdateMetadataBroker *b = um->live_brokers[i];
        if (b->id < 0)
            refused("negative id", b->id);
        for (size_t j = 0; j < i; j++)
            if (um->live_brokers[j]->id == b->id)
                refused("listed twice", b->id);
        if (b->rack && strlen(b->rack) >= 64)
            refused("rack of 64 bytes or more", b->id);
        if (b->n_endpoints == 0)
            refused("no endpoint", b->id);
        for (size_t j = 0; j < b->n_endpoints; j++) {
            const Strand__UpdateMetadataEndpoint *e = b->endpoints[j];
            const char *name = e->listener ? e->listener : "";
            const char *proto = e->security_protocol ? e->security_protocol : "";
            if (!*name || strlen(name) >= 32 || strlen(e->host ? e->host : "") >= 256)
                refused("empty or long listener or host name", b->id);
            if (strcasecmp(proto, "PLAINTEXT") != 0 && strcasecmp(proto, "SSL") != 0)
                refused("security protocol neither PLAINTEXT nor SSL", b->id);
            if (e->port < 0 || e->port > 65535)
                refused("port out of range", b->id);
            for (size_t k = 0; k < j; k++)
                if (strcasecmp(b->endpoints[k]->listener ? b->endpoints[k]->listener : "",
                               name) == 0)
                    refused("listener listed twice", b->id);
        }
    }
    for (size_t i = 0; i < um->n_partition_states; i++) {
        const Strand__UpdateMetadataPartitionState *ps = um->partition_states[i];
        if (!(ps->topic && ps->topic[0] && ps->partition >= 0 && ps->leader >= -2 &&
              ids_ok(ps->replicas, ps->n_replicas) && ids_ok(ps->isr, ps->n_isr) &&
              ids_ok(ps->offline_replicas, ps->n_offline_replicas))) {
            fprintf(stderr, "fuzz_controller: UpdateMetadata every broker refuses: %s-%d leader "
                    "%d, %zu replicas, %zu isr, %zu offline\n", ps->topic ? ps->topic : "",
                    ps->partition, ps->leader, ps->n_replicas, ps->n_isr,
                    ps->n_offline_replicas);
            abort();
        }
    }
}

/* Parses a captured request as the broker would and returns its body, unpacked. */
static void check_request(const st_req_t *req)
{
    st_frame_view_t view;
    const char *why = NULL;
    CHECK(req->out.len >= ST_FRAME_SIZE_PREFIX);
    CHECK(st_frame_parse(req->out.data + ST_FRAME_SIZE_PREFIX,
                         req->out.len - ST_FRAME_SIZE_PREFIX, &view, &why) == 0);
    CHECK(view.tail_len == 0);
    const ProtobufCMessageDescriptor *d =
        req->api_key == STRAND__API_KEY__LEADER_AND_ISR ? &strand__leader_and_isr_request__descriptor
        : req->api_key == STRAND__API_KEY__UPDATE_METADATA
            ? &strand__update_metadata_request__descriptor
            : &strand__stop_replica_request__descriptor;
    CHECK(req->api_key == STRAND__API_KEY__LEADER_AND_ISR ||
          req->api_key == STRAND__API_KEY__UPDATE_METADATA ||
          req->api_key == STRAND__API_KEY__STOP_REPLICA);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, view.body_len, view.body);
    CHECK(m);
    if (req->api_key == STRAND__API_KEY__UPDATE_METADATA)
        check_update_metadata((Strand__UpdateMetadataRequest *)m);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Answers every captured request: with the next OP_REPLIES body if any (garbage the
 * controller must survive), else an empty success body (error_code 0). */
static size_t answer_requests(void)
{
    size_t n = 0;
    while (sent_head) {
        sent_t *s = sent_head;
        sent_head = s->next;
        if (!sent_head)
            sent_tail = &sent_head;
        check_request(s->req);
        uint8_t *body = NULL;
        size_t body_len = 0;
        if (reply_len) {
            const uint8_t *end = memchr(reply_data, 0xff, reply_len);
            body_len = end ? (size_t)(end - reply_data) : reply_len;
            body = malloc(body_len ? body_len : 1);
            CHECK(body);
            memcpy(body, reply_data, body_len);
            reply_data += end ? body_len + 1 : body_len;
            reply_len -= end ? body_len + 1 : body_len;
        }
        st_rframe_t frame;
        memset(&frame, 0, sizeof(frame));
        frame.buf = body;
        frame.view.body = body ? body : (const uint8_t *)"";
        frame.view.body_len = body_len;
        s->req->cb(NULL, s->req, 0, NULL, &frame);
        free(body);
        st_req_free(s->req);
        free(s);
        n++;
    }
    return n;
}

/* ---- the cluster ---------------------------------------------------------------------------- */

static const st_node_listener_t self_listener = { "PLAINTEXT", "PLAINTEXT", "localhost", 9092 };

/* The seed cluster's znodes count as written by the cluster itself (not hand edits). */
static void put(st_zk_t *zk, const char *path, const char *data)
{
    CHECK(st_zk_ensure_path(zk, path) == 0);
    CHECK(st_zk_set(zk, path, data, data ? (int)strlen(data) : 0, -1, NULL) == 0);
}

/* false when ZooKeeper refuses (the fuzzer may have removed /brokers). */
static bool register_broker(st_zk_t *zk, int32_t id, int64_t session)
{
    char host[32], path[64];
    snprintf(host, sizeof(host), "broker%d", id);
    st_endpoint_t ep = { "PLAINTEXT", "PLAINTEXT", host, 9092 };
    st_broker_reg_t reg = { .id = id, .version = 5, .endpoints = &ep, .n_endpoints = 1,
                            .timestamp_ms = 1, .jmx_port = -1 };
    char *json = st_znode_broker_encode(&reg);
    CHECK(json);
    st_zpath_broker(path, sizeof(path), id);
    fake_zk_set_session(zk, session);
    int r = st_zk_create(zk, path, json, (int)strlen(json), ZOO_EPHEMERAL, NULL, 0);
    fake_zk_set_session(zk, 0x5eed);
    free(json);
    return r == 0;
}

static void state(st_zk_t *zk, const char *topic, int32_t p, int32_t leader, const int32_t *isr,
                  size_t n_isr)
{
    char path[320];
    st_zpath_partition_state(path, sizeof(path), topic, p);
    st_lisr_t l = { .leader = leader, .leader_epoch = 0, .controller_epoch = 1,
                    .isr = { (int32_t *)isr, n_isr } };
    char *json = st_znode_lisr_encode(&l);
    CHECK(json);
    put(zk, path, json);
    free(json);
}

/* Three brokers (1 is us); topic t: 3 partitions RF 3, min.insync.replicas 2; topic u: one
 * partition on 2 and 3 led by 2 with ISR [2]. Controller epoch 1, no controller. */
static void seed(st_zk_t *zk)
{
    for (size_t i = 0; st_znode_persistent_paths[i]; i++)
        CHECK(st_zk_ensure_path(zk, st_znode_persistent_paths[i]) == 0);
    char *cid = st_znode_cluster_id_encode("fuzzclusterid0000000000");
    put(zk, ST_ZPATH_CLUSTER_ID, cid);
    free(cid);
    CHECK(register_broker(zk, 1, 0x5eed));
    CHECK(register_broker(zk, 2, 0x200));
    CHECK(register_broker(zk, 3, 0x300));
    put(zk, "/brokers/topics/t",
        "{\"version\":2,\"partitions\":{\"0\":[1,2,3],\"1\":[2,3,1],\"2\":[3,1,2]},"
        "\"adding_replicas\":{},\"removing_replicas\":{}}");
    put(zk, "/brokers/topics/u", "{\"version\":2,\"partitions\":{\"0\":[2,3]}}");
    put(zk, "/config/topics/t", "{\"version\":1,\"config\":{\"min.insync.replicas\":\"2\"}}");
    put(zk, "/config/topics/u", "{\"version\":1,\"config\":{}}");
    const int32_t all[3] = { 1, 2, 3 }, two[1] = { 2 };
    state(zk, "t", 0, 1, (int32_t[]){ 1, 2, 3 }, 3);
    state(zk, "t", 1, 2, (int32_t[]){ 2, 3, 1 }, 3);
    state(zk, "t", 2, 3, all, 3);
    state(zk, "u", 0, 2, two, 1);
    put(zk, ST_ZPATH_CONTROLLER_EPOCH, "1");
}

/* Mirrors st_node_start for broker 1, without a thread: this thread is the node thread. */
static st_node_t *node_new(st_zk_t *zk, bool unclean)
{
    st_node_t *n = calloc(1, sizeof(*n));
    CHECK(n);
    st_node_config_init(&n->cfg);
    n->cfg.broker_id = 1;
    n->cfg.zk_connect = "fake:2181";
    n->cfg.listeners = &self_listener;
    n->cfg.n_listeners = 1;
    n->cfg.inter_broker_listener = "PLAINTEXT";
    n->cfg.unclean_leader_election_enable = unclean;
    n->cfg.auto_rebalance_first_check_ms = 5000;
    n->cfg.channel_retry_backoff_ms = 100;
    atomic_init(&n->controller_id, -1);
    atomic_init(&n->controller_epoch, 0);
    atomic_init(&n->active, false);
    atomic_init(&n->stop, false);
    atomic_init(&n->stand, true);
    n->session = SESSION_REGISTERED;
    n->broker_id = 1;
    struct Stat st;
    const char *data;
    int len;
    atomic_init(&n->broker_epoch,
                fake_zk_peek(zk, "/brokers/ids/1", &data, &len, &st, NULL) == 0 ? st.czxid : 1);
    CHECK(st_mailbox_new(&n->mb) == 0);
    n->zk = zk;
    return n;
}

static void node_free(st_node_t *n)
{
    atomic_store(&n->stop, true);
    ctl_resign(n, "the fuzz input is done");
    st_mailbox_drain(n->mb);
    st_mailbox_free(n->mb, NULL);
    free(n);
}

/* ---- the oracle ------------------------------------------------------------------------------ */

/* Paths the fuzzer deleted behind the controller's back (a cached partition under one may have
 * no state znode). */
#define MAX_REMOVED 16
static char removed[MAX_REMOVED][320];
static size_t n_removed;

static bool under_removed(const char *path)
{
    if (n_removed == MAX_REMOVED)
        return true;
    for (size_t i = 0; i < n_removed; i++) {
        size_t l = strlen(removed[i]);
        if (strcmp(removed[i], "/") == 0 ||
            (strncmp(path, removed[i], l) == 0 && (path[l] == '\0' || path[l] == '/')))
            return true;
    }
    return false;
}

static bool list_eq(const st_int_list_t *a, const st_int_list_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(int32_t)) == 0);
}

static void check_node(st_node_t *n)
{
    CHECK(ctl_node_check(n));
    CHECK(ctl_context_check(n));
    if (!n->in_office || n->resign_pending)
        return;
    for (size_t i = 0; i < n->n_topics; i++) {
        ctl_topic_t *t = &n->topics[i];
        char tpath[320];
        st_zpath_topic(tpath, sizeof(tpath), t->name);
        for (int32_t p = 0; p < t->n_parts; p++) {
            CHECK(ctl_part_check(t, p));
            ctl_part_t *part = &t->parts[p];
            char path[320];
            st_zpath_partition_state(path, sizeof(path), t->name, p);
            if (!part->has_lisr)
                continue;
            const char *data;
            int len;
            struct Stat st;
            bool external = false, topic_external = false;
            const char *tdata;
            int tlen;
            if (fake_zk_peek(n->zk, tpath, &tdata, &tlen, NULL, &topic_external) == 0 &&
                topic_external)
                continue;             /* a hand edit the controller has not seen (no watch) */
            if (fake_zk_peek(n->zk, path, &data, &len, &st, &external) < 0) {
                if (under_removed(path))
                    continue;
                fprintf(stderr, "fuzz_controller: %s cached (leader %d) but not in ZooKeeper\n",
                        path, part->lisr.leader);
                abort();
            }
            if (external)
                continue;
            st_lisr_t l;
            char err[512];
            if (st_znode_lisr_decode(path, data, data ? (size_t)len : 0, &l, err,
                                     sizeof(err)) < 0) {
                fprintf(stderr, "fuzz_controller: the controller's own %s does not decode: %s\n",
                        path, err);
                abort();
            }
            bool same = l.leader == part->lisr.leader &&
                        l.leader_epoch == part->lisr.leader_epoch &&
                        l.controller_epoch == part->lisr.controller_epoch &&
                        list_eq(&l.isr, &part->lisr.isr) && st.version == part->lisr.zk_version;
            if (!same) {
                fprintf(stderr, "fuzz_controller: %s: cache leader %d epoch %d isr %zu version "
                        "%d, ZooKeeper leader %d epoch %d isr %zu version %d\n", path,
                        part->lisr.leader, part->lisr.leader_epoch, part->lisr.isr.n,
                        part->lisr.zk_version, l.leader, l.leader_epoch, l.isr.n, st.version);
                abort();
            }
            st_int_list_free(&l.isr);
        }
    }
}

/* After every event: send the batch, answer what was sent, run the replies, check. */
static void end_event(st_node_t *n)
{
    ctl_end_event(n);
    for (int round = 0; round < 16; round++) {
        size_t answered = answer_requests();
        size_t ran = st_mailbox_drain(n->mb);
        if (!answered && !ran)
            break;
        ctl_channel_tick(n, ctl_now_ms() + 1000000);   /* retries are due at once */
    }
    check_node(n);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void roundtrip(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    CHECK(buf);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    CHECK(back);
    protobuf_c_message_free_unpacked(back, NULL);
    free(buf);
}

static int done_calls;
static st_node_t *the_node;          /* for the done callbacks */
static const Strand__AlterIsrRequest *alter_req;

static void elect_done(void *arg, const Strand__ElectLeadersResponse *resp)
{
    (void)arg;
    done_calls++;
    roundtrip(&resp->base);
}

static void shutdown_done(void *arg, const Strand__ControlledShutdownResponse *resp)
{
    (void)arg;
    done_calls++;
    roundtrip(&resp->base);
}

static void alter_isr_done(void *arg, const Strand__AlterIsrResponse *resp)
{
    (void)arg;
    done_calls++;
    roundtrip(&resp->base);
    /* accepted partitions carry the new ISR, which must keep the leader */
    for (size_t i = 0; i < resp->n_topics; i++)
        for (size_t j = 0; j < resp->topics[i]->n_partitions; j++) {
            const Strand__AlterIsrPartitionResponse *pr = resp->topics[i]->partitions[j];
            if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz_controller: AlterIsr %s-%d: %s\n",
                        resp->topics[i]->name ? resp->topics[i]->name : "",
                        pr->partition, st_error_name(pr->error_code));
            if (pr->error_code != ST_ERR_NONE)
                continue;
            bool has_leader = false;
            for (size_t k = 0; k < pr->n_isr; k++)
                has_leader |= pr->isr[k] == pr->leader_id;
            CHECK(has_leader);
            CHECK(pr->leader_id == alter_req->broker_id);
            /* what the leader asked for, if accepted, is a set of the partition's replicas */
            ctl_topic_t *t = ctl_topic(the_node, resp->topics[i]->name);
            CHECK(t && pr->partition >= 0 && pr->partition < t->n_parts);
            const st_int_list_t *reps = &t->parts[pr->partition].replicas;
            for (size_t k = 0; k < pr->n_isr; k++) {
                CHECK(st_int_list_contains(reps, pr->isr[k]));
                for (size_t m = 0; m < k; m++)
                    CHECK(pr->isr[m] != pr->isr[k]);
            }
        }
}

/* As st_node_submit_* and submit_run do it, on this thread. */
static void submit(st_node_t *n, int kind, const ProtobufCMessageDescriptor *d, void *done,
                   const uint8_t *body, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, body);
    if (!m)
        return;                       /* the broker closes the connection: nothing to run */
    ctl_submit_t *s = calloc(1, sizeof(*s));
    CHECK(s);
    s->n = n;
    s->kind = kind;
    s->req = m;
    s->done = done;
    alter_req = kind == STRAND__API_KEY__ALTER_ISR ? (const Strand__AlterIsrRequest *)m : NULL;
    int before = done_calls;
    if (!atomic_load(&n->active)) {
        ctl_submit_not_controller(s);
    } else {
        ctl_submit_run(n, s);
        end_event(n);
    }
    CHECK(done_calls == before + 1);  /* exactly one answer */
    ctl_submit_free(s);
    alter_req = NULL;
}

/* ---- topic admin ----------------------------------------------------------------------------- */

/* A NUL-terminated copy of a fuzzer string (names are at most 300 bytes). */
static void take_str(const uint8_t *p, size_t n, char *buf, size_t size)
{
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static void check_admin_msg(int code, const char *msg)
{
    if (code != ST_ERR_NONE)
        CHECK(msg[0] != '\0');       /* an error always says why */
}

static void create_topic(st_node_t *n, const uint8_t *p, size_t len)
{
    if (len < 2)
        return;
    char name[300], msg[512] = "";
    take_str(p + 2, len - 2, name, sizeof(name));
    st_topic_spec_t spec = { .name = name, .n_partitions = p[0] % 9,
                             .replication_factor = p[1] % 5, .rack_aware = true };
    int code = st_topic_admin_create(n->zk, &spec, NULL, msg, sizeof(msg));
    check_admin_msg(code, msg);
    ctl_on_zk_event(n, ST_ZK_EV_CHILDREN_CHANGED, ST_ZPATH_BROKERS_TOPICS);
    end_event(n);
}

static void add_partitions(st_node_t *n, const uint8_t *p, size_t len)
{
    if (len < 1)
        return;
    char name[300], msg[512] = "", path[320];
    take_str(p + 1, len - 1, name, sizeof(name));
    int code = st_topic_admin_add_partitions(n->zk, name, p[0] % 12, NULL, 0, 0, false, msg,
                                             sizeof(msg));
    check_admin_msg(code, msg);
    if (st_zpath_topic(path, sizeof(path), name) == 0)
        ctl_on_zk_event(n, ST_ZK_EV_DATA_CHANGED, path);
    end_event(n);
}

static void delete_topic(st_node_t *n, const uint8_t *p, size_t len)
{
    char name[300], msg[512] = "";
    take_str(p, len, name, sizeof(name));
    int code = st_topic_admin_delete(n->zk, name, msg, sizeof(msg));
    check_admin_msg(code, msg);
    ctl_on_zk_event(n, ST_ZK_EV_CHILDREN_CHANGED, ST_ZPATH_DELETE_TOPICS);
    end_event(n);
}

/* ---- znode edits ----------------------------------------------------------------------------- */

/* "path\0data" -> path, data. */
static bool split_put(const uint8_t *p, size_t len, char *path, size_t path_size,
                      const char **data, int *dlen)
{
    const uint8_t *nul = memchr(p, 0, len);
    if (!nul || (size_t)(nul - p) >= path_size)
        return false;
    memcpy(path, p, (size_t)(nul - p) + 1);
    *data = (const char *)nul + 1;
    *dlen = (int)(len - (size_t)(nul - p) - 1);
    return true;
}

/* The watch event ZooKeeper would deliver for a change of path: the path itself (data watch)
 * and its parent (child watch). */
static void fire(st_node_t *n, const char *path, st_zk_event_type_t type)
{
    ctl_on_zk_event(n, type, path);
    end_event(n);
    char parent[320];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t)(slash - path) >= sizeof(parent))
        return;
    memcpy(parent, path, (size_t)(slash - path));
    parent[slash - path] = '\0';
    ctl_on_zk_event(n, ST_ZK_EV_CHILDREN_CHANGED, parent);
    end_event(n);
}

static void broker_dies(st_node_t *n, int32_t id)
{
    char path[64];
    st_zpath_broker(path, sizeof(path), id);
    if (st_zk_delete(n->zk, path, -1) == 0)
        fire(n, path, ST_ZK_EV_DELETED);
}

static void broker_bounces(st_node_t *n, int32_t id)
{
    char path[64];
    st_zpath_broker(path, sizeof(path), id);
    st_zk_delete(n->zk, path, -1);
    if (register_broker(n->zk, id, 0x1000 + id))
        fire(n, path, ST_ZK_EV_CREATED);
}

/* ---- the input ------------------------------------------------------------------------------- */

typedef struct rec {
    uint8_t op;
    const uint8_t *p;
    size_t len;
} rec_t;

static bool next_rec(const uint8_t **data, size_t *size, rec_t *r)
{
    if (*size < 3)
        return false;
    r->op = (*data)[0];
    size_t len = (size_t)(*data)[1] | (size_t)(*data)[2] << 8;
    if (len > *size - 3)
        len = *size - 3;
    r->p = *data + 3;
    r->len = len;
    *data += 3 + len;
    *size -= 3 + len;
    return true;
}

static void run_op(st_node_t *n, const rec_t *r)
{
    char path[320];
    const char *data;
    int dlen;
    switch (r->op) {
    case OP_ELECT_LEADERS:
        submit(n, STRAND__API_KEY__ELECT_LEADERS, &strand__elect_leaders_request__descriptor,
               (void *)elect_done, r->p, r->len);
        break;
    case OP_SHUTDOWN:
        submit(n, STRAND__API_KEY__CONTROLLED_SHUTDOWN,
               &strand__controlled_shutdown_request__descriptor, (void *)shutdown_done, r->p,
               r->len);
        break;
    case OP_ALTER_ISR:
        submit(n, STRAND__API_KEY__ALTER_ISR, &strand__alter_isr_request__descriptor,
               (void *)alter_isr_done, r->p, r->len);
        break;
    case OP_CREATE_TOPIC:
        create_topic(n, r->p, r->len);
        break;
    case OP_ADD_PARTITIONS:
        add_partitions(n, r->p, r->len);
        break;
    case OP_DELETE_TOPIC:
        delete_topic(n, r->p, r->len);
        break;
    case OP_EDIT:
        if (!split_put(r->p, r->len, path, sizeof(path), &data, &dlen))
            break;
        if (fake_zk_put(n->zk, path, data, dlen) == 0)
            fire(n, path, ST_ZK_EV_DATA_CHANGED);
        break;
    case OP_REMOVE:
        take_str(r->p, r->len, path, sizeof(path));
        /* noted even when it fails part-way ("/" itself cannot go, its children can) */
        if (n_removed < MAX_REMOVED)
            snprintf(removed[n_removed++], sizeof(removed[0]), "%s", path);
        if (st_zk_delete_recursive(n->zk, path) == 0)
            fire(n, path, ST_ZK_EV_DELETED);
        break;
    case OP_BROKER_DIES:
        if (r->len)
            broker_dies(n, r->p[0] % 5);
        break;
    case OP_BROKER_BOUNCES:
        if (r->len)
            broker_bounces(n, r->p[0] % 5);
        break;
    case OP_REBALANCE:
        if (atomic_load(&n->active)) {
            ctl_auto_rebalance(n);
            end_event(n);
        }
        break;
    case OP_REPLIES:
        reply_data = r->p;
        reply_len = r->len;
        break;
    case OP_REELECT:
        ctl_resign(n, "fuzz re-election");
        ctl_elect(n);
        end_event(n);
        break;
    case OP_PREFERRED:
        if (fake_zk_put(n->zk, ST_ZPATH_PREFERRED_ELECTION, (const char *)r->p, (int)r->len) == 0)
            fire(n, ST_ZPATH_PREFERRED_ELECTION, ST_ZK_EV_CREATED);
        break;
    default:
        break;
    }
}

/* ---- seeds (STRAND_FUZZ_WRITE_SEEDS=<dir>) ----------------------------------------------- */

static void rec(st_buf_t *b, uint8_t op, const void *data, size_t len)
{
    uint8_t h[3] = { op, (uint8_t)(len & 0xff), (uint8_t)(len >> 8) };
    CHECK(len <= 0xffff);
    st_buf_append(b, h, 3);
    st_buf_append(b, data, len);
}

static void rec_str(st_buf_t *b, uint8_t op, const char *s)
{
    rec(b, op, s, strlen(s));
}

/* path NUL data */
static void rec_put(st_buf_t *b, uint8_t op, const char *path, const char *data)
{
    st_buf_t t = ST_BUF_INIT;
    st_buf_append(&t, path, strlen(path) + 1);
    st_buf_append(&t, data, strlen(data));
    rec(b, op, t.data, t.len);
    st_buf_free(&t);
}

static void rec_msg(st_buf_t *b, uint8_t op, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    CHECK(buf);
    protobuf_c_message_pack(m, buf);
    rec(b, op, buf, len);
    free(buf);
}

static void write_seed(const char *dir, const char *name, const st_buf_t *b)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp);
    fwrite(b->data ? b->data : (uint8_t *)"", 1, b->len, fp);
    fclose(fp);
}

static void write_seeds(const char *dir)
{
    mkdir(dir, 0755);
    st_buf_t b = ST_BUF_INIT;
#define SEED(name, ...)              \
    do {                             \
        st_buf_reset(&b);            \
        __VA_ARGS__;                 \
        write_seed(dir, name, &b);   \
    } while (0)
    SEED("election", rec(&b, OP_ELECT, NULL, 0));

    /* t-0 led by 2 (not preferred): a preferred election moves it back to 1 */
    int32_t p012[3] = { 0, 1, 2 };
    Strand__ElectLeadersTopic et = STRAND__ELECT_LEADERS_TOPIC__INIT;
    et.topic = "t";
    et.n_partitions = 3;
    et.partitions = p012;
    Strand__ElectLeadersTopic *ets[1] = { &et };
    Strand__ElectLeadersRequest el = STRAND__ELECT_LEADERS_REQUEST__INIT;
    el.n_topic_partitions = 1;
    el.topic_partitions = ets;
    const char *t0_led_by_2 = "{\"controller_epoch\":1,\"leader\":2,\"version\":1,"
                              "\"leader_epoch\":3,\"isr\":[2,1]}";
    SEED("elect_preferred", rec_put(&b, OP_PUT, "/brokers/topics/t/partitions/0/state",
                                    t0_led_by_2);
         rec_msg(&b, OP_ELECT_LEADERS, &el.base));
    el.election_type = 1;
    el.all_partitions = true;
    SEED("elect_unclean_all", rec(&b, OP_UNCLEAN, NULL, 0); rec(&b, OP_ELECT, NULL, 0);
         rec(&b, OP_BROKER_DIES, "\x03", 1); rec_msg(&b, OP_ELECT_LEADERS, &el.base));

    Strand__ControlledShutdownRequest cs = STRAND__CONTROLLED_SHUTDOWN_REQUEST__INIT;
    cs.broker_id = 2;
    cs.broker_epoch = INT64_MAX;
    SEED("controlled_shutdown", rec_msg(&b, OP_SHUTDOWN, &cs.base));

    int32_t isr12[2] = { 1, 2 };
    Strand__AlterIsrPartition ap = STRAND__ALTER_ISR_PARTITION__INIT;
    ap.partition = 0;
    ap.leader_epoch = 0;
    ap.new_isr = isr12;
    ap.n_new_isr = 2;
    ap.current_isr_version = 1;
    Strand__AlterIsrPartition *aps[1] = { &ap };
    Strand__AlterIsrTopic at = STRAND__ALTER_ISR_TOPIC__INIT;
    at.name = "t";
    at.n_partitions = 1;
    at.partitions = aps;
    Strand__AlterIsrTopic *ats[1] = { &at };
    Strand__AlterIsrRequest ar = STRAND__ALTER_ISR_REQUEST__INIT;
    ar.broker_id = 1;
    ar.broker_epoch = INT64_MAX;
    ar.n_topics = 1;
    ar.topics = ats;
    SEED("alter_isr", rec_msg(&b, OP_ALTER_ISR, &ar.base));
    /* a hostile leader: an ISR with a duplicate and a broker that is no replica, then
     * elections over it */
    int32_t isr_bad[4] = { 1, 99, 1, -5 };
    ap.new_isr = isr_bad;
    ap.n_new_isr = 4;
    SEED("alter_isr_hostile", rec_msg(&b, OP_ALTER_ISR, &ar.base);
         rec(&b, OP_BROKER_DIES, "\x02", 1); rec_msg(&b, OP_SHUTDOWN, &cs.base);
         rec(&b, OP_REELECT, NULL, 0); rec(&b, OP_REBALANCE, NULL, 0));
    ap.new_isr = isr12;
    ap.n_new_isr = 2;

    SEED("topic_admin", rec(&b, OP_CREATE_TOPIC, "\x04\x03new", 5);
         rec(&b, OP_ADD_PARTITIONS, "\x06new", 4); rec_str(&b, OP_DELETE_TOPIC, "u"));
    SEED("broker_changes", rec(&b, OP_BROKER_DIES, "\x03", 1);
         rec(&b, OP_BROKER_BOUNCES, "\x02", 1); rec(&b, OP_REBALANCE, NULL, 0);
         rec(&b, OP_REELECT, NULL, 0));
    SEED("preferred_znode",
         rec_put(&b, OP_PUT, "/brokers/topics/t/partitions/1/state", t0_led_by_2);
         rec(&b, OP_ELECT, NULL, 0);
         rec_str(&b, OP_PREFERRED,
                 "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":1}]}"));
    SEED("isr_twice", rec_put(&b, OP_PUT, "/brokers/topics/t/partitions/2/state",
                              "{\"controller_epoch\":1,\"leader\":3,\"version\":1,"
                              "\"leader_epoch\":0,\"isr\":[3,3,-1]}"));
    SEED("broker_odd_endpoint",
         rec_put(&b, OP_PUT, "/brokers/ids/4",
                 "{\"version\":5,\"endpoints\":[\"SASL_PLAINTEXT://h4:9092\"],"
                 "\"listener_security_protocol_map\":{\"SASL_PLAINTEXT\":\"SASL_PLAINTEXT\"}}"));
    SEED("garbage_replies", rec(&b, OP_REPLIES, "\x08\x05\xff\xff\x0a\x03" "abc", 8);
         rec(&b, OP_BROKER_DIES, "\x02", 1));
    SEED("hand_edited", rec_put(&b, OP_PUT, "/brokers/topics/u/partitions/0/state",
                                "{\"controller_epoch\":9,\"leader\":7,\"version\":1,"
                                "\"leader_epoch\":1,\"isr\":[7,7]}");
         rec_put(&b, OP_PUT, "/brokers/topics/t", "{\"version\":2,\"partitions\":{\"0\":[1]}}");
         rec_put(&b, OP_PUT, "/brokers/topics/x", "not json");
         rec_put(&b, OP_PUT, "/brokers/ids/4", "{\"version\":5}");
         rec_put(&b, OP_PUT, "/controller_epoch", "x");
         rec(&b, OP_ELECT, NULL, 0);
         rec_put(&b, OP_EDIT, "/brokers/topics/u", "{\"version\":2,\"partitions\":{\"0\":[2,3],"
                                                    "\"1\":[3,1]}}");
         rec_str(&b, OP_REMOVE, "/brokers/topics/t/partitions/1"));
    st_buf_free(&b);
#undef SEED
}

/* The custom mutator: protobuf-aware changes of the request bodies (see pb_mutate.c). */
static const ProtobufCMessageDescriptor *body_of(uint8_t kind, const uint8_t *p, size_t len,
                                                 size_t *ret_off)
{
    (void)p;
    (void)len;
    *ret_off = 0;
    switch (kind) {
    case OP_ELECT_LEADERS: return &strand__elect_leaders_request__descriptor;
    case OP_SHUTDOWN: return &strand__controlled_shutdown_request__descriptor;
    case OP_ALTER_ISR: return &strand__alter_isr_request__descriptor;
    default: return NULL;
    }
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (seed % 3 != 0) {
        size_t n = pb_mutate_records(data, size, max_size, seed / 3, 0, body_of);
        if (n)
            return n;
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    st_logger_set_level(getenv("FUZZ_VERBOSE") ? ST_LEVEL_DEBUG : ST_LEVEL_OFF);
    const char *seeds = getenv("STRAND_FUZZ_WRITE_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_zk_t *zk = fake_zk_new();
    CHECK(zk);
    seed(zk);
    reply_data = NULL;
    reply_len = 0;
    n_removed = 0;
    bool unclean = false;
    rec_t r;
    bool have = false;
    /* phase 1: the cluster as the new controller finds it */
    while ((have = next_rec(&data, &size, &r)) && r.op < OP_ELECT) {
        char path[320];
        const char *d;
        int dlen;
        if (r.op == OP_PUT && split_put(r.p, r.len, path, sizeof(path), &d, &dlen))
            fake_zk_put(zk, path, d, dlen);
        else if (r.op == OP_DELETE) {
            take_str(r.p, r.len, path, sizeof(path));
            st_zk_delete_recursive(zk, path);
        } else if (r.op == OP_UNCLEAN)
            unclean = true;
    }
    st_node_t *n = node_new(zk, unclean);
    the_node = n;
    ctl_elect(n);
    end_event(n);
    /* phase 2: events and requests */
    while (have) {
        run_op(n, &r);
        have = next_rec(&data, &size, &r);
    }
    node_free(n);
    answer_requests();
    fake_zk_free(zk);
    return 0;
}
