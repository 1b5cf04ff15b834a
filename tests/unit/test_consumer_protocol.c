/* Kafka's consumer protocol codecs (common/client/st_consumer_protocol.c): byte-exact vectors
 * built by hand from ConsumerProtocolSubscription.json / ConsumerProtocolAssignment.json and the
 * StickyAssignor / CooperativeStickyAssignor user-data schemas, round trips over every version,
 * Kafka's ConsumerProtocolTest scenarios (future versions, old-version reads, null user data,
 * sorted topics and owned partitions), and the decoders' refusals: every truncation, every
 * bad length, random and mutated input -- always -EBADMSG with the field and byte offset, never
 * a read past the end (run under ASan to see the latter). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_consumer_protocol.h"

/* ---- helpers ---------------------------------------------------------------------------------- */
typedef struct hb {
    uint8_t b[512];
    size_t n;
} hb_t;

static void hb_i16(hb_t *h, int v)
{
    h->b[h->n++] = (uint8_t)((unsigned)v >> 8);
    h->b[h->n++] = (uint8_t)v;
}

static void hb_i32(hb_t *h, long v)
{
    uint32_t u = (uint32_t)v;
    h->b[h->n++] = (uint8_t)(u >> 24);
    h->b[h->n++] = (uint8_t)(u >> 16);
    h->b[h->n++] = (uint8_t)(u >> 8);
    h->b[h->n++] = (uint8_t)u;
}

static void hb_str(hb_t *h, const char *s)
{
    hb_i16(h, (int)strlen(s));
    memcpy(h->b + h->n, s, strlen(s));
    h->n += strlen(s);
}

static void hb_raw(hb_t *h, const void *d, size_t n)
{
    memcpy(h->b + h->n, d, n);
    h->n += n;
}

static void expect_bytes(const st_buf_t *got, const hb_t *want)
{
    cr_assert_eq(got->len, want->n, "encoded %zu bytes, expected %zu", got->len, want->n);
    for (size_t i = 0; i < want->n; i++)
        cr_assert_eq(got->data[i], want->b[i], "byte %zu: 0x%02x, expected 0x%02x", i,
                     got->data[i], want->b[i]);
}

static st_tp_t TP(const char *t, int32_t p) { return (st_tp_t){ (char *)t, p }; }

static bool tp_in(const st_tp_list_t *l, const char *t, int32_t p)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].topic, t) == 0 && l->v[i].partition == p)
            return true;
    return false;
}

/* xorshift64*: reproducible randomness */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* ---- byte-exact Subscription vectors --------------------------------------------------------- */
Test(consumer_protocol, subscription_v0_bytes)
{
    char *topics[] = { "foo", "bar" };
    st_cp_subscription_t sub = { .topics = topics, .topic_cnt = 2,
                                 .user_data = ST_CP_BYTES_NULL, .generation_id = -1 };
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(&sub, 0, &out, err, sizeof(err)), 0, "%s", err);
    hb_t w = { .n = 0 };
    hb_i16(&w, 0);                 /* version */
    hb_i32(&w, 2);                 /* topics: sorted, as Kafka writes them */
    hb_str(&w, "bar");
    hb_str(&w, "foo");
    hb_i32(&w, -1);                /* user_data: null */
    expect_bytes(&out, &w);
    st_buf_free(&out);
}

static st_cp_subscription_t full_subscription(char **topics, st_tp_t *owned)
{
    topics[0] = "foo";
    topics[1] = "bar";
    owned[0] = TP("foo", 1);
    owned[1] = TP("bar", 2);
    owned[2] = TP("foo", 0);
    return (st_cp_subscription_t){ .topics = topics, .topic_cnt = 2,
                                   .user_data = { (uint8_t *)"hello", 5 },
                                   .owned = { owned, 3 }, .generation_id = 7,
                                   .rack_id = "rack-a" };
}

/* The v0 prefix all versions share, then each version's additions. */
static void want_subscription(hb_t *w, int version)
{
    hb_i16(w, version);
    hb_i32(w, 2);
    hb_str(w, "bar");
    hb_str(w, "foo");
    hb_i32(w, 5);
    hb_raw(w, "hello", 5);
    if (version >= 1) {            /* owned_partitions sorted by (topic, partition), grouped */
        hb_i32(w, 2);
        hb_str(w, "bar");
        hb_i32(w, 1);
        hb_i32(w, 2);
        hb_str(w, "foo");
        hb_i32(w, 2);
        hb_i32(w, 0);
        hb_i32(w, 1);
    }
    if (version >= 2)
        hb_i32(w, 7);              /* generation_id */
    if (version >= 3)
        hb_str(w, "rack-a");       /* rack_id */
}

