/* A growable byte buffer. Standalone. */
#ifndef ST_BUF_H
#define ST_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} st_buf_t;

#define ST_BUF_INIT { NULL, 0, 0 }

/* Makes room for `extra` more bytes after len. 0 or -ENOMEM. */
int st_buf_reserve(st_buf_t *buf, size_t extra);
int st_buf_append(st_buf_t *buf, const void *data, size_t len);
/* Appends big-endian integers. */
int st_buf_append_be16(st_buf_t *buf, uint16_t v);
int st_buf_append_be32(st_buf_t *buf, uint32_t v);
int st_buf_append_be64(st_buf_t *buf, uint64_t v);
/* Drops the first n bytes (memmove). */
void st_buf_consume(st_buf_t *buf, size_t n);
static inline void st_buf_reset(st_buf_t *buf) { buf->len = 0; }
void st_buf_free(st_buf_t *buf);

/* Big-endian loads and stores for unaligned buffers. */
static inline uint16_t st_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t st_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t st_be64(const uint8_t *p) { return ((uint64_t)st_be32(p) << 32) | st_be32(p + 4); }
static inline void st_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void st_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void st_put_be64(uint8_t *p, uint64_t v) { st_put_be32(p, (uint32_t)(v >> 32)); st_put_be32(p + 4, (uint32_t)v); }

#endif
