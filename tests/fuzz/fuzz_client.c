/* libFuzzer harness for the client library (common/client, what every tool is built on) facing a
 * broker that answers garbage: an in-process mock broker on a loopback port answers each request
 * with the next response the input gives for that API (a protobuf body and a raw tail, wrapped
 * in a frame with the request's correlation id), or with raw bytes sent as they are (size prefix
 * included), or else with a sane default (ApiVersions, a one-broker Metadata naming itself, empty
 * answers). The client then runs the operations byte 0 selects: admin list/describe topics,
 * describe cluster, create/delete topic and create partitions, elect leaders, a producer's send
 * and flush, a consumer's assign/seek/poll, list offsets.
 *
 * Input: byte 0 (operations), then records [u8 kind][u16 little-endian len][bytes]:
 *   kind < 0x80: a response for API key `kind`: bytes = [u16 LE body_len][body][tail]
 *   kind 0xff:   raw bytes the mock sends in place of the next response, whatever it is
 * Properties checked: no crash, no out-of-bounds access, no leak, no undefined behaviour;
 * every operation returns (bounded by request.timeout.ms) with its error or result; an error
 * comes with a non-empty message where the API takes an errstr. See README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_buf.h"
#include "st_frame.h"
#include "strand.h"
#include "strand.pb-c.h"

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz_client: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                   \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#define TIMEOUT_MS 60

/* ---- the answers of the current input (mock thread and harness thread, under lock) ---------- */

typedef struct answer {
    int kind;                   /* API key, or 0xff raw */
    uint8_t *data;
    size_t len;
    struct answer *next;
} answer_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static answer_t *answers;

static answer_t *take_answer(int32_t api)
{
    pthread_mutex_lock(&lock);
    answer_t **pp = &answers;
    while (*pp && (*pp)->kind != api && (*pp)->kind != 0xff)
        pp = &(*pp)->next;
    answer_t *a = *pp;
    if (a)
        *pp = a->next;
    pthread_mutex_unlock(&lock);
    return a;
}

static void clear_answers(void)
{
    pthread_mutex_lock(&lock);
    while (answers) {
        answer_t *a = answers;
        answers = a->next;
        free(a->data);
        free(a);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- the mock broker --------------------------------------------------------------------------- */

static int port;

static void write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len) {
        ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        b += n;
        len -= (size_t)n;
    }
}

static void send_msg(int fd, int32_t corr, const ProtobufCMessage *body)
{
    Strand__ResponseHeader rh = STRAND__RESPONSE_HEADER__INIT;
    rh.correlation_id = corr;
    st_buf_t out = ST_BUF_INIT;
    st_frame_encode(&out, &rh.base, body, 0);
    write_all(fd, out.data, out.len);
    st_buf_free(&out);
}

/* A frame from the input's body and tail with the request's correlation id. */
static void send_raw_body(int fd, int32_t corr, const uint8_t *data, size_t len)
{
    size_t body_len = len >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
    const uint8_t *body = data + (len >= 2 ? 2 : len);
    size_t rest = len >= 2 ? len - 2 : 0;
    if (body_len > rest)
        body_len = rest;
    Strand__ResponseHeader rh = STRAND__RESPONSE_HEADER__INIT;
    rh.correlation_id = corr;
    size_t hlen = protobuf_c_message_get_packed_size(&rh.base);
    uint8_t hbuf[32];
    protobuf_c_message_pack(&rh.base, hbuf);
    size_t tail_len = rest - body_len;
    st_buf_t out = ST_BUF_INIT;
    st_buf_append_be32(&out, (uint32_t)(2 + hlen + 4 + body_len + tail_len));
    st_buf_append_be16(&out, (uint16_t)hlen);
    st_buf_append(&out, hbuf, hlen);
    st_buf_append_be32(&out, (uint32_t)body_len);
    st_buf_append(&out, body, body_len);
    st_buf_append(&out, body + body_len, tail_len);
    write_all(fd, out.data, out.len);
    st_buf_free(&out);
}

