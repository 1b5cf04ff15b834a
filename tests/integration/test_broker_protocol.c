/* Broker integration tests, protocol level: ApiVersions, unknown API keys and versions,
 * malformed input of every kind (garbage, truncated, oversized, bad protobuf, inconsistent
 * lengths) -- each answered or closed as specified while the broker keeps serving other
 * clients -- pipelining, many concurrent connections and idle closing. Raw frames only. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_wire.h"
#include "harness.h"
#include "st_buf.h"
#include "st_error.h"
#include "st_frame.h"

static st_test_broker_t broker;

static void start_default(void)
{
    static const char *const overrides[] = { "socket.request.max.bytes=1048576",
                                             "message.max.bytes=65536",
                                             "connections.max.idle.ms=600000", NULL };
    cr_assert_eq(st_test_broker_start(&broker, overrides), 0, "broker did not start");
}

static void stop_broker(void)
{
    st_test_broker_cleanup(&broker);
}

TestSuite(broker_protocol, .init = start_default, .fini = stop_broker, .timeout = 60);

Test(broker_protocol, api_versions)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    Strand__ApiVersionsResponse *resp = tw_api_versions(fd, 1);
    cr_assert_not_null(resp);
    cr_assert_eq(resp->error_code, ST_ERR_NONE);
    int want[] = { 0, 1, 2, 3, 18, 19, 20 };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (size_t k = 0; k < resp->n_api_keys; k++)
            if (resp->api_keys[k]->api_key == want[i]) {
                found = true;
                cr_expect_eq(resp->api_keys[k]->min_version, 0);
                cr_expect_eq(resp->api_keys[k]->max_version, 0);
            }
        cr_expect(found, "API key %d not advertised", want[i]);
    }
    strand__api_versions_response__free_unpacked(resp, NULL);
    close(fd);
}

/* An unknown key or version gets an ApiVersionsResponse with UNSUPPORTED_VERSION, and the
 * connection keeps working. */
static void expect_unsupported(int32_t key, int32_t version)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    Strand__ApiVersionsRequest body = STRAND__API_VERSIONS_REQUEST__INIT;
    cr_assert_eq(tw_send(fd, key, version, 77, &body.base, NULL, 0), 0);
    Strand__ApiVersionsResponse *resp = (Strand__ApiVersionsResponse *)tw_recv_response(
        fd, 77, &strand__api_versions_response__descriptor, NULL, NULL);
    cr_assert_not_null(resp, "no answer to api key %d version %d", key, version);
    cr_expect_eq(resp->error_code, ST_ERR_UNSUPPORTED_VERSION);
    cr_expect_geq(resp->n_api_keys, 7);
    strand__api_versions_response__free_unpacked(resp, NULL);
    /* Same connection still usable. */
    resp = tw_api_versions(fd, 78);
    cr_assert_not_null(resp);
    cr_expect_eq(resp->error_code, 0);
    strand__api_versions_response__free_unpacked(resp, NULL);
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, unknown_api_key)
{
    expect_unsupported(999, 0);
    expect_unsupported(-5, 0);
}

Test(broker_protocol, unknown_version)
{
    expect_unsupported(STRAND__API_KEY__METADATA, 7);
    expect_unsupported(STRAND__API_KEY__API_VERSIONS, 3);
    expect_unsupported(STRAND__API_KEY__PRODUCE, -1);
}

