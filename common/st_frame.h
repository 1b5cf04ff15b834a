/* Strand's wire framing. Every message on a connection, request or response, is one frame:
 *
 *   u32 size          bytes after this field (big-endian), at most socket.request.max.bytes
 *   u16 header_len    then header_len bytes: RequestHeader / ResponseHeader (protobuf)
 *   u32 body_len      then body_len bytes: the API's request / response message (protobuf)
 *   tail              size - 2 - header_len - 4 - body_len bytes of raw record batches
 *
 * The tail carries record data so that it is never copied into or out of a protobuf buffer:
 * ProduceRequest lists each partition's records_size and the batches follow in that order;
 * FetchResponse does the same, and the broker writes the tail with sendfile(2).
 * Standalone apart from protobuf-c. */
#ifndef ST_FRAME_H
#define ST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "st_buf.h"

#define ST_FRAME_SIZE_PREFIX  4
#define ST_FRAME_MIN_SIZE     6   /* u16 header_len + u32 body_len */

typedef struct st_frame_view {
    const uint8_t *header;
    size_t header_len;
    const uint8_t *body;
    size_t body_len;
    const uint8_t *tail;
    size_t tail_len;
} st_frame_view_t;

/* Reads the size prefix: returns the frame size when at least 4 bytes are available, or -EAGAIN. */
int64_t st_frame_peek_size(const uint8_t *data, size_t len);
/* Splits a frame payload (the bytes AFTER the size prefix) into its parts; -EBADMSG with a
 * reason in ret_reason (static text) if the inner lengths exceed the frame. */
int st_frame_parse(const uint8_t *payload, size_t len, st_frame_view_t *ret_view,
                   const char **ret_reason);
/* Appends size prefix + header + body to out; the size counts tail_len more bytes that the
 * caller appends or sends itself. */
int st_frame_encode(st_buf_t *out, const ProtobufCMessage *header, const ProtobufCMessage *body,
                    size_t tail_len);

#endif