static void send_default(int fd, int32_t api, int32_t corr, const uint8_t *body, size_t body_len)
{
    switch (api) {
    case STRAND__API_KEY__API_VERSIONS: {
        Strand__ApiVersionRange r[64], *rp[64];
        for (int i = 0; i < 64; i++) {
            strand__api_version_range__init(&r[i]);
            r[i].api_key = i;
            rp[i] = &r[i];
        }
        Strand__ApiVersionsResponse resp = STRAND__API_VERSIONS_RESPONSE__INIT;
        resp.n_api_keys = 64;
        resp.api_keys = rp;
        send_msg(fd, corr, &resp.base);
        break;
    }
    case STRAND__API_KEY__METADATA: {
        Strand__MetadataRequest *req = strand__metadata_request__unpack(NULL, body_len, body);
        Strand__BrokerMetadata b = STRAND__BROKER_METADATA__INIT, *bp = &b;
        b.node_id = 1;
        b.host = "127.0.0.1";
        b.port = port;
        int32_t one = 1;
        Strand__PartitionMetadata pm = STRAND__PARTITION_METADATA__INIT, *pmp = &pm;
        pm.leader = 1;
        pm.n_replicas = 1;
        pm.replicas = &one;
        pm.n_isr = 1;
        pm.isr = &one;
        Strand__TopicMetadata tm[4], *tmp[4];
        size_t n = 0;
        for (size_t i = 0; req && i < req->n_topics && n < 4; i++, n++) {
            strand__topic_metadata__init(&tm[n]);
            tm[n].name = req->topics[i];
            tm[n].n_partitions = 1;
            tm[n].partitions = &pmp;
            tmp[n] = &tm[n];
        }
        if (n == 0) {
            strand__topic_metadata__init(&tm[0]);
            tm[0].name = "t";
            tm[0].n_partitions = 1;
            tm[0].partitions = &pmp;
            tmp[0] = &tm[0];
            n = 1;
        }
        Strand__MetadataResponse resp = STRAND__METADATA_RESPONSE__INIT;
        resp.n_brokers = 1;
        resp.brokers = &bp;
        resp.cluster_id = "fuzz";
        resp.controller_id = 1;
        resp.n_topics = n;
        resp.topics = tmp;
        send_msg(fd, corr, &resp.base);
        if (req)
            strand__metadata_request__free_unpacked(req, NULL);
        break;
    }
    default: {
        /* an empty body: every response's fields at their defaults (error_code 0) */
        send_raw_body(fd, corr, (const uint8_t *)"\0\0", 2);
        break;
    }
    }
}

/* One request frame payload from a client: answer it. */
static void answer(int fd, const uint8_t *payload, size_t len)
{
    st_frame_view_t view;
    const char *why;
    if (st_frame_parse(payload, len, &view, &why) < 0)
        return;
    Strand__RequestHeader *h = strand__request_header__unpack(NULL, view.header_len, view.header);
    if (!h)
        return;
    answer_t *a = take_answer(h->api_key);
    if (!a)
        send_default(fd, h->api_key, h->correlation_id, view.body, view.body_len);
    else if (a->kind == 0xff)
        write_all(fd, a->data, a->len);
    else
        send_raw_body(fd, h->correlation_id, a->data, a->len);
    if (a) {
        free(a->data);
        free(a);
    }
    strand__request_header__free_unpacked(h, NULL);
}

typedef struct mconn {
    int fd;
    st_buf_t in;
} mconn_t;

#define MAX_CONNS 16

static void *mock_main(void *arg)
{
    int lfd = *(int *)arg;
    mconn_t conns[MAX_CONNS];
    size_t n = 0;
    for (;;) {
        struct pollfd pfd[MAX_CONNS + 1];
        pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (size_t i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
        if (poll(pfd, n + 1, 1000) <= 0)
            continue;
        if ((pfd[0].revents & POLLIN) && n < MAX_CONNS) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0)
                conns[n++] = (mconn_t){ .fd = fd, .in = ST_BUF_INIT };
        }
        for (size_t i = 0; i < n; i++) {
            if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            uint8_t buf[65536];
            ssize_t r = recv(conns[i].fd, buf, sizeof(buf), 0);
            if (r <= 0) {
                close(conns[i].fd);
                st_buf_free(&conns[i].in);
                conns[i] = conns[--n];
                pfd[i + 1] = pfd[n + 1];
                i--;
                continue;
            }
            st_buf_append(&conns[i].in, buf, (size_t)r);
            while (conns[i].in.len >= 4) {
                uint32_t size = st_be32(conns[i].in.data);
                if (conns[i].in.len < 4 + (size_t)size)
                    break;
                answer(conns[i].fd, conns[i].in.data + 4, size);
                st_buf_consume(&conns[i].in, 4 + (size_t)size);
            }
        }
    }
    return NULL;
}

