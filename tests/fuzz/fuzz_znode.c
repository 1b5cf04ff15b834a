/* libFuzzer harness for every znode payload decoder (controller/st_znode.c, st_znode_admin.c):
 * the input is handed to each decoder under a path like the ones Strand reads it from (byte 0
 * picks the variant, including broker ids that are not numbers and odd topic names), with an
 * error buffer of the size byte 1 picks (1..300 bytes, allocated exactly, so ASan sees a write
 * past it). Properties checked, as a hand-edited znode must meet them:
 *   - no crash, no out-of-bounds access, no leak, no undefined behaviour (ASan, UBSan);
 *   - 0 or -EINVAL (or -ENOMEM); on -EINVAL the message is non-empty, NUL-terminated inside the
 *     buffer, and starts with the path (as much of it as the buffer holds);
 *   - a failing decoder leaves its output untouched (CONVENTIONS: never clobber ret_* on
 *     failure);
 *   - whatever a decoder accepts re-encodes, and the encoding decodes to the same values.
 * Strand reads no other znode payload: /brokers/seqid is used for its version only, the
 * children of /isr_change_notification are tp lists (checked here under that path), and
 * /log_dir_event_notification is created but never read. See README.md for how to run it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_znode.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_znode: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
                    #cond);                                                                  \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char *err;                    /* exactly errlen bytes */
static size_t errlen;

static void check_err(int r, const char *path)
{
    CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r != -EINVAL)
        return;
    CHECK(memchr(err, '\0', errlen) != NULL);
    size_t want = strlen(path) < errlen - 1 ? strlen(path) : errlen - 1;
    if (errlen > 1)
        CHECK(err[0] != '\0');
    if (strncmp(err, path, want) != 0) {
        fprintf(stderr, "fuzz_znode: the error for %s (buffer %zu) does not name it: \"%s\"\n",
                path, errlen, err);
        abort();
    }
}

/* The output must be untouched by a failing decoder: it is filled with this first. */
#define POISON 0xa5
static bool poisoned(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != POISON)
            return false;
    return true;
}

static bool list_eq(const st_int_list_t *a, const st_int_list_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(int32_t)) == 0);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *const broker_paths[] = {
    "/brokers/ids/1", "/brokers/ids/0", "/brokers/ids/2147483647", "/brokers/ids/abc",
    "/brokers/ids/-1", "/brokers/ids/99999999999", "/brokers/ids/", "brokers",
};
static const char *const topic_names[] = {
    "t", "a-very-long-topic-name-to-see-how-the-messages-handle-it.with.dots_and_underscores",
    "%", "",
};

static void broker(const char *d, size_t size, const char *path)
{
    st_broker_reg_t reg;
    memset(&reg, POISON, sizeof(reg));
    int r = st_znode_broker_decode(path, d, size, &reg, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&reg, sizeof(reg)));
        return;
    }
    char *enc = st_znode_broker_encode(&reg);
    if (enc) {                   /* NULL: not encodable (e.g. no endpoint) */
        st_broker_reg_t again;
        CHECK(st_znode_broker_decode(path, enc, strlen(enc), &again, err, errlen) == 0);
        CHECK(again.id == reg.id && again.n_endpoints == reg.n_endpoints);
        for (size_t i = 0; i < reg.n_endpoints; i++) {
            CHECK(str_eq(again.endpoints[i].listener, reg.endpoints[i].listener));
            CHECK(str_eq(again.endpoints[i].host, reg.endpoints[i].host));
            CHECK(again.endpoints[i].port == reg.endpoints[i].port);
        }
        CHECK(str_eq(again.rack, reg.rack));
        st_broker_reg_t copy;
        if (st_broker_reg_copy(&copy, &again) == 0)
            st_broker_reg_free(&copy);
        char desc[64];
        st_broker_reg_describe(&again, desc, sizeof(desc));
        st_broker_reg_free(&again);
        free(enc);
    }
    st_broker_reg_free(&reg);
    st_broker_reg_free(&reg);    /* idempotent */
}

