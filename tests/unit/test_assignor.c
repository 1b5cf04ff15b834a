/* The partition assignors (common/client/st_assignor*.c) against Kafka's documented examples
 * (the javadoc of RangeAssignor, RoundRobinAssignor, StickyAssignor) and the scenarios of
 * RangeAssignorTest, RoundRobinAssignorTest, AbstractStickyAssignorTest, StickyAssignorTest and
 * CooperativeStickyAssignorTest (re-stated here, not copied), then property tests over random
 * groups: every subscribed partition assigned exactly once and only to a subscriber; range and
 * roundrobin as defined; sticky minimal in sum(count^2) and maximal in partitions kept, checked
 * against exhaustive search on small groups and against the closed form for equal
 * subscriptions; cooperative-sticky never hands a partition to a new owner in the round its
 * owner gives it up, and settles in one more round. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_assignor.h"

/* ---- building groups from short specs ---------------------------------------------------------
 * add(g, "C0", NULL, "t0 t1", "t0-0 t1-2", 3): member C0, dynamic, subscribed to t0 and t1,
 * owning t0-0 and t1-2 in generation 3. Topic names end at their last '-'. */
#define MAXM 64
#define MAXT 48
#define MAXO 512

typedef struct grp {
    st_assign_member_t m[MAXM];
    size_t n;
    const char *topics[MAXM][MAXT];
    char tnames[MAXM][MAXT][24];
    st_tp_t owned[MAXM][MAXO];
    char onames[MAXM][MAXO][24];
    st_assign_topic_t t[MAXT];
    char tt[MAXT][24];
    size_t nt;
} grp_t;

static grp_t *grp_new(void)
{
    grp_t *g = calloc(1, sizeof(*g));
    cr_assert_not_null(g);
    return g;
}

static void topic(grp_t *g, const char *name, int32_t parts)
{
    cr_assert_lt(g->nt, MAXT);
    snprintf(g->tt[g->nt], sizeof(g->tt[0]), "%s", name);
    g->t[g->nt] = (st_assign_topic_t){ g->tt[g->nt], parts };
    g->nt++;
}

static size_t add(grp_t *g, const char *id, const char *instance, const char *topics,
                  const char *owned, int32_t gen)
{
    cr_assert_lt(g->n, MAXM);
    size_t i = g->n++;
    st_assign_member_t *m = &g->m[i];
    memset(m, 0, sizeof(*m));
    m->member_id = id;
    m->group_instance_id = instance;
    m->generation = gen;
    m->topics = g->topics[i];
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", topics ? topics : "");
    for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        snprintf(g->tnames[i][m->topic_cnt], sizeof(g->tnames[0][0]), "%s", w);
        g->topics[i][m->topic_cnt] = g->tnames[i][m->topic_cnt];
        m->topic_cnt++;
    }
    m->owned.v = g->owned[i];
    snprintf(buf, sizeof(buf), "%s", owned ? owned : "");
    for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *dash = strrchr(w, '-');
        cr_assert_not_null(dash, "bad partition spec %s", w);
        *dash = '\0';
        snprintf(g->onames[i][m->owned.n], sizeof(g->onames[0][0]), "%s", w);
        g->owned[i][m->owned.n] = (st_tp_t){ g->onames[i][m->owned.n], atoi(dash + 1) };
        m->owned.n++;
    }
    return i;
}

/* Sets member i's owned partitions to a result list (for the next round). */
static void set_owned(grp_t *g, size_t i, const st_tp_list_t *l, int32_t gen)
{
    cr_assert_leq(l->n, MAXO);
    for (size_t k = 0; k < l->n; k++) {
        snprintf(g->onames[i][k], sizeof(g->onames[0][0]), "%s", l->v[k].topic);
        g->owned[i][k] = (st_tp_t){ g->onames[i][k], l->v[k].partition };
    }
    g->m[i].owned = (st_tp_list_t){ g->owned[i], l->n };
    g->m[i].generation = gen;
}

static void remove_member(grp_t *g, size_t i)
{
    /* keep the storage of later members in place: move the struct and re-point its arrays */
    for (size_t k = i; k + 1 < g->n; k++) {
        memcpy(g->topics[k], g->topics[k + 1], sizeof(g->topics[0]));
        memcpy(g->tnames[k], g->tnames[k + 1], sizeof(g->tnames[0]));
        memcpy(g->owned[k], g->owned[k + 1], sizeof(g->owned[0]));
        memcpy(g->onames[k], g->onames[k + 1], sizeof(g->onames[0]));
        g->m[k] = g->m[k + 1];
        for (size_t j = 0; j < g->m[k].topic_cnt; j++)
            g->topics[k][j] = g->tnames[k][j];
        g->m[k].topics = g->topics[k];
        for (size_t j = 0; j < g->m[k].owned.n; j++)
            g->owned[k][j].topic = g->onames[k][j];
        g->m[k].owned.v = g->owned[k];
    }
    g->n--;
}

static size_t member_index(const grp_t *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->m[i].member_id, id) == 0)
            return i;
    cr_assert_fail("no member %s", id);
    return 0;
}

static void run(st_assignor_t a, const grp_t *g, st_assign_result_t *res)
{
    char err[256] = "";
    int rc = st_assign(a, g->m, g->n, g->t, g->nt, res, err, sizeof(err));
    cr_assert_eq(rc, 0, "st_assign(%s): %d %s", st_assignor_name(a), rc, err);
    cr_assert_eq(res->member_cnt, g->n);
}

static bool has(const st_tp_list_t *l, const char *t, int32_t p)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k].topic, t) == 0 && l->v[k].partition == p)
            return true;
    return false;
}

static const char *fmt(const st_tp_list_t *l)
{
    static char s[8][2048];
    static int which;
    char *o = s[which++ % 8];
    size_t n = 0;
    o[0] = '\0';
    for (size_t k = 0; k < l->n && n < 2000; k++)
        n += (size_t)snprintf(o + n, 2048 - n, "%s%s-%d", k ? " " : "", l->v[k].topic,
                              l->v[k].partition);
    return o;
}

/* The member's partitions are exactly those in spec (any order). */
static void expect(const st_assign_result_t *res, const grp_t *g, const char *id,
                   const char *spec)
{
    const st_tp_list_t *l = &res->assigned[member_index(g, id)];
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", spec);
    size_t want = 0;
    for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *dash = strrchr(w, '-');
        *dash = '\0';
        cr_assert(has(l, w, atoi(dash + 1)), "%s: expected [%s], got [%s]", id, spec, fmt(l));
        want++;
    }
    cr_assert_eq(l->n, want, "%s: expected [%s], got [%s]", id, spec, fmt(l));
}

/* Every listed partition of l is also in the member's earlier list. */
static bool subset(const st_tp_list_t *l, const st_tp_list_t *of)
{
    for (size_t k = 0; k < l->n; k++)
        if (!has(of, l->v[k].topic, l->v[k].partition))
            return false;
    return true;
}

static bool disjoint(const st_tp_list_t *a, const st_tp_list_t *b)
{
    for (size_t k = 0; k < a->n; k++)
        if (has(b, a->v[k].topic, a->v[k].partition))
            return false;
    return true;
}

static void copy_list(st_tp_list_t *dst, st_tp_t *store, char (*names)[24], const st_tp_list_t *s)
{
    for (size_t k = 0; k < s->n; k++) {
        snprintf(names[k], 24, "%s", s->v[k].topic);
        store[k] = (st_tp_t){ names[k], s->v[k].partition };
    }
    *dst = (st_tp_list_t){ store, s->n };
}

/* ==== range ==================================================================================== */
Test(range, javadoc_example)
{
    grp_t *g = grp_new();
    topic(g, "t0", 3);
    topic(g, "t1", 3);
    add(g, "C0", NULL, "t0 t1", NULL, -1);
    add(g, "C1", NULL, "t0 t1", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "C0", "t0-0 t0-1 t1-0 t1-1");
    expect(&res, g, "C1", "t0-2 t1-2");
    st_assign_result_free(&res);
    free(g);
}