static void start_mock(void)
{
    static int lfd;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t al = sizeof(a);
    CHECK(getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    port = ntohs(a.sin_port);
    CHECK(listen(lfd, 64) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, mock_main, &lfd) == 0);
    pthread_detach(t);
}

/* ---- the client's operations ----------------------------------------------------------------- */

static strand_conf_t *conf(void)
{
    strand_conf_t *c = strand_conf_new();
    CHECK(c);
    char err[256], bs[64];
    snprintf(bs, sizeof(bs), "127.0.0.1:%d", port);
    const char *kv[][2] = {
        { "bootstrap.servers", bs },           { "request.timeout.ms", "60" },
        { "socket.connection.setup.timeout.ms", "60" },
        { "reconnect.backoff.ms", "1" },       { "reconnect.backoff.max.ms", "5" },
        { "retry.backoff.ms", "1" },           { "metadata.max.age.ms", "100" },
        { "delivery.timeout.ms", "80" },      { "linger.ms", "0" },
        { "max.block.ms", "60" },             { "fetch.max.wait.ms", "10" },
        { "check.crcs", "false" },
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        CHECK(strand_conf_set(c, kv[i][0], kv[i][1], err, sizeof(err)) == 0);
    return c;
}

static void check_errstr(int r, const char *errstr)
{
    if (r != 0)
        CHECK(errstr[0] != '\0');
}

static void admin_ops(uint8_t ops)
{
    strand_conf_t *c = conf();
    char err[512] = "";
    strand_admin_t *a = strand_admin_new(c, err, sizeof(err));
    strand_conf_destroy(c);
    if (!a)
        return;
    if (ops & 0x01) {
        char **names = NULL;
        size_t n = 0;
        if (strand_admin_list_topics(a, true, TIMEOUT_MS, &names, &n) == 0)
            strand_names_free(names, n);
        const char *want[2] = { "t", "u" };
        strand_topic_info_t *ti = NULL;
        if (strand_admin_describe_topics(a, want, 2, TIMEOUT_MS, &ti, &n) == 0) {
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < ti[i].partition_count; p++)
                    CHECK(ti[i].partitions[p].replica_count == 0 || ti[i].partitions[p].replicas);
            strand_topic_infos_free(ti, n);
        }
    }
    if (ops & 0x02) {
        strand_broker_info_t *b = NULL;
        size_t n = 0;
        int32_t ctl;
        char *cid = NULL;
        if (strand_admin_describe_cluster(a, TIMEOUT_MS, &b, &n, &ctl, &cid) == 0) {
            for (size_t i = 0; i < n; i++)
                CHECK(b[i].host && b[i].rack);
            strand_broker_infos_free(b, n);
            free(cid);
        }
    }
    if (ops & 0x04) {
        strand_new_topic_t nt = { .name = "new", .num_partitions = 2, .replication_factor = 1 };
        err[0] = '\0';
        check_errstr(strand_admin_create_topic(a, &nt, TIMEOUT_MS, err, sizeof(err)), err);
        err[0] = '\0';
        check_errstr(strand_admin_create_partitions(a, "t", 3, NULL, 0, 0, TIMEOUT_MS, err,
                                                    sizeof(err)), err);
        err[0] = '\0';
        check_errstr(strand_admin_delete_topic(a, "t", TIMEOUT_MS, err, sizeof(err)), err);
    }
    if (ops & 0x08) {
        strand_topic_partition_t tp = { .topic = "t", .partition = 0 };
        strand_election_result_t *res = NULL;
        size_t n = 0;
        err[0] = '\0';
        int r = strand_admin_elect_leaders(a, STRAND_ELECTION_PREFERRED, &tp, 1, TIMEOUT_MS, &res,
                                           &n, err, sizeof(err));
        check_errstr(r, err);
        if (r == 0) {
            for (size_t i = 0; i < n; i++)
                CHECK(res[i].topic && res[i].message);
            strand_election_results_free(res, n);
        }
    }
    strand_admin_destroy(a);
}