static void topic(const char *d, size_t size, const char *path)
{
    st_topic_assignment_t ta;
    memset(&ta, POISON, sizeof(ta));
    int r = st_znode_topic_decode(path, d, size, &ta, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&ta, sizeof(ta)));
        return;
    }
    char *enc = st_znode_topic_encode(&ta);
    CHECK(enc);
    st_topic_assignment_t again;
    CHECK(st_znode_topic_decode(path, enc, strlen(enc), &again, err, errlen) == 0);
    CHECK(again.n_partitions == ta.n_partitions);
    for (int32_t p = 0; p < ta.n_partitions; p++) {
        CHECK(list_eq(&again.replicas[p], &ta.replicas[p]));
        CHECK(list_eq(&again.adding[p], &ta.adding[p]));
        CHECK(list_eq(&again.removing[p], &ta.removing[p]));
    }
    CHECK(str_eq(again.topic_id, ta.topic_id));
    st_topic_assignment_free(&again);
    free(enc);
    st_topic_assignment_free(&ta);
}

static void partition_state(const char *d, size_t size, const char *path)
{
    st_lisr_t l;
    memset(&l, POISON, sizeof(l));
    int r = st_znode_lisr_decode(path, d, size, &l, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&l, sizeof(l)));
        return;
    }
    char *enc = st_znode_lisr_encode(&l);
    CHECK(enc);
    st_lisr_t again;
    CHECK(st_znode_lisr_decode(path, enc, strlen(enc), &again, err, errlen) == 0);
    CHECK(again.leader == l.leader && again.leader_epoch == l.leader_epoch &&
          again.controller_epoch == l.controller_epoch && list_eq(&again.isr, &l.isr));
    st_int_list_free(&again.isr);
    free(enc);
    st_int_list_free(&l.isr);
}

static void controller(const char *d, size_t size)
{
    int32_t x = -7;
    int r = st_znode_controller_decode("/controller", d, size, &x, err, errlen);
    check_err(r, "/controller");
    if (r < 0) {
        CHECK(x == -7);
    } else {
        char *enc = st_znode_controller_encode(x, 1);
        CHECK(enc);
        int32_t y;
        CHECK(st_znode_controller_decode("/controller", enc, strlen(enc), &y, err, errlen) == 0);
        CHECK(y == x);
        free(enc);
    }
    x = -7;
    r = st_znode_controller_epoch_decode("/controller_epoch", d, size, &x, err, errlen);
    check_err(r, "/controller_epoch");
    if (r < 0) {
        CHECK(x == -7);
    } else {
        char *enc = st_znode_controller_epoch_encode(x);
        CHECK(enc);
        int32_t y;
        CHECK(st_znode_controller_epoch_decode("/controller_epoch", enc, strlen(enc), &y, err,
                                               errlen) == 0);
        CHECK(y == x);
        free(enc);
    }
}

static void tp_list(const char *d, size_t size, const char *path)
{
    st_tp_list_t tps;
    memset(&tps, POISON, sizeof(tps));
    int r = st_znode_tp_list_decode(path, d, size, &tps, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&tps, sizeof(tps)));
        return;
    }
    char *enc = st_znode_tp_list_encode(&tps);
    CHECK(enc);
    st_tp_list_t again;
    CHECK(st_znode_tp_list_decode(path, enc, strlen(enc), &again, err, errlen) == 0);
    CHECK(again.n == tps.n);
    for (size_t i = 0; i < tps.n; i++)
        CHECK(strcmp(again.v[i].topic, tps.v[i].topic) == 0 &&
              again.v[i].partition == tps.v[i].partition);
    st_tp_list_free(&again);
    free(enc);
    st_tp_list_free(&tps);
}

static void reassign(const char *d, size_t size)
{
    const char *path = "/admin/reassign_partitions";
    st_reassignment_list_t ra;
    memset(&ra, POISON, sizeof(ra));
    int r = st_znode_reassign_decode(path, d, size, &ra, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&ra, sizeof(ra)));
        return;
    }
    for (size_t i = 0; i < ra.n; i++)
        CHECK(ra.v[i].topic && ra.v[i].partition >= 0);
    st_reassignment_list_free(&ra);
}

