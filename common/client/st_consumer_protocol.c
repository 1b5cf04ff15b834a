/* Kafka's consumer protocol byte codecs: ConsumerProtocolSubscription v0-v3,
 * ConsumerProtocolAssignment v0-v3, the StickyAssignor and CooperativeStickyAssignor user data,
 * and Java's String ordering. See st_consumer_protocol.h for the layouts and the rules. */
#include "st_consumer_protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_MAX 32767  /* int16 length prefix */

/* ---- reading --------------------------------------------------------------------------------
 * A cursor over [buf, buf+len). Every read checks the bytes left first; on failure it writes
 * "<msg>: <field>: <reason> (at byte <start> of <len>)" and returns -EBADMSG. */
typedef struct rd {
    const uint8_t *buf;
    size_t len;
    size_t off;
    char msg[64];       /* "ConsumerProtocolSubscription v1" */
    char field[96];     /* "owned_partitions[0].partitions[3]" */
    char *errbuf;
    size_t errlen;
} rd_t;

static void rd_init(rd_t *r, const uint8_t *buf, size_t len, const char *msg, char *errbuf,
                    size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = buf ? len : 0;
    snprintf(r->msg, sizeof(r->msg), "%s", msg);
    r->errbuf = errbuf;
    r->errlen = errlen;
}

static void rd_field(rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_field(rd_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->field, sizeof(r->field), fmt, ap);
    va_end(ap);
}