Test(broker_protocol, garbage_frame_closes_connection)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    /* size 8, header_len 0xffff: inner lengths run past the frame. */
    const uint8_t garbage[] = { 0, 0, 0, 8, 0xff, 0xff, 1, 2, 3, 4, 5, 6 };
    cr_assert_eq(st_test_send_all(fd, garbage, sizeof(garbage)), 0);
    cr_expect(tw_wait_closed(fd, 5000), "broker kept a connection that sent garbage");
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
    cr_expect(tw_wait_file_contains(broker.log_path, "malformed frame", 2000));
    cr_expect(st_test_file_contains(broker.log_path, "Closing connection from 127.0.0.1:"));

    /* A frame shorter than its 6 bytes of inner lengths. */
    fd = st_test_connect(broker.port);
    const uint8_t tiny[] = { 0, 0, 0, 2, 0, 0 };
    cr_assert_eq(st_test_send_all(fd, tiny, sizeof(tiny)), 0);
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, random_bytes_close_connection)
{
    int fd = st_test_connect(broker.port);
    uint8_t junk[4096];
    srand(42);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rand();
    junk[0] = 0;   /* keep the size under socket.request.max.bytes */
    junk[1] = 0;
    junk[2] = 0x0f;
    st_test_send_all(fd, junk, sizeof(junk));
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, truncated_frame_peer_closes)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    /* Claim 1000 bytes, send 10, hang up. */
    const uint8_t part[] = { 0, 0, 0x03, 0xe8, 0, 2, 8, 18, 16, 0, 0, 0, 0, 0 };
    cr_assert_eq(st_test_send_all(fd, part, sizeof(part)), 0);
    close(fd);
    cr_expect(tw_wait_file_contains(broker.log_path, "in the middle of a frame", 5000));
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, oversized_frame_closes_and_logs_peer)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    /* socket.request.max.bytes is 1 MiB here: announce 2 MiB. */
    uint8_t prefix[4];
    st_put_be32(prefix, 2 * 1024 * 1024);
    cr_assert_eq(st_test_send_all(fd, prefix, 4), 0);
    cr_expect(tw_wait_closed(fd, 5000), "oversized frame did not close the connection");
    close(fd);
    cr_expect(tw_wait_file_contains(broker.log_path, "exceeds socket.request.max.bytes", 2000));
    cr_expect(st_test_file_contains(broker.log_path, "Closing connection from 127.0.0.1:"));
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, invalid_protobuf_header_and_body)
{
    /* Header that is not a RequestHeader: field 1 with wire type 7 (invalid). */
    int fd = st_test_connect(broker.port);
    const uint8_t bad_hdr[] = { 0, 0, 0, 9, 0, 3, 0x0f, 0xff, 0xff, 0, 0, 0, 0 };
    cr_assert_eq(st_test_send_all(fd, bad_hdr, sizeof(bad_hdr)), 0);
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_wait_file_contains(broker.log_path, "invalid protobuf", 2000));
    cr_expect(tw_broker_serves(broker.port));

    /* Valid header for Metadata, body that does not decode. */
    fd = st_test_connect(broker.port);
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = STRAND__API_KEY__METADATA;
    hdr.correlation_id = 5;
    st_buf_t buf = ST_BUF_INIT;
    size_t hl = strand__request_header__get_packed_size(&hdr);
    const uint8_t body[] = { 0x0a, 0x50, 'x' };   /* string field claiming 80 bytes */
    st_buf_append_be32(&buf, (uint32_t)(2 + hl + 4 + sizeof(body)));
    st_buf_append_be16(&buf, (uint16_t)hl);
    st_buf_reserve(&buf, hl);
    strand__request_header__pack(&hdr, buf.data + buf.len);
    buf.len += hl;
    st_buf_append_be32(&buf, sizeof(body));
    st_buf_append(&buf, body, sizeof(body));
    cr_assert_eq(st_test_send_all(fd, buf.data, buf.len), 0);
    st_buf_free(&buf);
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, records_size_mismatch_closes)
{
    int fd = st_test_connect(broker.port);
    Strand__CreateTopicsResponse *ct = tw_create_topic(fd, 1, "mismatch", 1, 1, NULL);
    cr_assert_not_null(ct);
    strand__create_topics_response__free_unpacked(ct, NULL);
    /* records_size says 100, the tail has 50. */
    Strand__ProducePartitionData pd = STRAND__PRODUCE_PARTITION_DATA__INIT;
    Strand__ProducePartitionData *pds[1] = { &pd };
    Strand__ProduceTopicData td = STRAND__PRODUCE_TOPIC_DATA__INIT;
    Strand__ProduceTopicData *tds[1] = { &td };
    pd.records_size = 100;
    td.name = "mismatch";
    td.partitions = pds;
    td.n_partitions = 1;
    Strand__ProduceRequest req = STRAND__PRODUCE_REQUEST__INIT;
    req.acks = 1;
    req.topics = tds;
    req.n_topics = 1;
    uint8_t tail[50] = { 0 };
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__PRODUCE, 0, 2, &req.base, tail, sizeof(tail)), 0);
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_wait_file_contains(broker.log_path, "records_size values sum to 100", 2000));
    cr_expect(tw_broker_serves(broker.port));

    /* A tail after a request that carries no records. */
    fd = st_test_connect(broker.port);
    Strand__ApiVersionsRequest av = STRAND__API_VERSIONS_REQUEST__INIT;
    cr_assert_eq(tw_send(fd, STRAND__API_KEY__API_VERSIONS, 0, 3, &av.base, tail, 10), 0);
    cr_expect(tw_wait_closed(fd, 5000));
    close(fd);
    cr_expect(tw_broker_serves(broker.port));
}

