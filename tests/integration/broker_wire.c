/* Raw-protocol helpers for the broker integration tests (see broker_wire.h). */
#include "broker_wire.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "st_batch.h"
#include "st_frame.h"

int tw_send(int fd, int32_t api_key, int32_t api_version, int32_t correlation_id,
            const ProtobufCMessage *body, const void *tail, size_t tail_len)
{
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = api_key;
    hdr.api_version = api_version;
    hdr.correlation_id = correlation_id;
    hdr.client_id = "broker-it";
    st_buf_t buf = ST_BUF_INIT;
    int r = st_frame_encode(&buf, &hdr.base, body, tail_len);
    if (r == 0 && tail_len)
        r = st_buf_append(&buf, tail, tail_len);
    if (r == 0)
        r = st_test_send_all(fd, buf.data, buf.len);
    st_buf_free(&buf);
    return r;
}

int tw_recv_frame(int fd, st_buf_t *buf, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    uint8_t prefix[4];
    int r = st_test_read_full(fd, prefix, 4, deadline);
    if (r < 0)
        return r;
    size_t size = st_be32(prefix);
    buf->len = 0;
    r = st_buf_reserve(buf, size);
    if (r < 0)
        return r;
    r = st_test_read_full(fd, buf->data, size, deadline);
    if (r < 0)
        return r;
    buf->len = size;
    return 0;
}

ProtobufCMessage *tw_recv_response(int fd, int32_t correlation_id,
                                   const ProtobufCMessageDescriptor *desc, uint8_t **ret_tail,
                                   size_t *ret_tail_len)
{
    st_buf_t buf = ST_BUF_INIT;
    ProtobufCMessage *msg = NULL;
    int r = tw_recv_frame(fd, &buf, TW_TIMEOUT_MS);
    if (r < 0) {
        fprintf(stderr, "tw: no response to correlation id %d: %s\n", correlation_id, strerror(-r));
        goto out;
    }
    st_frame_view_t view;
    const char *reason = NULL;
    if (st_frame_parse(buf.data, buf.len, &view, &reason) < 0) {
        fprintf(stderr, "tw: malformed response frame: %s\n", reason);
        goto out;
    }
    Strand__ResponseHeader *hdr = strand__response_header__unpack(NULL, view.header_len, view.header);
    if (!hdr) {
        fprintf(stderr, "tw: response header does not decode\n");
        goto out;
    }
    int32_t got = hdr->correlation_id;
    strand__response_header__free_unpacked(hdr, NULL);
    if (got != correlation_id) {
        fprintf(stderr, "tw: correlation id %d, expected %d\n", got, correlation_id);
        goto out;
    }
    msg = protobuf_c_message_unpack(desc, NULL, view.body_len, view.body);
    if (!msg) {
        fprintf(stderr, "tw: response body does not decode as %s\n", desc->name);
        goto out;
    }
    if (ret_tail) {
        *ret_tail = malloc(view.tail_len ? view.tail_len : 1);
        memcpy(*ret_tail, view.tail, view.tail_len);
        *ret_tail_len = view.tail_len;
    } else if (view.tail_len) {
        fprintf(stderr, "tw: unexpected %zu-byte tail\n", view.tail_len);
    }
out:
    st_buf_free(&buf);
    return msg;
}

bool tw_wait_closed(int fd, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    char sink[65536];
    for (;;) {
        int64_t left = deadline - st_test_now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return false;
        ssize_t n = read(fd, sink, sizeof(sink));
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
    }
}

int tw_make_batch(int n, size_t value_len, int64_t timestamp_ms, uint8_t **ret, size_t *ret_len)
{
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    if (!w)
        return -ENOMEM;
    char *value = malloc(value_len + 1);
    int r = 0;
    for (int i = 0; r == 0 && i < n; i++) {
        char key[32];
        int kl = snprintf(key, sizeof(key), "k%d", i);
        memset(value, 'a' + i % 26, value_len);
        int vl = snprintf(value, value_len + 1, "v%d", i);
        if ((size_t)vl < value_len)
            value[vl] = 'x';
        r = st_batch_writer_add(w, timestamp_ms + i, key, kl, value, (ssize_t)value_len, NULL, 0);
    }
    const void *buf = NULL;
    size_t len = 0;
    if (r == 0)
        r = st_batch_writer_finish(w, &buf, &len);
    if (r == 0) {
        *ret = malloc(len);
        memcpy(*ret, buf, len);
        *ret_len = len;
    }
    free(value);
    st_batch_writer_free(w);
    return r;
}

