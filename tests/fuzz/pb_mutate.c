/* A structure-aware mutation for protobuf-c messages, for the harnesses' LLVMFuzzerCustomMutator
 * (fuzz_request.c, fuzz_controller.c): the bytes are unpacked with the message's descriptor and
 * one field somewhere in the tree is changed the way a hostile peer would -- a number to a
 * boundary value (0, -1, -2, 1, INT32_MAX, INT32_MIN, ...) or a nearby one, a string to an
 * empty, long, existing or path-like name, a repeated field grown by a copy of one of its
 * elements (duplicates), shrunk or cleared, a missing sub-message created -- and packed again.
 * Byte-level mutations (libFuzzer's own) keep breaking the protobuf encoding; these keep it
 * valid so that the fuzzer reaches the handlers' semantic checks. */
#include "pb_mutate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng_t;

static uint32_t next(rng_t *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 33);
}

static uint32_t below(rng_t *r, uint32_t n) { return n ? next(r) % n : 0; }

static const int64_t boundary[] = { 0, -1, -2, 1, 2, 3, 7, 99, 1000000, INT32_MAX, INT32_MIN,
                                    INT32_MAX - 1, INT64_MAX, INT64_MIN, 65535, 65536 };

static int64_t mutate_number(rng_t *r, int64_t v)
{
    switch (below(r, 3)) {
    case 0: return boundary[below(r, sizeof(boundary) / sizeof(boundary[0]))];
    case 1: return (int64_t)((uint64_t)v + below(r, 5) - 2);   /* wraps, no UB */
    default: return (int64_t)(int32_t)next(r);
    }
}

static char *new_string(rng_t *r, const char *old)
{
    static const char *const names[] = { "t", "u", "", "new", "..", "a/b", "t.x", "t_x",
                                         "__consumer_offsets", "PLAINTEXT", "REPLICATION",
                                         "min.insync.replicas", "retention.ms", "-1", "SSL" };
    size_t k = below(r, sizeof(names) / sizeof(names[0]) + 2);
    if (k < sizeof(names) / sizeof(names[0]))
        return strdup(names[k]);
    if (k == sizeof(names) / sizeof(names[0])) {    /* long */
        size_t n = 200 + below(r, 200);
        char *s = malloc(n + 1);
        if (s) {
            memset(s, 'x', n);
            s[n] = '\0';
        }
        return s;
    }
    size_t n = old ? strlen(old) : 0;               /* the old one with a byte changed */
    char *s = malloc(n + 2);
    if (!s)
        return NULL;
    memcpy(s, old ? old : "", n);
    s[n] = (char)(1 + below(r, 255));
    s[n + 1] = '\0';
    return s;
}

/* The size in bytes of one element of a repeated scalar field. */
static size_t scalar_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4;
    }
}

static void set_number(ProtobufCType t, void *p, int64_t v)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        memcpy(p, &v, 8);
        break;
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean b = v & 1;
        memcpy(p, &b, sizeof(b));
        break;
    }
    default: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    }
    }
}

static int64_t get_number(ProtobufCType t, const void *p)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean b;
        memcpy(&b, p, sizeof(b));
        return b;
    }
    default: {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    }
}

static bool is_number(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE && t != PROTOBUF_C_TYPE_FLOAT &&
           t != PROTOBUF_C_TYPE_DOUBLE;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

/* Changes one scalar, string or message value in place (elem points at it). */
static void mutate_value(rng_t *r, const ProtobufCFieldDescriptor *f, void *elem, int depth);
static void mutate_message(rng_t *r, ProtobufCMessage *m, int depth);

static void mutate_value(rng_t *r, const ProtobufCFieldDescriptor *f, void *elem, int depth)
{
    if (is_number(f->type)) {
        set_number(f->type, elem, mutate_number(r, get_number(f->type, elem)));
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = elem;
        char *n = new_string(r, *s);
        if (n) {
            if (*s && *s != (char *)protobuf_c_empty_string)
                free(*s);
            *s = n;
        }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **m = elem;
        if (!*m)
            *m = new_message(f->descriptor);
        else
            mutate_message(r, *m, depth + 1);
    }
}

/* A repeated field: grow by a copy of an element (or a fresh one), shrink, clear, or change one. */
static void mutate_repeated(rng_t *r, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                            int depth)
{
    size_t *n = (size_t *)((char *)m + f->quantifier_offset);
    void **arr = (void **)((char *)m + f->offset);
    size_t es = scalar_size(f->type);
    uint32_t what = below(r, 6);
    if (*n && what >= 3) {
        mutate_value(r, f, (char *)*arr + es * below(r, (uint32_t)*n), depth);
        return;
    }
    if (what == 2 && *n) {               /* shrink: the last element goes */
        void *last = (char *)*arr + es * (*n - 1);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            protobuf_c_message_free_unpacked(*(ProtobufCMessage **)last, NULL);
        else if (f->type == PROTOBUF_C_TYPE_STRING && *(char **)last != protobuf_c_empty_string)
            free(*(char **)last);
        else if (f->type == PROTOBUF_C_TYPE_BYTES)
            free(((ProtobufCBinaryData *)last)->data);
        (*n)--;
        return;
    }
    if (*n >= 64 || f->type == PROTOBUF_C_TYPE_BYTES)
        return;
    void *grown = realloc(*arr, es * (*n + 1));
    if (!grown)
        return;
    *arr = grown;
    void *slot = (char *)grown + es * *n;
    size_t src = *n ? below(r, (uint32_t)*n) : 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *copy = NULL;
        if (*n) {                        /* a duplicate of an element, through pack/unpack */
            ProtobufCMessage *o = ((ProtobufCMessage **)grown)[src];
            size_t len = protobuf_c_message_get_packed_size(o);
            uint8_t *buf = malloc(len ? len : 1);
            if (buf) {
                protobuf_c_message_pack(o, buf);
                copy = protobuf_c_message_unpack(f->descriptor, NULL, len, buf);
                free(buf);
            }
        } else {
            copy = new_message(f->descriptor);
        }
        if (!copy)
            return;
        *(ProtobufCMessage **)slot = copy;
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = *n ? strdup(((char **)grown)[src]) : new_string(r, NULL);
        if (!s)
            return;
        *(char **)slot = s;
    } else {
        if (*n)
            memcpy(slot, (char *)grown + es * src, es);
        else
            memset(slot, 0, es);
        if (below(r, 2))
            set_number(f->type, slot, mutate_number(r, get_number(f->type, slot)));
    }
    (*n)++;
}