Test(range, one_consumer_no_topic_or_nonexistent_topic)
{
    grp_t *g = grp_new();
    add(g, "consumer", NULL, "", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer", "");
    st_assign_result_free(&res);
    remove_member(g, 0);
    add(g, "consumer", NULL, "topic", NULL, -1);
    topic(g, "other", 3);
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer", "");
    st_assign_result_free(&res);
    free(g);
}

Test(range, only_subscribed_topics_and_mixed_subscriptions)
{
    /* testOnlyAssignsPartitionsFromSubscribedTopics, testMultipleConsumersMixedTopics */
    grp_t *g = grp_new();
    topic(g, "topic1", 3);
    topic(g, "topic2", 2);
    topic(g, "other", 3);
    add(g, "consumer1", NULL, "topic1", NULL, -1);
    add(g, "consumer2", NULL, "topic1 topic2", NULL, -1);
    add(g, "consumer3", NULL, "topic1", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer1", "topic1-0");
    expect(&res, g, "consumer2", "topic1-1 topic2-0 topic2-1");
    expect(&res, g, "consumer3", "topic1-2");
    st_assign_result_free(&res);
    free(g);
}

Test(range, static_members_ordered_by_instance_id)
{
    /* testTwoStaticConsumersTwoTopicsSixPartitions: consumer-b (instance1) sorts before
     * consumer-a (instance2); testOneStaticConsumerAndOneDynamicConsumer...: static first */
    grp_t *g = grp_new();
    topic(g, "topic1", 3);
    topic(g, "topic2", 3);
    add(g, "consumer-b", "instance1", "topic1 topic2", NULL, -1);
    add(g, "consumer-a", "instance2", "topic1 topic2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer-b", "topic1-0 topic1-1 topic2-0 topic2-1");
    expect(&res, g, "consumer-a", "topic1-2 topic2-2");
    st_assign_result_free(&res);

    g->m[1].group_instance_id = NULL;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer-b", "topic1-0 topic1-1 topic2-0 topic2-1");
    expect(&res, g, "consumer-a", "topic1-2 topic2-2");
    st_assign_result_free(&res);
    free(g);
}

Test(range, static_assignment_persists)
{
    /* testStaticMemberRangeAssignmentPersistent: three static members and a dynamic one; the
     * dynamic member is replaced, nobody else moves */
    grp_t *g = grp_new();
    topic(g, "topic1", 5);
    topic(g, "topic2", 4);
    add(g, "consumer1", "instance1", "topic1 topic2", NULL, -1);
    add(g, "consumer2", "instance2", "topic1 topic2", NULL, -1);
    add(g, "consumer3", "instance3", "topic1 topic2", NULL, -1);
    add(g, "consumer4", NULL, "topic1 topic2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic1-1 topic2-0");
    expect(&res, g, "consumer2", "topic1-2 topic2-1");
    expect(&res, g, "consumer3", "topic1-3 topic2-2");
    expect(&res, g, "consumer4", "topic1-4 topic2-3");
    st_assign_result_free(&res);
    remove_member(g, 3);
    add(g, "consumer5", NULL, "topic1 topic2", NULL, -1);
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic1-1 topic2-0");
    expect(&res, g, "consumer2", "topic1-2 topic2-1");
    expect(&res, g, "consumer3", "topic1-3 topic2-2");
    expect(&res, g, "consumer5", "topic1-4 topic2-3");
    st_assign_result_free(&res);
    free(g);
}

Test(range, static_assignment_persists_after_member_id_changes)
{
    /* testStaticMemberRangeAssignmentPersistentAfterMemberIdChanges (and the javadoc's rolling
     * bounce): new member ids, same instance ids, same partitions per instance */
    grp_t *g = grp_new();
    topic(g, "topic1", 5);
    topic(g, "topic2", 5);
    add(g, "consumer1", "instance1", "topic1 topic2", NULL, -1);
    add(g, "consumer2", "instance2", "topic1 topic2", NULL, -1);
    add(g, "consumer3", "instance3", "topic1 topic2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic1-1 topic2-0 topic2-1");
    expect(&res, g, "consumer2", "topic1-2 topic1-3 topic2-2 topic2-3");
    expect(&res, g, "consumer3", "topic1-4 topic2-4");
    st_assign_result_free(&res);
    g->m[1].member_id = "consumer5";   /* was consumer2 */
    g->m[2].member_id = "consumer4";   /* was consumer3 */
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic1-1 topic2-0 topic2-1");
    expect(&res, g, "consumer5", "topic1-2 topic1-3 topic2-2 topic2-3");
    expect(&res, g, "consumer4", "topic1-4 topic2-4");
    st_assign_result_free(&res);
    /* without instance ids the same change reshuffles (the javadoc's point) */
    for (size_t i = 0; i < 3; i++)
        g->m[i].group_instance_id = NULL;
    run(ST_ASSIGNOR_RANGE, g, &res);
    expect(&res, g, "consumer4", "topic1-2 topic1-3 topic2-2 topic2-3");
    expect(&res, g, "consumer5", "topic1-4 topic2-4");
    st_assign_result_free(&res);
    free(g);
}

/* ==== roundrobin =============================================================================== */
Test(roundrobin, javadoc_examples)
{
    grp_t *g = grp_new();
    topic(g, "t0", 3);
    topic(g, "t1", 3);
    add(g, "C0", NULL, "t0 t1", NULL, -1);
    add(g, "C1", NULL, "t0 t1", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C0", "t0-0 t0-2 t1-1");
    expect(&res, g, "C1", "t0-1 t1-0 t1-2");
    st_assign_result_free(&res);
    free(g);

    /* differing subscriptions: skipped members make it uneven */
    g = grp_new();
    topic(g, "t0", 1);
    topic(g, "t1", 2);
    topic(g, "t2", 3);
    add(g, "C0", NULL, "t0", NULL, -1);
    add(g, "C1", NULL, "t0 t1", NULL, -1);
    add(g, "C2", NULL, "t0 t1 t2", NULL, -1);
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C0", "t0-0");
    expect(&res, g, "C1", "t1-0");
    expect(&res, g, "C2", "t1-1 t2-0 t2-1 t2-2");
    st_assign_result_free(&res);
    free(g);
}

Test(roundrobin, three_members_and_static_persistence)
{
    /* javadoc: C0 [t0p0 t1p0], C1 [t0p1 t1p1], C2 [t0p2 t1p2]; after a rolling bounce with
     * static members the instances keep their partitions */
    grp_t *g = grp_new();
    topic(g, "t0", 3);
    topic(g, "t1", 3);
    add(g, "C0", NULL, "t0 t1", NULL, -1);
    add(g, "C1", NULL, "t0 t1", NULL, -1);
    add(g, "C2", NULL, "t0 t1", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C0", "t0-0 t1-0");
    expect(&res, g, "C1", "t0-1 t1-1");
    expect(&res, g, "C2", "t0-2 t1-2");
    st_assign_result_free(&res);
    /* dynamic rolling bounce C0->C5, C1->C3, C2->C4 reshuffles */
    g->m[0].member_id = "C5";
    g->m[1].member_id = "C3";
    g->m[2].member_id = "C4";
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C3", "t0-0 t1-0");
    expect(&res, g, "C4", "t0-1 t1-1");
    expect(&res, g, "C5", "t0-2 t1-2");
    st_assign_result_free(&res);
    /* static: I0, I1, I2 always get the same */
    g->m[0].group_instance_id = "I0";
    g->m[1].group_instance_id = "I1";
    g->m[2].group_instance_id = "I2";
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C5", "t0-0 t1-0");
    expect(&res, g, "C3", "t0-1 t1-1");
    expect(&res, g, "C4", "t0-2 t1-2");
    st_assign_result_free(&res);
    free(g);
}

Test(roundrobin, static_members_with_a_dynamic_one)
{
    /* testStaticMemberRoundRobinAssignmentPersistent */
    grp_t *g = grp_new();
    topic(g, "topic1", 3);
    topic(g, "topic2", 3);
    add(g, "consumer1", "instance1", "topic1 topic2", NULL, -1);
    add(g, "consumer2", "instance2", "topic1 topic2", NULL, -1);
    add(g, "consumer3", "instance3", "topic1 topic2", NULL, -1);
    add(g, "consumer4", NULL, "topic1 topic2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic2-1");
    expect(&res, g, "consumer2", "topic1-1 topic2-2");
    expect(&res, g, "consumer3", "topic1-2");
    expect(&res, g, "consumer4", "topic2-0");
    st_assign_result_free(&res);
    remove_member(g, 3);
    add(g, "consumer5", NULL, "topic1 topic2", NULL, -1);
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "consumer5", "topic2-0");
    expect(&res, g, "consumer1", "topic1-0 topic2-1");
    st_assign_result_free(&res);
    free(g);

    /* testStaticMemberRoundRobinAssignmentPersistentAfterMemberIdChanges */
    g = grp_new();
    topic(g, "topic1", 5);
    topic(g, "topic2", 5);
    add(g, "consumer1", "instance1", "topic1 topic2", NULL, -1);
    add(g, "consumer2", "instance2", "topic1 topic2", NULL, -1);
    add(g, "consumer3", "instance3", "topic1 topic2", NULL, -1);
    for (int round = 0; round < 2; round++) {
        run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
        expect(&res, g, g->m[0].member_id, "topic1-0 topic1-3 topic2-1 topic2-4");
        expect(&res, g, g->m[1].member_id, "topic1-1 topic1-4 topic2-2");
        expect(&res, g, g->m[2].member_id, "topic1-2 topic2-0 topic2-3");
        st_assign_result_free(&res);
        g->m[1].member_id = "consumer5";
        g->m[2].member_id = "consumer4";
    }
    free(g);
}

/* ==== sticky: Kafka's javadoc =================================================================== */
Test(sticky, javadoc_example_1)
{
    grp_t *g = grp_new();
    topic(g, "t0", 2);
    topic(g, "t1", 2);
    topic(g, "t2", 2);
    topic(g, "t3", 2);
    add(g, "C0", NULL, "t0 t1 t2 t3", NULL, -1);
    add(g, "C1", NULL, "t0 t1 t2 t3", NULL, -1);
    add(g, "C2", NULL, "t0 t1 t2 t3", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "C0", "t0-0 t1-1 t3-0");
    expect(&res, g, "C1", "t0-1 t2-0 t3-1");
    expect(&res, g, "C2", "t1-0 t2-1");
    /* C1 leaves: C0 and C2 keep everything; round robin would not */
    set_owned(g, 0, &res.assigned[0], 1);
    set_owned(g, 2, &res.assigned[2], 1);
    st_assign_result_free(&res);
    remove_member(g, 1);
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "C0", "t0-0 t1-1 t3-0 t2-0");
    expect(&res, g, "C2", "t1-0 t2-1 t0-1 t3-1");
    st_assign_result_free(&res);
    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    expect(&res, g, "C0", "t0-0 t1-0 t2-0 t3-0");
    expect(&res, g, "C2", "t0-1 t1-1 t2-1 t3-1");
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, javadoc_example_2)
{
    grp_t *g = grp_new();
    topic(g, "t0", 1);
    topic(g, "t1", 2);
    topic(g, "t2", 3);
    add(g, "C0", NULL, "t0", NULL, -1);
    add(g, "C1", NULL, "t0 t1", NULL, -1);
    add(g, "C2", NULL, "t0 t1 t2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "C0", "t0-0");
    expect(&res, g, "C1", "t1-0 t1-1");
    expect(&res, g, "C2", "t2-0 t2-1 t2-2");
    set_owned(g, 1, &res.assigned[1], 1);
    set_owned(g, 2, &res.assigned[2], 1);
    st_assign_result_free(&res);
    remove_member(g, 0);
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "C1", "t1-0 t1-1 t0-0");
    expect(&res, g, "C2", "t2-0 t2-1 t2-2");
    st_assign_result_free(&res);
    free(g);
}

/* ==== sticky: AbstractStickyAssignorTest / StickyAssignorTest scenarios ========================= */
Test(sticky, owning_min_quota_expecting_max_quota)
{
    grp_t *g = grp_new();
    topic(g, "topic1", 2);
    topic(g, "topic2", 3);
    add(g, "consumer1", NULL, "topic1 topic2", "topic1-0 topic2-1", 1);
    add(g, "consumer2", NULL, "topic1 topic2", "topic1-1 topic2-2", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic2-1 topic2-0");
    expect(&res, g, "consumer2", "topic1-1 topic2-2");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, max_quota_owners_outnumber_the_max_quota_slots)
{
    /* testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers: 4 partitions, 3 members, one
     * maxQuota (2) slot, two members owning 2. Kafka gives the slot to whichever its HashMap
     * visits first (consumer2 there); Strand to the lower member id. Either way one member
     * keeps 2, the other keeps its lowest partition number, and the third gets the released
     * partition -- withheld by cooperative-sticky until its owner revokes it. */
    grp_t *g = grp_new();
    topic(g, "topic1", 2);
    topic(g, "topic2", 2);
    add(g, "consumer1", NULL, "topic1 topic2", "topic1-0 topic2-0", 1);
    add(g, "consumer2", NULL, "topic1 topic2", "topic1-1 topic2-1", 1);
    add(g, "consumer3", NULL, "topic1 topic2", "", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic2-0");
    expect(&res, g, "consumer2", "topic1-1");
    expect(&res, g, "consumer3", "topic2-1");
    st_assign_result_free(&res);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer3", "");
    cr_assert_eq(res.pending_cnt, 1);
    cr_assert_str_eq(res.pending[0].tp.topic, "topic2");
    cr_assert_eq(res.pending[0].tp.partition, 1);
    cr_assert_eq(res.pending[0].to, 2);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, all_under_min_quota)
{
    grp_t *g = grp_new();
    topic(g, "topic1", 2);
    topic(g, "topic2", 3);
    add(g, "consumer1", NULL, "topic1 topic2", "topic1-0", 1);
    add(g, "consumer2", NULL, "topic1 topic2", "topic1-1", 1);
    add(g, "consumer3", NULL, "topic1 topic2", "", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic1-0 topic2-1");
    expect(&res, g, "consumer2", "topic1-1 topic2-2");
    expect(&res, g, "consumer3", "topic2-0");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, all_reach_expected_quota)
{
    grp_t *g = grp_new();
    topic(g, "topic", 4);
    add(g, "consumer1", NULL, "topic", "topic-0 topic-1", 1);
    add(g, "consumer2", NULL, "topic", "topic-2", 1);
    add(g, "consumer3", NULL, "topic", "", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic-1");
    expect(&res, g, "consumer2", "topic-2");
    expect(&res, g, "consumer3", "topic-3");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, add_and_remove_consumer_one_topic)
{
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    add(g, "consumer1", NULL, "topic", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic-1 topic-2");
    set_owned(g, 0, &res.assigned[0], 1);
    st_assign_result_free(&res);

    add(g, "consumer2", NULL, "topic", "", 1);
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic-1");
    expect(&res, g, "consumer2", "topic-2");
    st_assign_result_free(&res);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic-1");
    expect(&res, g, "consumer2", "");
    cr_assert_eq(res.pending_cnt, 1);
    cr_assert_eq(res.pending[0].tp.partition, 2);
    /* the follow-up rebalance: consumer1 revoked topic-2, now consumer2 gets it */
    set_owned(g, 0, &res.assigned[0], 2);
    set_owned(g, 1, &res.assigned[1], 2);
    st_assign_result_free(&res);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic-1");
    expect(&res, g, "consumer2", "topic-2");
    cr_assert_eq(res.pending_cnt, 0);
    set_owned(g, 1, &res.assigned[1], 3);
    st_assign_result_free(&res);

    remove_member(g, 0);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer2", "topic-0 topic-1 topic-2");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

/* Per-topic counts of a member's list. */
static size_t topic_count(const st_tp_list_t *l, const char *t)
{
    size_t n = 0;
    for (size_t k = 0; k < l->n; k++)
        n += strcmp(l->v[k].topic, t) == 0;
    return n;
}

Test(sticky, topic_balance_after_reassignment)
{
    /* testTopicBalanceAfterReassignment: keeping the lowest partition numbers first spreads
     * each topic evenly as members come and go */
    grp_t *g = grp_new();
    topic(g, "topic1", 12);
    topic(g, "topic2", 12);
    add(g, "consumer1", NULL, "topic1 topic2", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    set_owned(g, 0, &res.assigned[0], 1);
    st_assign_result_free(&res);

    add(g, "consumer2", NULL, "topic1 topic2", "", 1);
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < g->n; i++) {
        cr_assert_eq(topic_count(&res.assigned[i], "topic1"), 6, "[%s]", fmt(&res.assigned[i]));
        cr_assert_eq(topic_count(&res.assigned[i], "topic2"), 6);
        set_owned(g, i, &res.assigned[i], 2);
    }
    st_assign_result_free(&res);

    add(g, "consumer3", NULL, "topic1 topic2", "", 2);
    add(g, "consumer4", NULL, "topic1 topic2", "", 2);
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < g->n; i++) {
        cr_assert_eq(topic_count(&res.assigned[i], "topic1"), 3, "[%s]", fmt(&res.assigned[i]));
        cr_assert_eq(topic_count(&res.assigned[i], "topic2"), 3);
        set_owned(g, i, &res.assigned[i], 3);
    }
    st_assign_result_free(&res);

    remove_member(g, 0);
    remove_member(g, 0);
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < g->n; i++) {
        cr_assert_eq(topic_count(&res.assigned[i], "topic1"), 6, "[%s]", fmt(&res.assigned[i]));
        cr_assert_eq(topic_count(&res.assigned[i], "topic2"), 6);
        cr_assert(subset(&g->m[i].owned, &res.assigned[i]), "lost an owned partition");
    }
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, add_remove_topic_two_consumers)
{
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    add(g, "consumer1", NULL, "topic", NULL, -1);
    add(g, "consumer2", NULL, "topic", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    st_tp_t s1[2][8];
    char n1[2][8][24];
    st_tp_list_t first[2];
    for (size_t i = 0; i < 2; i++) {
        copy_list(&first[i], s1[i], n1[i], &res.assigned[i]);
        set_owned(g, i, &res.assigned[i], 1);
        g->topics[i][1] = "topic2";
        g->m[i].topic_cnt = 2;
    }
    cr_assert(first[0].n + first[1].n == 3 && first[0].n >= 1 && first[1].n >= 1);
    st_assign_result_free(&res);

    topic(g, "topic2", 3);
    run(ST_ASSIGNOR_STICKY, g, &res);
    st_tp_t s2[2][8];
    char n2[2][8][24];
    st_tp_list_t second[2];
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(res.assigned[i].n, 3);
        cr_assert(subset(&first[i], &res.assigned[i]));
        copy_list(&second[i], s2[i], n2[i], &res.assigned[i]);
        set_owned(g, i, &res.assigned[i], 2);
        g->topics[i][0] = "topic2";
        g->m[i].topic_cnt = 1;
    }
    st_assign_result_free(&res);

    g->t[0].partitions = 0;   /* topic deleted */
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < 2; i++) {
        cr_assert(res.assigned[i].n >= 1 && res.assigned[i].n <= 2);
        cr_assert(subset(&res.assigned[i], &second[i]));
    }
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, claimed_by_two_in_the_same_generation)
{
    /* testAllConsumersHaveOwnedPartitionInvalidatedWhenClaimedByMultipleConsumersInSame
     * Generation (equal and unequal partitions per consumer) and
     * testPartitionsTransferringOwnershipIncludeThePartitionClaimedByMultipleConsumers... */
    for (int parts = 3; parts <= 4; parts++) {
        grp_t *g = grp_new();
        topic(g, "topic", parts);
        add(g, "consumer1", NULL, "topic", "topic-0 topic-1", 1);
        add(g, "consumer2", NULL, "topic", "topic-0 topic-2", 1);
        add(g, "consumer3", NULL, "topic", "", 1);
        st_assign_result_t res;
        run(ST_ASSIGNOR_STICKY, g, &res);
        expect(&res, g, "consumer1", parts == 3 ? "topic-1" : "topic-1 topic-3");
        expect(&res, g, "consumer2", "topic-2");
        expect(&res, g, "consumer3", "topic-0");
        st_assign_result_free(&res);
        run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
        expect(&res, g, "consumer1", parts == 3 ? "topic-1" : "topic-1 topic-3");
        expect(&res, g, "consumer2", "topic-2");
        expect(&res, g, "consumer3", "");
        cr_assert_eq(res.pending_cnt, 1);
        cr_assert_eq(res.pending[0].tp.partition, 0);
        cr_assert_eq(res.pending[0].to, 2);
        st_assign_result_free(&res);
        free(g);
    }
}

Test(sticky, stale_and_missing_generations_lose_conflicts)
{
    /* testOwnedPartitionsAreInvalidatedForConsumerWithStaleGeneration / ...WithNoGeneration */
    for (int k = 0; k < 2; k++) {
        grp_t *g = grp_new();
        topic(g, "topic", 3);
        topic(g, "topic2", 3);
        add(g, "consumer1", NULL, "topic topic2", "topic-0 topic-2 topic2-1", 10);
        add(g, "consumer2", NULL, "topic topic2", "topic-0 topic-2 topic2-1", k ? -1 : 9);
        st_assign_result_t res;
        run(ST_ASSIGNOR_STICKY, g, &res);
        expect(&res, g, "consumer1", "topic-0 topic-2 topic2-1");
        expect(&res, g, "consumer2", "topic-1 topic2-0 topic2-2");
        st_assign_result_free(&res);
        free(g);
    }
}

Test(sticky, partitions_go_to_the_highest_generation)
{
    /* testEnsurePartitionsAssignedToHighestGeneration */
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    topic(g, "topic2", 3);
    topic(g, "topic3", 3);
    add(g, "consumer1", NULL, "topic topic2 topic3", "topic-0 topic2-0 topic3-0", 10);
    add(g, "consumer2", NULL, "topic topic2 topic3", "topic-1 topic2-1 topic3-1", 9);
    add(g, "consumer3", NULL, "topic topic2 topic3", "topic2-1 topic3-0 topic3-2", 8);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic2-0 topic3-0");
    expect(&res, g, "consumer2", "topic-1 topic2-1 topic3-1");
    expect(&res, g, "consumer3", "topic-2 topic2-2 topic3-2");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, no_reassignment_of_current_members)
{
    /* testNoReassignmentOnCurrentMembers: different generations, no conflicts: everyone keeps
     * what they own and the newcomer gets the rest */
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    topic(g, "topic1", 3);
    topic(g, "topic2", 3);
    topic(g, "topic3", 3);
    const char *all = "topic topic2 topic3 topic1";
    add(g, "consumer1", NULL, all, "", -1);
    add(g, "consumer2", NULL, all, "topic-0 topic2-0 topic1-0", 9);
    add(g, "consumer3", NULL, all, "topic3-2 topic2-2 topic1-1", 8);
    add(g, "consumer4", NULL, all, "topic3-1 topic-1 topic-2", 7);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic1-2 topic2-1 topic3-0");
    expect(&res, g, "consumer2", "topic-0 topic2-0 topic1-0");
    expect(&res, g, "consumer3", "topic3-2 topic2-2 topic1-1");
    expect(&res, g, "consumer4", "topic3-1 topic-1 topic-2");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, claims_in_several_generations)
{
    /* testOwnedPartitionsAreInvalidatedForConsumerWithMultipleGeneration */
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    topic(g, "topic2", 3);
    add(g, "consumer1", NULL, "topic topic2", "topic-0 topic2-1 topic-1", 10);
    add(g, "consumer2", NULL, "topic topic2", "topic-0 topic2-1 topic2-2", 8);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "topic-0 topic2-1 topic-1");
    expect(&res, g, "consumer2", "topic-2 topic2-2 topic2-0");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, unequal_subscriptions_same_partition_three_generations)
{
    /* testSubscriptionNotEqualAndAssignSamePartitionWith3Generation: every permutation of the
     * generations: no partition twice, every member 1 or 2 */
    static const int seq[6][3] = { { 1, 2, 3 }, { 1, 3, 2 }, { 2, 1, 3 },
                                   { 2, 3, 1 }, { 3, 1, 2 }, { 3, 2, 1 } };
    for (int s = 0; s < 6; s++) {
        grp_t *g = grp_new();
        topic(g, "topic", 6);
        topic(g, "topic1", 1);
        add(g, "consumer1", NULL, "topic", "topic-0 topic-2", seq[s][0]);
        add(g, "consumer2", NULL, "topic", "topic-1 topic-2 topic-3", seq[s][1]);
        add(g, "consumer3", NULL, "topic", "topic-2 topic-4 topic-5", seq[s][2]);
        add(g, "consumer4", NULL, "topic1", "topic1-0", 2);
        st_assign_result_t res;
        run(ST_ASSIGNOR_STICKY, g, &res);
        size_t total = 0;
        for (size_t i = 0; i < g->n; i++) {
            cr_assert(res.assigned[i].n >= 1 && res.assigned[i].n <= 2);
            total += res.assigned[i].n;
            for (size_t j = i + 1; j < g->n; j++)
                cr_assert(disjoint(&res.assigned[i], &res.assigned[j]));
        }
        cr_assert_eq(total, 7);
        /* the highest generation's claims are valid (topic-2 included): it keeps two of them */
        size_t top = seq[s][0] == 3 ? 0 : seq[s][1] == 3 ? 1 : 2;
        cr_assert(subset(&res.assigned[top], &g->m[top].owned), "[%s]", fmt(&res.assigned[top]));
        cr_assert_eq(res.assigned[top].n, 2);
        st_assign_result_free(&res);
        free(g);
    }
}

Test(sticky, conflicting_previous_generations)
{
    /* testAssignmentWithConflictingPreviousGenerations, equal and unequal subscriptions */
    for (int equal = 0; equal <= 1; equal++) {
        grp_t *g = grp_new();
        topic(g, "topic", 4);
        topic(g, "topic2", 4);
        topic(g, "topic3", 4);
        const char *all = "topic topic2 topic3";
        const char *c1own = equal ? "topic-0 topic-1 topic-2 topic2-2 topic2-3 topic3-0"
                                  : "topic-0 topic-1 topic-2 topic-3";
        add(g, "consumer1", NULL, equal ? all : "topic", c1own, 1);
        add(g, "consumer2", NULL, equal ? all : "topic topic2",
            "topic-0 topic-1 topic2-0 topic2-1 topic2-2 topic2-3", 2);
        add(g, "consumer3", NULL, all, "topic-2 topic-3 topic3-0 topic3-1 topic3-2 topic3-3", 2);
        st_assign_result_t res;
        run(ST_ASSIGNOR_STICKY, g, &res);
        for (size_t i = 0; i < 3; i++)
            cr_assert_eq(res.assigned[i].n, 4, "equal=%d [%s]", equal, fmt(&res.assigned[i]));
        cr_assert(subset(&res.assigned[1], &g->m[1].owned));
        cr_assert(subset(&res.assigned[2], &g->m[2].owned));
        st_assign_result_free(&res);
        free(g);
    }
}

Test(sticky, multiple_generations)
{
    /* testAssignmentWithMultipleGenerations1, equal and unequal subscriptions */
    for (int equal = 0; equal <= 1; equal++) {
        grp_t *g = grp_new();
        topic(g, "topic", 6);
        topic(g, "topic2", 6);
        const char *all = "topic topic2", *c2 = equal ? all : "topic";
        add(g, "consumer1", NULL, all, NULL, -1);
        add(g, "consumer2", NULL, c2, NULL, -1);
        add(g, "consumer3", NULL, all, NULL, -1);
        st_assign_result_t r1;
        run(ST_ASSIGNOR_STICKY, g, &r1);
        for (size_t i = 0; i < 3; i++)
            cr_assert_eq(r1.assigned[i].n, 4);

        grp_t *h = grp_new();
        topic(h, "topic", 6);
        topic(h, "topic2", 6);
        add(h, "consumer1", NULL, all, NULL, -1);
        add(h, "consumer2", NULL, c2, NULL, -1);
        set_owned(h, 0, &r1.assigned[0], 1);
        set_owned(h, 1, &r1.assigned[1], 1);
        st_assign_result_t r2;
        run(ST_ASSIGNOR_STICKY, h, &r2);
        cr_assert_eq(r2.assigned[0].n, 6);
        cr_assert_eq(r2.assigned[1].n, 6);
        if (equal)
            cr_assert(subset(&r1.assigned[0], &r2.assigned[0]));
        cr_assert(subset(&r1.assigned[1], &r2.assigned[1]));
        cr_assert_not(disjoint(&r2.assigned[1], &r1.assigned[2]));

        /* consumer1 leaves; consumer3 comes back claiming its generation-1 partitions, some of
         * which consumer2 owns in generation 2 */
        grp_t *k = grp_new();
        topic(k, "topic", 6);
        topic(k, "topic2", 6);
        add(k, "consumer2", NULL, c2, NULL, -1);
        add(k, "consumer3", NULL, all, NULL, -1);
        set_owned(k, 0, &r2.assigned[1], 2);
        set_owned(k, 1, &r1.assigned[2], 1);
        st_assign_result_t r3;
        run(ST_ASSIGNOR_STICKY, k, &r3);
        cr_assert_eq(r3.assigned[0].n, 6);
        cr_assert_eq(r3.assigned[1].n, 6);
        cr_assert(disjoint(&r3.assigned[0], &r3.assigned[1]));
        cr_assert(subset(&r2.assigned[1], &r3.assigned[0]), "generation 2 keeps everything");
        st_assign_result_free(&r1);
        st_assign_result_free(&r2);
        st_assign_result_free(&r3);
        free(g);
        free(h);
        free(k);
    }
}

Test(sticky, deleted_topics)
{
    /* testAssignmentUpdatedForDeletedTopic, testNoExceptionThrownWhenOnlySubscribedTopicDeleted */
    grp_t *g = grp_new();
    topic(g, "topic1", 1);
    topic(g, "topic3", 100);
    add(g, "consumer", NULL, "topic1 topic2 topic3", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    cr_assert_eq(res.assigned[0].n, 101);
    st_assign_result_free(&res);
    free(g);

    g = grp_new();
    topic(g, "topic", 3);
    add(g, "consumer", NULL, "topic", NULL, -1);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    set_owned(g, 0, &res.assigned[0], 1);
    st_assign_result_free(&res);
    g->nt = 0;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    cr_assert_eq(res.assigned[0].n, 0);
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, poor_round_robin_scenario)
{
    /* testPoorRoundRobinAssignmentScenario: topic1..5 with (i%2)+1 partitions; the javadoc
     * answer balances 2-2-2-2 */
    grp_t *g = grp_new();
    for (int i = 1; i <= 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "topic%d", i);
        topic(g, name, (i % 2) + 1);
    }
    add(g, "consumer1", NULL, "topic1 topic2 topic3 topic4 topic5", NULL, -1);
    add(g, "consumer2", NULL, "topic1 topic3 topic5", NULL, -1);
    add(g, "consumer3", NULL, "topic1 topic3 topic5", NULL, -1);
    add(g, "consumer4", NULL, "topic1 topic2 topic3 topic4 topic5", NULL, -1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(res.assigned[i].n, 2, "[%s]", fmt(&res.assigned[i]));
    st_assign_result_free(&res);
    free(g);
}

Test(sticky, a_chain_of_moves_balances_what_single_moves_cannot)
{
    /* A {x}, B {x y}, C {y}; A owns x-0..2, B y-0 y-1, C y-2: counts 3-2-1. No single move
     * helps (Kafka's isBalanced() accepts this and moves nothing), but A -> B -> C evens it out
     * at the price of two moves. Strand puts balance first, as the javadoc says. */
    grp_t *g = grp_new();
    topic(g, "x", 3);
    topic(g, "y", 3);
    add(g, "A", NULL, "x", "x-0 x-1 x-2", 1);
    add(g, "B", NULL, "x y", "y-0 y-1", 1);
    add(g, "C", NULL, "y", "y-2", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    size_t kept = 0;
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(res.assigned[i].n, 2, "%s: [%s]", g->m[i].member_id, fmt(&res.assigned[i]));
        for (size_t k = 0; k < res.assigned[i].n; k++)
            kept += has(&g->m[i].owned, res.assigned[i].v[k].topic, res.assigned[i].v[k].partition);
    }
    cr_assert_eq(kept, 4, "exactly two partitions move");
    st_assign_result_free(&res);
    free(g);
}

/* ==== cooperative-sticky specifics ============================================================== */
Test(cooperative, uniform_transfer_list)
{
    /* testUniformSubscriptionTransferOwnershipListIsRight without racks: c0 owns 0,1 and c1
     * owns 2,3 -- balanced already, nothing moves, nothing withheld */
    grp_t *g = grp_new();
    topic(g, "topic1", 4);
    add(g, "c0", NULL, "topic1", "topic1-0 topic1-1", 1);
    add(g, "c1", NULL, "topic1", "topic1-2 topic1-3", 1);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "c0", "topic1-0 topic1-1");
    expect(&res, g, "c1", "topic1-2 topic1-3");
    cr_assert_eq(res.pending_cnt, 0);
    st_assign_result_free(&res);
    /* a third member: one partition must move, and waits a round */
    add(g, "c2", NULL, "topic1", "", 1);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    cr_assert_eq(res.pending_cnt, 1);
    cr_assert_eq(res.pending[0].to, 2);
    char err[256];
    cr_assert_eq(st_assign_check_cooperative(g->m, g->n, &res, err, sizeof(err)), 0, "%s", err);
    st_assign_result_free(&res);
    free(g);
}

Test(cooperative, a_subscription_change_revokes_before_reassigning)
{
    /* consumer1 drops topic b. Balance needs consumer1 to hold both a partitions and consumer2
     * both b partitions: a-1 moves to consumer1 and b-0 to consumer2, and both wait a round */
    grp_t *g = grp_new();
    topic(g, "a", 2);
    topic(g, "b", 2);
    add(g, "consumer1", NULL, "a", "a-0 b-0", 4);
    add(g, "consumer2", NULL, "a b", "a-1 b-1", 4);
    st_assign_result_t res;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    expect(&res, g, "consumer1", "a-0");
    expect(&res, g, "consumer2", "b-1");
    cr_assert_eq(res.pending_cnt, 2);
    cr_assert_str_eq(res.pending[0].tp.topic, "a");
    cr_assert_eq(res.pending[0].to, 0);
    cr_assert_str_eq(res.pending[1].tp.topic, "b");
    cr_assert_eq(res.pending[1].to, 1);
    char err[256];
    cr_assert_eq(st_assign_check_cooperative(g->m, g->n, &res, err, sizeof(err)), 0, "%s", err);
    st_assign_result_free(&res);
    /* the eager sticky assignment hands them straight over -- which the check refuses */
    run(ST_ASSIGNOR_STICKY, g, &res);
    expect(&res, g, "consumer1", "a-0 a-1");
    expect(&res, g, "consumer2", "b-1 b-0");
    cr_assert_eq(st_assign_check_cooperative(g->m, g->n, &res, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "a-1 is assigned to consumer1 while consumer2 still owns it"), "%s",
              err);
    st_assign_result_free(&res);
    free(g);
}

/* ==== member data and user data (memberData, subscriptionUserData) ============================== */
Test(member_data, sticky_reads_user_data)
{
    char err[256];
    st_tp_t last[] = { { "topic1", 0 }, { "topic2", 1 } };
    st_tp_list_t last_l = { last, 2 };
    st_buf_t ud = ST_BUF_INIT;
    bool null;
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_STICKY, NULL, -1, &ud, &null, err,
                                       sizeof(err)), 0);
    cr_assert(null, "no user data before the first assignment");
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_STICKY, &last_l, 2, &ud, &null, err,
                                       sizeof(err)), 0);
    cr_assert_not(null);

    /* testMemberDataWillHonorUserData: the eager sticky assignor ignores owned_partitions and
     * the subscription's generation in favour of its user data */
    st_tp_t other[] = { { "topic", 0 } };
    st_cp_subscription_t sub = { .user_data = { ud.data, (int32_t)ud.len },
                                 .owned = { other, 1 }, .generation_id = 3 };
    st_tp_list_t owned;
    int32_t gen;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(gen, 2);
    cr_assert_eq(owned.n, 2);
    cr_assert(has(&owned, "topic1", 0) && has(&owned, "topic2", 1));
    st_tp_list_free(&owned);

    /* V0 user data (no generation): partitions, default generation */
    sub.user_data.len -= 4;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(gen, -1);
    cr_assert_eq(owned.n, 2);
    st_tp_list_free(&owned);

    /* unreadable or null user data: nothing owned */
    sub.user_data.len = 3;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(owned.n, 0);
    cr_assert_eq(gen, -1);
    sub.user_data = ST_CP_BYTES_NULL;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(owned.n, 0);
    st_buf_free(&ud);
}