#define REQUEST(fd, corr, key, msg, type_desc, tail, tail_len, ret_tail, ret_tail_len) \
    (tw_send((fd), (key), 0, (corr), &(msg).base, (tail), (tail_len)) < 0 ? NULL : \
     (void *)tw_recv_response((fd), (corr), (type_desc), (ret_tail), (ret_tail_len)))

Strand__ApiVersionsResponse *tw_api_versions(int fd, int32_t corr)
{
    Strand__ApiVersionsRequest req = STRAND__API_VERSIONS_REQUEST__INIT;
    req.client_software_name = "broker-it";
    return REQUEST(fd, corr, STRAND__API_KEY__API_VERSIONS, req,
                   &strand__api_versions_response__descriptor, NULL, 0, NULL, NULL);
}

Strand__CreateTopicsResponse *tw_create_topic(int fd, int32_t corr, const char *name,
                                              int32_t partitions, int32_t rf,
                                              const char *const *configs)
{
    Strand__CreatableTopic topic = STRAND__CREATABLE_TOPIC__INIT;
    Strand__CreatableTopic *topics[1] = { &topic };
    Strand__CreatableTopicConfig cfgs[16];
    Strand__CreatableTopicConfig *cfg_ptrs[16];
    size_t n_cfg = 0;
    for (size_t i = 0; configs && configs[i] && configs[i + 1] && n_cfg < 16; i += 2, n_cfg++) {
        strand__creatable_topic_config__init(&cfgs[n_cfg]);
        cfgs[n_cfg].name = (char *)configs[i];
        cfgs[n_cfg].value = (char *)configs[i + 1];
        cfg_ptrs[n_cfg] = &cfgs[n_cfg];
    }
    topic.name = (char *)name;
    topic.num_partitions = partitions;
    topic.replication_factor = rf;
    topic.configs = cfg_ptrs;
    topic.n_configs = n_cfg;
    Strand__CreateTopicsRequest req = STRAND__CREATE_TOPICS_REQUEST__INIT;
    req.topics = topics;
    req.n_topics = 1;
    req.timeout_ms = 10000;
    return REQUEST(fd, corr, STRAND__API_KEY__CREATE_TOPICS, req,
                   &strand__create_topics_response__descriptor, NULL, 0, NULL, NULL);
}

Strand__DeleteTopicsResponse *tw_delete_topic(int fd, int32_t corr, const char *name)
{
    char *names[1] = { (char *)name };
    Strand__DeleteTopicsRequest req = STRAND__DELETE_TOPICS_REQUEST__INIT;
    req.topic_names = names;
    req.n_topic_names = 1;
    req.timeout_ms = 10000;   /* wait for the deletion, as Kafka's clients ask (0 = don't) */
    return REQUEST(fd, corr, STRAND__API_KEY__DELETE_TOPICS, req,
                   &strand__delete_topics_response__descriptor, NULL, 0, NULL, NULL);
}

Strand__MetadataResponse *tw_metadata(int fd, int32_t corr, const char *topic, bool auto_create)
{
    char *names[1] = { (char *)topic };
    Strand__MetadataRequest req = STRAND__METADATA_REQUEST__INIT;
    if (topic) {
        req.topics = names;
        req.n_topics = 1;
    } else {
        req.all_topics = true;
    }
    req.allow_auto_topic_creation = auto_create;
    return REQUEST(fd, corr, STRAND__API_KEY__METADATA, req, &strand__metadata_response__descriptor,
                   NULL, 0, NULL, NULL);
}

int tw_send_produce(int fd, int32_t corr, const char *topic, int32_t partition, int32_t acks,
                    int32_t timeout_ms, const void *records, size_t len)
{
    Strand__ProducePartitionData pd = STRAND__PRODUCE_PARTITION_DATA__INIT;
    Strand__ProducePartitionData *pds[1] = { &pd };
    Strand__ProduceTopicData td = STRAND__PRODUCE_TOPIC_DATA__INIT;
    Strand__ProduceTopicData *tds[1] = { &td };
    pd.partition = partition;
    pd.records_size = (uint32_t)len;
    td.name = (char *)topic;
    td.partitions = pds;
    td.n_partitions = 1;
    Strand__ProduceRequest req = STRAND__PRODUCE_REQUEST__INIT;
    req.acks = acks;
    req.timeout_ms = timeout_ms;
    req.topics = tds;
    req.n_topics = 1;
    return tw_send(fd, STRAND__API_KEY__PRODUCE, 0, corr, &req.base, records, len);
}

