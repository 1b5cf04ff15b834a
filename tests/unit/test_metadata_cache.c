/* The broker's metadata cache (broker/cluster/metadata_cache.c): applying UpdateMetadata-like
 * updates (upsert, broker list replacement, deletion with leader -2), the snapshot semantics
 * (a held snapshot never changes; the last reference frees it), controller-epoch ordering,
 * refusal of invalid input, and concurrent readers against one writer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metadata_cache.h"

static st_listener_cfg_t ep(const char *name, st_security_protocol_t proto, const char *host,
                            int port)
{
    st_listener_cfg_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.name, sizeof(l.name), "%s", name);
    snprintf(l.host, sizeof(l.host), "%s", host);
    l.protocol = proto;
    l.port = port;
    return l;
}

static st_listener_cfg_t eps[3][2];
static st_broker_endpoint_t brokers[3];
static int32_t r123[] = { 1, 2, 3 }, r231[] = { 2, 3, 1 }, r12[] = { 1, 2 }, r3[] = { 3 };

static void setup_brokers(void)
{
    for (int i = 0; i < 3; i++) {
        eps[i][0] = ep("INTERNAL", ST_PROTO_PLAINTEXT, "10.0.0.1", 9000 + i);
        eps[i][1] = ep("CLIENT", ST_PROTO_SSL, "pub.example", 9100 + i);
        memset(&brokers[i], 0, sizeof(brokers[i]));
        brokers[i].id = 3 - i;                 /* unsorted on purpose: 3, 2, 1 */
        snprintf(brokers[i].rack, sizeof(brokers[i].rack), "rack-%d", i);
        brokers[i].listeners = eps[i];
        brokers[i].n_listeners = 2;
    }
}

static st_md_partition_update_t pstate(const char *topic, int32_t partition, int32_t leader,
                                       int32_t epoch, int32_t *replicas, size_t n_replicas,
                                       int32_t *isr, size_t n_isr)
{
    st_md_partition_update_t u;
    memset(&u, 0, sizeof(u));
    u.topic = topic;
    u.state.partition = partition;
    u.state.lisr.leader = leader;
    u.state.lisr.leader_epoch = epoch;
    u.state.replicas = (st_int_list_t){ replicas, n_replicas };
    u.state.lisr.isr = (st_int_list_t){ isr, n_isr };
    u.state.lisr.zk_version = epoch;
    return u;
}

static st_metadata_cache_t *cache;

static void init(void)
{
    setup_brokers();
    cr_assert_eq(st_metadata_cache_new("cluster-x", &cache), 0);
}

static void fini(void)
{
    st_metadata_cache_free(cache);
}

TestSuite(metadata_cache, .init = init, .fini = fini, .timeout = 60);

static int apply(int32_t epoch, bool with_brokers, const st_md_partition_update_t *parts, size_t n)
{
    st_md_update_t u = {
        .controller_id = 2, .controller_epoch = epoch, .replace_brokers = with_brokers,
        .brokers = brokers, .n_brokers = 3, .partitions = parts, .n_partitions = n,
    };
    char why[256] = "";
    return st_metadata_cache_apply(cache, &u, why, sizeof(why));
}

Test(metadata_cache, starts_empty)
{
    st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
    cr_assert_eq(s->n_brokers, 0);
    cr_assert_eq(s->n_topics, 0);
    cr_assert_eq(s->controller_id, -1);
    cr_assert_eq(s->controller_epoch, -1);
    cr_assert_str_eq(s->cluster_id, "cluster-x");
    st_md_snapshot_check(s);
    st_md_snapshot_release(s);
}