Test(consumer_protocol, subscription_bytes_every_version)
{
    char *topics[2];
    st_tp_t owned[3];
    st_cp_subscription_t sub = full_subscription(topics, owned);
    for (int v = 0; v <= 3; v++) {
        st_buf_t out = ST_BUF_INIT;
        char err[256];
        cr_assert_eq(st_cp_subscription_encode(&sub, (int16_t)v, &out, err, sizeof(err)), 0,
                     "%s", err);
        hb_t w = { .n = 0 };
        want_subscription(&w, v);
        expect_bytes(&out, &w);
        st_buf_free(&out);
    }
}

Test(consumer_protocol, subscription_v3_null_rack_bytes)
{
    char *topics[] = { "t" };
    st_cp_subscription_t sub = { .topics = topics, .topic_cnt = 1,
                                 .user_data = { NULL, 0 }, .generation_id = -1 };
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(&sub, 3, &out, err, sizeof(err)), 0, "%s", err);
    hb_t w = { .n = 0 };
    hb_i16(&w, 3);
    hb_i32(&w, 1);
    hb_str(&w, "t");
    hb_i32(&w, 0);                 /* user_data: empty, not null */
    hb_i32(&w, 0);                 /* owned_partitions: none */
    hb_i32(&w, -1);                /* generation_id: default */
    hb_i16(&w, -1);                /* rack_id: null */
    expect_bytes(&out, &w);
    st_buf_free(&out);
}

/* ---- Subscription round trips and Kafka's ConsumerProtocolTest scenarios ----------------------- */
Test(consumer_protocol, subscription_roundtrip_all_versions)
{
    char *topics[2];
    st_tp_t owned[3];
    st_cp_subscription_t sub = full_subscription(topics, owned);
    for (int v = 0; v <= 3; v++) {
        st_buf_t out = ST_BUF_INIT;
        char err[256];
        cr_assert_eq(st_cp_subscription_encode(&sub, (int16_t)v, &out, err, sizeof(err)), 0);
        st_cp_subscription_t got;
        cr_assert_eq(st_cp_subscription_decode(out.data, out.len, &got, err, sizeof(err)), 0,
                     "v%d: %s", v, err);
        cr_assert_eq(got.version, v);
        cr_assert_eq(got.topic_cnt, 2);
        cr_assert_str_eq(got.topics[0], "bar");
        cr_assert_str_eq(got.topics[1], "foo");
        cr_assert_eq(got.user_data.len, 5);
        cr_assert(memcmp(got.user_data.data, "hello", 5) == 0);
        if (v >= 1) {
            cr_assert_eq(got.owned.n, 3);
            cr_assert(tp_in(&got.owned, "foo", 0) && tp_in(&got.owned, "foo", 1) &&
                      tp_in(&got.owned, "bar", 2));
        } else {
            cr_assert_eq(got.owned.n, 0);
        }
        cr_assert_eq(got.generation_id, v >= 2 ? 7 : -1);
        if (v >= 3)
            cr_assert_str_eq(got.rack_id, "rack-a");
        else
            cr_assert_null(got.rack_id);
        st_cp_subscription_free(&got);
        cr_assert_null(got.topics);
        st_buf_free(&out);
    }
}

Test(consumer_protocol, subscription_null_and_empty_user_data_differ)
{
    char *topics[] = { "foo" };
    st_cp_bytes_t cases[] = { ST_CP_BYTES_NULL, { NULL, 0 } };
    for (int k = 0; k < 2; k++) {
        st_cp_subscription_t sub = { .topics = topics, .topic_cnt = 1, .user_data = cases[k],
                                     .generation_id = -1 };
        st_buf_t out = ST_BUF_INIT;
        char err[256];
        cr_assert_eq(st_cp_subscription_encode(&sub, 3, &out, err, sizeof(err)), 0);
        st_cp_subscription_t got;
        cr_assert_eq(st_cp_subscription_decode(out.data, out.len, &got, err, sizeof(err)), 0);
        cr_assert_eq(got.user_data.len, k == 0 ? -1 : 0);
        cr_assert_null(got.rack_id);
        st_cp_subscription_free(&got);
        st_buf_free(&out);
    }
}