Test(member_data, cooperative_prefers_the_subscription)
{
    st_tp_t owned_sub[] = { { "topic", 0 } };
    st_buf_t ud = ST_BUF_INIT;
    bool null;
    char err[256];
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_COOPERATIVE_STICKY, NULL, 10, &ud, &null, err,
                                       sizeof(err)), 0);
    cr_assert_not(null);
    cr_assert_eq(ud.len, 4);

    /* testMemberDataWithInconsistentData: no generation in the subscription (v1): the user
     * data's generation, the subscription's owned partitions */
    st_cp_subscription_t sub = { .version = 1, .user_data = { ud.data, 4 },
                                 .owned = { owned_sub, 1 }, .generation_id = -1 };
    st_tp_list_t owned;
    int32_t gen;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_COOPERATIVE_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(gen, 10);
    cr_assert_eq(owned.n, 1);
    cr_assert(has(&owned, "topic", 0));
    st_tp_list_free(&owned);

    /* testMemberDataWithEmptyPartitionsAnd{Equal,Higher}Generation: v2+ generation wins */
    sub.generation_id = 12;
    sub.owned.n = 0;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_COOPERATIVE_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(gen, 12);
    cr_assert_eq(owned.n, 0);

    /* testDecodeGeneration: no user data, no generation */
    sub.generation_id = -1;
    sub.user_data = ST_CP_BYTES_NULL;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_COOPERATIVE_STICKY, &sub, &owned, &gen), 0);
    cr_assert_eq(gen, -1);

    /* range and roundrobin read nothing */
    sub.owned.n = 1;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_RANGE, &sub, &owned, &gen), 0);
    cr_assert_eq(owned.n, 0);
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_ROUNDROBIN, NULL, 1, &ud, &null, err,
                                       sizeof(err)), 0);
    cr_assert(null);
    st_buf_free(&ud);
}

