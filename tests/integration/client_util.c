/* Helpers for the client-library integration tests (see client_util.h). */
#include "client_util.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ct_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

strand_conf_t *ct_conf(const st_test_broker_t *b, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", b->bootstrap, err, sizeof(err)), 0, "%s", err);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    return conf;
}

void ct_create_topic(const st_test_broker_t *b, const char *topic, int partitions)
{
    strand_conf_t *conf = ct_conf(b, NULL);
    char err[512];
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    strand_new_topic_t nt = { .name = topic, .num_partitions = partitions, .replication_factor = 1 };
    cr_assert_eq(strand_admin_create_topic(a, &nt, 10000, err, sizeof(err)), 0, "%s", err);
    strand_admin_destroy(a);
    strand_conf_destroy(conf);
}

static char *dup_bytes(const void *p, size_t n)
{
    if (!p)
        return NULL;
    char *d = malloc(n + 1);
    cr_assert_not_null(d);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

size_t ct_consume(const st_test_broker_t *b, const char *topic, const int32_t *partitions,
                  size_t n_partitions, size_t want, int timeout_ms, ct_rec_t **ret)
{
    strand_conf_t *conf = ct_conf(b, NULL);
    char err[512];
    strand_consumer_t *c = strand_consumer_new(conf, err, sizeof(err));
    cr_assert_not_null(c, "%s", err);
    strand_conf_destroy(conf);
    strand_topic_partition_t tps[64];
    cr_assert(n_partitions <= 64);
    for (size_t i = 0; i < n_partitions; i++)
        tps[i] = (strand_topic_partition_t){ topic, partitions[i], STRAND_OFFSET_BEGINNING, 0 };
    cr_assert_eq(strand_consumer_assign(c, tps, n_partitions), 0);
    ct_rec_t *recs = calloc(want + 1, sizeof(*recs));
    size_t n = 0;
    int64_t deadline = ct_now_ms() + timeout_ms;
    while (n < want && ct_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t got = 0;
        cr_assert_eq(strand_consumer_poll(c, 100, &msgs, &got), 0);
        for (size_t i = 0; i < got && n < want; i++) {
            const strand_message_t *m = &msgs[i];
            cr_assert_eq(m->error, 0, "consume error: %s", m->errstr);
            ct_rec_t *r = &recs[n++];
            r->partition = m->partition;
            r->offset = m->offset;
            r->timestamp = m->timestamp;
            r->key = dup_bytes(m->key, m->key_len);
            r->key_len = m->key_len;
            r->value = dup_bytes(m->value, m->value_len);
            r->value_len = m->value_len;
            size_t pos = 0;
            strand_header_t h;
            while (strand_message_header(m, &pos, &h) == 1 && r->n_headers < 4) {
                r->headers[r->n_headers].key = dup_bytes(h.key, h.key_len);
                r->headers[r->n_headers].key_len = h.key_len;
                r->headers[r->n_headers].value = dup_bytes(h.value, h.value_len);
                r->headers[r->n_headers].value_len = h.value_len;
                r->n_headers++;
            }
        }
    }
    strand_consumer_destroy(c);
    *ret = recs;
    return n;
}

void ct_recs_free(ct_rec_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(recs[i].key);
        free(recs[i].value);
        for (size_t k = 0; k < recs[i].n_headers; k++) {
            free((void *)recs[i].headers[k].key);
            free((void *)recs[i].headers[k].value);
        }
    }
    free(recs);
}

void ct_dr_cb(const strand_delivery_report_t *rep, void *opaque)
{
    ct_dr_table_t *t = opaque;
    size_t idx = (size_t)(intptr_t)rep->msg_opaque;
    if (idx < t->n) {
        t->rows[idx].error = rep->error;
        t->rows[idx].partition = rep->partition;
        t->rows[idx].offset = rep->offset;
        t->rows[idx].done = true;
    }
    if (rep->error && t->errors++ == 0)
        snprintf(t->first_error, sizeof(t->first_error), "%s", rep->errstr);
    __atomic_add_fetch(&t->reports, 1, __ATOMIC_SEQ_CST);
}