static void producer_ops(void)
{
    strand_conf_t *c = conf();
    char err[512] = "";
    strand_producer_t *p = strand_producer_new(c, err, sizeof(err));
    strand_conf_destroy(c);
    if (!p)
        return;
    strand_produce(p, "t", 0, "k", 1, "v", 1, NULL, 0, -1, NULL);
    strand_producer_flush(p, 120);
    strand_producer_destroy(p);
}

static void consumer_ops(uint8_t ops)
{
    strand_conf_t *c = conf();
    char err[512] = "";
    strand_consumer_t *k = strand_consumer_new(c, err, sizeof(err));
    strand_conf_destroy(c);
    if (!k)
        return;
    strand_topic_partition_t tp = { .topic = "t", .partition = 0, .offset = 0 };
    if (ops & 0x20) {
        if (strand_consumer_assign(k, &tp, 1) == 0) {
            strand_consumer_seek(k, "t", 0, 0);
            for (int i = 0; i < 2; i++) {
                const strand_message_t *msgs = NULL;
                size_t n = 0;
                strand_consumer_poll(k, 10, &msgs, &n);
                if (getenv("FUZZ_VERBOSE"))
                    fprintf(stderr, "fuzz_client: poll: %zu messages\n", n);
                for (size_t m = 0; m < n; m++) {
                    size_t pos = 0;
                    strand_header_t h;
                    while (strand_message_header(&msgs[m], &pos, &h) > 0)
                        ;
                }
            }
        }
    }
    if (ops & 0x40) {
        tp.offset = -1;
        strand_consumer_list_offsets(k, &tp, 1, TIMEOUT_MS);
        int32_t count = 0;
        strand_consumer_partition_count(k, "t", TIMEOUT_MS, &count);
    }
    strand_consumer_destroy(k);
}

/* ---- seeds (STRAND_FUZZ_WRITE_SEEDS=<dir>) ------------------------------------------------- */

static void rec_msg(st_buf_t *b, int api, const ProtobufCMessage *m, const void *tail,
                    size_t tail_len)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *body = malloc(len ? len : 1);
    CHECK(body);
    protobuf_c_message_pack(m, body);
    size_t n = 2 + len + tail_len;
    uint8_t h[5] = { (uint8_t)api, (uint8_t)(n & 0xff), (uint8_t)(n >> 8), (uint8_t)(len & 0xff),
                     (uint8_t)(len >> 8) };
    st_buf_append(b, h, 5);
    st_buf_append(b, body, len);
    st_buf_append(b, tail, tail_len);
    free(body);
}

static void write_seed(const char *dir, const char *name, const st_buf_t *b)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite(b->data, 1, b->len, f);
    fclose(f);
}

/* Valid answers the fuzzer can then bend: a fetch with two stamped records (headers too), a
 * produce error, topic creation and election results. */