Test(member_data, schema_backward_compatibility)
{
    /* testSchemaBackwardCompatibility: consumer2's user data uses the old (V0) schema */
    char err[256];
    st_tp_t c1own[] = { { "topic", 0 }, { "topic", 2 } }, c2own[] = { { "topic", 1 } };
    st_tp_list_t l1 = { c1own, 2 }, l2 = { c2own, 1 };
    st_buf_t ud1 = ST_BUF_INIT, ud2 = ST_BUF_INIT;
    bool null;
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_STICKY, &l1, 1, &ud1, &null, err,
                                       sizeof(err)), 0);
    cr_assert_eq(st_assignor_user_data(ST_ASSIGNOR_STICKY, &l2, 1, &ud2, &null, err,
                                       sizeof(err)), 0);
    st_cp_subscription_t s1 = { .user_data = { ud1.data, (int32_t)ud1.len } };
    st_cp_subscription_t s2 = { .user_data = { ud2.data, (int32_t)ud2.len - 4 } };
    grp_t *g = grp_new();
    topic(g, "topic", 3);
    add(g, "consumer1", NULL, "topic", NULL, -1);
    add(g, "consumer2", NULL, "topic", NULL, -1);
    add(g, "consumer3", NULL, "topic", NULL, -1);
    st_tp_list_t o1, o2;
    int32_t gen1, gen2;
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &s1, &o1, &gen1), 0);
    cr_assert_eq(st_assignor_member_data(ST_ASSIGNOR_STICKY, &s2, &o2, &gen2), 0);
    set_owned(g, 0, &o1, gen1);
    set_owned(g, 1, &o2, gen2);
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(res.assigned[i].n, 1);
    cr_assert(subset(&res.assigned[0], &l1));
    cr_assert(subset(&res.assigned[1], &l2));
    st_assign_result_free(&res);
    st_tp_list_free(&o1);
    st_tp_list_free(&o2);
    st_buf_free(&ud1);
    st_buf_free(&ud2);
    free(g);
}

