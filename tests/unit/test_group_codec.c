/* Unit tests of broker/group/group_codec.c: Java's String.hashCode and the coordinator partition
 * (values computed with java 17's String.hashCode), the __consumer_offsets key and value layouts
 * (byte-exact against hand-built Kafka records), decoding of every value version, malformed
 * input, and the DumpLogSegments text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "group_codec.h"

Test(group_codec, java_string_hash_known_values)
{
    struct { const char *s; int32_t hash; int32_t part; } v[] = {
        { "", 0, 0 },
        { "a", 97, 47 },
        { "hello", 99162322, 22 },
        { "my-group", -1906497762, 12 },
        { "test-group", 627841412, 12 },
        { "group1", -1237460590, 40 },
        { "polygenelubricants", INT32_MIN, 0 },        /* Utils.abs(MIN_VALUE) = 0 */
        { "\xc3\xa9t\xc3\xa9", 227742, 42 },            /* "été": 2-byte UTF-8 */
        { "\xf0\x9f\x98\x80x", 54959989, 39 },          /* U+1F600: a surrogate pair */
        { "console-consumer-12345", 158455506, 6 },
        { "GroupWith\xe4\xb8\xad\xe6\x96\x87", -1762729089, 39 },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cr_expect_eq(st_java_string_hash(v[i].s, strlen(v[i].s)), v[i].hash, "hash of '%s'",
                     v[i].s);
        cr_expect_eq(st_group_partition_for(v[i].s, 50), v[i].part, "partition of '%s'", v[i].s);
    }
}

Test(group_codec, invalid_utf8_counts_as_replacement_char)
{
    /* Java decodes a lone 0xFF byte as U+FFFD: "a\uFFFD".hashCode() = 97*31 + 65533. */
    cr_expect_eq(st_java_string_hash("a\xff", 2), 97 * 31 + 65533);
    /* A truncated 3-byte sequence at the end: one U+FFFD per byte consumed. */
    cr_expect_eq(st_java_string_hash("\xe4", 1), 65533);
}

static const uint8_t commit_key[] = {
    0, 1,  0, 1, 'g',  0, 1, 't',  0, 0, 0, 7,
};
static const uint8_t commit_value[] = {
    0, 3,  0, 0, 0, 0, 0, 0, 0, 5,  0, 0, 0, 2,  0, 2, 'm', 'd',  0, 0, 0, 0, 0, 0, 0x03, 0xE8,
};

Test(group_codec, offset_commit_key_and_value_bytes)
{
    st_buf_t b = ST_BUF_INIT;
    cr_assert_eq(st_offsets_encode_commit_key(&b, "g", "t", 7), 0);
    cr_assert_eq(b.len, sizeof(commit_key));
    cr_expect_eq(memcmp(b.data, commit_key, b.len), 0);
    st_buf_reset(&b);
    cr_assert_eq(st_offsets_encode_commit_value(&b, 5, 2, "md", 1000), 0);
    cr_assert_eq(b.len, sizeof(commit_value));
    cr_expect_eq(memcmp(b.data, commit_value, b.len), 0);
    st_buf_free(&b);

    st_offsets_key_t k;
    char why[160];
    cr_assert_eq(st_offsets_decode_key(commit_key, sizeof(commit_key), &k, why, sizeof(why)), 0);
    cr_expect_eq(k.version, 1);
    cr_expect_str_eq(k.group, "g");
    cr_expect_str_eq(k.topic, "t");
    cr_expect_eq(k.partition, 7);
    st_offsets_key_free(&k);
    st_offset_value_t v;
    cr_assert_eq(st_offsets_decode_commit_value(commit_value, sizeof(commit_value), &v, why,
                                                sizeof(why)), 0);
    cr_expect_eq(v.offset, 5);
    cr_expect_eq(v.leader_epoch, 2);
    cr_expect_str_eq(v.metadata, "md");
    cr_expect_eq(v.commit_timestamp, 1000);
    st_offset_value_free(&v);
}

Test(group_codec, offset_commit_value_v1_has_expire_timestamp)
{
    const uint8_t v1[] = { 0, 1,  0, 0, 0, 0, 0, 0, 0, 9,  0, 0,  0, 0, 0, 0, 0, 0, 0, 1,
                           0, 0, 0, 0, 0, 0, 0, 2 };
    st_offset_value_t v;
    cr_assert_eq(st_offsets_decode_commit_value(v1, sizeof(v1), &v, NULL, 0), 0);
    cr_expect_eq(v.offset, 9);
    cr_expect_eq(v.leader_epoch, -1);
    cr_expect_eq(v.commit_timestamp, 1);
    cr_expect_eq(v.expire_timestamp, 2);
    st_offset_value_free(&v);
}