static void topic_config(const char *d, size_t size, const char *path)
{
    st_topic_overrides_t cfg;
    memset(&cfg, POISON, sizeof(cfg));
    int r = st_znode_topic_config_decode(path, d, size, &cfg, err, errlen);
    check_err(r, path);
    if (r < 0) {
        CHECK(poisoned(&cfg, sizeof(cfg)));
        return;
    }
    char *enc = st_znode_topic_config_encode(&cfg);
    CHECK(enc);
    st_topic_overrides_t again;
    CHECK(st_znode_topic_config_decode(path, enc, strlen(enc), &again, err, errlen) == 0);
    CHECK(again.n == cfg.n);
    for (size_t i = 0; i < cfg.n; i++)
        CHECK(str_eq(st_topic_overrides_get(&again, cfg.keys[i]),
                     st_topic_overrides_get(&cfg, cfg.keys[i])));
    st_topic_overrides_free(&again);
    free(enc);
    st_topic_overrides_free(&cfg);
}

static void cluster_id(const char *d, size_t size)
{
    char *id = (char *)"untouched";
    int r = st_znode_cluster_id_decode("/cluster/id", d, size, &id, err, errlen);
    check_err(r, "/cluster/id");
    if (r < 0) {
        CHECK(strcmp(id, "untouched") == 0);
        return;
    }
    char *enc = st_znode_cluster_id_encode(id);
    CHECK(enc);
    char *again = NULL;
    CHECK(st_znode_cluster_id_decode("/cluster/id", enc, strlen(enc), &again, err, errlen) == 0);
    CHECK(strcmp(again, id) == 0);
    free(again);
    free(enc);
    free(id);
}

/* /config/changes/config_change_N (the dynamic-config notifications) */
static void config_change(const char *d, size_t size)
{
    const char *path = "/config/changes/config_change_0000000001";
    char *type = (char *)(uintptr_t)0xa5a5, *name = (char *)(uintptr_t)0xa5a5;
    int r = st_znode_config_change_decode(path, d, size, &type, &name, err, errlen);
    check_err(r, path);
    if (r < 0)
        return;
    char *enc = st_znode_config_change_encode(type, name);
    if (enc) {
        char *t2 = NULL, *n2 = NULL;
        CHECK(st_znode_config_change_decode(path, enc, strlen(enc), &t2, &n2, err, errlen) == 0);
        CHECK(str_eq(t2, type) && str_eq(n2, name));
        free(t2);
        free(n2);
        free(enc);
    }
    free(type);
    free(name);
}

/* /log_dir_event_notification/log_dir_event_N (a broker's failed log dir) */
static void log_dir_event(const char *d, size_t size)
{
    const char *path = "/log_dir_event_notification/log_dir_event_0000000003";
    int32_t broker = -7, event = -7;
    int r = st_znode_log_dir_event_decode(path, d, size, &broker, &event, err, errlen);
    check_err(r, path);
    if (r < 0)
        return;
    char *enc = st_znode_log_dir_event_encode(broker, event);
    if (enc) {
        int32_t b2 = -1, e2 = -1;
        CHECK(st_znode_log_dir_event_decode(path, enc, strlen(enc), &b2, &e2, err, errlen) == 0);
        CHECK(b2 == broker && e2 == event);
        free(enc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t pick = data[0];
    errlen = 1 + data[1] % 300;
    const char *d = (const char *)data + 2;
    size -= 2;
    err = malloc(errlen);
    CHECK(err);
    memset(err, 0, errlen);

    const char *name = topic_names[pick % (sizeof(topic_names) / sizeof(topic_names[0]))];
    char tpath[400], spath[420], cpath[400];
    snprintf(tpath, sizeof(tpath), "/brokers/topics/%s", name);
    snprintf(spath, sizeof(spath), "/brokers/topics/%s/partitions/%d/state", name, pick >> 4);
    snprintf(cpath, sizeof(cpath), "/config/topics/%s", name);

    broker(d, size, broker_paths[pick % (sizeof(broker_paths) / sizeof(broker_paths[0]))]);
    topic(d, size, tpath);
    partition_state(d, size, spath);
    controller(d, size);
    tp_list(d, size, "/admin/preferred_replica_election");
    tp_list(d, size, "/isr_change_notification/isr_change_0000000042");
    reassign(d, size);
    topic_config(d, size, cpath);
    cluster_id(d, size);
    config_change(d, size);
    log_dir_event(d, size);
    free(err);
    return 0;
}
