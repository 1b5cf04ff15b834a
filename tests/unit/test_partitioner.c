/* Kafka-compatible partitioner: strand_murmur2 must equal Kafka's Utils.murmur2 bit for bit so a
 * key lands on the same partition as with Kafka's Java producer. Vectors come from Kafka's
 * UtilsTest (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java) and from
 * implementations checked against Kafka's (Akka's Murmur2Spec); the rest of the input space is
 * checked against an independent re-implementation written here in Java's int64-masked style. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "strand.h"

static int32_t murmur2_of(const char *s)
{
    return strand_murmur2(s, strlen(s));
}

Test(partitioner, kafka_utils_test_vectors)
{
    cr_expect_eq(murmur2_of("21"), -973932308);
    cr_expect_eq(murmur2_of("foobar"), -790332482);
    cr_expect_eq(murmur2_of("a-little-bit-long-string"), -985981536);
    cr_expect_eq(murmur2_of("a-little-bit-longer-string"), -1486304829);
    cr_expect_eq(murmur2_of("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
    cr_expect_eq(murmur2_of("abc"), 479470107);
}

Test(partitioner, short_key_vectors)
{
    /* Every tail length (len % 4 = 1, 2, 3, 0, 1). */
    cr_expect_eq(murmur2_of("1"), -1993445489);
    cr_expect_eq(murmur2_of("12"), 126087238);
    cr_expect_eq(murmur2_of("123"), -267702483);
    cr_expect_eq(murmur2_of("1234"), -1614185708);
    cr_expect_eq(murmur2_of("12345"), -1188365604);
}

/* Independent model: Java int arithmetic emulated with int64 and explicit 32-bit wrapping,
 * signed bytes masked with & 0xff as Kafka's code does, >>> as a logical shift. */
static int32_t wrap(int64_t v)
{
    return (int32_t)(uint32_t)(uint64_t)v;
}

static int32_t java_murmur2(const int8_t *data, int length)
{
    const int32_t seed = wrap(0x9747b28cLL);
    const int32_t m = 0x5bd1e995;
    int32_t h = seed ^ length;
    int length4 = length / 4;
    for (int i = 0; i < length4; i++) {
        int i4 = i * 4;
        int32_t k = wrap((int64_t)(data[i4 + 0] & 0xff) + ((int64_t)(data[i4 + 1] & 0xff) << 8) +
                         ((int64_t)(data[i4 + 2] & 0xff) << 16) + ((int64_t)(data[i4 + 3] & 0xff) << 24));
        k = wrap((int64_t)k * m);
        k ^= (int32_t)((uint32_t)k >> 24);
        k = wrap((int64_t)k * m);
        h = wrap((int64_t)h * m);
        h ^= k;
    }
    int rem = length % 4;
    int base = length & ~3;
    if (rem >= 3)
        h ^= (data[base + 2] & 0xff) << 16;
    if (rem >= 2)
        h ^= (data[base + 1] & 0xff) << 8;
    if (rem >= 1) {
        h ^= data[base] & 0xff;
        h = wrap((int64_t)h * m);
    }
    h ^= (int32_t)((uint32_t)h >> 13);
    h = wrap((int64_t)h * m);
    h ^= (int32_t)((uint32_t)h >> 15);
    return h;
}

Test(partitioner, matches_independent_model)
{
    uint8_t buf[300];
    uint32_t x = 12345;
    for (int round = 0; round < 2000; round++) {
        int len = round % 300;
        for (int i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);   /* includes bytes >= 0x80 (negative Java bytes) */
        }
        cr_assert_eq(strand_murmur2(buf, (size_t)len), java_murmur2((const int8_t *)buf, len),
                     "length %d", len);
    }
    cr_expect_eq(strand_murmur2("", 0), java_murmur2((const int8_t *)"", 0));
}

Test(partitioner, partition_is_positive_hash_mod_count)
{
    /* toPositive(-973932308) = 1173551340; 1173551340 % 3 = 0, % 7 = 4, % 10 = 0. */
    cr_expect_eq(strand_partition_for_key("21", 2, 3), (int32_t)((uint32_t)-973932308 & 0x7fffffff) % 3);
    cr_expect_eq(strand_partition_for_key("21", 2, 7), 1173551340 % 7);
    cr_expect_eq(strand_partition_for_key("abc", 3, 10), 479470107 % 10);
    cr_expect_eq(strand_partition_for_key("foobar", 6, 1), 0);
    cr_expect_eq(strand_partition_for_key("foobar", 6, 0), -1);
    for (int n = 1; n < 50; n++) {
        int32_t p = strand_partition_for_key("some-key", 8, n);
        cr_assert(p >= 0 && p < n);
    }
}