Test(metadata_cache, apply_brokers_and_partitions)
{
    st_md_partition_update_t ps[] = {
        pstate("b-topic", 1, 2, 5, r231, 3, r231, 2),
        pstate("a-topic", 0, 1, 1, r123, 3, r12, 2),
        pstate("b-topic", 0, 1, 4, r123, 3, r123, 3),
        pstate("c-topic", 0, -1, 7, r3, 1, NULL, 0),
    };
    ps[3].state.offline = (st_int_list_t){ r3, 1 };
    cr_assert_eq(apply(3, true, ps, 4), 0);
    st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
    st_md_snapshot_check(s);
    cr_assert_eq(s->controller_id, 2);
    cr_assert_eq(s->controller_epoch, 3);
    cr_assert_eq(s->n_brokers, 3);
    cr_assert_eq(s->brokers[0].id, 1);           /* sorted */
    cr_assert_eq(s->brokers[2].id, 3);
    const st_broker_endpoint_t *b2 = st_md_snapshot_broker(s, 2);
    cr_assert_not_null(b2);
    cr_assert_str_eq(b2->rack, "rack-1");
    const st_listener_cfg_t *cl = st_md_broker_endpoint(b2, "CLIENT");
    cr_assert_not_null(cl);
    cr_assert_eq(cl->port, 9101);
    cr_assert_eq(cl->protocol, ST_PROTO_SSL);
    cr_assert_null(st_md_broker_endpoint(b2, "NOPE"));
    cr_assert_null(st_md_snapshot_broker(s, 4));

    cr_assert_eq(s->n_topics, 3);
    cr_assert_str_eq(s->topics[0].name, "a-topic");
    const st_md_topic_t *bt = st_md_snapshot_topic(s, "b-topic");
    cr_assert_not_null(bt);
    cr_assert_eq(bt->n_parts, 2);
    cr_assert_eq(bt->parts[0].partition, 0);
    const st_md_partition_t *p1 = st_md_topic_partition(bt, 1);
    cr_assert_eq(p1->lisr.leader, 2);
    cr_assert_eq(p1->lisr.leader_epoch, 5);
    cr_assert_eq(p1->replicas.n, 3);
    cr_assert_eq(p1->replicas.v[0], 2);
    cr_assert_eq(p1->lisr.isr.n, 2);
    const st_md_partition_t *c0 = st_md_topic_partition(st_md_snapshot_topic(s, "c-topic"), 0);
    cr_assert_eq(c0->lisr.leader, -1);
    cr_assert_eq(c0->offline.n, 1);
    cr_assert_eq(c0->offline.v[0], 3);
    cr_assert_null(st_md_snapshot_topic(s, "zzz"));
    st_md_snapshot_release(s);

    /* An update of one partition keeps the others and the brokers (replace_brokers false). */
    st_md_partition_update_t up = pstate("a-topic", 0, 2, 2, r123, 3, r123, 3);
    cr_assert_eq(apply(3, false, &up, 1), 0);
    s = st_metadata_cache_acquire(cache);
    cr_assert_eq(s->n_brokers, 3);
    cr_assert_eq(s->n_topics, 3);
    cr_assert_eq(st_md_snapshot_topic(s, "a-topic")->parts[0].lisr.leader, 2);
    cr_assert_eq(st_md_snapshot_topic(s, "a-topic")->parts[0].lisr.isr.n, 3);
    cr_assert_eq(st_md_topic_partition(st_md_snapshot_topic(s, "b-topic"), 1)->lisr.leader, 2);
    st_md_snapshot_release(s);
}

Test(metadata_cache, later_state_of_a_partition_wins)
{
    st_md_partition_update_t ps[] = {
        pstate("t", 0, 1, 1, r123, 3, r123, 3),
        pstate("t", 0, 3, 2, r123, 3, r3, 1),
    };
    cr_assert_eq(apply(1, true, ps, 2), 0);
    st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
    cr_assert_eq(st_md_snapshot_topic(s, "t")->n_parts, 1);
    cr_assert_eq(st_md_snapshot_topic(s, "t")->parts[0].lisr.leader, 3);
    st_md_snapshot_release(s);
}

Test(metadata_cache, leader_minus_two_deletes)
{
    st_md_partition_update_t ps[] = {
        pstate("gone", 0, 1, 1, r123, 3, r123, 3),
        pstate("gone", 1, 2, 1, r231, 3, r231, 3),
        pstate("stays", 0, 1, 1, r123, 3, r123, 3),
        pstate("stays", 1, 1, 1, r123, 3, r123, 3),
    };
    cr_assert_eq(apply(1, true, ps, 4), 0);
    /* One partition of "stays" deleted: the topic keeps the other. */
    st_md_partition_update_t del1 = pstate("stays", 1, -2, 2, NULL, 0, NULL, 0);
    cr_assert_eq(apply(1, false, &del1, 1), 0);
    /* Every partition of "gone" deleted: the topic disappears. */
    st_md_partition_update_t del[] = {
        pstate("gone", 0, -2, 2, NULL, 0, NULL, 0),
        pstate("gone", 1, -2, 2, NULL, 0, NULL, 0),
    };
    cr_assert_eq(apply(1, false, del, 2), 0);
    st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
    st_md_snapshot_check(s);
    cr_assert_null(st_md_snapshot_topic(s, "gone"));
    cr_assert_eq(s->n_topics, 1);
    cr_assert_eq(st_md_snapshot_topic(s, "stays")->n_parts, 1);
    cr_assert_null(st_md_topic_partition(st_md_snapshot_topic(s, "stays"), 1));
    st_md_snapshot_release(s);
    /* Deleting an unknown topic is harmless. */
    st_md_partition_update_t ghost = pstate("ghost", 0, -2, 1, NULL, 0, NULL, 0);
    cr_assert_eq(apply(1, false, &ghost, 1), 0);
    s = st_metadata_cache_acquire(cache);
    cr_assert_null(st_md_snapshot_topic(s, "ghost"));
    st_md_snapshot_release(s);
}