/* ==== names and input validation ================================================================ */
Test(assignor, names_and_class_names)
{
    st_assignor_t a;
    cr_assert_eq(st_assignor_parse("range", &a), 0);
    cr_assert_eq(a, ST_ASSIGNOR_RANGE);
    cr_assert_eq(st_assignor_parse(" org.apache.kafka.clients.consumer.RoundRobinAssignor ", &a),
                 0);
    cr_assert_eq(a, ST_ASSIGNOR_ROUNDROBIN);
    cr_assert_eq(st_assignor_parse("StickyAssignor", &a), 0);
    cr_assert_eq(a, ST_ASSIGNOR_STICKY);
    cr_assert_eq(st_assignor_parse("org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                                   &a), 0);
    cr_assert_eq(a, ST_ASSIGNOR_COOPERATIVE_STICKY);
    cr_assert_eq(st_assignor_parse("cooperative-sticky", &a), 0);
    cr_assert_eq(st_assignor_parse("uniform", &a), -EINVAL);
    cr_assert_eq(st_assignor_parse("rangex", &a), -EINVAL);
    cr_assert_eq(st_assignor_parse("org.apache.kafka.clients.consumer.Range", &a), -EINVAL);
    cr_assert_str_eq(st_assignor_name(ST_ASSIGNOR_COOPERATIVE_STICKY), "cooperative-sticky");
    cr_assert_null(st_assignor_name((st_assignor_t)9));
    cr_assert(st_assignor_is_cooperative(ST_ASSIGNOR_COOPERATIVE_STICKY));
    cr_assert_not(st_assignor_is_cooperative(ST_ASSIGNOR_STICKY));
}

Test(assignor, bad_input_is_named)
{
    char err[256];
    st_assign_result_t res = { .member_cnt = 77 };
    grp_t *g = grp_new();
    topic(g, "t", 2);
    add(g, "a", NULL, "t", NULL, -1);
    add(g, "a", NULL, "t", NULL, -1);
    cr_assert_eq(st_assign(ST_ASSIGNOR_RANGE, g->m, g->n, g->t, g->nt, &res, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "member id a appears twice"), "%s", err);
    cr_assert_eq(res.member_cnt, 77, "result untouched on failure");

    g->m[1].member_id = "b";
    g->m[0].group_instance_id = "i";
    g->m[1].group_instance_id = "i";
    cr_assert_eq(st_assign(ST_ASSIGNOR_STICKY, g->m, g->n, g->t, g->nt, &res, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "group.instance.id i is used by members"), "%s", err);
    g->m[1].group_instance_id = NULL;

    g->m[1].member_id = "";
    cr_assert_eq(st_assign(ST_ASSIGNOR_STICKY, g->m, g->n, g->t, g->nt, &res, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "empty member id"), "%s", err);
    g->m[1].member_id = "b";

    topic(g, "t", 3);
    cr_assert_eq(st_assign(ST_ASSIGNOR_ROUNDROBIN, g->m, g->n, g->t, g->nt, &res, err,
                           sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "topic t is listed twice"), "%s", err);
    g->t[1].partitions = -1;
    g->tt[1][0] = 'u';
    cr_assert_eq(st_assign(ST_ASSIGNOR_ROUNDROBIN, g->m, g->n, g->t, g->nt, &res, err,
                           sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "topic u has a negative partition count -1"), "%s", err);
    g->nt = 1;

    g->topics[0][0] = NULL;
    cr_assert_eq(st_assign(ST_ASSIGNOR_RANGE, g->m, g->n, g->t, g->nt, &res, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "member a: subscribed topic 0 is NULL"), "%s", err);
    g->topics[0][0] = "t";

    cr_assert_eq(st_assign((st_assignor_t)7, g->m, g->n, g->t, g->nt, &res, err, sizeof(err)),
                 -EINVAL);

    /* owned partitions naming nothing known are ignored, not refused (another member's bytes) */
    add(g, "c", NULL, "t", "t-9 t--1 nosuch-0 t-1 t-1", 5);
    cr_assert_eq(st_assign(ST_ASSIGNOR_COOPERATIVE_STICKY, g->m, g->n, g->t, g->nt, &res, err,
                           sizeof(err)), 0, "%s", err);
    expect(&res, g, "c", "t-1");
    st_assign_result_free(&res);

    /* no members, no topics */
    cr_assert_eq(st_assign(ST_ASSIGNOR_STICKY, NULL, 0, NULL, 0, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.member_cnt, 0);
    st_assign_result_free(&res);
    free(g);
}

/* ==== properties over random groups ============================================================= */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static size_t rndn(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* The test's own view of a group: partitions numbered in topic-table order. */
typedef struct oracle {
    size_t np;
    int ptopic[4096];          /* topic-table index */
    int32_t pq[4096];
    int owner[4096];           /* -1 or member index */
    bool multi[4096];
    bool assignable[4096];     /* some member subscribes to its topic */
} oracle_t;

static bool subscribes(const grp_t *g, size_t i, const char *t)
{
    for (size_t k = 0; k < g->m[i].topic_cnt; k++)
        if (strcmp(g->m[i].topics[k], t) == 0)
            return true;
    return false;
}

static long pindex(const grp_t *g, const oracle_t *o, const char *t, int32_t q)
{
    for (size_t p = 0; p < o->np; p++)
        if (o->pq[p] == q && strcmp(g->t[o->ptopic[p]].name, t) == 0)
            return (long)p;
    return -1;
}

static void oracle_build(const grp_t *g, oracle_t *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t ti = 0; ti < g->nt; ti++)
        for (int32_t q = 0; q < g->t[ti].partitions; q++) {
            cr_assert_lt(o->np, 4096);
            o->ptopic[o->np] = (int)ti;
            o->pq[o->np] = q;
            o->owner[o->np] = -1;
            for (size_t i = 0; i < g->n; i++)
                if (subscribes(g, i, g->t[ti].name))
                    o->assignable[o->np] = true;
            o->np++;
        }
    for (size_t p = 0; p < o->np; p++) {
        int best = -1, best_gen = -2, at_best = 0;
        for (size_t i = 0; i < g->n; i++) {
            bool claims = false;
            for (size_t k = 0; k < g->m[i].owned.n; k++)
                if (g->m[i].owned.v[k].partition == o->pq[p] &&
                    strcmp(g->m[i].owned.v[k].topic, g->t[o->ptopic[p]].name) == 0)
                    claims = true;
            if (!claims)
                continue;
            int gen = g->m[i].generation < 0 ? -1 : g->m[i].generation;
            if (gen > best_gen)
                best = (int)i, best_gen = gen, at_best = 1;
            else if (gen == best_gen)
                at_best++;
        }
        o->multi[p] = at_best >= 2;
        if (at_best == 1 && subscribes(g, (size_t)best, g->t[o->ptopic[p]].name))
            o->owner[p] = best;
    }
}

/* Valid: known partitions, subscribed members, nothing twice, every assignable partition
 * assigned (or pending, for cooperative). Fills who[p] and cnt[i] with the sticky assignment
 * (pending partitions counted with the member they are meant for). */
static void check_valid(const grp_t *g, const oracle_t *o, const st_assign_result_t *res,
                        int *who, size_t *cnt)
{
    for (size_t p = 0; p < o->np; p++)
        who[p] = -1;
    for (size_t i = 0; i < g->n; i++) {
        cnt[i] = res->assigned[i].n;
        for (size_t k = 0; k < res->assigned[i].n; k++) {
            const st_tp_t *tp = &res->assigned[i].v[k];
            long p = pindex(g, o, tp->topic, tp->partition);
            cr_assert_geq(p, 0, "%s got unknown %s-%d", g->m[i].member_id, tp->topic,
                          tp->partition);
            cr_assert(subscribes(g, i, tp->topic), "%s got %s-%d without subscribing",
                      g->m[i].member_id, tp->topic, tp->partition);
            cr_assert_eq(who[p], -1, "%s-%d assigned twice", tp->topic, tp->partition);
            who[p] = (int)i;
        }
    }
    for (size_t k = 0; k < res->pending_cnt; k++) {
        long p = pindex(g, o, res->pending[k].tp.topic, res->pending[k].tp.partition);
        cr_assert_geq(p, 0);
        cr_assert_eq(who[p], -1, "pending partition also assigned");
        cr_assert(subscribes(g, res->pending[k].to, res->pending[k].tp.topic));
        who[p] = (int)res->pending[k].to;   /* where the sticky assignment put it */
        cnt[res->pending[k].to]++;
    }
    for (size_t p = 0; p < o->np; p++)
        cr_assert_eq(who[p] >= 0, o->assignable[p], "%s-%d: assigned %d, assignable %d",
                     g->t[o->ptopic[p]].name, o->pq[p], who[p], o->assignable[p]);
}

static int64_t sumsq(const size_t *cnt, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int64_t)(cnt[i] * cnt[i]);
    return s;
}

static size_t kept(const oracle_t *o, const int *who)
{
    size_t k = 0;
    for (size_t p = 0; p < o->np; p++)
        k += o->owner[p] >= 0 && who[p] == o->owner[p];
    return k;
}

/* Exhaustive search: the least sum of squares, and the most kept at that sum. */
typedef struct brute {
    const grp_t *g;
    const oracle_t *o;
    size_t cand[64][16], ncand[64], parts[64], nparts;
    size_t cnt[16];
    int64_t best_sq;
    size_t best_kept;
} brute_t;

static void brute_rec(brute_t *b, size_t k, size_t kept_now)
{
    if (k == b->nparts) {
        int64_t sq = sumsq(b->cnt, b->g->n);
        if (sq < b->best_sq || (sq == b->best_sq && kept_now > b->best_kept)) {
            b->best_sq = sq;
            b->best_kept = kept_now;
        }
        return;
    }
    size_t p = b->parts[k];
    for (size_t c = 0; c < b->ncand[k]; c++) {
        size_t i = b->cand[k][c];
        b->cnt[i]++;
        brute_rec(b, k + 1, kept_now + (b->o->owner[p] == (int)i));
        b->cnt[i]--;
    }
}

static void brute_force(const grp_t *g, const oracle_t *o, int64_t *ret_sq, size_t *ret_kept)
{
    brute_t *b = calloc(1, sizeof(*b));
    b->g = g;
    b->o = o;
    b->best_sq = INT64_MAX;
    for (size_t p = 0; p < o->np; p++) {
        if (!o->assignable[p])
            continue;
        b->parts[b->nparts] = p;
        for (size_t i = 0; i < g->n; i++)
            if (subscribes(g, i, g->t[o->ptopic[p]].name))
                b->cand[b->nparts][b->ncand[b->nparts]++] = i;
        b->nparts++;
    }
    brute_rec(b, 0, 0);
    *ret_sq = b->best_sq;
    *ret_kept = b->best_kept;
    free(b);
}

static const char *names_m[] = { "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9",
                                 "ma", "mb", "mc", "md", "me", "mf" };

/* A random group: members subscribe to random topic subsets (or all the same), and claim
 * random partitions -- their own from a believable earlier round, plus stray and conflicting
 * claims -- with random generations. */
static void random_group(grp_t *g, size_t maxm, size_t maxt, int32_t maxp, bool equal)
{
    size_t nt = 1 + rndn(maxt), nm = 1 + rndn(maxm);
    for (size_t ti = 0; ti < nt; ti++) {
        char name[24];
        snprintf(name, sizeof(name), "t%zu", ti);
        topic(g, name, (int32_t)rndn((size_t)maxp + 1));
    }
    char all[256] = "";
    for (size_t ti = 0; ti < nt; ti++)
        if (!equal || rndn(4)) {
            strcat(all, g->tt[ti]);
            strcat(all, " ");
        }
    /* an earlier owner per partition (or none) */
    int prev[4096];
    size_t np = 0;
    for (size_t ti = 0; ti < nt; ti++)
        for (int32_t q = 0; q < g->t[ti].partitions; q++)
            prev[np++] = rndn(3) ? (int)rndn(nm) : -1;
    for (size_t i = 0; i < nm; i++) {
        char subs[256] = "";
        if (equal) {
            snprintf(subs, sizeof(subs), "%s", all);
        } else {
            for (size_t ti = 0; ti < nt; ti++)
                if (rndn(2)) {
                    strcat(subs, g->tt[ti]);
                    strcat(subs, " ");
                }
            if (rndn(5) == 0)
                strcat(subs, "missing ");
        }
        char own[4096] = "";
        size_t p = 0, len = 0;
        for (size_t ti = 0; ti < nt; ti++)
            for (int32_t q = 0; q < g->t[ti].partitions; q++, p++)
                if (prev[p] == (int)i || rndn(12) == 0)
                    len += (size_t)snprintf(own + len, sizeof(own) - len, "%s-%d ", g->tt[ti], q);
        int32_t gen = rndn(4) ? 5 : (int32_t)rndn(7) - 1;
        add(g, names_m[i], rndn(3) ? NULL : names_m[15 - i], subs, own, gen);
    }
}

/* Kafka's balance rule: no partition could move to a subscriber with 2+ fewer. */
static void check_no_single_move_helps(const grp_t *g, const oracle_t *o, const int *who,
                                       const size_t *cnt)
{
    for (size_t p = 0; p < o->np; p++) {
        if (who[p] < 0)
            continue;
        for (size_t i = 0; i < g->n; i++)
            if (subscribes(g, i, g->t[o->ptopic[p]].name))
                cr_assert_leq(cnt[who[p]], cnt[i] + 1, "%s-%d could move from %s (%zu) to %s (%zu)",
                              g->t[o->ptopic[p]].name, o->pq[p], g->m[who[p]].member_id,
                              cnt[who[p]], g->m[i].member_id, cnt[i]);
    }
}

/* Balance is optimal (least sum of squares) iff no chain of moves -- A gives a partition to X,
 * X one to Y, ..., to B -- leads from a member A to a member B with 2+ fewer partitions. A
 * breadth-first search over "x holds a partition of a topic y subscribes to". */
static void check_no_chain_helps(const grp_t *g, const oracle_t *o, const int *who,
                                 const size_t *cnt)
{
    for (size_t a = 0; a < g->n; a++) {
        bool seen[MAXM] = { false };
        size_t queue[MAXM], head = 0, tail = 0;
        seen[a] = true;
        queue[tail++] = a;
        while (head < tail) {
            size_t x = queue[head++];
            cr_assert_lt(cnt[a], cnt[x] + 2, "a chain of moves from %s (%zu) reaches %s (%zu)",
                         g->m[a].member_id, cnt[a], g->m[x].member_id, cnt[x]);
            for (size_t p = 0; p < o->np; p++) {
                if (who[p] != (int)x)
                    continue;
                for (size_t y = 0; y < g->n; y++)
                    if (!seen[y] && subscribes(g, y, g->t[o->ptopic[p]].name)) {
                        seen[y] = true;
                        queue[tail++] = y;
                    }
            }
        }
    }
}

static bool all_equal_subscriptions(const grp_t *g, const oracle_t *o)
{
    for (size_t i = 1; i < g->n; i++)
        for (size_t ti = 0; ti < g->nt; ti++)
            if (g->t[ti].partitions > 0 &&
                subscribes(g, i, g->t[ti].name) != subscribes(g, 0, g->t[ti].name))
                return false;
    (void)o;
    return true;
}

/* For equal subscriptions the most that can be kept has a closed form. */
static size_t equal_case_max_kept(const grp_t *g, const oracle_t *o)
{
    size_t n = 0, owned[MAXM] = { 0 };
    for (size_t p = 0; p < o->np; p++) {
        n += o->assignable[p];
        if (o->owner[p] >= 0)
            owned[o->owner[p]]++;
    }
    size_t m = g->n, min_q = n / m, max_q = min_q + (n % m != 0), over = n % m, at_max = 0;
    size_t sum = 0;
    for (size_t i = 0; i < m; i++) {
        sum += owned[i] < min_q ? owned[i] : min_q;
        at_max += max_q > min_q && owned[i] >= max_q;
    }
    return sum + (at_max < over ? at_max : over);
}

static void check_range(const grp_t *g, const oracle_t *o, const int *who)
{
    for (size_t ti = 0; ti < g->nt; ti++) {
        /* counts per subscriber differ by at most one, and the partitions are contiguous runs */
        int last = -2;
        size_t runs = 0, per[MAXM] = { 0 };
        for (size_t p = 0; p < o->np; p++) {
            if ((size_t)o->ptopic[p] != ti || who[p] < 0)
                continue;
            per[who[p]]++;
            if (who[p] != last)
                runs++;
            last = who[p];
        }
        size_t lo = SIZE_MAX, hi = 0, subs = 0;
        for (size_t i = 0; i < g->n; i++)
            if (subscribes(g, i, g->t[ti].name)) {
                subs++;
                lo = per[i] < lo ? per[i] : lo;
                hi = per[i] > hi ? per[i] : hi;
            }
        if (subs && g->t[ti].partitions) {
            cr_assert_leq(hi - lo, 1);
            cr_assert_leq(runs, subs);
        }
    }
}

/* Runs every assignor on g and checks its properties; `exhaustive` compares sticky with the
 * brute-force optimum. */
static void check_group(grp_t *g, bool exhaustive)
{
    oracle_t *o = malloc(sizeof(*o));
    oracle_build(g, o);
    int *who = malloc(sizeof(int) * 4096);
    size_t cnt[MAXM];
    bool equal = all_equal_subscriptions(g, o);
    char err[256];

    st_assign_result_t res;
    run(ST_ASSIGNOR_RANGE, g, &res);
    check_valid(g, o, &res, who, cnt);
    check_range(g, o, who);
    st_assign_result_free(&res);

    run(ST_ASSIGNOR_ROUNDROBIN, g, &res);
    check_valid(g, o, &res, who, cnt);
    if (equal)
        for (size_t i = 0; i < g->n; i++)
            for (size_t j = 0; j < g->n; j++)
                cr_assert_leq(cnt[i], cnt[j] + 1);
    st_assign_result_free(&res);

    st_assign_result_t sticky;
    run(ST_ASSIGNOR_STICKY, g, &sticky);
    check_valid(g, o, &sticky, who, cnt);
    cr_assert_eq(sticky.pending_cnt, 0);
    check_no_single_move_helps(g, o, who, cnt);
    check_no_chain_helps(g, o, who, cnt);
    if (equal) {
        for (size_t i = 0; i < g->n; i++)
            for (size_t j = 0; j < g->n; j++)
                cr_assert_leq(cnt[i], cnt[j] + 1, "equal subscriptions, counts %zu and %zu",
                              cnt[i], cnt[j]);
        cr_assert_eq(kept(o, who), equal_case_max_kept(g, o));
    }
    if (exhaustive) {
        int64_t best_sq;
        size_t best_kept;
        brute_force(g, o, &best_sq, &best_kept);
        cr_assert_eq(sumsq(cnt, g->n), best_sq, "sum of squares %lld, optimum %lld",
                     (long long)sumsq(cnt, g->n), (long long)best_sq);
        cr_assert_eq(kept(o, who), best_kept, "kept %zu, optimum %zu", kept(o, who), best_kept);
    }

    /* cooperative: the sticky assignment minus what must be revoked first */
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    int *who2 = malloc(sizeof(int) * 4096);
    size_t cnt2[MAXM];
    check_valid(g, o, &res, who2, cnt2);
    for (size_t p = 0; p < o->np; p++)
        cr_assert_eq(who2[p], who[p], "cooperative and sticky differ on %s-%d",
                     g->t[o->ptopic[p]].name, o->pq[p]);
    cr_assert_eq(st_assign_check_cooperative(g->m, g->n, &res, err, sizeof(err)), 0, "%s", err);
    for (size_t k = 0; k < res.pending_cnt; k++) {   /* withheld only for a reason */
        long p = pindex(g, o, res.pending[k].tp.topic, res.pending[k].tp.partition);
        bool other_claims = false, self_claims = false;
        for (size_t i = 0; i < g->n; i++)
            for (size_t c = 0; c < g->m[i].owned.n; c++)
                if (g->m[i].owned.v[c].partition == o->pq[p] &&
                    strcmp(g->m[i].owned.v[c].topic, g->t[o->ptopic[p]].name) == 0) {
                    if (i == res.pending[k].to)
                        self_claims = true;
                    else
                        other_claims = true;
                }
        cr_assert(o->multi[p] || (other_claims && !self_claims));
    }

    /* the follow-up rebalance: everyone reports what it now owns; nothing is withheld and the
     * result is as balanced as the eager one */
    grp_t *next = malloc(sizeof(*next));
    memcpy(next, g, sizeof(*next));
    for (size_t i = 0; i < next->n; i++) {
        next->m[i].topics = next->topics[i];
        for (size_t k = 0; k < next->m[i].topic_cnt; k++)
            next->topics[i][k] = next->tnames[i][k];
        set_owned(next, i, &res.assigned[i], 100);
    }
    st_assign_result_free(&res);
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, next, &res);
    check_valid(next, o, &res, who2, cnt2);
    cr_assert_eq(res.pending_cnt, 0, "a second cooperative round still withholds %zu",
                 res.pending_cnt);
    cr_assert_eq(sumsq(cnt2, next->n), sumsq(cnt, g->n));
    for (size_t i = 0; i < next->n; i++)
        cr_assert(subset(&next->m[i].owned, &res.assigned[i]), "round two took from %s",
                  next->m[i].member_id);
    /* and a third round changes nothing at all */
    for (size_t i = 0; i < next->n; i++)
        set_owned(next, i, &res.assigned[i], 101);
    st_assign_result_t again;
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, next, &again);
    for (size_t i = 0; i < next->n; i++) {
        cr_assert(subset(&again.assigned[i], &res.assigned[i]));
        cr_assert_eq(again.assigned[i].n, res.assigned[i].n);
    }
    st_assign_result_free(&again);
    st_assign_result_free(&res);

    /* input order does not matter: reversed members, same answer per member */
    grp_t *rev = grp_new();
    for (size_t ti = 0; ti < g->nt; ti++)
        topic(rev, g->t[ti].name, g->t[ti].partitions);
    for (size_t k = g->n; k-- > 0;) {
        size_t i = add(rev, g->m[k].member_id, g->m[k].group_instance_id, NULL, NULL,
                       g->m[k].generation);
        for (size_t j = 0; j < g->m[k].topic_cnt; j++)
            rev->topics[i][j] = g->m[k].topics[j];
        rev->m[i].topic_cnt = g->m[k].topic_cnt;
        set_owned(rev, i, &g->m[k].owned, g->m[k].generation);
    }
    for (int a = 0; a < ST_ASSIGNOR_COUNT; a++) {
        st_assign_result_t x, y;
        run((st_assignor_t)a, g, &x);
        run((st_assignor_t)a, rev, &y);
        for (size_t i = 0; i < g->n; i++) {
            const st_tp_list_t *l = &y.assigned[g->n - 1 - i];
            cr_assert_eq(x.assigned[i].n, l->n, "%s: order changed %s's share",
                         st_assignor_name((st_assignor_t)a), g->m[i].member_id);
            cr_assert(subset(&x.assigned[i], l));
        }
        st_assign_result_free(&x);
        st_assign_result_free(&y);
    }
    free(rev);
    free(next);
    st_assign_result_free(&sticky);
    free(who);
    free(who2);
    free(o);
}