Test(group_codec, group_metadata_round_trip)
{
    uint8_t sub[] = { 0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff };
    uint8_t asg[] = { 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1,
                      0xff, 0xff, 0xff, 0xff };
    st_group_member_record_t m[2] = {
        { "m1", NULL, "c1", "/127.0.0.1", 300000, 10000, sub, sizeof(sub), asg, sizeof(asg) },
        { "m2", "inst-2", "c2", "/127.0.0.2", 300000, 10000, sub, sizeof(sub), NULL, 0 },
    };
    st_group_meta_value_t in = { 3, "consumer", 4, "range", "m1", 1234, m, 2 };
    st_buf_t b = ST_BUF_INIT;
    cr_assert_eq(st_offsets_encode_group_value(&b, &in), 0);
    st_group_meta_value_t out;
    char why[160];
    cr_assert_eq(st_offsets_decode_group_value(b.data, b.len, &out, why, sizeof(why)), 0, "%s",
                 why);
    cr_expect_str_eq(out.protocol_type, "consumer");
    cr_expect_eq(out.generation, 4);
    cr_expect_str_eq(out.protocol, "range");
    cr_expect_str_eq(out.leader, "m1");
    cr_expect_eq(out.current_state_timestamp, 1234);
    cr_assert_eq(out.n_members, 2);
    cr_expect_null(out.members[0].group_instance_id);
    cr_expect_str_eq(out.members[1].group_instance_id, "inst-2");
    cr_expect_str_eq(out.members[1].client_host, "/127.0.0.2");
    cr_expect_eq(out.members[0].assignment_len, sizeof(asg));
    cr_expect_eq(memcmp(out.members[0].assignment, asg, sizeof(asg)), 0);
    cr_expect_eq(out.members[1].assignment_len, 0);

    /* Every truncation is refused, never read past. */
    for (size_t cut = 0; cut < b.len; cut++) {
        st_group_meta_value_t t;
        cr_expect_lt(st_offsets_decode_group_value(b.data, cut, &t, why, sizeof(why)), 0,
                     "truncated at %zu", cut);
    }

    /* DumpLogSegments' text. */
    st_buf_t key = ST_BUF_INIT;
    st_offsets_encode_group_key(&key, "grp");
    char text[512];
    cr_assert(st_offsets_format_record(key.data, (int32_t)key.len, b.data, (int32_t)b.len, text,
                                       sizeof(text)));
    cr_expect_str_eq(text, "key: group_metadata::group=grp payload: {\"protocolType\":\"consumer\","
                     "\"protocol\":\"range\",\"generationId\":4,\"assignment\":\"{m1=[t-0, t-1],m2=}\"}");
    cr_assert(st_offsets_format_record(key.data, (int32_t)key.len, NULL, -1, text, sizeof(text)));
    cr_expect_str_eq(text, "key: group_metadata::group=grp payload: <DELETE>");
    st_group_meta_value_free(&out);
    st_buf_free(&b);
    st_buf_free(&key);
}

