/* Frame codec: u32 size | u16 header_len | header | u32 body_len | body | raw tail. */
#include "st_frame.h"

#include <errno.h>

int64_t st_frame_peek_size(const uint8_t *data, size_t len)
{
    if (len < ST_FRAME_SIZE_PREFIX)
        return -EAGAIN;
    return (int64_t)st_be32(data);
}

int st_frame_parse(const uint8_t *payload, size_t len, st_frame_view_t *ret_view,
                   const char **ret_reason)
{
    const char *reason = NULL;
    if (len < ST_FRAME_MIN_SIZE) {
        reason = "frame shorter than its 6 bytes of inner lengths";
        goto bad;
    }
    size_t header_len = st_be16(payload);
    if (header_len > len - ST_FRAME_MIN_SIZE) {
        reason = "header length runs past the end of the frame";
        goto bad;
    }
    const uint8_t *p = payload + 2 + header_len;
    size_t body_len = st_be32(p);
    size_t left = len - ST_FRAME_MIN_SIZE - header_len;
    if (body_len > left) {
        reason = "body length runs past the end of the frame";
        goto bad;
    }
    ret_view->header = payload + 2;
    ret_view->header_len = header_len;
    ret_view->body = p + 4;
    ret_view->body_len = body_len;
    ret_view->tail = p + 4 + body_len;
    ret_view->tail_len = left - body_len;
    return 0;
bad:
    if (ret_reason)
        *ret_reason = reason;
    return -EBADMSG;
}

int st_frame_encode(st_buf_t *out, const ProtobufCMessage *header, const ProtobufCMessage *body,
                    size_t tail_len)
{
    size_t header_len = protobuf_c_message_get_packed_size(header);
    size_t body_len = body ? protobuf_c_message_get_packed_size(body) : 0;
    if (header_len > UINT16_MAX)
        return -E2BIG;
    uint64_t size = (uint64_t)ST_FRAME_MIN_SIZE + header_len + body_len + tail_len;
    if (size > UINT32_MAX)
        return -E2BIG;
    int r = st_buf_reserve(out, ST_FRAME_SIZE_PREFIX + ST_FRAME_MIN_SIZE + header_len + body_len);
    if (r < 0)
        return r;
    uint8_t *p = out->data + out->len;
    st_put_be32(p, (uint32_t)size);
    st_put_be16(p + 4, (uint16_t)header_len);
    protobuf_c_message_pack(header, p + 6);
    st_put_be32(p + 6 + header_len, (uint32_t)body_len);
    if (body)
        protobuf_c_message_pack(body, p + 10 + header_len);
    out->len += ST_FRAME_SIZE_PREFIX + ST_FRAME_MIN_SIZE + header_len + body_len;
    return 0;
}
