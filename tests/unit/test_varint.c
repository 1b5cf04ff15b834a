/* Unit tests of zigzag varints (common/format/st_varint.c): known encodings from the protobuf
 * and Kafka specifications, round trips at the boundaries, truncated and over-long input. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "st_varint.h"

static void check32(int32_t v, const uint8_t *want, size_t want_len)
{
    uint8_t buf[ST_VARINT_MAX32];
    int32_t back = 0;

    cr_assert_eq(st_varint_encode32(buf, v), want_len, "value %d", v);
    cr_assert_eq(memcmp(buf, want, want_len), 0, "value %d", v);
    cr_assert_eq(st_varint_size32(v), want_len);
    cr_assert_eq(st_varint_decode32(want, want_len, &back), (int)want_len);
    cr_assert_eq(back, v);
}

Test(varint, known_encodings32)
{
    check32(0, (const uint8_t[]){ 0x00 }, 1);
    check32(-1, (const uint8_t[]){ 0x01 }, 1);
    check32(1, (const uint8_t[]){ 0x02 }, 1);
    check32(-2, (const uint8_t[]){ 0x03 }, 1);
    check32(63, (const uint8_t[]){ 0x7e }, 1);
    check32(-64, (const uint8_t[]){ 0x7f }, 1);
    check32(64, (const uint8_t[]){ 0x80, 0x01 }, 2);
    check32(150, (const uint8_t[]){ 0xac, 0x02 }, 2);
    check32(300, (const uint8_t[]){ 0xd8, 0x04 }, 2);
    check32(INT32_MAX, (const uint8_t[]){ 0xfe, 0xff, 0xff, 0xff, 0x0f }, 5);
    check32(INT32_MIN, (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0x0f }, 5);
}

Test(varint, known_encodings64)
{
    uint8_t buf[ST_VARINT_MAX64];
    int64_t back;
    static const uint8_t max64[] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    static const uint8_t min64[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

    cr_assert_eq(st_varint_encode64(buf, INT64_MAX), 10);
    cr_assert_eq(memcmp(buf, max64, 10), 0);
    cr_assert_eq(st_varint_encode64(buf, INT64_MIN), 10);
    cr_assert_eq(memcmp(buf, min64, 10), 0);
    cr_assert_eq(st_varint_decode64(max64, 10, &back), 10);
    cr_assert_eq(back, INT64_MAX);
    cr_assert_eq(st_varint_decode64(min64, 10, &back), 10);
    cr_assert_eq(back, INT64_MIN);
    cr_assert_eq(st_varint_encode64(buf, 5), 1);
    cr_assert_eq(buf[0], 10);  /* a 5 ms timestampDelta, as in Kafka batches */
    cr_assert_eq(st_varint_encode64(buf, -1), 1);
    cr_assert_eq(buf[0], 1);
}

Test(varint, round_trip_boundaries)
{
    uint8_t buf[ST_VARINT_MAX64];

    for (int shift = 0; shift < 64; shift++) {
        uint64_t base = 1ull << shift;  /* unsigned: wraps instead of overflowing */
        int64_t vals[] = { (int64_t)base, (int64_t)(base - 1), (int64_t)(base + 1),
                           (int64_t)(0 - base), (int64_t)(0 - base - 1), (int64_t)(1 - base) };
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            int64_t v = vals[i], back = 0;
            size_t n = st_varint_encode64(buf, v);
            cr_assert_eq(n, st_varint_size64(v));
            cr_assert_leq(n, ST_VARINT_MAX64);
            cr_assert_eq(st_varint_decode64(buf, n, &back), (int)n);
            cr_assert_eq(back, v);
            if (v >= INT32_MIN && v <= INT32_MAX) {
                int32_t back32 = 0;
                n = st_varint_encode32(buf, (int32_t)v);
                cr_assert_eq(n, st_varint_size32((int32_t)v));
                cr_assert_leq(n, ST_VARINT_MAX32);
                cr_assert_eq(st_varint_decode32(buf, n, &back32), (int)n);
                cr_assert_eq(back32, (int32_t)v);
                /* a 32-bit varint is also a valid 64-bit one */
                cr_assert_eq(st_varint_decode64(buf, n, &back), (int)n);
                cr_assert_eq(back, v);
            }
        }
    }
}

Test(varint, round_trip_random)
{
    uint64_t x = 88172645463325252ull;
    uint8_t buf[ST_VARINT_MAX64];

    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t v = (int64_t)(x >> (x & 63));
        if (x & 64)
            v = -v;
        int64_t back;
        size_t n = st_varint_encode64(buf, v);
        cr_assert_eq(st_varint_decode64(buf, n, &back), (int)n);
        cr_assert_eq(back, v);
        int32_t v32 = (int32_t)v, back32;
        n = st_varint_encode32(buf, v32);
        cr_assert_eq(st_varint_decode32(buf, n, &back32), (int)n);
        cr_assert_eq(back32, v32);
    }
}

Test(varint, truncated_is_eagain_and_untouched)
{
    uint8_t buf[ST_VARINT_MAX64];
    size_t n = st_varint_encode64(buf, INT64_MIN);

    for (size_t len = 0; len < n; len++) {
        int64_t v = 12345;
        cr_assert_eq(st_varint_decode64(buf, len, &v), -EAGAIN, "len %zu", len);
        cr_assert_eq(v, 12345);
    }
    n = st_varint_encode32(buf, INT32_MIN);
    for (size_t len = 0; len < n; len++) {
        int32_t v = 12345;
        cr_assert_eq(st_varint_decode32(buf, len, &v), -EAGAIN, "len %zu", len);
        cr_assert_eq(v, 12345);
    }
}

Test(varint, too_long_is_ebadmsg)
{
    uint8_t buf[16];
    int32_t v32 = 7;
    int64_t v64 = 7;

    memset(buf, 0x80, sizeof(buf));
    cr_assert_eq(st_varint_decode32(buf, sizeof(buf), &v32), -EBADMSG);
    cr_assert_eq(st_varint_decode64(buf, sizeof(buf), &v64), -EBADMSG);
    cr_assert_eq(v32, 7);
    cr_assert_eq(v64, 7);
    /* exactly 5 continuation bytes: a 6th byte would be needed */
    buf[5] = 0x00;
    cr_assert_eq(st_varint_decode32(buf, 6, &v32), -EBADMSG);
    cr_assert_eq(st_varint_decode64(buf, 6, &v64), 6);
    cr_assert_eq(v64, 0);
    buf[5] = 0x80;
    buf[10] = 0x00;
    cr_assert_eq(st_varint_decode64(buf, 11, &v64), -EBADMSG);
}