Test(consumer_protocol, subscription_order_of_topics_and_owned_does_not_matter)
{
    /* serializeSubscriptionShouldOrderTopics / ...OrderOwnedPartitions */
    char *t1[] = { "foo", "bar" }, *t2[] = { "bar", "foo" };
    st_tp_t o1[] = { TP("foo", 1), TP("bar", 2) }, o2[] = { TP("bar", 2), TP("foo", 1) };
    st_cp_subscription_t a = { .topics = t1, .topic_cnt = 2, .user_data = ST_CP_BYTES_NULL,
                               .owned = { o1, 2 }, .generation_id = -1 };
    st_cp_subscription_t b = { .topics = t2, .topic_cnt = 2, .user_data = ST_CP_BYTES_NULL,
                               .owned = { o2, 2 }, .generation_id = -1 };
    st_buf_t x = ST_BUF_INIT, y = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(&a, 3, &x, err, sizeof(err)), 0);
    cr_assert_eq(st_cp_subscription_encode(&b, 3, &y, err, sizeof(err)), 0);
    cr_assert_eq(x.len, y.len);
    cr_assert(memcmp(x.data, y.data, x.len) == 0);
    st_buf_free(&x);
    st_buf_free(&y);
}

Test(consumer_protocol, subscription_future_version_parsed_as_v3)
{
    /* deserializeFutureSubscriptionVersion: version 100 appends a field after rack_id */
    hb_t w = { .n = 0 };
    hb_i16(&w, 100);
    hb_i32(&w, 1);
    hb_str(&w, "topic");
    hb_i32(&w, 0);
    hb_i32(&w, 1);
    hb_str(&w, "bar");
    hb_i32(&w, 1);
    hb_i32(&w, 2);
    hb_i32(&w, 1);                 /* generation_id */
    hb_str(&w, "rack-a");
    hb_str(&w, "bar");             /* the unknown v100 field */
    st_cp_subscription_t got;
    char err[256];
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &got, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(got.version, 100);
    cr_assert_eq(got.topic_cnt, 1);
    cr_assert_str_eq(got.topics[0], "topic");
    cr_assert_eq(got.owned.n, 1);
    cr_assert(tp_in(&got.owned, "bar", 2));
    cr_assert_eq(got.generation_id, 1);
    cr_assert_str_eq(got.rack_id, "rack-a");
    st_cp_subscription_free(&got);
}

