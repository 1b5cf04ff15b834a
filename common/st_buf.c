/* Growable byte buffer with big-endian append helpers. */
#include "st_buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int st_buf_reserve(st_buf_t *buf, size_t extra)
{
    if (extra <= buf->cap - buf->len)
        return 0;
    if (extra > SIZE_MAX / 2 - buf->len)
        return -ENOMEM;
    size_t need = buf->len + extra;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *data = realloc(buf->data, cap);
    if (!data)
        return -ENOMEM;
    buf->data = data;
    buf->cap = cap;
    return 0;
}

int st_buf_append(st_buf_t *buf, const void *data, size_t len)
{
    int r = st_buf_reserve(buf, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return 0;
}

int st_buf_append_be16(st_buf_t *buf, uint16_t v)
{
    uint8_t b[2];
    st_put_be16(b, v);
    return st_buf_append(buf, b, sizeof(b));
}

int st_buf_append_be32(st_buf_t *buf, uint32_t v)
{
    uint8_t b[4];
    st_put_be32(b, v);
    return st_buf_append(buf, b, sizeof(b));
}

int st_buf_append_be64(st_buf_t *buf, uint64_t v)
{
    uint8_t b[8];
    st_put_be64(b, v);
    return st_buf_append(buf, b, sizeof(b));
}

void st_buf_consume(st_buf_t *buf, size_t n)
{
    if (n >= buf->len) {
        buf->len = 0;
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
}

void st_buf_free(st_buf_t *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
