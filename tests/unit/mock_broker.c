/* In-process mock brokers for the client unit tests: the server thread (accept, read frames,
 * dispatch to the test's handler), responses, the mock partition log, delivery-report counting.
 * See mock_broker.h. */
#include "mock_broker.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_frame.h"
#include "strand.h"

#define MAX_CONNS 8

void mock_on_report(const strand_delivery_report_t *rep, void *opaque)
{
    mock_reports_t *r = opaque;
    if (rep->error) {
        atomic_fetch_add(&r->errors, 1);
        r->last_error = rep->error;
        snprintf(r->last_errstr, sizeof(r->last_errstr), "%s", rep->errstr);
    }
    atomic_fetch_add(&r->n, 1);
}

int64_t mock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void mock_log_append(mock_log_t *log, int n, size_t value_size)
{
    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    char *value = malloc(value_size + 32);
    for (int i = 0; i < n; i++) {
        memset(value, 'x', value_size + 32);
        int len = snprintf(value, value_size + 32, "v%lld", (long long)(log->end + i));
        ssize_t vlen = len;
        if (value_size) {
            value[len] = 'x';
            vlen = (ssize_t)value_size;
        }
        cr_assert_eq(st_batch_writer_add(w, 1000 + log->end + i, NULL, -1, value, vlen,
                                         NULL, 0), 0);
    }
    const void *data;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &data, &len), 0);
    size_t at = log->buf.len;
    st_buf_append(&log->buf, data, len);
    st_batch_stamp(log->buf.data + at, log->end, 0);
    log->end += n;
    st_batch_writer_free(w);
    free(value);
}

size_t mock_log_pos(const mock_log_t *log, int64_t offset, size_t *ret_len)
{
    size_t pos = 0;
    while (pos < log->buf.len) {
        st_batch_header_t hdr;
        st_batch_header_decode(log->buf.data + pos, log->buf.len - pos, &hdr);
        if (st_batch_last_offset(&hdr) >= offset) {
            if (ret_len)
                *ret_len = st_batch_total_size(&hdr);
            return pos;
        }
        pos += st_batch_total_size(&hdr);
    }
    if (ret_len)
        *ret_len = 0;
    return pos;
}

static bool read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void mock_send_resp(int fd, int32_t corr, const ProtobufCMessage *body, const void *tail,
                    size_t tail_len)
{
    Strand__ResponseHeader rh = STRAND__RESPONSE_HEADER__INIT;
    rh.correlation_id = corr;
    st_buf_t out = ST_BUF_INIT;
    st_frame_encode(&out, &rh.base, body, tail_len);
    if (tail_len)
        st_buf_append(&out, tail, tail_len);
    ssize_t w = write(fd, out.data, out.len);
    (void)w;
    st_buf_free(&out);
}

void mock_send_api_versions(int fd, int32_t corr, const int *keys, size_t n)
{
    Strand__ApiVersionRange r[16], *rp[16];
    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n; i++) {
        strand__api_version_range__init(&r[i]);
        r[i].api_key = keys[i];
        rp[i] = &r[i];
    }
    Strand__ApiVersionsResponse resp = STRAND__API_VERSIONS_RESPONSE__INIT;
    resp.n_api_keys = n;
    resp.api_keys = rp;
    mock_send_resp(fd, corr, &resp.base, NULL, 0);
}