Test(consumer_protocol, subscription_v3_bytes_read_as_v0)
{
    /* deserializeNewSubscriptionWithOldVersion: v3 bytes with the version rewritten to 0 read
     * as v0; the later fields are trailing bytes and ignored, as Kafka ignores them */
    char *topics[2];
    st_tp_t owned[3];
    st_cp_subscription_t sub = full_subscription(topics, owned);
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(&sub, 3, &out, err, sizeof(err)), 0);
    out.data[0] = 0;
    out.data[1] = 0;
    st_cp_subscription_t got;
    cr_assert_eq(st_cp_subscription_decode(out.data, out.len, &got, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(got.version, 0);
    cr_assert_eq(got.topic_cnt, 2);
    cr_assert_eq(got.owned.n, 0);
    cr_assert_eq(got.generation_id, -1);
    cr_assert_null(got.rack_id);
    st_cp_subscription_free(&got);
    st_buf_free(&out);
}

/* ---- Assignment ------------------------------------------------------------------------------- */
Test(consumer_protocol, assignment_bytes_every_version)
{
    /* grouped per topic in order of first appearance; partitions in the order given */
    st_tp_t parts[] = { TP("foo", 1), TP("bar", 2), TP("foo", 0) };
    st_cp_assignment_t asg = { .partitions = { parts, 3 }, .user_data = { NULL, 0 } };
    for (int v = 0; v <= 3; v++) {
        st_buf_t out = ST_BUF_INIT;
        char err[256];
        cr_assert_eq(st_cp_assignment_encode(&asg, (int16_t)v, &out, err, sizeof(err)), 0, "%s",
                     err);
        hb_t w = { .n = 0 };
        hb_i16(&w, v);
        hb_i32(&w, 2);
        hb_str(&w, "foo");
        hb_i32(&w, 2);
        hb_i32(&w, 1);
        hb_i32(&w, 0);
        hb_str(&w, "bar");
        hb_i32(&w, 1);
        hb_i32(&w, 2);
        hb_i32(&w, 0);             /* user_data: empty */
        expect_bytes(&out, &w);

        st_cp_assignment_t got;
        cr_assert_eq(st_cp_assignment_decode(out.data, out.len, &got, err, sizeof(err)), 0);
        cr_assert_eq(got.version, v);
        cr_assert_eq(got.partitions.n, 3);
        cr_assert_str_eq(got.partitions.v[0].topic, "foo");
        cr_assert_eq(got.partitions.v[0].partition, 1);
        cr_assert_str_eq(got.partitions.v[1].topic, "foo");
        cr_assert_eq(got.partitions.v[1].partition, 0);
        cr_assert_str_eq(got.partitions.v[2].topic, "bar");
        cr_assert_eq(got.user_data.len, 0);
        st_cp_assignment_free(&got);
        st_buf_free(&out);
    }
}

Test(consumer_protocol, assignment_null_user_data_and_empty)
{
    st_cp_assignment_t asg = { .user_data = ST_CP_BYTES_NULL };
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_assignment_encode(&asg, 0, &out, err, sizeof(err)), 0);
    hb_t w = { .n = 0 };
    hb_i16(&w, 0);
    hb_i32(&w, 0);
    hb_i32(&w, -1);
    expect_bytes(&out, &w);
    st_cp_assignment_t got;
    cr_assert_eq(st_cp_assignment_decode(out.data, out.len, &got, err, sizeof(err)), 0);
    cr_assert_eq(got.partitions.n, 0);
    cr_assert_eq(got.user_data.len, -1);
    cr_assert_null(got.user_data.data);
    st_cp_assignment_free(&got);
    st_buf_free(&out);
}

