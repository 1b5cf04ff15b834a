/* The group coordinator's byte formats: Java's String.hashCode, the __consumer_offsets record
 * keys and values in Kafka's layouts, and Kafka's DumpLogSegments text for them (see
 * group_codec.h). Standalone: includes only its own header and common/st_buf.h. */
#include "group_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Java String.hashCode ----------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s[*i]; invalid or truncated input yields U+FFFD and consumes
 * one byte (Java's decoder replaces malformed input). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    size_t need;
    uint32_t cp, min;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        need = 1; cp = c & 0x1F; min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        need = 2; cp = c & 0x0F; min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        need = 3; cp = c & 0x07; min = 0x10000;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (*i + need >= len) {           /* truncated sequence */
        (*i)++;
        return 0xFFFD;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xFFFD;
    }
    *i += need + 1;
    return cp;
}

int32_t st_java_string_hash(const char *s, size_t len)
{
    uint32_t h = 0;                   /* unsigned: Java's int overflow wraps */
    size_t i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (i < len) {
        uint32_t cp = utf8_next(u, len, &i);
        if (cp >= 0x10000) {          /* a surrogate pair in UTF-16 */
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

int32_t st_group_partition_for(const char *group, int32_t n_partitions)
{
    int32_t h = st_java_string_hash(group, strlen(group));
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);    /* Kafka's Utils.abs */
    return n_partitions > 0 ? a % n_partitions : 0;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static int put_string(st_buf_t *out, const char *s)
{
    if (!s)
        return st_buf_append_be16(out, (uint16_t)-1);
    size_t n = strlen(s);
    if (n > INT16_MAX)
        return -EINVAL;
    int r = st_buf_append_be16(out, (uint16_t)n);
    return r < 0 ? r : st_buf_append(out, s, n);
}

static int put_bytes(st_buf_t *out, const uint8_t *p, size_t n)
{
    if (n > INT32_MAX)
        return -EINVAL;
    int r = st_buf_append_be32(out, (uint32_t)n);
    return r < 0 || n == 0 ? r : st_buf_append(out, p, n);
}

int st_offsets_encode_commit_key(st_buf_t *out, const char *group, const char *topic,
                                 int32_t partition)
{
    int r = st_buf_append_be16(out, ST_OFFSETS_KEY_COMMIT_V1);
    if (r == 0) r = put_string(out, group);
    if (r == 0) r = put_string(out, topic);
    if (r == 0) r = st_buf_append_be32(out, (uint32_t)partition);
    return r;
}

int st_offsets_encode_group_key(st_buf_t *out, const char *group)
{
    int r = st_buf_append_be16(out, ST_OFFSETS_KEY_GROUP_V2);
    return r < 0 ? r : put_string(out, group);
}

int st_offsets_encode_commit_value(st_buf_t *out, int64_t offset, int32_t leader_epoch,
                                   const char *metadata, int64_t commit_timestamp)
{
    int r = st_buf_append_be16(out, 3);
    if (r == 0) r = st_buf_append_be64(out, (uint64_t)offset);
    if (r == 0) r = st_buf_append_be32(out, (uint32_t)leader_epoch);
    if (r == 0) r = put_string(out, metadata ? metadata : "");
    if (r == 0) r = st_buf_append_be64(out, (uint64_t)commit_timestamp);
    return r;
}

int st_offsets_encode_group_value(st_buf_t *out, const st_group_meta_value_t *v)
{
    int r = st_buf_append_be16(out, 3);
    if (r == 0) r = put_string(out, v->protocol_type ? v->protocol_type : "");
    if (r == 0) r = st_buf_append_be32(out, (uint32_t)v->generation);
    if (r == 0) r = put_string(out, v->protocol);
    if (r == 0) r = put_string(out, v->leader);
    if (r == 0) r = st_buf_append_be64(out, (uint64_t)v->current_state_timestamp);
    if (r == 0) r = st_buf_append_be32(out, (uint32_t)v->n_members);
    for (size_t i = 0; r == 0 && i < v->n_members; i++) {
        const st_group_member_record_t *m = &v->members[i];
        r = put_string(out, m->member_id);
        if (r == 0) r = put_string(out, m->group_instance_id);
        if (r == 0) r = put_string(out, m->client_id ? m->client_id : "");
        if (r == 0) r = put_string(out, m->client_host ? m->client_host : "");
        if (r == 0) r = st_buf_append_be32(out, (uint32_t)m->rebalance_timeout);
        if (r == 0) r = st_buf_append_be32(out, (uint32_t)m->session_timeout);
        if (r == 0) r = put_bytes(out, m->subscription, m->subscription_len);
        if (r == 0) r = put_bytes(out, m->assignment, m->assignment_len);
    }
    return r;
}

/* ---- decoding ----------------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    int err;                          /* 0, -EBADMSG or -ENOMEM: sticky */
    char *why;
    size_t why_len;
} rd_t;

static void rd_fail(rd_t *r, const char *what, size_t need)
{
    if (r->err)
        return;
    r->err = -EBADMSG;
    if (r->why)
        snprintf(r->why, r->why_len, "%s at byte %zu needs %zu bytes, %zu left", what, r->pos,
                 need, r->len - r->pos);
}

static bool rd_have(rd_t *r, size_t n, const char *what)
{
    if (r->err)
        return false;
    if (r->len - r->pos < n) {
        rd_fail(r, what, n);
        return false;
    }
    return true;
}

static int16_t rd_i16(rd_t *r, const char *what)
{
    if (!rd_have(r, 2, what))
        return 0;
    int16_t v = (int16_t)st_be16(r->p + r->pos);
    r->pos += 2;
    return v;
}

static int32_t rd_i32(rd_t *r, const char *what)
{
    if (!rd_have(r, 4, what))
        return 0;
    int32_t v = (int32_t)st_be32(r->p + r->pos);
    r->pos += 4;
    return v;
}

static int64_t rd_i64(rd_t *r, const char *what)
{
    if (!rd_have(r, 8, what))
        return 0;
    int64_t v = (int64_t)st_be64(r->p + r->pos);
    r->pos += 8;
    return v;
}

/* A Kafka string (nullable: NULL for length -1 when allowed). */
static char *rd_string(rd_t *r, bool nullable, const char *what)
{
    size_t at = r->pos;
    int16_t n = rd_i16(r, what);
    if (r->err)
        return NULL;
    if (n < 0) {
        if (n == -1 && nullable)
            return NULL;
        r->err = -EBADMSG;
        if (r->why)
            snprintf(r->why, r->why_len, "%s at byte %zu has length %d", what, at, n);
        return NULL;
    }
    if (r->len - r->pos < (size_t)n) {
        r->err = -EBADMSG;
        if (r->why)
            snprintf(r->why, r->why_len, "%s at byte %zu has length %d but only %zu bytes "
                     "follow", what, at, n, r->len - r->pos);
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->err = -ENOMEM;
        return NULL;
    }
    memcpy(s, r->p + r->pos, (size_t)n);
    s[n] = '\0';
    r->pos += (size_t)n;
    return s;
}

static uint8_t *rd_bytes(rd_t *r, size_t *ret_len, const char *what)
{
    size_t at = r->pos;
    int32_t n = rd_i32(r, what);
    *ret_len = 0;
    if (r->err)
        return NULL;
    if (n < 0) {
        r->err = -EBADMSG;
        if (r->why)
            snprintf(r->why, r->why_len, "%s at byte %zu has length %" PRId32, what, at, n);
        return NULL;
    }
    if (!rd_have(r, (size_t)n, what))
        return NULL;
    uint8_t *b = malloc(n ? (size_t)n : 1);
    if (!b) {
        r->err = -ENOMEM;
        return NULL;
    }
    memcpy(b, r->p + r->pos, (size_t)n);
    r->pos += (size_t)n;
    *ret_len = (size_t)n;
    return b;
}

/* Trailing bytes are tolerated, as Kafka's readers do (newer compatible versions). */
static int rd_finish(rd_t *r)
{
    return r->err;
}

void st_offsets_key_free(st_offsets_key_t *k)
{
    free(k->group);
    free(k->topic);
    memset(k, 0, sizeof(*k));
}

int st_offsets_decode_key(const uint8_t *p, size_t len, st_offsets_key_t *ret, char *why,
                          size_t why_len)
{
    rd_t r = { p, len, 0, 0, why, why_len };
    st_offsets_key_t k;
    memset(&k, 0, sizeof(k));
    k.version = rd_i16(&r, "key version");
    if (!r.err && (k.version < 0 || k.version > ST_OFFSETS_KEY_GROUP_V2)) {
        if (why)
            snprintf(why, why_len, "unknown key version %d (known: 0 and 1 offset commit, 2 "
                     "group metadata)", k.version);
        return -EBADMSG;
    }
    k.group = rd_string(&r, false, "group");
    if (k.version <= ST_OFFSETS_KEY_COMMIT_V1) {
        k.topic = rd_string(&r, false, "topic");
        k.partition = rd_i32(&r, "partition");
    }
    int rc = rd_finish(&r);
    if (rc < 0) {
        st_offsets_key_free(&k);
        return rc;
    }
    *ret = k;
    return 0;
}

void st_offset_value_free(st_offset_value_t *v)
{
    free(v->metadata);
    memset(v, 0, sizeof(*v));
}

int st_offsets_decode_commit_value(const uint8_t *p, size_t len, st_offset_value_t *ret,
                                   char *why, size_t why_len)
{
    rd_t r = { p, len, 0, 0, why, why_len };
    st_offset_value_t v;
    memset(&v, 0, sizeof(v));
    v.leader_epoch = -1;
    v.expire_timestamp = -1;
    v.version = rd_i16(&r, "value version");
    if (!r.err && (v.version < 0 || v.version > 3)) {
        if (why)
            snprintf(why, why_len, "unknown offset commit value version %d (known: 0-3)",
                     v.version);
        return -EBADMSG;
    }
    v.offset = rd_i64(&r, "offset");
    if (v.version >= 3)
        v.leader_epoch = rd_i32(&r, "leader_epoch");
    v.metadata = rd_string(&r, false, "metadata");
    v.commit_timestamp = rd_i64(&r, "commit_timestamp");
    if (v.version == 1)
        v.expire_timestamp = rd_i64(&r, "expire_timestamp");
    int rc = rd_finish(&r);
    if (rc < 0) {
        st_offset_value_free(&v);
        return rc;
    }
    *ret = v;
    return 0;
}

void st_group_meta_value_free(st_group_meta_value_t *v)
{
    free(v->protocol_type);
    free(v->protocol);
    free(v->leader);
    for (size_t i = 0; i < v->n_members; i++) {
        st_group_member_record_t *m = &v->members[i];
        free(m->member_id);
        free(m->group_instance_id);
        free(m->client_id);
        free(m->client_host);
        free(m->subscription);
        free(m->assignment);
    }
    free(v->members);
    memset(v, 0, sizeof(*v));
}

int st_offsets_decode_group_value(const uint8_t *p, size_t len, st_group_meta_value_t *ret,
                                  char *why, size_t why_len)
{
    rd_t r = { p, len, 0, 0, why, why_len };
    st_group_meta_value_t v;
    memset(&v, 0, sizeof(v));
    v.current_state_timestamp = -1;
    v.version = rd_i16(&r, "value version");
    if (!r.err && (v.version < 0 || v.version > 3)) {
        if (why)
            snprintf(why, why_len, "unknown group metadata value version %d (known: 0-3)",
                     v.version);
        return -EBADMSG;
    }
    v.protocol_type = rd_string(&r, false, "protocol_type");
    v.generation = rd_i32(&r, "generation");
    v.protocol = rd_string(&r, true, "protocol");
    v.leader = rd_string(&r, true, "leader");
    if (v.version >= 2)
        v.current_state_timestamp = rd_i64(&r, "current_state_timestamp");
    size_t at = r.pos;
    int32_t n = rd_i32(&r, "members count");
    /* Each member takes at least 2+2+2+4+4+4 bytes (v0); refuse counts the buffer cannot hold. */
    if (!r.err && (n < 0 || (size_t)n > (len - r.pos) / 18)) {
        r.err = -EBADMSG;
        if (why)
            snprintf(why, why_len, "members count %" PRId32 " at byte %zu does not fit in the "
                     "%zu bytes left", n, at, len - r.pos);
    }
    if (!r.err && n > 0) {
        v.members = calloc((size_t)n, sizeof(*v.members));
        if (!v.members)
            r.err = -ENOMEM;
    }
    for (int32_t i = 0; !r.err && i < n; i++) {
        st_group_member_record_t *m = &v.members[i];
        v.n_members = (size_t)i + 1;
        m->member_id = rd_string(&r, false, "member_id");
        if (v.version >= 3)
            m->group_instance_id = rd_string(&r, true, "group_instance_id");
        m->client_id = rd_string(&r, false, "client_id");
        m->client_host = rd_string(&r, false, "client_host");
        m->rebalance_timeout = -1;
        if (v.version >= 1)
            m->rebalance_timeout = rd_i32(&r, "rebalance_timeout");
        m->session_timeout = rd_i32(&r, "session_timeout");
        if (v.version == 0)
            m->rebalance_timeout = m->session_timeout;
        m->subscription = rd_bytes(&r, &m->subscription_len, "subscription");
        m->assignment = rd_bytes(&r, &m->assignment_len, "assignment");
    }
    int rc = rd_finish(&r);
    if (rc < 0) {
        st_group_meta_value_free(&v);
        return rc;
    }
    *ret = v;
    return 0;
}

int st_subscription_topics(const uint8_t *p, size_t len,
                           void (*fn)(void *arg, const char *topic, size_t topic_len), void *arg)
{
    rd_t r = { p, len, 0, 0, NULL, 0 };
    (void)rd_i16(&r, "version");
    int32_t n = rd_i32(&r, "topics count");
    if (r.err || n < 0)
        return -EBADMSG;
    for (int32_t i = 0; i < n; i++) {
        int16_t tl = rd_i16(&r, "topic");
        if (r.err || tl < 0 || !rd_have(&r, (size_t)tl, "topic"))
            return -EBADMSG;
        fn(arg, (const char *)p + r.pos, (size_t)tl);
        r.pos += (size_t)tl;
    }
    return 0;
}

/* ---- DumpLogSegments' OffsetsMessageParser text -------------------------------------------- */

typedef struct out {
    char *p;
    size_t len, pos;
} out_t;

static void outf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(out_t *o, const char *fmt, ...)
{
    if (o->pos >= o->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->pos, o->len - o->pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->pos = o->pos + (size_t)n < o->len ? o->pos + (size_t)n : o->len - 1;
}

/* JSON string body (escapes quotes, backslashes and control bytes). */
static void out_json(out_t *o, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            outf(o, "\\%c", c);
        else if (c < 0x20)
            outf(o, "\\u%04x", c);
        else
            outf(o, "%c", c);
    }
}

/* Kafka's "%X".format(BigInt(1, bytes)): upper-case hex without leading zeros ("" if empty). */
static void out_hex(out_t *o, const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && b[i] == 0)
        i++;
    if (i == n) {
        if (n)
            outf(o, "0");
        return;
    }
    outf(o, "%X", b[i++]);
    for (; i < n; i++)
        outf(o, "%02X", b[i]);
}

/* A ConsumerProtocolAssignment as Kafka's toString of its partition list: "[t-0, t-1]", then
 * ":<hex user data>" when there is user data. False if it does not decode. */
static bool out_assignment(out_t *o, const uint8_t *p, size_t len)
{
    rd_t r = { p, len, 0, 0, NULL, 0 };
    (void)rd_i16(&r, "version");
    int32_t nt = rd_i32(&r, "topics");
    if (r.err || nt < 0)
        return false;
    /* Validate first, then print (so that a bad tail prints nothing partial). */
    size_t start = r.pos;
    for (int pass = 0; pass < 2; pass++) {
        r.pos = start;
        bool first = true;
        if (pass == 1)
            outf(o, "[");
        for (int32_t t = 0; t < nt; t++) {
            int16_t tl = rd_i16(&r, "topic");
            if (r.err || tl < 0 || !rd_have(&r, (size_t)tl, "topic"))
                return false;
            const char *topic = (const char *)p + r.pos;
            r.pos += (size_t)tl;
            int32_t np = rd_i32(&r, "partitions");
            if (r.err || np < 0 || (size_t)np > (len - r.pos) / 4)
                return false;
            for (int32_t k = 0; k < np; k++) {
                int32_t part = rd_i32(&r, "partition");
                if (pass == 1) {
                    outf(o, "%s%.*s-%" PRId32, first ? "" : ", ", (int)tl, topic, part);
                    first = false;
                }
            }
        }
        size_t ud_len = 0;
        if (!rd_have(&r, 4, "user data"))
            return false;
        int32_t udl = (int32_t)st_be32(p + r.pos);
        r.pos += 4;
        if (udl > 0 && (size_t)udl <= len - r.pos)
            ud_len = (size_t)udl;
        else if (udl > 0)
            return false;
        if (pass == 1) {
            outf(o, "]");
            if (ud_len) {
                outf(o, ":");
                out_hex(o, p + r.pos, ud_len);
            }
        }
    }
    return true;
}

bool st_offsets_format_record(const uint8_t *key, int32_t key_len, const uint8_t *value,
                              int32_t value_len, char *out, size_t out_len)
{
    out_t o = { out, out_len, 0 };
    if (out_len)
        out[0] = '\0';
    char why[160];
    st_offsets_key_t k;
    if (!key || key_len < 0) {
        snprintf(out, out_len, "Failed to decode message using offset topic decoder (message "
                 "had a missing key)");
        return false;
    }
    if (st_offsets_decode_key(key, (size_t)key_len, &k, why, sizeof(why)) < 0) {
        snprintf(out, out_len, "Failed to decode message using offset topic decoder (message "
                 "had an invalid key: %s)", why);
        return false;
    }
    bool ok = true;
    if (k.version <= ST_OFFSETS_KEY_COMMIT_V1) {
        outf(&o, "key: offset_commit::group=%s,partition=%s-%" PRId32 " payload: ", k.group,
             k.topic, k.partition);
        st_offset_value_t v;
        if (!value || value_len < 0) {
            outf(&o, "<DELETE>");
        } else if (st_offsets_decode_commit_value(value, (size_t)value_len, &v, why,
                                                  sizeof(why)) < 0) {
            outf(&o, "<undecodable offset commit value: %s>", why);
            ok = false;
        } else {
            if (v.metadata && v.metadata[0])
                outf(&o, "offset=%" PRId64 ",metadata=%s", v.offset, v.metadata);
            else
                outf(&o, "offset=%" PRId64, v.offset);
            st_offset_value_free(&v);
        }
    } else {
        outf(&o, "key: group_metadata::group=%s payload: ", k.group);
        st_group_meta_value_t v;
        if (!value || value_len < 0) {
            outf(&o, "<DELETE>");
        } else if (st_offsets_decode_group_value(value, (size_t)value_len, &v, why,
                                                 sizeof(why)) < 0) {
            outf(&o, "<undecodable group metadata value: %s>", why);
            ok = false;
        } else {
            outf(&o, "{\"protocolType\":\"");
            out_json(&o, v.protocol_type);
            outf(&o, "\",\"protocol\":");
            if (v.protocol) {
                outf(&o, "\"");
                out_json(&o, v.protocol);
                outf(&o, "\"");
            } else {
                outf(&o, "null");
            }
            outf(&o, ",\"generationId\":%" PRId32 ",\"assignment\":\"{", v.generation);
            bool consumer = v.protocol_type && strcmp(v.protocol_type, "consumer") == 0;
            for (size_t i = 0; i < v.n_members; i++) {
                const st_group_member_record_t *m = &v.members[i];
                outf(&o, "%s", i ? "," : "");
                out_json(&o, m->member_id);
                outf(&o, "=");
                if (!consumer || !out_assignment(&o, m->assignment, m->assignment_len))
                    out_hex(&o, m->assignment, m->assignment_len);
            }
            outf(&o, "}\"}");
            st_group_meta_value_free(&v);
        }
    }
    st_offsets_key_free(&k);
    return ok;
}
