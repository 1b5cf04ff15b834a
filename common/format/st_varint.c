/* Zigzag varints (protobuf style) as used inside Kafka v2 records: 7 bits per byte, least
 * significant group first, high bit = "more bytes follow"; signed values are zigzag mapped
 * ((v << 1) ^ (v >> 63)) so that small negative numbers stay short. Standalone.
 *
 * Decoding follows Kafka's ByteUtils.readVarint/readVarlong: at most 5 (10) bytes; bits above
 * 32 (64) in the last byte are dropped, as Java's shifts drop them. */
#include "st_varint.h"

#include <errno.h>

static inline uint32_t zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int32_t unzigzag32(uint32_t u)
{
    return (int32_t)((u >> 1) ^ (0u - (u & 1)));
}

static inline int64_t unzigzag64(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0ull - (u & 1)));
}

size_t st_varint_encode32(uint8_t *buf, int32_t v)
{
    uint32_t u = zigzag32(v);
    size_t n = 0;

    while (u >= 0x80) {
        buf[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    buf[n++] = (uint8_t)u;
    return n;
}

size_t st_varint_encode64(uint8_t *buf, int64_t v)
{
    uint64_t u = zigzag64(v);
    size_t n = 0;

    while (u >= 0x80) {
        buf[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    buf[n++] = (uint8_t)u;
    return n;
}

size_t st_varint_size32(int32_t v)
{
    uint32_t u = zigzag32(v);
    size_t n = 1;

    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

size_t st_varint_size64(int64_t v)
{
    uint64_t u = zigzag64(v);
    size_t n = 1;

    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

int st_varint_decode32(const uint8_t *buf, size_t len, int32_t *ret_v)
{
    uint32_t u = 0;

    if (len > 0 && buf[0] < 0x80) {
        *ret_v = unzigzag32(buf[0]);
        return 1;
    }
    for (size_t i = 0; i < ST_VARINT_MAX32; i++) {
        if (i >= len)
            return -EAGAIN;
        uint8_t b = buf[i];
        u |= (uint32_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *ret_v = unzigzag32(u);
            return (int)i + 1;
        }
    }
    return -EBADMSG;
}

int st_varint_decode64(const uint8_t *buf, size_t len, int64_t *ret_v)
{
    uint64_t u = 0;

    if (len > 0 && buf[0] < 0x80) {
        *ret_v = unzigzag64(buf[0]);
        return 1;
    }
    for (size_t i = 0; i < ST_VARINT_MAX64; i++) {
        if (i >= len)
            return -EAGAIN;
        uint8_t b = buf[i];
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *ret_v = unzigzag64(u);
            return (int)i + 1;
        }
    }
    return -EBADMSG;
}