Test(consumer_protocol, assignment_future_version)
{
    /* deserializeFutureAssignmentVersion: v100 adds a string after user_data */
    hb_t w = { .n = 0 };
    hb_i16(&w, 100);
    hb_i32(&w, 1);
    hb_str(&w, "foo");
    hb_i32(&w, 1);
    hb_i32(&w, 1);
    hb_i32(&w, 0);
    hb_str(&w, "bar");
    st_cp_assignment_t got;
    char err[256];
    cr_assert_eq(st_cp_assignment_decode(w.b, w.n, &got, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(got.version, 100);
    cr_assert_eq(got.partitions.n, 1);
    cr_assert(tp_in(&got.partitions, "foo", 1));
    st_cp_assignment_free(&got);
}

/* ---- assignor user data -------------------------------------------------------------------- */
Test(consumer_protocol, sticky_user_data_v1_bytes_and_v0_fallback)
{
    st_tp_t parts[] = { TP("t", 0), TP("t", 1) };
    st_tp_list_t l = { parts, 2 };
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_sticky_userdata_encode(&l, 5, &out, err, sizeof(err)), 0);
    hb_t w = { .n = 0 };
    hb_i32(&w, 1);
    hb_str(&w, "t");
    hb_i32(&w, 2);
    hb_i32(&w, 0);
    hb_i32(&w, 1);
    hb_i32(&w, 5);
    expect_bytes(&out, &w);

    st_tp_list_t got;
    int32_t gen;
    bool has_gen;
    cr_assert_eq(st_cp_sticky_userdata_decode(out.data, out.len, &got, &gen, &has_gen, err,
                                              sizeof(err)), 0);
    cr_assert(has_gen);
    cr_assert_eq(gen, 5);
    cr_assert_eq(got.n, 2);
    st_tp_list_free(&got);

    /* V0: the same without the generation (testSchemaBackwardCompatibility's old schema) */
    cr_assert_eq(st_cp_sticky_userdata_decode(out.data, out.len - 4, &got, &gen, &has_gen, err,
                                              sizeof(err)), 0);
    cr_assert_not(has_gen);
    cr_assert_eq(gen, -1);
    cr_assert(tp_in(&got, "t", 0) && tp_in(&got, "t", 1));
    st_tp_list_free(&got);

    /* neither */
    cr_assert_eq(st_cp_sticky_userdata_decode(out.data, 3, &got, &gen, &has_gen, err,
                                              sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "previous_assignment"), "%s", err);
    st_buf_free(&out);
}

Test(consumer_protocol, cooperative_user_data)
{
    st_buf_t out = ST_BUF_INIT;
    cr_assert_eq(st_cp_coop_userdata_encode(10, &out), 0);
    hb_t w = { .n = 0 };
    hb_i32(&w, 10);
    expect_bytes(&out, &w);
    int32_t gen = 0;
    char err[256];
    cr_assert_eq(st_cp_coop_userdata_decode(out.data, out.len, &gen, err, sizeof(err)), 0);
    cr_assert_eq(gen, 10);
    cr_assert_eq(st_cp_coop_userdata_decode(out.data, 3, &gen, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "generation"), "%s", err);
    st_buf_free(&out);
}

/* ---- encoder refusals -------------------------------------------------------------------------- */
Test(consumer_protocol, encoder_refusals)
{
    char err[256];
    st_buf_t out = ST_BUF_INIT;
    cr_assert_eq(st_buf_append(&out, "xy", 2), 0);
    char *topics[] = { "a" };
    st_cp_subscription_t sub = { .topics = topics, .topic_cnt = 1,
                                 .user_data = ST_CP_BYTES_NULL, .generation_id = -1 };
    cr_assert_eq(st_cp_subscription_encode(&sub, 4, &out, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "version 4"), "%s", err);
    cr_assert_eq(st_cp_subscription_encode(&sub, -1, &out, err, sizeof(err)), -EINVAL);

    char *long_topic = malloc(40000);
    memset(long_topic, 'x', 39999);
    long_topic[39999] = '\0';
    char *bad[] = { "a", long_topic };
    sub.topics = bad;
    sub.topic_cnt = 2;
    cr_assert_eq(st_cp_subscription_encode(&sub, 0, &out, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "topics[1]") && strstr(err, "32767"), "%s", err);
    char *null_topic[] = { NULL };
    sub.topics = null_topic;
    sub.topic_cnt = 1;
    cr_assert_eq(st_cp_subscription_encode(&sub, 0, &out, err, sizeof(err)), -EINVAL);

    st_tp_t neg[] = { TP("a", -3) };
    sub.topics = topics;
    sub.owned = (st_tp_list_t){ neg, 1 };
    cr_assert_eq(st_cp_subscription_encode(&sub, 1, &out, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "owned_partitions[0]") && strstr(err, "-3"), "%s", err);
    /* v0 has no owned partitions, so they are not looked at */
    cr_assert_eq(st_cp_subscription_encode(&sub, 0, &out, err, sizeof(err)), 0);
    out.len = 2;

    st_cp_assignment_t asg = { .partitions = { neg, 1 }, .user_data = ST_CP_BYTES_NULL };
    cr_assert_eq(st_cp_assignment_encode(&asg, 0, &out, err, sizeof(err)), -EINVAL);
    asg.partitions.n = 0;
    asg.user_data = (st_cp_bytes_t){ NULL, 5 };
    cr_assert_eq(st_cp_assignment_encode(&asg, 0, &out, err, sizeof(err)), -EINVAL);
    cr_assert_eq(out.len, 2, "a refused encode leaves the buffer as it was");
    free(long_topic);
    st_buf_free(&out);
}

/* ---- decoder refusals -------------------------------------------------------------------------- */
Test(consumer_protocol, decoder_errors_name_field_and_offset)
{
    char err[256];
    st_cp_subscription_t sub;
    st_cp_assignment_t asg;

    hb_t w = { .n = 0 };
    hb_i16(&w, -1);
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "unsupported version -1"), "%s", err);

    w.n = 0;
    hb_i16(&w, 1);
    hb_i32(&w, 2);
    hb_str(&w, "foo");
    hb_i16(&w, 300);               /* topics[1] claims 300 bytes */
    hb_raw(&w, "bar", 3);
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert_str_eq(err, "ConsumerProtocolSubscription v1: topics[1]: string length 300 runs "
                     "past the end (3 bytes left) (at byte 11 of 16)");

    w.n = 0;
    hb_i16(&w, 0);
    hb_i32(&w, -1);                /* topics: null */
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "topics: array is null"), "%s", err);

    w.n = 0;
    hb_i16(&w, 0);
    hb_i32(&w, 0x7fffffff);        /* a count the bytes cannot hold: refused before allocating */
    hb_str(&w, "a");
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "array count 2147483647"), "%s", err);

    w.n = 0;
    hb_i16(&w, 0);
    hb_i32(&w, 1);
    hb_i16(&w, 3);
    hb_raw(&w, "a\0b", 3);
    hb_i32(&w, -1);
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "NUL"), "%s", err);

    w.n = 0;
    hb_i16(&w, 0);
    hb_i32(&w, 0);
    hb_i32(&w, 10);                /* user_data claims 10 bytes, 2 follow */
    hb_i16(&w, 0);
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "user_data: bytes length 10") && strstr(err, "at byte 6 of 12"),
              "%s", err);

    w.n = 0;
    hb_i16(&w, 2);
    hb_i32(&w, 1);
    hb_str(&w, "t");
    hb_i32(&w, -1);
    hb_i32(&w, 1);
    hb_str(&w, "t");
    hb_i32(&w, 2);
    hb_i32(&w, 0);
    hb_i32(&w, -5);                /* negative partition */
    hb_i32(&w, 3);
    cr_assert_eq(st_cp_subscription_decode(w.b, w.n, &sub, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "owned_partitions[0].partitions[1]: partition -5 is negative"), "%s",
              err);

    w.n = 0;
    hb_i16(&w, 1);
    hb_i32(&w, 1);
    hb_i16(&w, -1);                /* a null topic in an assignment */
    hb_i32(&w, 0);
    cr_assert_eq(st_cp_assignment_decode(w.b, w.n, &asg, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "ConsumerProtocolAssignment v1: assigned_partitions[0].topic: string "
                      "is null"), "%s", err);

    cr_assert_eq(st_cp_assignment_decode(NULL, 0, &asg, err, sizeof(err)), -EBADMSG);
    cr_assert(strstr(err, "version: needs 2 bytes"), "%s", err);
}

