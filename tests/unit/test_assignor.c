/* The partition assignors (common/client/st_assignor*.c) against Kafka's documented examples
 * (the javadoc of RangeAssignor, RoundRobinAssignor, StickyAssignor) and the scenarios of
 * RangeAssignorTest, RoundRobinAssignorTest, AbstractStickyAssignorTest, StickyAssignorTest and
 * CooperativeStickyAssignorTest (re-stated here, not copied); the member-data and user-data
 * helpers; names and input validation. Property tests over random groups are in
 * test_assignor_props.c. */
#include "assignor_test_util.h"

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