Strand__ProduceResponse *tw_produce(int fd, int32_t corr, const char *topic, int32_t partition,
                                    int32_t acks, const void *records, size_t len)
{
    if (tw_send_produce(fd, corr, topic, partition, acks, 10000, records, len) < 0 || acks == 0)
        return NULL;
    return (Strand__ProduceResponse *)tw_recv_response(fd, corr,
                                                       &strand__produce_response__descriptor,
                                                       NULL, NULL);
}

Strand__LeaderAndIsrResponse *tw_leader_and_isr(int fd, int32_t corr, const tw_lai_t *a)
{
    Strand__LeaderAndIsrPartitionState ps = STRAND__LEADER_AND_ISR_PARTITION_STATE__INIT;
    ps.partition = a->partition;
    ps.controller_epoch = a->controller_epoch;
    ps.leader = a->leader;
    ps.leader_epoch = a->leader_epoch;
    ps.isr = (int32_t *)a->isr;
    ps.n_isr = a->n_isr;
    ps.replicas = (int32_t *)a->replicas;
    ps.n_replicas = a->n_replicas;
    Strand__LeaderAndIsrPartitionState *pss[] = { &ps };
    Strand__TopicConfigEntry ce = STRAND__TOPIC_CONFIG_ENTRY__INIT;
    ce.name = (char *)a->cfg_name;
    ce.value = (char *)a->cfg_value;
    Strand__TopicConfigEntry *ces[] = { &ce };
    Strand__LeaderAndIsrTopicState ts = STRAND__LEADER_AND_ISR_TOPIC_STATE__INIT;
    ts.topic = (char *)a->topic;
    ts.partitions = pss;
    ts.n_partitions = 1;
    if (a->cfg_name) {
        ts.configs = ces;
        ts.n_configs = 1;
    }
    Strand__LeaderAndIsrTopicState *tss[] = { &ts };
    Strand__UpdateMetadataEndpoint ep = STRAND__UPDATE_METADATA_ENDPOINT__INIT;
    ep.host = "127.0.0.1";
    ep.port = a->leader_port;
    ep.listener = "PLAINTEXT";
    ep.security_protocol = "PLAINTEXT";
    Strand__UpdateMetadataEndpoint *eps[] = { &ep };
    Strand__UpdateMetadataBroker lb = STRAND__UPDATE_METADATA_BROKER__INIT;
    lb.id = a->leader;
    lb.endpoints = eps;
    lb.n_endpoints = 1;
    Strand__UpdateMetadataBroker *lbs[] = { &lb };
    Strand__LeaderAndIsrRequest req = STRAND__LEADER_AND_ISR_REQUEST__INIT;
    req.controller_id = a->controller_id;
    req.controller_epoch = a->controller_epoch;
    req.broker_epoch = a->broker_epoch;
    req.topics = tss;
    req.n_topics = 1;
    req.live_leaders = lbs;
    req.n_live_leaders = 1;
    return REQUEST(fd, corr, STRAND__API_KEY__LEADER_AND_ISR, req,
                   &strand__leader_and_isr_response__descriptor, NULL, 0, NULL, NULL);
}

static void fill_fetch(Strand__FetchRequest *req, Strand__FetchTopic *ft, Strand__FetchTopic **fts,
                       Strand__FetchPartition *fp, Strand__FetchPartition **fps, const char *topic,
                       int32_t partition, int64_t offset, int32_t max_wait_ms, int32_t min_bytes)
{
    strand__fetch_partition__init(fp);
    fp->partition = partition;
    fp->current_leader_epoch = -1;
    fp->fetch_offset = offset;
    fp->partition_max_bytes = 1024 * 1024;
    fps[0] = fp;
    strand__fetch_topic__init(ft);
    ft->topic = (char *)topic;
    ft->partitions = fps;
    ft->n_partitions = 1;
    fts[0] = ft;
    strand__fetch_request__init(req);
    req->replica_id = -1;
    req->max_wait_ms = max_wait_ms;
    req->min_bytes = min_bytes;
    req->max_bytes = 50 * 1024 * 1024;
    req->topics = fts;
    req->n_topics = 1;
}