Test(broker_protocol, pipelined_requests_answered_in_order)
{
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    /* 50 requests of mixed kinds written back to back, then the answers read in order. */
    for (int i = 0; i < 50; i++) {
        if (i % 2 == 0) {
            Strand__ApiVersionsRequest av = STRAND__API_VERSIONS_REQUEST__INIT;
            cr_assert_eq(tw_send(fd, STRAND__API_KEY__API_VERSIONS, 0, 1000 + i, &av.base, NULL, 0), 0);
        } else {
            Strand__MetadataRequest md = STRAND__METADATA_REQUEST__INIT;
            md.all_topics = true;
            cr_assert_eq(tw_send(fd, STRAND__API_KEY__METADATA, 0, 1000 + i, &md.base, NULL, 0), 0);
        }
    }
    for (int i = 0; i < 50; i++) {
        const ProtobufCMessageDescriptor *d = i % 2 == 0 ? &strand__api_versions_response__descriptor
                                                         : &strand__metadata_response__descriptor;
        ProtobufCMessage *m = tw_recv_response(fd, 1000 + i, d, NULL, NULL);
        cr_assert_not_null(m, "response %d missing or out of order", i);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    close(fd);
}

Test(broker_protocol, two_hundred_concurrent_connections)
{
    enum { N = 200 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = st_test_connect(broker.port);
        cr_assert_geq(fds[i], 0, "connection %d failed: %s", i, strerror(-fds[i]));
    }
    for (int i = 0; i < N; i++) {
        Strand__MetadataRequest md = STRAND__METADATA_REQUEST__INIT;
        md.all_topics = true;
        cr_assert_eq(tw_send(fds[i], STRAND__API_KEY__METADATA, 0, i, &md.base, NULL, 0), 0);
    }
    for (int i = 0; i < N; i++) {
        Strand__MetadataResponse *resp = (Strand__MetadataResponse *)tw_recv_response(
            fds[i], i, &strand__metadata_response__descriptor, NULL, NULL);
        cr_assert_not_null(resp, "connection %d got no answer", i);
        cr_expect_eq(resp->n_brokers, 1);
        strand__metadata_response__free_unpacked(resp, NULL);
        close(fds[i]);
    }
    cr_expect(tw_broker_serves(broker.port));
}

TestSuite(broker_idle, .fini = stop_broker, .timeout = 60);

Test(broker_idle, idle_connections_closed)
{
    static const char *const overrides[] = { "connections.max.idle.ms=1000", NULL };
    cr_assert_eq(st_test_broker_start(&broker, overrides), 0);
    int fd = st_test_connect(broker.port);
    cr_assert_geq(fd, 0);
    Strand__ApiVersionsResponse *resp = tw_api_versions(fd, 1);
    cr_assert_not_null(resp);
    strand__api_versions_response__free_unpacked(resp, NULL);
    cr_expect(tw_wait_closed(fd, 5000), "idle connection not closed");
    close(fd);
    cr_expect(st_test_file_contains(broker.log_path, "connections.max.idle.ms=1000"));
    cr_expect(tw_broker_serves(broker.port));
}
