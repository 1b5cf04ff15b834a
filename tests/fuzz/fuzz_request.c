/* libFuzzer harness for the broker's request path as a hostile peer, controller or client sees
 * it: whole frames go through st_request_dispatch (st_frame_parse, RequestHeader unpack, the API
 * table, the handler: body unpack, validation, the real work) on a minimal broker context built
 * fresh for every input -- log manager, partition registry, replica manager with its threads,
 * metadata cache, topic admin worker over an in-memory ZooKeeper (fake_zk.c), and a node that is
 * not the controller. Only the socket layer is replaced (below): the connection (conn.c), the
 * network loops (net.c) and the inter-broker channel (channel.c). The replica fetcher is real
 * and talks to a fake leader whose Fetch answers come from the input, and so are the AlterIsr
 * answers of a fake controller (a hostile leader or controller as the follower sees them).
 *
 * Every input starts from the same cluster state, set up through the same dispatcher on the
 * inter-broker listener: UpdateMetadata (brokers 1, 2, 3; controller 2), LeaderAndIsr making
 * this broker (1) leader of t-0 (replicas 1,2,3, ISR [1]) and follower of t-1 (leader 2), and
 * three records produced to t-0.
 *
 * Input: byte 0 is flags (bit 0: the input's frames arrive on the client listener instead of
 * the inter-broker one); then records [u8 kind][u16 little-endian len][bytes]:
 *   0x01  a frame payload (what follows the u32 size prefix) for the dispatcher
 *   0x02  switch listener (client <-> inter-broker)
 *   0x03  a frame payload the fake leader answers the next follower Fetch with
 *   0x04  a frame payload the fake controller answers the next AlterIsr with
 *   0x05  wait until the fetcher and the AlterIsr sender have used every answer given
 *   0x06  [u8 API key][body]: a request the harness frames (header v0, correlation id 7), so
 *         that mutations of the body never break the frame's lengths
 *   0x07  [u16 LE body_len][body][tail]: a Produce request framed the same way, with its tail
 *
 * Properties checked (abort = a finding): no crash, leak or undefined behaviour (ASan/UBSan);
 * at most one response per request, exactly one for every API but Produce, with the request's
 * correlation id; every response body packs and unpacks as its API's response type; every
 * record slice of a Fetch response lies inside its segment file; a request the replica-state
 * thread or the admin worker took is answered within 10 s (no hang).
 *
 * STRAND_FUZZ_WRITE_SEEDS=<dir> makes the harness write its seed inputs there and exit (see
 * README.md). */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin_worker.h"
#include "broker.h"
#include "channel.h"
#include "conn.h"
#include "fencing.h"
#include "fake_zk.h"
#include "net.h"
#include "pb_mutate.h"
#include "partition.h"
#include "replica_manager.h"
#include "request.h"
#include "st_batch.h"
#include "st_ctl.h"
#include "st_frame.h"
#include "st_logger.h"
#include "st_znode.h"
#include "strand.pb-c.h"

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_request: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

/* ---- the network loop and the connection (net.c, conn.c), faked ------------------------------ */

int64_t st_now_ms(void) { return mono_ms(); }

int64_t st_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* main.c's halt: the broker asks for it only when every log dir failed. The harness's log dir is
 * healthy, so a request that gets there is a finding. */
void st_broker_request_shutdown(st_broker_t *b, int exit_code)
{
    (void)b;
    fprintf(stderr, "fuzz_request: the broker asked to shut down (exit %d): every log dir "
            "failed on this input\n", exit_code);
    abort();
}

void st_net_wake_loop(void *arg, int loop)
{
    (void)arg;
    (void)loop;
}

struct st_conn {
    st_arena_t arena;
    st_listener_t *listener;
    char client_id[256];
    st_delayed_t *parked;
    int32_t park_ms;
    int responses;                    /* for the request being handled */
    int32_t correlation_id;           /* of the request being handled */
    const ProtobufCMessageDescriptor *expect;   /* its response type, NULL: any */
};

static st_loop_t fake_loop;           /* index 0 */

const char *st_conn_peer(const st_conn_t *conn) { (void)conn; return "fuzz:1"; }
const char *st_conn_client_id(const st_conn_t *conn) { return conn->client_id; }
const char *st_conn_principal(const st_conn_t *conn) { (void)conn; return NULL; }
st_arena_t *st_conn_arena(st_conn_t *conn) { return &conn->arena; }
st_loop_t *st_conn_loop(const st_conn_t *conn) { (void)conn; return &fake_loop; }
const st_listener_t *st_conn_listener(const st_conn_t *conn) { return conn->listener; }

void st_conn_set_client_id(st_conn_t *conn, const char *client_id)
{
    snprintf(conn->client_id, sizeof(conn->client_id), "%s", client_id);
}

void st_conn_park(st_conn_t *conn, st_delayed_t *op, int32_t wait_ms)
{
    CHECK(!conn->parked);
    conn->parked = op;
    conn->park_ms = wait_ms;
}

/* Every slice must lie inside its file: sendfile would send short otherwise. */
static void check_slice(const st_log_slice_t *s)
{
    if (s->len == 0)
        return;
    CHECK(s->fd >= 0);
    struct stat st;
    CHECK(fstat(s->fd, &st) == 0);
    CHECK(s->pos >= 0 && (uint64_t)s->pos + s->len <= (uint64_t)st.st_size);
}

int st_conn_queue_response(st_conn_t *conn, int32_t correlation_id, const ProtobufCMessage *body,
                           st_log_slice_t *slices, size_t n_slices)
{
    conn->responses++;
    CHECK(conn->responses == 1);
    CHECK(correlation_id == conn->correlation_id);
    if (conn->expect)
        CHECK(body->descriptor == conn->expect ||
              body->descriptor == &strand__api_versions_response__descriptor);
    Strand__ResponseHeader hdr = STRAND__RESPONSE_HEADER__INIT;
    hdr.correlation_id = correlation_id;
    size_t tail = 0;
    for (size_t i = 0; i < n_slices; i++) {
        check_slice(&slices[i]);
        tail += slices[i].len;
    }
    st_buf_t out = ST_BUF_INIT;
    CHECK(st_frame_encode(&out, &hdr.base, body, tail) == 0);
    st_frame_view_t view;
    const char *why = NULL;
    /* what the client receives: the frame with the tail appended */
    CHECK(st_buf_reserve(&out, tail) == 0);
    memset(out.data + out.len, 0, tail);
    out.len += tail;
    CHECK(st_frame_parse(out.data + ST_FRAME_SIZE_PREFIX, out.len - ST_FRAME_SIZE_PREFIX, &view,
                         &why) == 0);
    ProtobufCMessage *back = protobuf_c_message_unpack(body->descriptor, NULL, view.body_len,
                                                       view.body);
    CHECK(back);
    protobuf_c_message_free_unpacked(back, NULL);
    st_buf_free(&out);
    for (size_t i = 0; i < n_slices; i++)
        if (slices[i].len || slices[i].seg)
            st_log_slice_release(&slices[i]);
    return 0;
}