Test(consumer_protocol, every_truncation_is_refused)
{
    char *topics[2];
    st_tp_t owned[3];
    st_cp_subscription_t sub = full_subscription(topics, owned);
    sub.rack_id = NULL;            /* so that v3 ends in a field whose loss is detectable */
    for (int v = 0; v <= 3; v++) {
        st_buf_t out = ST_BUF_INIT;
        char err[256];
        cr_assert_eq(st_cp_subscription_encode(&sub, (int16_t)v, &out, err, sizeof(err)), 0);
        for (size_t n = 0; n < out.len; n++) {
            /* an exact-size copy, so a read past n is a heap overflow under ASan */
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, out.data, n);
            st_cp_subscription_t got = { .topic_cnt = 12345 };
            err[0] = '\0';
            cr_assert_eq(st_cp_subscription_decode(cut, n, &got, err, sizeof(err)), -EBADMSG,
                         "v%d cut at %zu decoded", v, n);
            cr_assert(strstr(err, "(at byte "), "%s", err);
            cr_assert_eq(got.topic_cnt, 12345, "output touched on failure");
            free(cut);
        }
        st_buf_free(&out);
    }
    st_tp_t parts[] = { TP("foo", 1), TP("bar", 2) };
    st_cp_assignment_t asg = { .partitions = { parts, 2 }, .user_data = { (uint8_t *)"u", 1 } };
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_assignment_encode(&asg, 3, &out, err, sizeof(err)), 0);
    for (size_t n = 0; n < out.len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, out.data, n);
        st_cp_assignment_t got;
        cr_assert_eq(st_cp_assignment_decode(cut, n, &got, err, sizeof(err)), -EBADMSG);
        free(cut);
    }
    st_buf_free(&out);
}

