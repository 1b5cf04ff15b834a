/* Unit tests for the frame codec (common/st_frame.c), the buffer and the error table. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "st_buf.h"
#include "st_error.h"
#include "st_frame.h"
#include "strand.pb-c.h"

Test(frame, encode_parse_round_trip_with_tail)
{
    Strand__RequestHeader hdr = STRAND__REQUEST_HEADER__INIT;
    hdr.api_key = STRAND__API_KEY__PRODUCE;
    hdr.correlation_id = 42;
    hdr.client_id = "test-client";
    Strand__ApiVersionsRequest body = STRAND__API_VERSIONS_REQUEST__INIT;
    body.client_software_name = "strand";

    st_buf_t buf = ST_BUF_INIT;
    const char tail[] = "raw-batch-bytes";
    cr_assert_eq(st_frame_encode(&buf, &hdr.base, &body.base, sizeof(tail)), 0);
    cr_assert_eq(st_buf_append(&buf, tail, sizeof(tail)), 0);

    int64_t size = st_frame_peek_size(buf.data, buf.len);
    cr_assert_eq(size, (int64_t)buf.len - 4);
    cr_expect_eq(st_frame_peek_size(buf.data, 3), -EAGAIN);

    st_frame_view_t view;
    const char *reason = NULL;
    cr_assert_eq(st_frame_parse(buf.data + 4, (size_t)size, &view, &reason), 0);
    cr_assert_eq(view.tail_len, sizeof(tail));
    cr_expect_eq(memcmp(view.tail, tail, sizeof(tail)), 0);

    Strand__RequestHeader *h = strand__request_header__unpack(NULL, view.header_len, view.header);
    cr_assert_not_null(h);
    cr_expect_eq(h->correlation_id, 42);
    cr_expect_str_eq(h->client_id, "test-client");
    strand__request_header__free_unpacked(h, NULL);
    Strand__ApiVersionsRequest *b = strand__api_versions_request__unpack(NULL, view.body_len, view.body);
    cr_assert_not_null(b);
    cr_expect_str_eq(b->client_software_name, "strand");
    strand__api_versions_request__free_unpacked(b, NULL);
    st_buf_free(&buf);
}

Test(frame, parse_rejects_inner_lengths_past_the_end)
{
    uint8_t payload[32] = { 0 };
    st_frame_view_t view;
    const char *reason = NULL;
    cr_expect_eq(st_frame_parse(payload, 5, &view, &reason), -EBADMSG);
    cr_expect_not_null(reason);
    st_put_be16(payload, 30);                    /* header claims 30 of 32 bytes */
    cr_expect_eq(st_frame_parse(payload, 32, &view, &reason), -EBADMSG);
    cr_expect(strstr(reason, "header") != NULL);
    st_put_be16(payload, 2);
    st_put_be32(payload + 4, 100);               /* body claims 100 */
    cr_expect_eq(st_frame_parse(payload, 32, &view, &reason), -EBADMSG);
    cr_expect(strstr(reason, "body") != NULL);
    st_put_be32(payload + 4, 24);                /* exactly fills: no tail */
    cr_expect_eq(st_frame_parse(payload, 32, &view, &reason), 0);
    cr_expect_eq(view.tail_len, 0);
    /* Every prefix of a valid frame either parses within bounds or is rejected. */
    for (size_t len = 0; len <= 32; len++) {
        if (st_frame_parse(payload, len, &view, &reason) == 0)
            cr_expect_leq(view.tail + view.tail_len, payload + len);
    }
}

Test(buf, append_consume_and_endianness)
{
    st_buf_t buf = ST_BUF_INIT;
    cr_assert_eq(st_buf_append_be16(&buf, 0x0102), 0);
    cr_assert_eq(st_buf_append_be32(&buf, 0x03040506), 0);
    cr_assert_eq(st_buf_append_be64(&buf, 0x0708090a0b0c0d0eULL), 0);
    const uint8_t want[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
    cr_assert_eq(buf.len, sizeof(want));
    cr_expect_eq(memcmp(buf.data, want, sizeof(want)), 0);
    cr_expect_eq(st_be64(buf.data + 6), 0x0708090a0b0c0d0eULL);
    st_buf_consume(&buf, 2);
    cr_expect_eq(st_be32(buf.data), 0x03040506u);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(st_buf_append(&buf, "x", 1), 0);
    cr_expect_eq(buf.len, 12 + 100000);
    st_buf_consume(&buf, buf.len + 5);
    cr_expect_eq(buf.len, 0);
    st_buf_free(&buf);
}

Test(error, names_numbers_and_retriable)
{
    cr_expect_eq(ST_ERR_OFFSET_OUT_OF_RANGE, 1);
    cr_expect_eq(ST_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3);
    cr_expect_eq(ST_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    cr_expect_eq(ST_ERR_MESSAGE_TOO_LARGE, 10);
    cr_expect_eq(ST_ERR_UNSUPPORTED_VERSION, 35);
    cr_expect_str_eq(st_error_name(ST_ERR_CORRUPT_MESSAGE), "CORRUPT_MESSAGE");
    cr_expect_str_eq(st_error_name(9999), "UNKNOWN_ERROR_9999");
    cr_expect(st_error_retriable(ST_ERR_NOT_LEADER_OR_FOLLOWER));
    cr_expect(!st_error_retriable(ST_ERR_TOPIC_ALREADY_EXISTS));
    cr_expect_str_neq(st_error_desc(ST_ERR_NONE), "");
}