/* ---- the inter-broker channel (channel.c), faked: a leader and a controller from the input -- */

typedef struct canned {
    int32_t api;
    uint8_t *data;
    size_t len;
    struct canned *next;
} canned_t;

static pthread_mutex_t canned_lock = PTHREAD_MUTEX_INITIALIZER;
static canned_t *canned_head;
static size_t canned_n;

struct st_channel {
    char peer[64];
};

void st_channel_conf_inter_broker(const struct st_broker_config *cfg, const char *client_id,
                                  st_channel_conf_t *ret)
{
    (void)cfg;
    *ret = (st_channel_conf_t){ .client_id = client_id };
}

int st_channel_open(const st_channel_conf_t *conf, const char *host, int port, int timeout_ms,
                    st_channel_t **ret_ch, char *err, size_t errlen)
{
    (void)conf;
    (void)timeout_ms;
    st_channel_t *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(ch->peer, sizeof(ch->peer), "%.40s:%d", host, port);
    *ret_ch = ch;
    return 0;
}

int st_channel_call(st_channel_t *ch, int32_t api_key, int32_t api_version,
                    const ProtobufCMessage *body, int timeout_ms, st_buf_t *frame,
                    st_frame_view_t *ret_view)
{
    (void)ch;
    (void)api_version;
    (void)timeout_ms;
    /* the request as the peer would receive it */
    size_t len = protobuf_c_message_get_packed_size(body);
    uint8_t *buf = malloc(len ? len : 1);
    CHECK(buf);
    protobuf_c_message_pack(body, buf);
    ProtobufCMessage *back = protobuf_c_message_unpack(body->descriptor, NULL, len, buf);
    CHECK(back);
    protobuf_c_message_free_unpacked(back, NULL);
    free(buf);
    pthread_mutex_lock(&canned_lock);
    canned_t **pp = &canned_head;
    while (*pp && (*pp)->api != api_key)
        pp = &(*pp)->next;
    canned_t *c = *pp;
    if (c) {
        *pp = c->next;
        canned_n--;
    }
    pthread_mutex_unlock(&canned_lock);
    if (!c) {
        nap_us(200);                  /* the peer is silent: the caller backs off */
        return -ETIMEDOUT;
    }
    /* as channel.c reads it: size-checked, parsed, correlation id checked */
    int r = 0;
    st_buf_reset(frame);
    if (c->len < ST_FRAME_MIN_SIZE || st_buf_append(frame, c->data, c->len) < 0) {
        r = -EBADMSG;
    } else {
        const char *why = NULL;
        if (st_frame_parse(frame->data, frame->len, ret_view, &why) < 0) {
            r = -EBADMSG;
        } else {
            Strand__ResponseHeader *rh = strand__response_header__unpack(
                NULL, ret_view->header_len, ret_view->header);
            if (!rh)
                r = -EBADMSG;
            strand__response_header__free_unpacked(rh, NULL);
        }
    }
    free(c->data);
    free(c);
    return r;
}

void st_channel_close(st_channel_t *ch) { free(ch); }
const char *st_channel_peer(const st_channel_t *ch) { return ch->peer; }
int st_channel_fd(const st_channel_t *ch) { (void)ch; return -1; }

static void canned_add(int32_t api, const uint8_t *data, size_t len)
{
    canned_t *c = calloc(1, sizeof(*c));
    CHECK(c);
    c->api = api;
    c->data = malloc(len ? len : 1);
    CHECK(c->data);
    memcpy(c->data, data, len);
    c->len = len;
    pthread_mutex_lock(&canned_lock);
    canned_t **pp = &canned_head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    canned_n++;
    pthread_mutex_unlock(&canned_lock);
}

static size_t canned_left(void)
{
    pthread_mutex_lock(&canned_lock);
    size_t n = canned_n;
    pthread_mutex_unlock(&canned_lock);
    return n;
}

static void canned_clear(void)
{
    pthread_mutex_lock(&canned_lock);
    while (canned_head) {
        canned_t *c = canned_head;
        canned_head = c->next;
        free(c->data);
        free(c);
    }
    canned_n = 0;
    pthread_mutex_unlock(&canned_lock);
}

/* ---- frames ---------------------------------------------------------------------------------- */

/* A frame payload (after the size prefix) for api with body and tail; *ret_len its length. */
static uint8_t *make_frame(int32_t api, int32_t corr, const ProtobufCMessage *body,
                           const void *tail, size_t tail_len, size_t *ret_len)
{
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api;
    hdr.correlation_id = corr;
    hdr.client_id = "fuzz";
    st_buf_t out = ST_BUF_INIT;
    CHECK(st_frame_encode(&out, &hdr.base, body, tail_len) == 0);
    if (tail_len)
        CHECK(st_buf_append(&out, tail, tail_len) == 0);
    size_t len = out.len - ST_FRAME_SIZE_PREFIX;
    uint8_t *p = malloc(len);
    CHECK(p);
    memcpy(p, out.data + ST_FRAME_SIZE_PREFIX, len);
    st_buf_free(&out);
    *ret_len = len;
    return p;
}

/* A response frame payload (ResponseHeader + body + tail), as the fake peers answer. */
static uint8_t *make_response(int32_t corr, const ProtobufCMessage *body, const void *tail,
                              size_t tail_len, size_t *ret_len)
{
    Strand__ResponseHeader hdr = STRAND__RESPONSE_HEADER__INIT;
    hdr.correlation_id = corr;
    st_buf_t out = ST_BUF_INIT;
    CHECK(st_frame_encode(&out, &hdr.base, body, tail_len) == 0);
    if (tail_len)
        CHECK(st_buf_append(&out, tail, tail_len) == 0);
    size_t len = out.len - ST_FRAME_SIZE_PREFIX;
    uint8_t *p = malloc(len);
    CHECK(p);
    memcpy(p, out.data + ST_FRAME_SIZE_PREFIX, len);
    st_buf_free(&out);
    *ret_len = len;
    return p;
}