Test(group_codec, group_metadata_v0_layout)
{
    /* v0: no current_state_timestamp, no instance id, no rebalance timeout. */
    const uint8_t v0[] = { 0, 0,  0, 8, 'c','o','n','s','u','m','e','r',  0, 0, 0, 1,
                           0, 1, 'r',  0, 1, 'm',  0, 0, 0, 1,
                           0, 1, 'm',  0, 1, 'c',  0, 1, 'h',  0, 0, 0x27, 0x10,
                           0, 0, 0, 0,  0, 0, 0, 0 };
    st_group_meta_value_t v;
    char why[160];
    cr_assert_eq(st_offsets_decode_group_value(v0, sizeof(v0), &v, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(v.current_state_timestamp, -1);
    cr_assert_eq(v.n_members, 1);
    cr_expect_eq(v.members[0].session_timeout, 10000);
    cr_expect_eq(v.members[0].rebalance_timeout, 10000);
    st_group_meta_value_free(&v);
}

Test(group_codec, offset_commit_text_and_errors)
{
    char text[256];
    cr_assert(st_offsets_format_record(commit_key, sizeof(commit_key), commit_value,
                                       sizeof(commit_value), text, sizeof(text)));
    cr_expect_str_eq(text, "key: offset_commit::group=g,partition=t-7 payload: offset=5,metadata=md");
    cr_assert(st_offsets_format_record(commit_key, sizeof(commit_key), NULL, -1, text,
                                       sizeof(text)));
    cr_expect_str_eq(text, "key: offset_commit::group=g,partition=t-7 payload: <DELETE>");
    st_buf_t b = ST_BUF_INIT;
    st_offsets_encode_commit_value(&b, 42, -1, "", 1);
    cr_assert(st_offsets_format_record(commit_key, sizeof(commit_key), b.data, (int32_t)b.len,
                                       text, sizeof(text)));
    cr_expect_str_eq(text, "key: offset_commit::group=g,partition=t-7 payload: offset=42");
    st_buf_free(&b);

    const uint8_t bad_version[] = { 0, 9, 0, 1, 'g' };
    cr_expect_not(st_offsets_format_record(bad_version, sizeof(bad_version), NULL, -1, text,
                                           sizeof(text)));
    cr_expect(strstr(text, "unknown key version 9") != NULL, "%s", text);
    const uint8_t bad_len[] = { 0, 2, 0x7f, 0x00, 'g' };
    st_offsets_key_t k;
    char why[160];
    cr_expect_eq(st_offsets_decode_key(bad_len, sizeof(bad_len), &k, why, sizeof(why)), -EBADMSG);
    cr_expect(strstr(why, "group at byte 2 has length 32512") != NULL, "%s", why);
    const uint8_t neg_len[] = { 0, 2, 0xff, 0xfe };
    cr_expect_eq(st_offsets_decode_key(neg_len, sizeof(neg_len), &k, why, sizeof(why)), -EBADMSG);
}

static void collect(void *arg, const char *topic, size_t len)
{
    char *out = arg;
    strncat(out, topic, len);
    strcat(out, ";");
}

Test(group_codec, subscription_topics)
{
    const uint8_t sub[] = { 0, 1,  0, 0, 0, 2,  0, 2, 't', '1',  0, 1, 'u',  0xff, 0xff, 0xff, 0xff,
                            0, 0, 0, 0 };
    char out[64] = "";
    cr_assert_eq(st_subscription_topics(sub, sizeof(sub), collect, out), 0);
    cr_expect_str_eq(out, "t1;u;");
    cr_expect_eq(st_subscription_topics(sub, 8, collect, out), -EBADMSG);
}

/* The client library's ConsumerProtocol encoder (common/client/st_consumer_protocol.c) and the
 * broker's readers agree: subscription topics at every version, assignments in the dump text. */
#include "st_consumer_protocol.h"

Test(group_codec, consumer_protocol_bytes_from_the_client_codec)
{
    char *topics[2] = { "orders", "payments" };
    st_tp_t owned[1] = { { "orders", 3 } };
    for (int16_t ver = 0; ver <= ST_CP_VERSION_MAX; ver++) {
        st_cp_subscription_t sub = {
            .topics = topics, .topic_cnt = 2, .user_data = ST_CP_BYTES_NULL,
            .owned = { owned, 1 }, .generation_id = 4, .rack_id = NULL,
        };
        st_buf_t b = ST_BUF_INIT;
        char err[128];
        cr_assert_eq(st_cp_subscription_encode(&sub, ver, &b, err, sizeof(err)), 0, "%s", err);
        char out[64] = "";
        cr_assert_eq(st_subscription_topics(b.data, b.len, collect, out), 0, "version %d", ver);
        cr_expect_str_eq(out, "orders;payments;", "version %d", ver);
        st_buf_free(&b);
    }
    st_tp_t parts[3] = { { "orders", 0 }, { "orders", 2 }, { "payments", 1 } };
    st_cp_assignment_t asg = { .partitions = { parts, 3 }, .user_data = ST_CP_BYTES_NULL };
    st_buf_t a = ST_BUF_INIT;
    char err[128];
    cr_assert_eq(st_cp_assignment_encode(&asg, 0, &a, err, sizeof(err)), 0, "%s", err);
    st_group_member_record_t m = { "member-1", NULL, "c", "/h", 1, 1, NULL, 0, a.data, a.len };
    st_group_meta_value_t v = { 3, "consumer", 2, "range", "member-1", 0, &m, 1 };
    st_buf_t val = ST_BUF_INIT, key = ST_BUF_INIT;
    st_offsets_encode_group_value(&val, &v);
    st_offsets_encode_group_key(&key, "g");
    char text[512];
    cr_assert(st_offsets_format_record(key.data, (int32_t)key.len, val.data, (int32_t)val.len,
                                       text, sizeof(text)));
    cr_expect(strstr(text, "\"assignment\":\"{member-1=[orders-0, orders-2, payments-1]}\"") != NULL,
              "%s", text);
    st_buf_free(&a);
    st_buf_free(&val);
    st_buf_free(&key);
}