Strand__FetchResponse *tw_fetch(int fd, int32_t corr, const char *topic, int32_t partition,
                                int64_t offset, int32_t max_wait_ms, int32_t min_bytes,
                                int32_t max_bytes, int32_t partition_max_bytes,
                                uint8_t **ret_tail, size_t *ret_tail_len)
{
    Strand__FetchRequest req;
    Strand__FetchTopic ft, *fts[1];
    Strand__FetchPartition fp, *fps[1];
    fill_fetch(&req, &ft, fts, &fp, fps, topic, partition, offset, max_wait_ms, min_bytes);
    req.max_bytes = max_bytes;
    fp.partition_max_bytes = partition_max_bytes;
    uint8_t *tail = NULL;
    size_t tail_len = 0;
    Strand__FetchResponse *resp = REQUEST(fd, corr, STRAND__API_KEY__FETCH, req,
                                          &strand__fetch_response__descriptor, NULL, 0, &tail,
                                          &tail_len);
    if (ret_tail) {
        *ret_tail = tail;
        *ret_tail_len = tail_len;
    } else {
        free(tail);
    }
    return resp;
}

int tw_send_fetch(int fd, int32_t corr, const char *topic, int32_t partition, int64_t offset,
                  int32_t max_wait_ms, int32_t min_bytes)
{
    Strand__FetchRequest req;
    Strand__FetchTopic ft, *fts[1];
    Strand__FetchPartition fp, *fps[1];
    fill_fetch(&req, &ft, fts, &fp, fps, topic, partition, offset, max_wait_ms, min_bytes);
    return tw_send(fd, STRAND__API_KEY__FETCH, 0, corr, &req.base, NULL, 0);
}

Strand__ListOffsetsResponse *tw_list_offsets(int fd, int32_t corr, const char *topic,
                                             int32_t partition, int64_t timestamp)
{
    Strand__ListOffsetsPartition lp = STRAND__LIST_OFFSETS_PARTITION__INIT;
    Strand__ListOffsetsPartition *lps[1] = { &lp };
    Strand__ListOffsetsTopic lt = STRAND__LIST_OFFSETS_TOPIC__INIT;
    Strand__ListOffsetsTopic *lts[1] = { &lt };
    lp.partition = partition;
    lp.current_leader_epoch = -1;
    lp.timestamp = timestamp;
    lt.name = (char *)topic;
    lt.partitions = lps;
    lt.n_partitions = 1;
    Strand__ListOffsetsRequest req = STRAND__LIST_OFFSETS_REQUEST__INIT;
    req.replica_id = -1;
    req.topics = lts;
    req.n_topics = 1;
    return REQUEST(fd, corr, STRAND__API_KEY__LIST_OFFSETS, req,
                   &strand__list_offsets_response__descriptor, NULL, 0, NULL, NULL);
}

bool tw_broker_serves(int port)
{
    int fd = st_test_connect(port);
    if (fd < 0)
        return false;
    Strand__ApiVersionsResponse *resp = tw_api_versions(fd, 4242);
    bool ok = resp && resp->error_code == 0 && resp->n_api_keys >= 7;
    if (resp)
        strand__api_versions_response__free_unpacked(resp, NULL);
    close(fd);
    return ok;
}

int tw_count_records(const uint8_t *tail, size_t len, int64_t *ret_first_offset,
                     int64_t *ret_last_offset)
{
    st_batch_reader_t r;
    st_batch_reader_init(&r, tail, len);
    st_batch_header_t hdr;
    int count = 0, rc;
    bool first = true;
    while ((rc = st_batch_reader_next_batch(&r, &hdr)) == 1) {
        if (first && ret_first_offset)
            *ret_first_offset = hdr.base_offset;
        first = false;
        if (ret_last_offset)
            *ret_last_offset = st_batch_last_offset(&hdr);
        st_record_t rec;
        int rr;
        while ((rr = st_batch_reader_next_record(&r, &rec)) == 1)
            count++;
        if (rr < 0) {
            count = -1;
            break;
        }
    }
    if (rc < 0)
        count = -1;
    st_batch_reader_destroy(&r);
    return count;
}

bool tw_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    while (st_test_now_ms() < deadline) {
        if (st_test_file_contains(path, needle))
            return true;
        st_test_sleep_ms(20);
    }
    return st_test_file_contains(path, needle);
}