/* One batch of n records (offsets 0..n-1, unstamped). */
static uint8_t *make_batch(int n, size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    CHECK(w);
    for (int i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof(v), "value-%d", i);
        CHECK(st_batch_writer_add(w, 1700000000000LL + i, "k", 1, v, vl, NULL, 0) == 0);
    }
    const void *buf;
    size_t len;
    CHECK(st_batch_writer_finish(w, &buf, &len) == 0);
    uint8_t *copy = malloc(len);
    CHECK(copy);
    memcpy(copy, buf, len);
    st_batch_writer_free(w);
    *ret_len = len;
    return copy;
}

static Strand__UpdateMetadataEndpoint ep_plain[4], ep_repl[4];
static Strand__UpdateMetadataEndpoint *eps[4][2];
static Strand__UpdateMetadataBroker brokers[4];
static Strand__UpdateMetadataBroker *broker_ptrs[3];

static void init_brokers(void)
{
    static char hosts[4][16];
    for (int i = 1; i <= 3; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "broker%d", i);
        strand__update_metadata_endpoint__init(&ep_plain[i]);
        ep_plain[i].listener = "PLAINTEXT";
        ep_plain[i].security_protocol = "PLAINTEXT";
        ep_plain[i].host = hosts[i];
        ep_plain[i].port = 9092;
        strand__update_metadata_endpoint__init(&ep_repl[i]);
        ep_repl[i].listener = "REPLICATION";
        ep_repl[i].security_protocol = "PLAINTEXT";
        ep_repl[i].host = hosts[i];
        ep_repl[i].port = 9093;
        eps[i][0] = &ep_plain[i];
        eps[i][1] = &ep_repl[i];
        strand__update_metadata_broker__init(&brokers[i]);
        brokers[i].id = i;
        brokers[i].n_endpoints = 2;
        brokers[i].endpoints = eps[i];
        broker_ptrs[i - 1] = &brokers[i];
    }
}

/* The set-up frames every input starts from (see the header). */
typedef struct frame {
    uint8_t *data;
    size_t len;
} frame_t;

static frame_t setup_frames[3];

static frame_t update_metadata_frame(void)
{
    int32_t r123[3] = { 1, 2, 3 }, r231[3] = { 2, 3, 1 }, isr1[1] = { 1 };
    Strand__UpdateMetadataPartitionState ps[2];
    Strand__UpdateMetadataPartitionState *pps[2] = { &ps[0], &ps[1] };
    for (int i = 0; i < 2; i++) {
        strand__update_metadata_partition_state__init(&ps[i]);
        ps[i].topic = "t";
        ps[i].partition = i;
        ps[i].controller_epoch = 1;
        ps[i].leader = i == 0 ? 1 : 2;
        ps[i].leader_epoch = 1;
        ps[i].replicas = i == 0 ? r123 : r231;
        ps[i].n_replicas = 3;
        ps[i].isr = i == 0 ? isr1 : r231;
        ps[i].n_isr = i == 0 ? 1 : 3;
    }
    Strand__UpdateMetadataRequest um = STRAND__UPDATE_METADATA_REQUEST__INIT;
    um.controller_id = 2;
    um.controller_epoch = 1;
    um.broker_epoch = -1;
    um.n_partition_states = 2;
    um.partition_states = pps;
    um.n_live_brokers = 3;
    um.live_brokers = broker_ptrs;
    frame_t f;
    f.data = make_frame(STRAND__API_KEY__UPDATE_METADATA, 1, &um.base, NULL, 0, &f.len);
    return f;
}

static frame_t leader_and_isr_frame(void)
{
    int32_t r123[3] = { 1, 2, 3 }, r231[3] = { 2, 3, 1 }, isr1[1] = { 1 };
    Strand__LeaderAndIsrPartitionState ps[2];
    Strand__LeaderAndIsrPartitionState *pps[2] = { &ps[0], &ps[1] };
    for (int i = 0; i < 2; i++) {
        strand__leader_and_isr_partition_state__init(&ps[i]);
        ps[i].partition = i;
        ps[i].controller_epoch = 1;
        ps[i].leader = i == 0 ? 1 : 2;
        ps[i].leader_epoch = 1;
        ps[i].replicas = i == 0 ? r123 : r231;
        ps[i].n_replicas = 3;
        ps[i].isr = i == 0 ? isr1 : r231;
        ps[i].n_isr = i == 0 ? 1 : 3;
        ps[i].is_new = true;
    }
    Strand__TopicConfigEntry cfg = STRAND__TOPIC_CONFIG_ENTRY__INIT;
    cfg.name = "min.insync.replicas";
    cfg.value = "1";
    Strand__TopicConfigEntry *cfgs[1] = { &cfg };
    Strand__LeaderAndIsrTopicState ts = STRAND__LEADER_AND_ISR_TOPIC_STATE__INIT;
    ts.topic = "t";
    ts.n_partitions = 2;
    ts.partitions = pps;
    ts.n_configs = 1;
    ts.configs = cfgs;
    Strand__LeaderAndIsrTopicState *tss[1] = { &ts };
    Strand__LeaderAndIsrRequest lai = STRAND__LEADER_AND_ISR_REQUEST__INIT;
    lai.controller_id = 2;
    lai.controller_epoch = 1;
    lai.broker_epoch = -1;
    lai.n_topics = 1;
    lai.topics = tss;
    lai.n_live_leaders = 1;
    lai.live_leaders = &broker_ptrs[1];
    frame_t f;
    f.data = make_frame(STRAND__API_KEY__LEADER_AND_ISR, 2, &lai.base, NULL, 0, &f.len);
    return f;
}