/* Decoded structs re-encode to a decoding with the same content (for versions 0..3). */
static void check_reencode(const st_cp_subscription_t *s)
{
    if (s->version > 3)
        return;
    st_buf_t out = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(s, s->version, &out, err, sizeof(err)), 0, "%s", err);
    st_cp_subscription_t again;
    cr_assert_eq(st_cp_subscription_decode(out.data, out.len, &again, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(again.topic_cnt, s->topic_cnt);
    cr_assert_eq(again.owned.n, s->owned.n);
    cr_assert_eq(again.user_data.len, s->user_data.len);
    cr_assert_eq(again.generation_id, s->generation_id);
    cr_assert_eq(again.rack_id == NULL, s->rack_id == NULL);
    for (size_t i = 0; i < s->owned.n; i++)
        cr_assert(tp_in(&again.owned, s->owned.v[i].topic, s->owned.v[i].partition));
    st_cp_subscription_free(&again);
    st_buf_free(&out);
}

Test(consumer_protocol, random_and_mutated_input, .timeout = 60)
{
    char *topics[2];
    st_tp_t owned[3];
    st_cp_subscription_t base = full_subscription(topics, owned);
    st_buf_t valid = ST_BUF_INIT;
    char err[256];
    cr_assert_eq(st_cp_subscription_encode(&base, 3, &valid, err, sizeof(err)), 0);
    size_t ok = 0, bad = 0;
    for (int iter = 0; iter < 200000; iter++) {
        size_t n;
        uint8_t *buf;
        if (iter % 2) {            /* mutate a valid encoding: flip bytes, cut */
            n = valid.len - rnd() % 8;
            buf = malloc(n);
            memcpy(buf, valid.data, n);
            for (int k = 0, flips = 1 + (int)(rnd() % 3); k < flips; k++)
                buf[rnd() % n] = (uint8_t)rnd();
        } else {                   /* random bytes with a plausible small version */
            n = rnd() % 48;
            buf = malloc(n ? n : 1);
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)(rnd() % 4 ? rnd() % 4 : rnd());
        }
        st_cp_subscription_t s;
        int rc = st_cp_subscription_decode(buf, n, &s, err, sizeof(err));
        cr_assert(rc == 0 || rc == -EBADMSG, "rc %d", rc);
        if (rc == 0) {
            ok++;
            check_reencode(&s);
            st_cp_subscription_free(&s);
        } else {
            bad++;
            cr_assert(strstr(err, "(at byte "), "%s", err);
        }
        st_cp_assignment_t a;
        rc = st_cp_assignment_decode(buf, n, &a, err, sizeof(err));
        cr_assert(rc == 0 || rc == -EBADMSG);
        if (rc == 0)
            st_cp_assignment_free(&a);
        st_tp_list_t l;
        int32_t gen;
        bool has_gen;
        rc = st_cp_sticky_userdata_decode(buf, n, &l, &gen, &has_gen, err, sizeof(err));
        cr_assert(rc == 0 || rc == -EBADMSG);
        if (rc == 0)
            st_tp_list_free(&l);
        free(buf);
    }
    cr_assert(ok > 100 && bad > 100, "ok %zu bad %zu: the generator should hit both", ok, bad);
    st_buf_free(&valid);
}

/* ---- Java string order -------------------------------------------------------------------------- */
Test(consumer_protocol, java_string_order)
{
    cr_assert_eq(st_cp_java_strcmp("abc", "abc"), 0);
    cr_assert_lt(st_cp_java_strcmp("ab", "abc"), 0);
    cr_assert_gt(st_cp_java_strcmp("b", "abc"), 0);
    cr_assert_lt(st_cp_java_strcmp("consumer-a", "consumer-b"), 0);
    cr_assert_lt(st_cp_java_strcmp("Z", "a"), 0);
    /* U+FF61 (EF BD A1) vs U+1F600 (F0 9F 98 80): bytes and code points say U+FF61 first, Java
     * compares 0xFF61 with the high surrogate 0xD83D and puts the emoji first */
    cr_assert_lt(strcmp("\xEF\xBD\xA1", "\xF0\x9F\x98\x80"), 0);
    cr_assert_gt(st_cp_java_strcmp("\xEF\xBD\xA1", "\xF0\x9F\x98\x80"), 0);
    cr_assert_lt(st_cp_java_strcmp("\xF0\x9F\x98\x80", "\xEF\xBD\xA1"), 0);
    /* both supplementary: code point order */
    cr_assert_lt(st_cp_java_strcmp("x\xF0\x9F\x98\x80", "x\xF0\x9F\x98\x81"), 0);
    /* BMP characters below the surrogates: same as bytes */
    cr_assert_lt(st_cp_java_strcmp("\xC3\xA9", "\xE2\x82\xAC"), 0);
    /* invalid UTF-8 falls back to bytes */
    cr_assert_lt(st_cp_java_strcmp("\x80", "\x81"), 0);
}