void mock_send_metadata(int fd, int32_t corr, const Strand__MetadataRequest *req,
                        Strand__BrokerMetadata **brokers, size_t n_brokers,
                        Strand__PartitionMetadata *pm)
{
    Strand__TopicMetadata tm[4], *tmp[4];
    size_t n = 0;
    for (size_t i = 0; req && i < req->n_topics && n < 4; i++) {
        strand__topic_metadata__init(&tm[n]);
        tm[n].name = req->topics[i];
        if (strcmp(req->topics[i], "t") == 0) {
            tm[n].n_partitions = 1;
            tm[n].partitions = &pm;
        } else {
            tm[n].error_code = ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        tmp[n] = &tm[n];
        n++;
    }
    Strand__MetadataResponse resp = STRAND__METADATA_RESPONSE__INIT;
    resp.n_brokers = n_brokers;
    resp.brokers = brokers;
    resp.controller_id = 1;
    resp.n_topics = n;
    resp.topics = tmp;
    mock_send_resp(fd, corr, &resp.base, NULL, 0);
}

void mock_send_list_offsets(int fd, int32_t corr, const char *topic,
                            Strand__ListOffsetsPartitionResponse *pr)
{
    Strand__ListOffsetsTopicResponse tr = STRAND__LIST_OFFSETS_TOPIC_RESPONSE__INIT, *trp = &tr;
    tr.name = (char *)topic;
    tr.n_partitions = 1;
    tr.partitions = &pr;
    Strand__ListOffsetsResponse resp = STRAND__LIST_OFFSETS_RESPONSE__INIT;
    resp.n_topics = 1;
    resp.topics = &trp;
    mock_send_resp(fd, corr, &resp.base, NULL, 0);
}

void mock_send_fetch(int fd, int32_t corr, const char *topic, Strand__FetchPartitionResponse *pr,
                     const void *records, size_t len)
{
    Strand__FetchTopicResponse tr = STRAND__FETCH_TOPIC_RESPONSE__INIT, *trp = &tr;
    tr.topic = (char *)topic;
    tr.n_partitions = 1;
    tr.partitions = &pr;
    Strand__FetchResponse resp = STRAND__FETCH_RESPONSE__INIT;
    resp.n_responses = 1;
    resp.responses = &trp;
    mock_send_resp(fd, corr, &resp.base, records, len);
}

void mock_send_produce(int fd, int32_t corr, const char *topic,
                       Strand__ProducePartitionResponse *pr)
{
    Strand__ProduceTopicResponse tr = STRAND__PRODUCE_TOPIC_RESPONSE__INIT, *trp = &tr;
    tr.name = (char *)topic;
    tr.n_partitions = 1;
    tr.partitions = &pr;
    Strand__ProduceResponse resp = STRAND__PRODUCE_RESPONSE__INIT;
    resp.n_responses = 1;
    resp.responses = &trp;
    mock_send_resp(fd, corr, &resp.base, NULL, 0);
}

static void *mock_main(void *arg)
{
    mock_server_t *s = arg;
    struct pollfd pfd[MAX_CONNS + 1];
    int n = 1;
    pfd[0] = (struct pollfd){ s->lfd, POLLIN, 0 };
    while (!atomic_load(s->stop)) {
        if (poll(pfd, (nfds_t)n, 50) <= 0)
            continue;
        if ((pfd[0].revents & POLLIN) && n <= MAX_CONNS) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0)
                pfd[n++] = (struct pollfd){ fd, POLLIN, 0 };
        }
        for (int i = 1; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            uint8_t szb[4];
            uint8_t *frame = NULL;
            uint32_t size = 0;
            bool ok = read_full(pfd[i].fd, szb, 4);
            if (ok) {
                size = st_be32(szb);
                frame = malloc(size ? size : 1);
                ok = frame && read_full(pfd[i].fd, frame, size);
            }
            st_frame_view_t v;
            Strand__RequestHeader *h = NULL;
            if (ok && st_frame_parse(frame, size, &v, NULL) == 0)
                h = strand__request_header__unpack(NULL, v.header_len, v.header);
            bool keep = h && s->handle(s->arg, pfd[i].fd, h, v.body, v.body_len);
            if (h)
                strand__request_header__free_unpacked(h, NULL);
            if (!keep) {
                close(pfd[i].fd);
                pfd[i--] = pfd[--n];
            }
            free(frame);
        }
    }
    for (int i = 1; i < n; i++)
        close(pfd[i].fd);
    return NULL;
}

int mock_bind_loopback(int *ret_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    *ret_fd = fd;
    return ntohs(a.sin_port);
}

void mock_server_start(mock_server_t *s)
{
    s->port = mock_bind_loopback(&s->lfd);
    listen(s->lfd, 8);
    pthread_create(&s->thread, NULL, mock_main, s);
}

void mock_server_join(mock_server_t *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}