static frame_t produce_frame(int32_t partition, int32_t acks, int n_records)
{
    size_t blen;
    uint8_t *batch = make_batch(n_records, &blen);
    Strand__ProducePartitionData pd = STRAND__PRODUCE_PARTITION_DATA__INIT;
    pd.partition = partition;
    pd.records_size = (uint32_t)blen;
    Strand__ProducePartitionData *pds[1] = { &pd };
    Strand__ProduceTopicData td = STRAND__PRODUCE_TOPIC_DATA__INIT;
    td.name = "t";
    td.n_partitions = 1;
    td.partitions = pds;
    Strand__ProduceTopicData *tds[1] = { &td };
    Strand__ProduceRequest pr = STRAND__PRODUCE_REQUEST__INIT;
    pr.acks = acks;
    pr.timeout_ms = 1000;
    pr.n_topics = 1;
    pr.topics = tds;
    frame_t f;
    f.data = make_frame(STRAND__API_KEY__PRODUCE, 3, &pr.base, batch, blen, &f.len);
    free(batch);
    return f;
}

/* ---- the broker context ---------------------------------------------------------------------- */

static st_broker_config_t cfg;
static char log_dir[256];
static st_listener_t listeners[2];    /* 0: PLAINTEXT (clients), 1: REPLICATION (inter-broker) */