Test(properties, small_groups_against_exhaustive_search, .timeout = 300)
{
    /* groups of 2 to 4 members with 3 to 8 assignable partitions (at most 4^8 assignments to
     * search), two thirds of them with differing subscriptions */
    rng_state = 0x2545F4914F6CDD1Dull;
    int done = 0, tries = 0;
    while (done < 600) {
        cr_assert_lt(++tries, 100000);
        grp_t *g = grp_new();
        random_group(g, 4, 3, 4, done % 3 == 0);
        oracle_t *o = malloc(sizeof(*o));
        oracle_build(g, o);
        size_t np = 0;
        for (size_t p = 0; p < o->np; p++)
            np += o->assignable[p];
        free(o);
        if (g->n >= 2 && np >= 3 && np <= 8) {
            check_group(g, true);
            done++;
        }
        free(g);
    }
}

Test(properties, larger_groups, .timeout = 300)
{
    rng_state = 0xD1B54A32D192ED03ull;
    for (int iter = 0; iter < 200; iter++) {
        grp_t *g = grp_new();
        random_group(g, 12, 8, 9, iter % 2 == 0);
        check_group(g, false);
        free(g);
    }
}

Test(properties, members_come_and_go_equal_subscriptions, .timeout = 120)
{
    /* rolling membership with equal subscriptions: every round keeps the closed-form maximum
     * and stays within one partition of balance (checked by check_group) */
    rng_state = 0x9E3779B97F4A7C15ull;
    grp_t *g = grp_new();
    topic(g, "a", 7);
    topic(g, "b", 5);
    topic(g, "c", 12);
    const char *ids[] = { "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9" };
    add(g, ids[0], NULL, "a b c", NULL, -1);
    for (int round = 1; round < 40; round++) {
        st_assign_result_t res;
        run(ST_ASSIGNOR_STICKY, g, &res);
        for (size_t i = 0; i < g->n; i++)
            set_owned(g, i, &res.assigned[i], round);
        st_assign_result_free(&res);
        if (g->n > 1 && (rndn(2) || g->n >= 9)) {
            remove_member(g, rndn(g->n));
        } else {
            const char *id = NULL;
            for (size_t k = 0; k < 10 && !id; k++) {
                bool used = false;
                for (size_t i = 0; i < g->n; i++)
                    used |= strcmp(g->m[i].member_id, ids[k]) == 0;
                if (!used)
                    id = ids[k];
            }
            add(g, id, NULL, "a b c", "", round);
        }
        check_group(g, false);
    }
    free(g);
}