static void write_seeds(const char *dir)
{
    mkdir(dir, 0755);
    st_buf_t b = ST_BUF_INIT;
    uint8_t op;

    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    CHECK(w);
    st_record_header_t hd = { .key = "h", .key_len = 1, .value = "v", .value_len = 1 };
    CHECK(st_batch_writer_add(w, 1700000000000LL, "k", 1, "value", 5, &hd, 1) == 0);
    CHECK(st_batch_writer_add(w, 1700000000001LL, NULL, -1, NULL, -1, NULL, 0) == 0);
    const void *batch;
    size_t blen;
    CHECK(st_batch_writer_finish(w, &batch, &blen) == 0);
    uint8_t *stamped = malloc(blen);
    CHECK(stamped);
    memcpy(stamped, batch, blen);
    st_batch_stamp(stamped, 0, 0);
    st_batch_writer_free(w);
    Strand__FetchPartitionResponse fp = STRAND__FETCH_PARTITION_RESPONSE__INIT, *fpp = &fp;
    fp.partition = 0;
    fp.high_watermark = 2;
    fp.last_stable_offset = 2;
    fp.records_size = (uint32_t)blen;
    Strand__FetchTopicResponse ft = STRAND__FETCH_TOPIC_RESPONSE__INIT, *ftp = &ft;
    ft.topic = "t";
    ft.n_partitions = 1;
    ft.partitions = &fpp;
    Strand__FetchResponse fr = STRAND__FETCH_RESPONSE__INIT;
    fr.n_responses = 1;
    fr.responses = &ftp;
    op = 0x20;
    st_buf_reset(&b);
    st_buf_append(&b, &op, 1);
    rec_msg(&b, STRAND__API_KEY__FETCH, &fr.base, stamped, blen);
    write_seed(dir, "fetch_records", &b);
    free(stamped);

    Strand__ProducePartitionResponse pp = STRAND__PRODUCE_PARTITION_RESPONSE__INIT, *ppp = &pp;
    pp.partition = 0;
    pp.error_code = 6;                 /* NOT_LEADER_OR_FOLLOWER */
    pp.error_message = "not the leader";
    Strand__ProduceTopicResponse pt = STRAND__PRODUCE_TOPIC_RESPONSE__INIT, *ptp = &pt;
    pt.name = "t";
    pt.n_partitions = 1;
    pt.partitions = &ppp;
    Strand__ProduceResponse pr = STRAND__PRODUCE_RESPONSE__INIT;
    pr.n_responses = 1;
    pr.responses = &ptp;
    op = 0x10;
    st_buf_reset(&b);
    st_buf_append(&b, &op, 1);
    rec_msg(&b, STRAND__API_KEY__PRODUCE, &pr.base, NULL, 0);
    write_seed(dir, "produce_error", &b);

    Strand__CreatableTopicResult ct = STRAND__CREATABLE_TOPIC_RESULT__INIT, *ctp = &ct;
    ct.name = "new";
    ct.error_code = 36;                /* TOPIC_ALREADY_EXISTS */
    ct.error_message = "Topic 'new' already exists.";
    Strand__CreateTopicsResponse cr = STRAND__CREATE_TOPICS_RESPONSE__INIT;
    cr.n_topics = 1;
    cr.topics = &ctp;
    Strand__ElectLeadersPartitionResult ep = STRAND__ELECT_LEADERS_PARTITION_RESULT__INIT, *epp = &ep;
    ep.partition_id = 0;
    ep.error_code = 84;                /* ELECTION_NOT_NEEDED */
    Strand__ElectLeadersTopicResult et = STRAND__ELECT_LEADERS_TOPIC_RESULT__INIT, *etp = &et;
    et.topic = "t";
    et.n_partition_result = 1;
    et.partition_result = &epp;
    Strand__ElectLeadersResponse er = STRAND__ELECT_LEADERS_RESPONSE__INIT;
    er.n_replica_election_results = 1;
    er.replica_election_results = &etp;
    op = 0x0c;
    st_buf_reset(&b);
    st_buf_append(&b, &op, 1);
    rec_msg(&b, STRAND__API_KEY__CREATE_TOPICS, &cr.base, NULL, 0);
    rec_msg(&b, STRAND__API_KEY__ELECT_LEADERS, &er.base, NULL, 0);
    write_seed(dir, "admin_results", &b);
    st_buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seeds = getenv("STRAND_FUZZ_WRITE_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    start_mock();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ops = data[0];
    data++;
    size--;
    answer_t **tail = &answers;
    while (size >= 3) {
        int kind = data[0];
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        if (len > size - 3)
            len = size - 3;
        if (kind < 0x80 || kind == 0xff) {
            answer_t *a = calloc(1, sizeof(*a));
            CHECK(a);
            a->kind = kind;
            a->data = malloc(len ? len : 1);
            CHECK(a->data);
            memcpy(a->data, data + 3, len);
            a->len = len;
            pthread_mutex_lock(&lock);
            *tail = a;
            tail = &a->next;
            pthread_mutex_unlock(&lock);
        }
        data += 3 + len;
        size -= 3 + len;
    }
    if (ops & 0x0f)
        admin_ops(ops);
    if (ops & 0x10)
        producer_ops();
    if (ops & 0x60)
        consumer_ops(ops);
    clear_answers();
    return 0;
}