static void set(const char *kv)
{
    st_cfg_error_t err;
    if (st_cfg_set_kv(st_broker_config_table, &cfg, kv, &err) != 0) {
        fprintf(stderr, "fuzz_request: %s: %s\n", kv, err.msg);
        abort();
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_log_dir(void)
{
    remove_tree(log_dir);
}

static st_zk_t *zk;

static void zk_seed(void)
{
    for (size_t i = 0; st_znode_persistent_paths[i]; i++)
        CHECK(st_zk_ensure_path(zk, st_znode_persistent_paths[i]) == 0);
    for (int32_t id = 1; id <= 3; id++) {
        char host[32], path[64];
        snprintf(host, sizeof(host), "broker%d", id);
        st_endpoint_t ep = { "PLAINTEXT", "PLAINTEXT", host, 9092 };
        st_broker_reg_t reg = { .id = id, .version = 5, .endpoints = &ep, .n_endpoints = 1,
                                .timestamp_ms = 1, .jmx_port = -1 };
        char *json = st_znode_broker_encode(&reg);
        CHECK(json);
        st_zpath_broker(path, sizeof(path), id);
        CHECK(fake_zk_put(zk, path, json, (int)strlen(json)) == 0);
        free(json);
    }
    const char *t = "{\"version\":2,\"partitions\":{\"0\":[1,2,3],\"1\":[2,3,1]}}";
    CHECK(fake_zk_put(zk, "/brokers/topics/t", t, (int)strlen(t)) == 0);
}

static st_broker_t broker;
static st_node_t *node;

static void context_open(void)
{
    st_broker_t *b = &broker;
    memset(b, 0, sizeof(*b));
    b->cfg = cfg;
    st_fencing_init(b);
    remove_tree(log_dir);
    CHECK(mkdir(log_dir, 0755) == 0);
    st_log_config_t log_defaults;
    st_broker_config_log_defaults(&b->cfg, &log_defaults);
    CHECK(st_metadata_cache_new("fuzzcluster", &b->meta) == 0);
    CHECK(st_log_manager_open((const char *const *)b->cfg.dirs, b->cfg.n_dirs, b->cfg.broker_id,
                              &log_defaults, &b->mgr) == 0);
    CHECK(st_registry_open(&b->cfg, b->mgr, 1, &b->reg) == 0);
    st_registry_set_wake(b->reg, st_net_wake_loop, NULL);
    CHECK(st_replica_manager_start(b, &b->rm) == 0);
    zk = fake_zk_new();
    CHECK(zk);
    zk_seed();
    node = calloc(1, sizeof(*node));      /* registered, not the controller */
    CHECK(node);
    st_node_config_init(&node->cfg);
    node->zk = zk;
    node->broker_id = 1;
    atomic_init(&node->controller_id, 2);
    atomic_init(&node->active, false);
    atomic_init(&node->broker_epoch, 1);
    b->node = node;
    CHECK(st_admin_worker_start(b, &b->admin) == 0);
}

static void context_close(void)
{
    st_broker_t *b = &broker;
    st_admin_worker_stop(b->admin);
    b->admin = NULL;
    st_replica_manager_stop(b->rm);
    b->rm = NULL;
    st_registry_close(b->reg);
    st_log_manager_close(b->mgr);
    st_metadata_cache_free(b->meta);
    free(node);
    node = NULL;
    fake_zk_free(zk);
    zk = NULL;
    canned_clear();
}

/* ---- dispatching --------------------------------------------------------------------------- */

static const ProtobufCMessageDescriptor *response_type(int32_t api)
{
    switch (api) {
    case STRAND__API_KEY__PRODUCE: return &strand__produce_response__descriptor;
    case STRAND__API_KEY__FETCH: return &strand__fetch_response__descriptor;
    case STRAND__API_KEY__LIST_OFFSETS: return &strand__list_offsets_response__descriptor;
    case STRAND__API_KEY__METADATA: return &strand__metadata_response__descriptor;
    case STRAND__API_KEY__LEADER_AND_ISR: return &strand__leader_and_isr_response__descriptor;
    case STRAND__API_KEY__STOP_REPLICA: return &strand__stop_replica_response__descriptor;
    case STRAND__API_KEY__UPDATE_METADATA: return &strand__update_metadata_response__descriptor;
    case STRAND__API_KEY__CONTROLLED_SHUTDOWN:
        return &strand__controlled_shutdown_response__descriptor;
    case STRAND__API_KEY__API_VERSIONS: return &strand__api_versions_response__descriptor;
    case STRAND__API_KEY__CREATE_TOPICS: return &strand__create_topics_response__descriptor;
    case STRAND__API_KEY__DELETE_TOPICS: return &strand__delete_topics_response__descriptor;
    case STRAND__API_KEY__OFFSET_FOR_LEADER_EPOCH:
        return &strand__offset_for_leader_epoch_response__descriptor;
    case STRAND__API_KEY__CREATE_PARTITIONS: return &strand__create_partitions_response__descriptor;
    case STRAND__API_KEY__ELECT_LEADERS: return &strand__elect_leaders_response__descriptor;
    case STRAND__API_KEY__ALTER_ISR: return &strand__alter_isr_response__descriptor;
    default: return NULL;
    }
}

/* Runs a parked operation to its end as the loop would: a fetch or an acks=all produce waits
 * for other clients that never come here, so it is checked once and then expires; a request
 * handed to another thread (replica-state thread, admin worker) is waited for. */
static int drive_parked(st_conn_t *conn)
{
    st_delayed_t *op = conn->parked;
    int r = 0;
    const char *name = op->ops->name;
    if (strcmp(name, "controller-request") == 0) {
        int64_t deadline = mono_ms() + 10000;
        while ((r = op->ops->try_complete(op)) == 0) {
            CHECK(mono_ms() < deadline);   /* the replica-state thread hangs */
            nap_us(50);
        }
    } else if (strcmp(name, "await") == 0) {
        int64_t deadline = mono_ms() + 100;
        while ((r = op->ops->try_complete(op)) == 0 && mono_ms() < deadline)
            nap_us(200);
        if (r == 0)
            r = op->ops->on_expire(op);
    } else {
        r = op->ops->try_complete(op);
        if (r == 0)
            r = op->ops->on_expire(op);
    }
    conn->parked = NULL;
    return r < 0 ? r : 0;
}

/* One frame payload through the dispatcher. Returns false when the connection is closed. */
static bool dispatch(st_conn_t *conn, const uint8_t *data, size_t len)
{
    /* an exact-size writable copy: ASan sees any read past the frame */
    uint8_t *payload = malloc(len ? len : 1);
    CHECK(payload);
    memcpy(payload, data, len);
    /* the expected response, from the header if it decodes */
    conn->responses = 0;
    conn->correlation_id = 0;
    conn->expect = NULL;
    int32_t api = -1;
    st_frame_view_t view;
    const char *why = NULL;
    if (st_frame_parse(payload, len, &view, &why) == 0) {
        Strand__RequestHeader *h = strand__request_header__unpack(NULL, view.header_len,
                                                                  view.header);
        if (h) {
            api = h->api_key;
            conn->correlation_id = h->correlation_id;
            conn->expect = response_type(api);
            strand__request_header__free_unpacked(h, NULL);
        }
    }
    int r = st_request_dispatch(conn, &broker, payload, len);
    if (r >= 0 && conn->parked)
        r = drive_parked(conn);
    else if (r < 0 && conn->parked) {
        conn->parked->ops->abort(conn->parked);
        conn->parked = NULL;
    }
    if (r >= 0 && api != STRAND__API_KEY__PRODUCE)
        CHECK(conn->responses == 1);
    st_arena_reset(&conn->arena);
    free(payload);
    return r >= 0;
}

static void wait_canned(void)
{
    int64_t deadline = mono_ms() + 200;
    while (canned_left() && mono_ms() < deadline)
        nap_us(200);
}

/* A frame payload around raw body bytes (and tail) for api: header v0, correlation id 7. */
static uint8_t *frame_body(int32_t api, const uint8_t *body, size_t body_len, const uint8_t *tail,
                           size_t tail_len, size_t *ret_len)
{
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api;
    hdr.correlation_id = 7;
    hdr.client_id = "fuzz";
    size_t hlen = protobuf_c_message_get_packed_size(&hdr.base);
    st_buf_t out = ST_BUF_INIT;
    CHECK(st_buf_reserve(&out, 6 + hlen + body_len + tail_len) == 0);
    st_buf_append_be16(&out, (uint16_t)hlen);
    CHECK(st_buf_reserve(&out, hlen) == 0);
    protobuf_c_message_pack(&hdr.base, out.data + out.len);
    out.len += hlen;
    st_buf_append_be32(&out, (uint32_t)body_len);
    st_buf_append(&out, body, body_len);
    st_buf_append(&out, tail, tail_len);
    *ret_len = out.len;
    return out.data;
}

/* 0x07: [u16 LE body_len][body][tail] as a Produce frame. */
static uint8_t *produce_body(const uint8_t *p, size_t len, size_t *ret_len)
{
    size_t body_len = len >= 2 ? (size_t)p[0] | (size_t)p[1] << 8 : 0;
    size_t rest = len >= 2 ? len - 2 : 0;
    if (body_len > rest)
        body_len = rest;
    return frame_body(STRAND__API_KEY__PRODUCE, p + 2, body_len, p + 2 + body_len,
                      rest - body_len, ret_len);
}

/* ---- the seeds --------------------------------------------------------------------------------- */

static void put_rec(st_buf_t *b, uint8_t kind, const uint8_t *data, size_t len)
{
    uint8_t h[3] = { kind, (uint8_t)(len & 0xff), (uint8_t)(len >> 8) };
    CHECK(len <= 0xffff);
    st_buf_append(b, h, 3);
    st_buf_append(b, data, len);
}

/* A seed frame as a 0x06/0x07 record (the harness frames it) or, raw, as 0x01. */
static bool raw_frames;

static void put_frame(st_buf_t *b, frame_t f)
{
    st_frame_view_t v;
    const char *why;
    Strand__RequestHeader *h = NULL;
    if (!raw_frames && st_frame_parse(f.data, f.len, &v, &why) == 0 &&
        (h = strand__request_header__unpack(NULL, v.header_len, v.header)) != NULL) {
        st_buf_t r = ST_BUF_INIT;
        if (h->api_key == STRAND__API_KEY__PRODUCE) {
            uint8_t l[2] = { (uint8_t)(v.body_len & 0xff), (uint8_t)(v.body_len >> 8) };
            st_buf_append(&r, l, 2);
            st_buf_append(&r, v.body, v.body_len);
            st_buf_append(&r, v.tail, v.tail_len);
            put_rec(b, 0x07, r.data, r.len);
        } else {
            uint8_t api = (uint8_t)h->api_key;
            st_buf_append(&r, &api, 1);
            st_buf_append(&r, v.body, v.body_len);
            put_rec(b, 0x06, r.data, r.len);
        }
        st_buf_free(&r);
        strand__request_header__free_unpacked(h, NULL);
    } else {
        put_rec(b, 0x01, f.data, f.len);
    }
    free(f.data);
}

static void write_seed(const char *dir, const char *name, const st_buf_t *b)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s%s", dir, name, raw_frames ? "_raw" : "");
    FILE *fp = fopen(path, "wb");
    CHECK(fp);
    fwrite(b->data, 1, b->len, fp);
    fclose(fp);
}

static frame_t simple(int32_t api, const ProtobufCMessage *body)
{
    frame_t f;
    f.data = make_frame(api, 7, body, NULL, 0, &f.len);
    return f;
}

/* One seed per API (valid requests touching the set-up state), plus a follower session with
 * leader answers and an AlterIsr round. */
static void write_seeds(const char *dir)
{
    mkdir(dir, 0755);
    st_buf_t b = ST_BUF_INIT;
    uint8_t flags = 0;
#define SEED(name, ...)                      \
    do {                                     \
        st_buf_reset(&b);                    \
        st_buf_append(&b, &flags, 1);        \
        __VA_ARGS__;                         \
        write_seed(dir, name, &b);           \
    } while (0)

    Strand__ApiVersionsRequest av = STRAND__API_VERSIONS_REQUEST__INIT;
    SEED("api_versions", put_frame(&b, simple(STRAND__API_KEY__API_VERSIONS, &av.base)));

    Strand__MetadataRequest md = STRAND__METADATA_REQUEST__INIT;
    md.all_topics = true;
    SEED("metadata", put_frame(&b, simple(STRAND__API_KEY__METADATA, &md.base)));

    SEED("produce", put_frame(&b, produce_frame(0, 1, 2)); put_frame(&b, produce_frame(0, -1, 1)));

    /* consumer and follower fetches of t-0 */
    Strand__FetchPartition fp = STRAND__FETCH_PARTITION__INIT;
    fp.partition = 0;
    fp.current_leader_epoch = 1;
    fp.fetch_offset = 0;
    fp.last_fetched_epoch = -1;
    Strand__FetchPartition *fps[1] = { &fp };
    Strand__FetchTopic ft = STRAND__FETCH_TOPIC__INIT;
    ft.topic = "t";
    ft.n_partitions = 1;
    ft.partitions = fps;
    Strand__FetchTopic *fts[1] = { &ft };
    Strand__FetchRequest fr = STRAND__FETCH_REQUEST__INIT;
    fr.replica_id = -1;
    fr.max_wait_ms = 100;
    fr.min_bytes = 1;
    fr.n_topics = 1;
    fr.topics = fts;
    SEED("fetch_consumer", put_frame(&b, simple(STRAND__API_KEY__FETCH, &fr.base)));
    fr.replica_id = 2;
    fp.fetch_offset = 3;
    fp.last_fetched_epoch = 1;
    SEED("fetch_follower", put_frame(&b, simple(STRAND__API_KEY__FETCH, &fr.base)));
    fp.fetch_offset = 5;
    fp.last_fetched_epoch = 7;
    SEED("fetch_follower_diverging", put_frame(&b, simple(STRAND__API_KEY__FETCH, &fr.base)));

    Strand__ListOffsetsPartition lp = STRAND__LIST_OFFSETS_PARTITION__INIT;
    lp.partition = 0;
    lp.timestamp = -1;
    Strand__ListOffsetsPartition *lps[1] = { &lp };
    Strand__ListOffsetsTopic lt = STRAND__LIST_OFFSETS_TOPIC__INIT;
    lt.name = "t";
    lt.n_partitions = 1;
    lt.partitions = lps;
    Strand__ListOffsetsTopic *lts[1] = { &lt };
    Strand__ListOffsetsRequest lr = STRAND__LIST_OFFSETS_REQUEST__INIT;
    lr.replica_id = -1;
    lr.n_topics = 1;
    lr.topics = lts;
    SEED("list_offsets", put_frame(&b, simple(STRAND__API_KEY__LIST_OFFSETS, &lr.base)));

    Strand__OffsetForLeaderPartition op = STRAND__OFFSET_FOR_LEADER_PARTITION__INIT;
    op.partition = 0;
    op.current_leader_epoch = 1;
    op.leader_epoch = 1;
    Strand__OffsetForLeaderPartition *ops[1] = { &op };
    Strand__OffsetForLeaderTopic ot = STRAND__OFFSET_FOR_LEADER_TOPIC__INIT;
    ot.topic = "t";
    ot.n_partitions = 1;
    ot.partitions = ops;
    Strand__OffsetForLeaderTopic *ots[1] = { &ot };
    Strand__OffsetForLeaderEpochRequest oe = STRAND__OFFSET_FOR_LEADER_EPOCH_REQUEST__INIT;
    oe.replica_id = 2;
    oe.n_topics = 1;
    oe.topics = ots;
    SEED("offset_for_leader_epoch",
         put_frame(&b, simple(STRAND__API_KEY__OFFSET_FOR_LEADER_EPOCH, &oe.base)));

    SEED("update_metadata", put_frame(&b, update_metadata_frame()));
    SEED("leader_and_isr", put_frame(&b, leader_and_isr_frame()));

    Strand__StopReplicaPartitionState sp = STRAND__STOP_REPLICA_PARTITION_STATE__INIT;
    sp.partition = 1;
    sp.leader_epoch = 1;
    sp.delete_partition = true;
    Strand__StopReplicaPartitionState *sps[1] = { &sp };
    Strand__StopReplicaTopicState st = STRAND__STOP_REPLICA_TOPIC_STATE__INIT;
    st.topic = "t";
    st.n_partitions = 1;
    st.partitions = sps;
    Strand__StopReplicaTopicState *sts[1] = { &st };
    Strand__StopReplicaRequest sr = STRAND__STOP_REPLICA_REQUEST__INIT;
    sr.controller_id = 2;
    sr.controller_epoch = 1;
    sr.broker_epoch = -1;
    sr.n_topics = 1;
    sr.topics = sts;
    SEED("stop_replica", put_frame(&b, simple(STRAND__API_KEY__STOP_REPLICA, &sr.base)));

    Strand__ControlledShutdownRequest cs = STRAND__CONTROLLED_SHUTDOWN_REQUEST__INIT;
    cs.broker_id = 3;
    cs.broker_epoch = 5;
    SEED("controlled_shutdown",
         put_frame(&b, simple(STRAND__API_KEY__CONTROLLED_SHUTDOWN, &cs.base)));

    int32_t p01[2] = { 0, 1 };
    Strand__ElectLeadersTopic tp = STRAND__ELECT_LEADERS_TOPIC__INIT;
    tp.topic = "t";
    tp.n_partitions = 2;
    tp.partitions = p01;
    Strand__ElectLeadersTopic *tps[1] = { &tp };
    Strand__ElectLeadersRequest el = STRAND__ELECT_LEADERS_REQUEST__INIT;
    el.election_type = 0;
    el.n_topic_partitions = 1;
    el.topic_partitions = tps;
    SEED("elect_leaders", put_frame(&b, simple(STRAND__API_KEY__ELECT_LEADERS, &el.base)));

    int32_t isr12[2] = { 1, 2 };
    Strand__AlterIsrPartition ap = STRAND__ALTER_ISR_PARTITION__INIT;
    ap.partition = 0;
    ap.leader_epoch = 1;
    ap.new_isr = isr12;
    ap.n_new_isr = 2;
    Strand__AlterIsrPartition *aps[1] = { &ap };
    Strand__AlterIsrTopic at = STRAND__ALTER_ISR_TOPIC__INIT;
    at.name = "t";
    at.n_partitions = 1;
    at.partitions = aps;
    Strand__AlterIsrTopic *ats[1] = { &at };
    Strand__AlterIsrRequest ar = STRAND__ALTER_ISR_REQUEST__INIT;
    ar.broker_id = 1;
    ar.broker_epoch = 1;
    ar.n_topics = 1;
    ar.topics = ats;
    SEED("alter_isr", put_frame(&b, simple(STRAND__API_KEY__ALTER_ISR, &ar.base)));

    Strand__CreatableTopic ct = STRAND__CREATABLE_TOPIC__INIT;
    ct.name = "new";
    ct.num_partitions = 2;
    ct.replication_factor = 2;
    Strand__CreatableTopic *cts[1] = { &ct };
    Strand__CreateTopicsRequest ctr = STRAND__CREATE_TOPICS_REQUEST__INIT;
    ctr.n_topics = 1;
    ctr.topics = cts;
    ctr.validate_only = true;
    SEED("create_topics", put_frame(&b, simple(STRAND__API_KEY__CREATE_TOPICS, &ctr.base)));

    char *names[1] = { "t" };
    Strand__DeleteTopicsRequest dt = STRAND__DELETE_TOPICS_REQUEST__INIT;
    dt.n_topic_names = 1;
    dt.topic_names = names;
    SEED("delete_topics", put_frame(&b, simple(STRAND__API_KEY__DELETE_TOPICS, &dt.base)));

    int32_t a23[2] = { 2, 3 };
    Strand__CreatePartitionsAssignment pa = STRAND__CREATE_PARTITIONS_ASSIGNMENT__INIT;
    pa.n_broker_ids = 2;
    pa.broker_ids = a23;
    Strand__CreatePartitionsAssignment *pas[1] = { &pa };
    Strand__CreatePartitionsTopic cpt = STRAND__CREATE_PARTITIONS_TOPIC__INIT;
    cpt.name = "t";
    cpt.count = 3;
    cpt.n_assignments = 1;
    cpt.assignments = pas;
    Strand__CreatePartitionsTopic *cpts[1] = { &cpt };
    Strand__CreatePartitionsRequest cp = STRAND__CREATE_PARTITIONS_REQUEST__INIT;
    cp.n_topics = 1;
    cp.topics = cpts;
    cp.validate_only = true;
    SEED("create_partitions",
         put_frame(&b, simple(STRAND__API_KEY__CREATE_PARTITIONS, &cp.base)));

    /* the follower of t-1: the leader answers with two records, then diverging, then garbage */
    size_t blen, rlen;
    uint8_t *batch = make_batch(2, &blen);
    st_batch_stamp(batch, 0, 1);
    Strand__FetchPartitionResponse fpr = STRAND__FETCH_PARTITION_RESPONSE__INIT;
    fpr.partition = 1;
    fpr.high_watermark = 2;
    fpr.records_size = (uint32_t)blen;
    Strand__FetchPartitionResponse *fprs[1] = { &fpr };
    Strand__FetchTopicResponse ftr = STRAND__FETCH_TOPIC_RESPONSE__INIT;
    ftr.topic = "t";
    ftr.n_partitions = 1;
    ftr.partitions = fprs;
    Strand__FetchTopicResponse *ftrs[1] = { &ftr };
    Strand__FetchResponse fres = STRAND__FETCH_RESPONSE__INIT;
    fres.n_responses = 1;
    fres.responses = ftrs;
    uint8_t *r1 = make_response(1, &fres.base, batch, blen, &rlen);
    Strand__EpochEndOffset div = STRAND__EPOCH_END_OFFSET__INIT;
    div.partition = 1;
    div.leader_epoch = 0;
    div.end_offset = 1;
    fpr.records_size = 0;
    fpr.diverging_epoch = &div;
    size_t r2len;
    uint8_t *r2 = make_response(2, &fres.base, NULL, 0, &r2len);
    SEED("follower_session", put_rec(&b, 0x03, r1, rlen); put_rec(&b, 0x03, r2, r2len);
         put_rec(&b, 0x05, NULL, 0));
    free(batch);
    free(r1);
    free(r2);

    /* ISR expansion on t-0 (a follower at the log end) and the controller's answer */
    fr.replica_id = 2;
    fp.fetch_offset = 3;
    fp.last_fetched_epoch = 1;
    Strand__AlterIsrPartitionResponse apr = STRAND__ALTER_ISR_PARTITION_RESPONSE__INIT;
    apr.partition = 0;
    apr.leader_id = 1;
    apr.leader_epoch = 1;
    apr.isr = isr12;
    apr.n_isr = 2;
    apr.current_isr_version = 1;
    Strand__AlterIsrPartitionResponse *aprs[1] = { &apr };
    Strand__AlterIsrTopicResponse atr = STRAND__ALTER_ISR_TOPIC_RESPONSE__INIT;
    atr.name = "t";
    atr.n_partitions = 1;
    atr.partitions = aprs;
    Strand__AlterIsrTopicResponse *atrs[1] = { &atr };
    Strand__AlterIsrResponse ares = STRAND__ALTER_ISR_RESPONSE__INIT;
    ares.n_topics = 1;
    ares.topics = atrs;
    uint8_t *r3 = make_response(1, &ares.base, NULL, 0, &rlen);
    SEED("isr_expansion", put_rec(&b, 0x04, r3, rlen);
         put_frame(&b, simple(STRAND__API_KEY__FETCH, &fr.base)); put_rec(&b, 0x05, NULL, 0));
    free(r3);
    st_buf_free(&b);
#undef SEED
}

/* ---- the custom mutator: protobuf-aware changes of the framed request bodies ---------------- */

static const ProtobufCMessageDescriptor *request_type(int32_t api)
{
    switch (api) {
    case STRAND__API_KEY__PRODUCE: return &strand__produce_request__descriptor;
    case STRAND__API_KEY__FETCH: return &strand__fetch_request__descriptor;
    case STRAND__API_KEY__LIST_OFFSETS: return &strand__list_offsets_request__descriptor;
    case STRAND__API_KEY__METADATA: return &strand__metadata_request__descriptor;
    case STRAND__API_KEY__LEADER_AND_ISR: return &strand__leader_and_isr_request__descriptor;
    case STRAND__API_KEY__STOP_REPLICA: return &strand__stop_replica_request__descriptor;
    case STRAND__API_KEY__UPDATE_METADATA: return &strand__update_metadata_request__descriptor;
    case STRAND__API_KEY__CONTROLLED_SHUTDOWN:
        return &strand__controlled_shutdown_request__descriptor;
    case STRAND__API_KEY__API_VERSIONS: return &strand__api_versions_request__descriptor;
    case STRAND__API_KEY__CREATE_TOPICS: return &strand__create_topics_request__descriptor;
    case STRAND__API_KEY__DELETE_TOPICS: return &strand__delete_topics_request__descriptor;
    case STRAND__API_KEY__OFFSET_FOR_LEADER_EPOCH:
        return &strand__offset_for_leader_epoch_request__descriptor;
    case STRAND__API_KEY__CREATE_PARTITIONS: return &strand__create_partitions_request__descriptor;
    case STRAND__API_KEY__ELECT_LEADERS: return &strand__elect_leaders_request__descriptor;
    case STRAND__API_KEY__ALTER_ISR: return &strand__alter_isr_request__descriptor;
    default: return NULL;
    }
}

/* 0x06 records: the body after the API byte; 0x03/0x04: the fake peers' answers are frames, left
 * to the byte mutations. */
static const ProtobufCMessageDescriptor *body_of(uint8_t kind, const uint8_t *p, size_t len,
                                                 size_t *ret_off)
{
    *ret_off = 1;
    return kind == 0x06 && len >= 1 ? request_type(p[0]) : NULL;
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (seed % 3 != 0) {
        size_t n = pb_mutate_records(data, size, max_size, seed / 3, 1, body_of);
        if (n)
            return n;
    }
    return LLVMFuzzerMutate(data, size, max_size);
}

/* ---- libFuzzer -------------------------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    st_logger_set_level(getenv("FUZZ_VERBOSE") ? ST_LEVEL_DEBUG : ST_LEVEL_OFF);
    init_brokers();
    const char *seeds = getenv("STRAND_FUZZ_WRITE_SEEDS");
    if (seeds) {
        write_seeds(seeds);          /* bodies framed by the harness */
        raw_frames = true;
        write_seeds(seeds);          /* the same as raw frames (0x01) */
        exit(0);
    }
    const char *shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(log_dir, sizeof(log_dir), "%s/strand-fuzz-request-%d", shm, (int)getpid());
    atexit(remove_log_dir);
    st_broker_config_init(&cfg);
    char kv[512];
    set("zookeeper.connect=fake:2181");
    set("broker.id=1");
    snprintf(kv, sizeof(kv), "log.dirs=%s", log_dir);
    set(kv);
    set("listeners=PLAINTEXT://:9092,REPLICATION://:9093");
    set("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT");
    set("inter.broker.listener.name=REPLICATION");
    set("replica.fetch.backoff.ms=1");
    set("replica.fetch.wait.max.ms=1");
    set("num.network.threads=1");
    st_cfg_error_t err;
    if (st_broker_config_finish(&cfg, &err) != 0) {
        fprintf(stderr, "fuzz_request: config: %s\n", err.msg);
        abort();
    }
    for (int i = 0; i < 2; i++) {
        listeners[i].cfg = cfg.listener_list[i];
        listeners[i].index = i;
    }
    CHECK(strcmp(listeners[1].cfg.name, "REPLICATION") == 0);
    setup_frames[0] = update_metadata_frame();
    setup_frames[1] = leader_and_isr_frame();
    setup_frames[2] = produce_frame(0, 1, 3);
    return 0;
}