Test(properties, large_groups_finish, .timeout = 300)
{
    /* Kafka's large-group tests, scaled: no timing asserted (benchmarks live in tests/bench),
     * just that they finish under the suite timeout and stay valid and balanced. */
    static grp_t big;
    grp_t *g = &big;
    memset(g, 0, sizeof(*g));
    char all[4096] = "";
    for (int t = 0; t < 40; t++) {
        char name[16];
        snprintf(name, sizeof(name), "topic%02d", t);
        topic(g, name, 50);
        strcat(all, name);
        strcat(all, " ");
    }
    static char ids[MAXM][16];
    for (int i = 0; i < MAXM; i++) {
        snprintf(ids[i], sizeof(ids[i]), "consumer%02d", i);
        add(g, ids[i], NULL, all, NULL, -1);
    }
    st_assign_result_t res;
    run(ST_ASSIGNOR_STICKY, g, &res);
    size_t lo = SIZE_MAX, hi = 0;
    for (size_t i = 0; i < g->n; i++) {
        lo = res.assigned[i].n < lo ? res.assigned[i].n : lo;
        hi = res.assigned[i].n > hi ? res.assigned[i].n : hi;
        set_owned(g, i, &res.assigned[i], 1);
    }
    cr_assert_leq(hi - lo, 1);
    st_assign_result_free(&res);

    /* unequal: every member drops a few topics; a third of them leave */
    rng_state = 0x1234567ull;
    for (size_t i = 0; i < g->n; i++) {
        size_t keep = 0;
        for (size_t k = 0; k < g->m[i].topic_cnt; k++)
            if (rndn(4))
                g->topics[i][keep++] = g->topics[i][k];
        g->m[i].topic_cnt = keep;
    }
    for (int k = 0; k < MAXM / 3; k++)
        remove_member(g, rndn(g->n));
    oracle_t *o = malloc(sizeof(*o));
    oracle_build(g, o);
    int *who = malloc(sizeof(int) * 4096);
    size_t cnt[MAXM];
    run(ST_ASSIGNOR_COOPERATIVE_STICKY, g, &res);
    check_valid(g, o, &res, who, cnt);
    check_no_single_move_helps(g, o, who, cnt);
    check_no_chain_helps(g, o, who, cnt);
    char err[256];
    cr_assert_eq(st_assign_check_cooperative(g->m, g->n, &res, err, sizeof(err)), 0, "%s", err);
    st_assign_result_free(&res);
    free(who);
    free(o);
}
