/* Unit tests of CRC-32C (common/format/st_crc32c.c): standard check values, the SSE4.2 and the
 * slicing-by-8 implementations against each other and against a plain bitwise CRC, on random
 * buffers of many lengths and alignments, and incremental use. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "st_crc32c.h"

/* Independent reference: one bit at a time, straight from the definition. */
static uint32_t crc32c_bitwise(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void fill_random(uint8_t *buf, size_t len, unsigned seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
}

Test(crc32c, check_value)
{
    const char *s = "123456789";

    cr_assert_eq(crc32c_bitwise(0, s, 9), 0xE3069283u);
    cr_assert_eq(st_crc32c(0, s, 9), 0xE3069283u);
    cr_assert_eq(st_crc32c_sw(0, s, 9), 0xE3069283u);
    if (st_crc32c_hw_available())
        cr_assert_eq(st_crc32c_hw(0, s, 9), 0xE3069283u);
    cr_assert_eq(st_crc32c(0, s, 0), 0u);
    cr_assert_eq(st_crc32c(0, NULL, 0), 0u);
}

/* The iSCSI test vectors of RFC 3720, appendix B.4. */
Test(crc32c, rfc3720_vectors)
{
    uint8_t buf[32];

    memset(buf, 0, sizeof(buf));
    cr_assert_eq(st_crc32c(0, buf, 32), 0x8A9136AAu);
    cr_assert_eq(st_crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    cr_assert_eq(st_crc32c(0, buf, 32), 0x62A8AB43u);
    cr_assert_eq(st_crc32c_sw(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    cr_assert_eq(st_crc32c(0, buf, 32), 0x46DD794Eu);
    cr_assert_eq(st_crc32c_sw(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    cr_assert_eq(st_crc32c(0, buf, 32), 0x113FDB5Cu);
    cr_assert_eq(st_crc32c_sw(0, buf, 32), 0x113FDB5Cu);
}

Test(crc32c, hw_detected_on_sse42_cpu)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    cr_assert_eq(st_crc32c_hw_available(), (bool)__builtin_cpu_supports("sse4.2"));
#else
    cr_assert_not(st_crc32c_hw_available());
#endif
}

/* Every length 0..1100 at every alignment 0..15, then lengths around the 3-way stream sizes
 * (3 x 256 and 3 x 8192 bytes) and big buffers. */
Test(crc32c, sw_hw_bitwise_agree, .timeout = 60)
{
    static const size_t big[] = { 767, 768, 769, 775, 776, 1535, 1536, 1537, 24575, 24576,
                                  24577, 24583, 24584, 49152, 49160, 50000, 73727, 73728,
                                  100003, 1 << 20, (1 << 20) + 13 };
    size_t cap = (1 << 20) + 64;
    uint8_t *buf = malloc(cap);

    cr_assert_not_null(buf);
    fill_random(buf, cap, 42);
    for (size_t len = 0; len <= 1100; len++) {
        for (size_t align = 0; align < 16; align++) {
            uint32_t ref = crc32c_bitwise(0, buf + align, len);
            cr_assert_eq(st_crc32c_sw(0, buf + align, len), ref, "sw len %zu align %zu", len,
                         align);
            cr_assert_eq(st_crc32c_hw(0, buf + align, len), ref, "hw len %zu align %zu", len,
                         align);
            cr_assert_eq(st_crc32c(0, buf + align, len), ref);
        }
    }
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        for (size_t align = 0; align < 16; align += 3) {
            uint32_t ref = crc32c_bitwise(0, buf + align, big[i]);
            cr_assert_eq(st_crc32c_sw(0, buf + align, big[i]), ref, "sw len %zu", big[i]);
            cr_assert_eq(st_crc32c_hw(0, buf + align, big[i]), ref, "hw len %zu", big[i]);
        }
    }
    free(buf);
}

Test(crc32c, random_buffers_many_seeds)
{
    uint8_t buf[70000];

    for (unsigned seed = 1; seed <= 40; seed++) {
        size_t len = (seed * 7919u) % sizeof(buf);
        size_t align = seed % 8;
        fill_random(buf, sizeof(buf), seed);
        if (len + align > sizeof(buf))
            len = sizeof(buf) - align;
        uint32_t sw = st_crc32c_sw(0, buf + align, len);
        cr_assert_eq(st_crc32c_hw(0, buf + align, len), sw, "seed %u len %zu", seed, len);
        cr_assert_eq(crc32c_bitwise(0, buf + align, len), sw);
    }
}

/* crc(a || b) == crc(crc(a), b) for every split point, both implementations. */
Test(crc32c, incremental)
{
    uint8_t buf[30000];
    fill_random(buf, sizeof(buf), 7);
    uint32_t whole = crc32c_bitwise(0, buf, sizeof(buf));

    for (size_t split = 0; split <= sizeof(buf); split += 97) {
        uint32_t sw = st_crc32c_sw(st_crc32c_sw(0, buf, split), buf + split, sizeof(buf) - split);
        uint32_t hw = st_crc32c_hw(st_crc32c_hw(0, buf, split), buf + split, sizeof(buf) - split);
        cr_assert_eq(sw, whole, "split %zu", split);
        cr_assert_eq(hw, whole, "split %zu", split);
    }
    /* many tiny pieces */
    uint32_t crc = 0;
    for (size_t pos = 0; pos < sizeof(buf);) {
        size_t n = 1 + pos % 13;
        if (n > sizeof(buf) - pos)
            n = sizeof(buf) - pos;
        crc = st_crc32c(crc, buf + pos, n);
        pos += n;
    }
    cr_assert_eq(crc, whole);
}