static void read_rec(const uint8_t **data, size_t *size, uint8_t *kind, const uint8_t **p,
                     size_t *len)
{
    *kind = (*data)[0];
    size_t n = (size_t)(*data)[1] | (size_t)(*data)[2] << 8;
    if (n > *size - 3)
        n = *size - 3;
    *p = *data + 3;
    *len = n;
    *data += 3 + n;
    *size -= 3 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    context_open();
    st_conn_t conn;
    memset(&conn, 0, sizeof(conn));
    st_arena_init(&conn.arena, 16 * 1024);
    conn.listener = &listeners[1];
    for (size_t i = 0; i < 3; i++)
        CHECK(dispatch(&conn, setup_frames[i].data, setup_frames[i].len));
    conn.listener = &listeners[(data[0] & 1) ? 0 : 1];
    data++;
    size--;
    bool open = true;
    while (size >= 3) {
        uint8_t kind;
        const uint8_t *p;
        size_t len;
        read_rec(&data, &size, &kind, &p, &len);
        switch (kind) {
        case 0x01:
            if (open)
                open = dispatch(&conn, p, len);
            break;
        case 0x02:
            conn.listener = conn.listener == &listeners[0] ? &listeners[1] : &listeners[0];
            break;
        case 0x03:
            canned_add(STRAND__API_KEY__FETCH, p, len);
            break;
        case 0x04:
            canned_add(STRAND__API_KEY__ALTER_ISR, p, len);
            break;
        case 0x05:
            wait_canned();
            break;
        case 0x06:
        case 0x07:
            if (open && len >= 1) {
                size_t flen;
                uint8_t *f = kind == 0x06 ? frame_body(p[0], p + 1, len - 1, NULL, 0, &flen)
                                          : produce_body(p, len, &flen);
                open = dispatch(&conn, f, flen);
                free(f);
            }
            break;
        default:
            break;
        }
    }
    st_arena_destroy(&conn.arena);
    context_close();
    return 0;
}