static int rd_fail(rd_t *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rd_fail(rd_t *r, size_t at, const char *fmt, ...)
{
    if (r->errbuf && r->errlen) {
        char why[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        snprintf(r->errbuf, r->errlen, "%s: %s: %s (at byte %zu of %zu)", r->msg, r->field, why,
                 at, r->len);
    }
    return -EBADMSG;
}

static size_t rd_left(const rd_t *r) { return r->len - r->off; }

static int rd_i16(rd_t *r, int16_t *ret)
{
    if (rd_left(r) < 2)
        return rd_fail(r, r->off, "needs 2 bytes (int16), %zu left", rd_left(r));
    *ret = (int16_t)st_be16(r->buf + r->off);
    r->off += 2;
    return 0;
}

static int rd_i32(rd_t *r, int32_t *ret)
{
    if (rd_left(r) < 4)
        return rd_fail(r, r->off, "needs 4 bytes (int32), %zu left", rd_left(r));
    *ret = (int32_t)st_be32(r->buf + r->off);
    r->off += 4;
    return 0;
}

/* A Kafka string into a malloc'd C string. nullable: a negative length gives *ret = NULL. */
static int rd_string(rd_t *r, bool nullable, char **ret)
{
    size_t at = r->off;
    int16_t n = 0;
    if (rd_i16(r, &n) < 0)
        return -EBADMSG;
    if (n < 0) {
        if (!nullable)
            return rd_fail(r, at, "string is null (length %d) but the field is not nullable", n);
        *ret = NULL;
        return 0;
    }
    if ((size_t)n > rd_left(r))
        return rd_fail(r, at, "string length %d runs past the end (%zu bytes left)", n,
                       rd_left(r));
    if (memchr(r->buf + r->off, 0, (size_t)n))
        return rd_fail(r, at, "string of length %d contains a NUL byte", n);
    char *s = malloc((size_t)n + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, r->buf + r->off, (size_t)n);
    s[n] = '\0';
    r->off += (size_t)n;
    *ret = s;
    return 0;
}

static int rd_bytes(rd_t *r, st_cp_bytes_t *ret)
{
    size_t at = r->off;
    int32_t n = 0;
    if (rd_i32(r, &n) < 0)
        return -EBADMSG;
    if (n < 0) {
        *ret = ST_CP_BYTES_NULL;
        return 0;
    }
    if ((size_t)n > rd_left(r))
        return rd_fail(r, at, "bytes length %d runs past the end (%zu bytes left)", n,
                       rd_left(r));
    uint8_t *d = NULL;
    if (n > 0) {
        d = malloc((size_t)n);
        if (!d)
            return -ENOMEM;
        memcpy(d, r->buf + r->off, (size_t)n);
    }
    r->off += (size_t)n;
    ret->data = d;
    ret->len = n;
    return 0;
}

/* An array count; each element takes at least min_elem bytes, so a count the bytes left cannot
 * hold is refused before anything is allocated. */
static int rd_count(rd_t *r, size_t min_elem, size_t *ret)
{
    size_t at = r->off;
    int32_t n = 0;
    if (rd_i32(r, &n) < 0)
        return -EBADMSG;
    if (n < 0)
        return rd_fail(r, at, "array is null (count %d) but the field is not nullable", n);
    if ((size_t)n > rd_left(r) / min_elem)
        return rd_fail(r, at, "array count %d needs at least %zu bytes, %zu left", n,
                       (size_t)n * min_elem, rd_left(r));
    *ret = (size_t)n;
    return 0;
}

static int tp_list_push(st_tp_list_t *l, size_t *cap, char *topic, int32_t partition)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        st_tp_t *v = realloc(l->v, ncap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        *cap = ncap;
    }
    l->v[l->n].topic = topic;
    l->v[l->n].partition = partition;
    l->n++;
    return 0;
}

/* [{topic string, partitions [int32]}] flattened into *out (appended). `name` is the field name
 * used in errors ("owned_partitions"). Each flattened entry owns its own copy of the topic. */
static int rd_tp_array(rd_t *r, const char *name, st_tp_list_t *out, size_t *cap)
{
    size_t cnt;
    rd_field(r, "%s", name);
    int rc = rd_count(r, 2 + 4, &cnt);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < cnt; i++) {
        char *topic;
        rd_field(r, "%s[%zu].topic", name, i);
        if ((rc = rd_string(r, false, &topic)) < 0)
            return rc;
        size_t pcnt = 0;   /* initialised for gcc -O3's maybe-uninitialized (release build) */
        rd_field(r, "%s[%zu].partitions", name, i);
        if ((rc = rd_count(r, 4, &pcnt)) < 0) {
            free(topic);
            return rc;
        }
        for (size_t j = 0; j < pcnt; j++) {
            size_t at = r->off;
            int32_t p = 0;
            rd_field(r, "%s[%zu].partitions[%zu]", name, i, j);
            if ((rc = rd_i32(r, &p)) < 0)
                break;
            if (p < 0) {
                rc = rd_fail(r, at, "partition %d is negative", p);
                break;
            }
            char *t = strdup(topic);
            if (!t || (rc = tp_list_push(out, cap, t, p)) < 0) {
                free(t);
                rc = -ENOMEM;
                break;
            }
        }
        free(topic);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int rd_version(rd_t *r, const char *what, int16_t *ret_version, int *ret_layout)
{
    rd_field(r, "version");
    int16_t v = 0;
    if (rd_i16(r, &v) < 0)
        return -EBADMSG;
    if (v < 0)
        return rd_fail(r, 0, "unsupported version %d", v);
    snprintf(r->msg, sizeof(r->msg), "%s v%d", what, v);
    *ret_version = v;
    *ret_layout = v > ST_CP_VERSION_MAX ? ST_CP_VERSION_MAX : v;
    return 0;
}

static void topics_free(char **topics, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(topics[i]);
    free(topics);
}

/* ---- writing --------------------------------------------------------------------------------- */
static int werr(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int werr(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int w_i16(st_buf_t *b, int16_t v) { return st_buf_append_be16(b, (uint16_t)v); }
static int w_i32(st_buf_t *b, int32_t v) { return st_buf_append_be32(b, (uint32_t)v); }

/* s must already be checked with str_ok. NULL writes a null (length -1). */
static int w_string(st_buf_t *b, const char *s)
{
    if (!s)
        return w_i16(b, -1);
    size_t n = strlen(s);
    if (w_i16(b, (int16_t)n) < 0 || st_buf_append(b, s, n) < 0)
        return -ENOMEM;
    return 0;
}

static bool str_ok(const char *s) { return s && strlen(s) <= STR_MAX; }

static int w_bytes(st_buf_t *b, const st_cp_bytes_t *d)
{
    if (d->len < 0)
        return w_i32(b, -1);
    if (w_i32(b, d->len) < 0 || (d->len && st_buf_append(b, d->data, (size_t)d->len) < 0))
        return -ENOMEM;
    return 0;
}

static int check_tp_list(const st_tp_list_t *l, const char *what, char *errbuf, size_t errlen)
{
    if (l->n > INT32_MAX)
        return werr(errbuf, errlen, "%s: %zu partitions do not fit an int32 count", what, l->n);
    if (l->n && !l->v)
        return werr(errbuf, errlen, "%s: %zu partitions but no array", what, l->n);
    for (size_t i = 0; i < l->n; i++) {
        if (!str_ok(l->v[i].topic))
            return werr(errbuf, errlen, "%s[%zu]: topic is %s", what, i,
                        l->v[i].topic ? "longer than 32767 bytes" : "NULL");
        if (l->v[i].partition < 0)
            return werr(errbuf, errlen, "%s[%zu]: partition %d of topic %s is negative", what, i,
                        l->v[i].partition, l->v[i].topic);
    }
    return 0;
}

static int check_bytes(const st_cp_bytes_t *d, const char *what, char *errbuf, size_t errlen)
{
    if (d->len > 0 && !d->data)
        return werr(errbuf, errlen, "%s: length %d with no data", what, d->len);
    return 0;
}

/* Writes l->v[order[0..n)] as [{topic, partitions}], one group per run of equal topics. */
static int w_tp_groups(st_buf_t *b, const st_tp_list_t *l, const size_t *order)
{
    size_t groups = 0;
    for (size_t i = 0; i < l->n; i++)
        if (i == 0 || strcmp(l->v[order[i]].topic, l->v[order[i - 1]].topic) != 0)
            groups++;
    if (w_i32(b, (int32_t)groups) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < l->n;) {
        size_t j = i + 1;
        while (j < l->n && strcmp(l->v[order[j]].topic, l->v[order[i]].topic) == 0)
            j++;
        if (w_string(b, l->v[order[i]].topic) < 0 || w_i32(b, (int32_t)(j - i)) < 0)
            return -ENOMEM;
        for (size_t k = i; k < j; k++)
            if (w_i32(b, l->v[order[k]].partition) < 0)
                return -ENOMEM;
        i = j;
    }
    return 0;
}

/* Sort keys: qsort has no context argument, so each key carries what its comparator needs. */
typedef struct tp_key {
    const st_tp_t *tp;
    size_t idx;
    size_t group_first;  /* first index of this topic (assignment grouping) */
} tp_key_t;

static int cmp_tp_topic_partition(const void *a, const void *b)
{
    const tp_key_t *x = a, *y = b;
    int c = st_cp_java_strcmp(x->tp->topic, y->tp->topic);
    if (c)
        return c;
    if (x->tp->partition != y->tp->partition)
        return x->tp->partition < y->tp->partition ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int cmp_tp_topic_idx(const void *a, const void *b)
{
    const tp_key_t *x = a, *y = b;
    int c = strcmp(x->tp->topic, y->tp->topic);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int cmp_tp_group_idx(const void *a, const void *b)
{
    const tp_key_t *x = a, *y = b;
    if (x->group_first != y->group_first)
        return x->group_first < y->group_first ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* order[] for the subscription's owned partitions: sorted by (topic, partition). */
static size_t *order_sorted(const st_tp_list_t *l)
{
    tp_key_t *keys = malloc((l->n ? l->n : 1) * sizeof(*keys));
    size_t *order = malloc((l->n ? l->n : 1) * sizeof(*order));
    if (!keys || !order) {
        free(keys);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < l->n; i++)
        keys[i] = (tp_key_t){ &l->v[i], i, 0 };
    qsort(keys, l->n, sizeof(*keys), cmp_tp_topic_partition);
    for (size_t i = 0; i < l->n; i++)
        order[i] = keys[i].idx;
    free(keys);
    return order;
}

/* order[] for an assignment: grouped per topic in order of first appearance, partitions in the
 * given order within a topic. */
static size_t *order_grouped(const st_tp_list_t *l)
{
    tp_key_t *keys = malloc((l->n ? l->n : 1) * sizeof(*keys));
    size_t *order = malloc((l->n ? l->n : 1) * sizeof(*order));
    if (!keys || !order) {
        free(keys);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < l->n; i++)
        keys[i] = (tp_key_t){ &l->v[i], i, 0 };
    qsort(keys, l->n, sizeof(*keys), cmp_tp_topic_idx);
    for (size_t i = 0; i < l->n; i++)
        keys[i].group_first = (i > 0 && strcmp(keys[i].tp->topic, keys[i - 1].tp->topic) == 0)
                                  ? keys[i - 1].group_first : keys[i].idx;
    qsort(keys, l->n, sizeof(*keys), cmp_tp_group_idx);
    for (size_t i = 0; i < l->n; i++)
        order[i] = keys[i].idx;
    free(keys);
    return order;
}

static int cmp_str_java(const void *a, const void *b)
{
    return st_cp_java_strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- Subscription ----------------------------------------------------------------------------- */
int st_cp_subscription_encode(const st_cp_subscription_t *sub, int16_t version, st_buf_t *out,
                              char *errbuf, size_t errlen)
{
    if (version < 0 || version > ST_CP_VERSION_MAX)
        return werr(errbuf, errlen, "ConsumerProtocolSubscription: cannot write version %d "
                    "(known versions are 0 to %d)", version, ST_CP_VERSION_MAX);
    if (sub->topic_cnt > INT32_MAX)
        return werr(errbuf, errlen, "ConsumerProtocolSubscription: %zu topics do not fit an "
                    "int32 count", sub->topic_cnt);
    if (sub->topic_cnt && !sub->topics)
        return werr(errbuf, errlen, "ConsumerProtocolSubscription: %zu topics but no array",
                    sub->topic_cnt);
    for (size_t i = 0; i < sub->topic_cnt; i++)
        if (!str_ok(sub->topics[i]))
            return werr(errbuf, errlen, "ConsumerProtocolSubscription: topics[%zu] is %s", i,
                        sub->topics[i] ? "longer than 32767 bytes" : "NULL");
    int rc = check_bytes(&sub->user_data, "ConsumerProtocolSubscription: user_data", errbuf,
                         errlen);
    if (rc < 0)
        return rc;
    if (version >= 1 && (rc = check_tp_list(&sub->owned, "ConsumerProtocolSubscription: "
                                            "owned_partitions", errbuf, errlen)) < 0)
        return rc;
    if (version >= 3 && sub->rack_id && !str_ok(sub->rack_id))
        return werr(errbuf, errlen, "ConsumerProtocolSubscription: rack_id is longer than 32767 "
                    "bytes");

    const char **topics = malloc((sub->topic_cnt ? sub->topic_cnt : 1) * sizeof(*topics));
    size_t *order = version >= 1 ? order_sorted(&sub->owned) : NULL;
    if (!topics || (version >= 1 && !order)) {
        free(topics);
        free(order);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sub->topic_cnt; i++)
        topics[i] = sub->topics[i];
    qsort(topics, sub->topic_cnt, sizeof(*topics), cmp_str_java);

    size_t start = out->len;
    rc = 0;
    if (w_i16(out, version) < 0 || w_i32(out, (int32_t)sub->topic_cnt) < 0)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < sub->topic_cnt; i++)
        rc = w_string(out, topics[i]);
    if (rc == 0)
        rc = w_bytes(out, &sub->user_data);
    if (rc == 0 && version >= 1)
        rc = w_tp_groups(out, &sub->owned, order);
    if (rc == 0 && version >= 2)
        rc = w_i32(out, sub->generation_id);
    if (rc == 0 && version >= 3)
        rc = w_string(out, sub->rack_id);
    free(topics);
    free(order);
    if (rc < 0)
        out->len = start;
    return rc;
}

int st_cp_subscription_decode(const uint8_t *buf, size_t len, st_cp_subscription_t *ret_sub,
                              char *errbuf, size_t errlen)
{
    rd_t r;
    rd_init(&r, buf, len, "ConsumerProtocolSubscription", errbuf, errlen);
    st_cp_subscription_t s = { .user_data = ST_CP_BYTES_NULL,
                               .generation_id = ST_CP_DEFAULT_GENERATION };
    int layout;
    int rc = rd_version(&r, "ConsumerProtocolSubscription", &s.version, &layout);
    if (rc < 0)
        return rc;

    rd_field(&r, "topics");
    size_t cnt;
    if ((rc = rd_count(&r, 2, &cnt)) < 0)
        return rc;
    s.topics = calloc(cnt ? cnt : 1, sizeof(*s.topics));
    if (!s.topics)
        return -ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        rd_field(&r, "topics[%zu]", i);
        if ((rc = rd_string(&r, false, &s.topics[i])) < 0)
            goto fail;
        s.topic_cnt++;
    }
    rd_field(&r, "user_data");
    if ((rc = rd_bytes(&r, &s.user_data)) < 0)
        goto fail;
    if (layout >= 1) {
        size_t cap = 0;
        if ((rc = rd_tp_array(&r, "owned_partitions", &s.owned, &cap)) < 0)
            goto fail;
    }
    if (layout >= 2) {
        rd_field(&r, "generation_id");
        if ((rc = rd_i32(&r, &s.generation_id)) < 0)
            goto fail;
    }
    if (layout >= 3) {
        rd_field(&r, "rack_id");
        if ((rc = rd_string(&r, true, &s.rack_id)) < 0)
            goto fail;
    }
    *ret_sub = s;
    return 0;
fail:
    st_cp_subscription_free(&s);
    return rc;
}

void st_cp_subscription_free(st_cp_subscription_t *sub)
{
    if (!sub)
        return;
    topics_free(sub->topics, sub->topic_cnt);
    free(sub->user_data.data);
    st_tp_list_free(&sub->owned);
    free(sub->rack_id);
    memset(sub, 0, sizeof(*sub));
}

/* ---- Assignment ------------------------------------------------------------------------------- */
int st_cp_assignment_encode(const st_cp_assignment_t *asg, int16_t version, st_buf_t *out,
                            char *errbuf, size_t errlen)
{
    if (version < 0 || version > ST_CP_VERSION_MAX)
        return werr(errbuf, errlen, "ConsumerProtocolAssignment: cannot write version %d "
                    "(known versions are 0 to %d)", version, ST_CP_VERSION_MAX);
    int rc = check_tp_list(&asg->partitions, "ConsumerProtocolAssignment: assigned_partitions",
                           errbuf, errlen);
    if (rc < 0 || (rc = check_bytes(&asg->user_data, "ConsumerProtocolAssignment: user_data",
                                    errbuf, errlen)) < 0)
        return rc;
    size_t *order = order_grouped(&asg->partitions);
    if (!order)
        return -ENOMEM;
    size_t start = out->len;
    rc = w_i16(out, version) < 0 ? -ENOMEM : 0;
    if (rc == 0)
        rc = w_tp_groups(out, &asg->partitions, order);
    if (rc == 0)
        rc = w_bytes(out, &asg->user_data);
    free(order);
    if (rc < 0)
        out->len = start;
    return rc;
}

int st_cp_assignment_decode(const uint8_t *buf, size_t len, st_cp_assignment_t *ret_asg,
                            char *errbuf, size_t errlen)
{
    rd_t r;
    rd_init(&r, buf, len, "ConsumerProtocolAssignment", errbuf, errlen);
    st_cp_assignment_t a = { .user_data = ST_CP_BYTES_NULL };
    int layout;
    int rc = rd_version(&r, "ConsumerProtocolAssignment", &a.version, &layout);
    if (rc < 0)
        return rc;
    size_t cap = 0;
    if ((rc = rd_tp_array(&r, "assigned_partitions", &a.partitions, &cap)) < 0)
        goto fail;
    rd_field(&r, "user_data");
    if ((rc = rd_bytes(&r, &a.user_data)) < 0)
        goto fail;
    *ret_asg = a;
    return 0;
fail:
    st_cp_assignment_free(&a);
    return rc;
}

void st_cp_assignment_free(st_cp_assignment_t *asg)
{
    if (!asg)
        return;
    st_tp_list_free(&asg->partitions);
    free(asg->user_data.data);
    memset(asg, 0, sizeof(*asg));
}

/* ---- assignor user data ------------------------------------------------------------------------ */
int st_cp_sticky_userdata_encode(const st_tp_list_t *parts, int32_t generation, st_buf_t *out,
                                 char *errbuf, size_t errlen)
{
    int rc = check_tp_list(parts, "StickyAssignor user data: previous_assignment", errbuf,
                           errlen);
    if (rc < 0)
        return rc;
    size_t *order = order_grouped(parts);
    if (!order)
        return -ENOMEM;
    size_t start = out->len;
    rc = w_tp_groups(out, parts, order);
    if (rc == 0)
        rc = w_i32(out, generation);
    free(order);
    if (rc < 0)
        out->len = start;
    return rc;
}

int st_cp_sticky_userdata_decode(const uint8_t *buf, size_t len, st_tp_list_t *ret_parts,
                                 int32_t *ret_generation, bool *ret_has_generation,
                                 char *errbuf, size_t errlen)
{
    /* V1 first; if it does not parse, V0 (no generation), as StickyAssignor does. */
    for (int v = 1; v >= 0; v--) {
        rd_t r;
        char msg[48];
        snprintf(msg, sizeof(msg), "StickyAssignor user data V%d", v);
        rd_init(&r, buf, len, msg, errbuf, errlen);
        st_tp_list_t parts = { 0 };
        size_t cap = 0;
        int32_t gen = ST_CP_DEFAULT_GENERATION;
        int rc = rd_tp_array(&r, "previous_assignment", &parts, &cap);
        if (rc == 0 && v == 1) {
            rd_field(&r, "generation");
            rc = rd_i32(&r, &gen);
        }
        if (rc == 0) {
            *ret_parts = parts;
            *ret_generation = gen;
            *ret_has_generation = v == 1;
            return 0;
        }
        st_tp_list_free(&parts);
        if (rc == -ENOMEM)
            return rc;
    }
    return -EBADMSG;
}

int st_cp_coop_userdata_encode(int32_t generation, st_buf_t *out)
{
    return w_i32(out, generation);
}

int st_cp_coop_userdata_decode(const uint8_t *buf, size_t len, int32_t *ret_generation,
                               char *errbuf, size_t errlen)
{
    rd_t r;
    rd_init(&r, buf, len, "CooperativeStickyAssignor user data V0", errbuf, errlen);
    rd_field(&r, "generation");
    return rd_i32(&r, ret_generation);
}

/* ---- Java string order ------------------------------------------------------------------------- */
/* Decodes one UTF-8 code point at s: its length, or 0 if s does not start a valid sequence
 * (overlong forms, surrogates and values above U+10FFFF are invalid). NUL decodes as U+0000. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret_cp = cp;
    return n;
}

/* The first UTF-16 code unit of a code point, then the second (0 for the BMP). */
static uint32_t utf16_hi(uint32_t cp) { return cp < 0x10000 ? cp : 0xD800 + ((cp - 0x10000) >> 10); }

int st_cp_java_strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t i = 0;
    while (x[i] && x[i] == y[i])
        i++;
    if (x[i] == y[i])
        return 0;
    /* back up to the start of the code point the first difference falls in */
    size_t s = i;
    while (s > 0 && ((x[s] & 0xC0) == 0x80 || (y[s] & 0xC0) == 0x80))
        s--;
    uint32_t cx, cy;
    if (!utf8_decode(x + s, &cx) || !utf8_decode(y + s, &cy))
        return x[i] < y[i] ? -1 : 1;
    uint32_t hx = utf16_hi(cx), hy = utf16_hi(cy);
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return cx < cy ? -1 : (cx > cy);
}