static void mutate_message(rng_t *r, ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d->n_fields == 0 || depth > 8)
        return;
    /* go down into a present sub-message most of the time: the interesting fields are deep */
    for (int tries = 0; tries < 4; tries++) {
        const ProtobufCFieldDescriptor *f = &d->fields[below(r, d->n_fields)];
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && n && below(r, 3)) {
                ProtobufCMessage *sub = (*(ProtobufCMessage ***)((char *)m + f->offset))[below(r, (uint32_t)n)];
                mutate_message(r, sub, depth + 1);
            } else {
                mutate_repeated(r, m, f, depth);
            }
            return;
        }
        if (f->type == PROTOBUF_C_TYPE_BYTES || f->type == PROTOBUF_C_TYPE_FLOAT ||
            f->type == PROTOBUF_C_TYPE_DOUBLE)
            continue;
        mutate_value(r, f, (char *)m + f->offset, depth);
        return;
    }
}

size_t pb_mutate(const ProtobufCMessageDescriptor *desc, const uint8_t *in, size_t len,
                 uint8_t *out, size_t max_out, unsigned seed)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, in);
    if (!m)
        return 0;
    rng_t r = { seed * 2654435761u + 1 };
    for (uint32_t k = 1 + below(&r, 3); k; k--)
        mutate_message(&r, m, 0);
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n <= max_out)
        protobuf_c_message_pack(m, out);
    else
        n = 0;
    protobuf_c_message_free_unpacked(m, NULL);
    return n;
}

size_t pb_mutate_records(uint8_t *data, size_t size, size_t max_size, unsigned seed, size_t skip,
                         pb_desc_of_fn *desc_of)
{
    enum { MAX_RECS = 64 };
    size_t at[MAX_RECS], n = 0;
    for (size_t pos = skip; pos + 3 <= size && n < MAX_RECS;) {
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        if (len > size - pos - 3)
            len = size - pos - 3;
        size_t off;
        if (desc_of(data[pos], data + pos + 3, len, &off) && off <= len)
            at[n++] = pos;
        pos += 3 + len;
    }
    if (n == 0)
        return 0;
    size_t pos = at[seed % n];
    size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
    if (len > size - pos - 3)
        len = size - pos - 3;
    size_t off = 0;
    const ProtobufCMessageDescriptor *d = desc_of(data[pos], data + pos + 3, len, &off);
    size_t room = max_size > size ? max_size - size + len - off : len - off;
    if (room > 0xffff - off)
        room = 0xffff - off;
    uint8_t *body = malloc(room ? room : 1);
    if (!body)
        return 0;
    size_t nb = pb_mutate(d, data + pos + 3 + off, len - off, body, room, seed);
    if (nb == 0) {
        free(body);
        return 0;
    }
    size_t new_len = off + nb;
    size_t tail_at = pos + 3 + len;
    size_t new_size = pos + 3 + new_len + (size - tail_at);
    if (new_size > max_size) {
        free(body);
        return 0;
    }
    memmove(data + pos + 3 + new_len, data + tail_at, size - tail_at);
    memcpy(data + pos + 3 + off, body, nb);
    data[pos + 1] = (uint8_t)(new_len & 0xff);
    data[pos + 2] = (uint8_t)(new_len >> 8);
    free(body);
    return new_size;
}