Test(metadata_cache, held_snapshot_is_immutable)
{
    st_md_partition_update_t p = pstate("t", 0, 1, 1, r123, 3, r123, 3);
    cr_assert_eq(apply(1, true, &p, 1), 0);
    st_md_snapshot_t *old = st_metadata_cache_acquire(cache);
    uint64_t v = old->version;
    st_md_partition_update_t del = pstate("t", 0, -2, 2, NULL, 0, NULL, 0);
    cr_assert_eq(apply(2, false, &del, 1), 0);
    /* The old snapshot still describes t, after the cache moved on. */
    cr_assert_not_null(st_md_snapshot_topic(old, "t"));
    cr_assert_eq(old->controller_epoch, 1);
    cr_assert_eq(old->n_brokers, 3);
    st_md_snapshot_t *cur = st_metadata_cache_acquire(cache);
    cr_assert_neq(cur, old);
    cr_assert_eq(cur->version, v + 1);
    cr_assert_null(st_md_snapshot_topic(cur, "t"));
    st_md_snapshot_release(cur);
    /* The cache may go first: the snapshot lives until its last reference. */
    st_metadata_cache_free(cache);
    cache = NULL;
    cr_assert_eq(old->n_topics, 1);
    st_md_snapshot_release(old);
    cr_assert_eq(st_metadata_cache_new("again", &cache), 0);
}

Test(metadata_cache, older_controller_epoch_refused)
{
    st_md_partition_update_t p = pstate("t", 0, 1, 1, r123, 3, r123, 3);
    cr_assert_eq(apply(5, true, &p, 1), 0);
    st_md_partition_update_t q = pstate("t", 0, 2, 9, r123, 3, r123, 3);
    cr_assert_eq(apply(4, true, &q, 1), -ESTALE);
    cr_assert_eq(apply(5, true, &q, 1), 0);       /* equal epoch: accepted */
    st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
    cr_assert_eq(st_md_snapshot_topic(s, "t")->parts[0].lisr.leader_epoch, 9);
    cr_assert_eq(s->controller_epoch, 5);
    st_md_snapshot_release(s);
}

Test(metadata_cache, invalid_input_changes_nothing)
{
    st_md_partition_update_t p = pstate("t", 0, 1, 1, r123, 3, r123, 3);
    cr_assert_eq(apply(1, true, &p, 1), 0);
    st_md_snapshot_t *before = st_metadata_cache_acquire(cache);
    int32_t dup[] = { 1, 1 };
    st_md_partition_update_t bad[] = {
        pstate("t", 0, 1, 2, dup, 2, r12, 2),            /* duplicate replica */
        pstate("", 0, 1, 2, r12, 2, r12, 2),             /* no topic */
        pstate("t", -1, 1, 2, r12, 2, r12, 2),           /* negative partition */
        pstate("t", 0, -3, 2, r12, 2, r12, 2),           /* bad leader */
    };
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(apply(2, false, &bad[i], 1), -EINVAL, "bad update %zu accepted", i);
    brokers[1].id = brokers[0].id;                       /* duplicate broker id */
    cr_assert_eq(apply(2, true, NULL, 0), -EINVAL);
    setup_brokers();
    brokers[0].n_listeners = 0;                          /* broker without endpoint */
    cr_assert_eq(apply(2, true, NULL, 0), -EINVAL);
    st_md_snapshot_t *after = st_metadata_cache_acquire(cache);
    cr_assert_eq(after, before);
    cr_assert_eq(after->controller_epoch, 1);
    st_md_snapshot_release(after);
    st_md_snapshot_release(before);
}

Test(metadata_cache, getters)
{
    cr_assert_eq(st_metadata_cache_controller(cache), -1);
    cr_assert_eq(apply(2, true, NULL, 0), 0);
    cr_assert_eq(st_metadata_cache_controller(cache), 2);
    char id[64];
    st_metadata_cache_cluster_id(cache, id, sizeof(id));
    cr_assert_str_eq(id, "cluster-x");
    st_metadata_cache_set_cluster_id(cache, "cluster-y");
    st_metadata_cache_cluster_id(cache, id, sizeof(id));
    cr_assert_str_eq(id, "cluster-y");
}

/* Readers acquire and walk snapshots while a writer keeps replacing them: every snapshot seen
 * is internally consistent (run under ASan/TSan to catch a use after free). */
static atomic_bool stop_readers;

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    while (!atomic_load(&stop_readers)) {
        st_md_snapshot_t *s = st_metadata_cache_acquire(cache);
        cr_assert_geq(s->version, last);
        last = s->version;
        st_md_snapshot_check(s);
        const st_md_topic_t *t = st_md_snapshot_topic(s, "t");
        if (t)
            cr_assert_eq(t->parts[0].lisr.leader_epoch, t->parts[0].lisr.zk_version);
        st_md_snapshot_release(s);
    }
    return NULL;
}

Test(metadata_cache, concurrent_readers_one_writer)
{
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, reader, NULL);
    for (int32_t e = 0; e < 2000; e++) {
        st_md_partition_update_t p = pstate("t", 0, 1 + e % 3, e, r123, 3, r123, 1 + e % 3);
        if (e % 7 == 6)
            p.state.lisr.leader = -2;
        cr_assert_eq(apply(e / 100, e % 2 == 0, &p, 1), 0);
    }
    atomic_store(&stop_readers, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}
