/* Zigzag varints (protobuf style) as used inside Kafka records. Standalone. */
#ifndef ST_VARINT_H
#define ST_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define ST_VARINT_MAX32 5
#define ST_VARINT_MAX64 10

/* Encode into buf (needs ST_VARINT_MAX* bytes); returns bytes written. */
size_t st_varint_encode32(uint8_t *buf, int32_t v);
size_t st_varint_encode64(uint8_t *buf, int64_t v);
size_t st_varint_size32(int32_t v);
size_t st_varint_size64(int64_t v);
/* Decode from [buf, buf+len): returns bytes consumed (>0), or -EAGAIN if the buffer ends inside
 * the varint, -EBADMSG if it is longer than 5 (10) bytes. */
int st_varint_decode32(const uint8_t *buf, size_t len, int32_t *ret_v);
int st_varint_decode64(const uint8_t *buf, size_t len, int64_t *ret_v);

#endif
