/* Kafka's default partitioner for keyed records: Utils.murmur2 (seed 0x9747b28c, m 0x5bd1e995,
 * r 24, little-endian 4-byte blocks, Java's signed int arithmetic reproduced with uint32_t) and
 * toPositive(hash) % partitions, so that a key lands on the same partition number as with
 * Kafka's Java producer. Standalone. */
#include <stddef.h>
#include <stdint.h>

#include "strand.h"

int32_t strand_murmur2(const void *key, size_t len)
{
    const uint8_t *data = key;
    const uint32_t seed = 0x9747b28cu;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = seed ^ (uint32_t)len;
    size_t len4 = len / 4;
    for (size_t i = 0; i < len4; i++) {
        size_t i4 = i * 4;
        uint32_t k = (uint32_t)data[i4] | ((uint32_t)data[i4 + 1] << 8) |
                     ((uint32_t)data[i4 + 2] << 16) | ((uint32_t)data[i4 + 3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    size_t tail = len & ~(size_t)3;
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)data[tail + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[tail + 1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)data[tail];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t strand_partition_for_key(const void *key, size_t len, int32_t partition_count)
{
    if (partition_count <= 0)
        return -1;
    uint32_t positive = (uint32_t)strand_murmur2(key, len) & 0x7fffffffu;
    return (int32_t)(positive % (uint32_t)partition_count);
}
