/* Unit tests of the group state machine (broker/group/group.c) with a recording st_group_ops_t
 * and a fake clock: KIP-394 member ids, the initial rebalance delay, leader assignments through
 * SyncGroup, generation fencing, LeaveGroup and session-timeout rebalances, the rebalance
 * timeout, static membership (replacement without rebalance, FENCED_INSTANCE_ID), protocol
 * selection, offsets retention, and the invariant checker. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "group.h"
#include "st_error.h"

typedef struct waiter {
    bool done;
    int calls;
    int32_t error;
    char member_id[128];
    int32_t generation;
    char leader[128];
    char protocol[32];
    size_t n_members;
    uint8_t assignment[64];
    size_t assignment_len;
} waiter_t;

static int n_stores;

static void rec_join(void *arg, void *w, const st_group_join_result_t *res)
{
    (void)arg;
    waiter_t *x = w;
    x->done = true;
    x->calls++;
    x->error = res->error;
    snprintf(x->member_id, sizeof(x->member_id), "%s", res->member_id ? res->member_id : "");
    x->generation = res->generation;
    snprintf(x->leader, sizeof(x->leader), "%s", res->leader ? res->leader : "");
    snprintf(x->protocol, sizeof(x->protocol), "%s", res->protocol_name ? res->protocol_name : "");
    x->n_members = res->n_members;
}

static void rec_sync(void *arg, void *w, int32_t error, const char *pt, const char *pn,
                     const uint8_t *a, size_t len)
{
    (void)arg; (void)pt; (void)pn;
    waiter_t *x = w;
    x->done = true;
    x->calls++;
    x->error = error;
    x->assignment_len = len;
    if (len)
        memcpy(x->assignment, a, len);
}

static void rec_hb(void *arg, void *w, int32_t error)
{
    (void)arg;
    waiter_t *x = w;
    x->done = true;
    x->calls++;
    x->error = error;
}

static int32_t store_result = ST_ERR_NONE;      /* what a waiting store answers at once */
static int32_t rec_store(void *arg, st_group_t *g, bool wait)
{
    (void)arg; (void)g;
    n_stores++;
    return wait ? store_result : ST_ERR_NONE;
}

static const st_group_ops_t ops = { rec_join, rec_sync, rec_hb, rec_store };
static const st_group_config_t cfg = {
    .initial_rebalance_delay_ms = 100, .min_session_timeout_ms = 10, .max_session_timeout_ms = 60000,
    .max_size = 0, .new_member_join_timeout_ms = 300000,
};

static st_group_protocol_t proto_range = { "range", (uint8_t *)"\0\0\0\0\0\1\0\1t\xff\xff\xff\xff", 13 };

static st_group_join_req_t req_for(const char *member_id, const char *instance)
{
    st_group_join_req_t r = {
        .member_id = member_id, .instance_id = instance, .client_id = "client",
        .client_host = "/127.0.0.1", .protocol_type = "consumer", .session_timeout_ms = 1000,
        .rebalance_timeout_ms = 5000, .protocols = &proto_range, .n_protocols = 1,
    };
    return r;
}

/* A dynamic member's two-step join: returns the member id (parked second join in *w). */
static void join_dynamic(st_group_t *g, waiter_t *w, int64_t now, char *ret_id)
{
    waiter_t first = { 0 };
    st_group_join_req_t r = req_for("", NULL);
    st_group_join(g, &r, &first, now, now);
    cr_assert(first.done);
    cr_assert_eq(first.error, ST_ERR_MEMBER_ID_REQUIRED);
    cr_assert(strncmp(first.member_id, "client-", 7) == 0, "%s", first.member_id);
    strcpy(ret_id, first.member_id);
    r = req_for(ret_id, NULL);
    memset(w, 0, sizeof(*w));
    st_group_join(g, &r, w, now, now);
}

/* Two dynamic members through a complete rebalance to Stable at generation 1. */
static st_group_t *stable_pair(char *a, char *b, int64_t *now)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t wa, wb;
    join_dynamic(g, &wa, *now, a);
    join_dynamic(g, &wb, *now, b);
    cr_assert_not(wa.done);
    cr_assert_eq(g->state, ST_GROUP_PREPARING_REBALANCE);
    /* b arrived during the initial delay: the delay is extended once (InitialDelayedJoin). */
    *now += 100;
    st_group_tick(g, *now, *now);
    cr_assert_not(wa.done, "the initial delay is extended when a new member arrived in it");
    *now += 100;
    st_group_tick(g, *now, *now);
    cr_assert(wa.done && wb.done);
    cr_assert_eq(g->state, ST_GROUP_COMPLETING_REBALANCE);
    waiter_t sa = { 0 }, sb = { 0 };
    st_group_sync(g, 1, b, NULL, "consumer", "range", NULL, 0, &sb, *now, *now);
    cr_assert_not(sb.done);
    st_group_assignment_t as[2] = { { a, (const uint8_t *)"AA", 2 }, { b, (const uint8_t *)"BBB", 3 } };
    st_group_sync(g, 1, a, NULL, "consumer", "range", as, 2, &sa, *now, *now);
    cr_assert_not(sa.done || sb.done, "held until the group record is replicated");
    cr_assert_eq(g->state, ST_GROUP_COMPLETING_REBALANCE);
    st_group_store_done(g, 1, ST_ERR_NONE, *now, *now);
    cr_assert(sa.done && sb.done);
    cr_assert_eq(g->state, ST_GROUP_STABLE);
    return g;
}

Test(group_state, first_join_needs_member_id_and_initial_delay)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t w;
    char id[128];
    join_dynamic(g, &w, 0, id);
    cr_expect_not(w.done, "the join waits for group.initial.rebalance.delay.ms");
    cr_expect_eq(g->state, ST_GROUP_PREPARING_REBALANCE);
    int64_t next = st_group_tick(g, 50, 50);
    cr_expect_not(w.done);
    cr_expect_eq(next, 100);
    st_group_tick(g, 100, 100);
    cr_assert(w.done);
    cr_expect_eq(w.error, ST_ERR_NONE);
    cr_expect_eq(w.generation, 1);
    cr_expect_str_eq(w.leader, id);
    cr_expect_str_eq(w.member_id, id);
    cr_expect_str_eq(w.protocol, "range");
    cr_expect_eq(w.n_members, 1, "the leader gets every member's metadata");
    cr_expect_eq(g->state, ST_GROUP_COMPLETING_REBALANCE);
    st_group_free(g);
}

Test(group_state, unknown_member_id_is_refused)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t w = { 0 };
    st_group_join_req_t r = req_for("nobody", NULL);
    st_group_join(g, &r, &w, 0, 0);
    cr_expect_eq(w.error, ST_ERR_UNKNOWN_MEMBER_ID);
    r = req_for("", NULL);
    r.session_timeout_ms = 5;
    st_group_join(g, &r, &w, 0, 0);
    cr_expect_eq(w.error, ST_ERR_INVALID_SESSION_TIMEOUT);
    st_group_free(g);
}

Test(group_state, two_members_sync_delivers_leader_assignments)
{
    char a[128], b[128];
    int64_t now = 0;
    n_stores = 0;
    st_group_t *g = stable_pair(a, b, &now);
    cr_expect_eq(n_stores, 1, "the group metadata is stored once the leader syncs");
    cr_expect_eq(st_group_member(g, a)->assignment_len, 2);
    cr_expect_eq(memcmp(st_group_member(g, b)->assignment, "BBB", 3), 0);
    /* A sync in Stable returns the stored assignment at once. */
    waiter_t s = { 0 };
    st_group_sync(g, 1, b, NULL, NULL, NULL, NULL, 0, &s, now, now);
    cr_assert(s.done);
    cr_expect_eq(s.assignment_len, 3);
    cr_expect_eq(memcmp(s.assignment, "BBB", 3), 0);
    st_group_free(g);
}

Test(group_state, heartbeat_fences_old_generation_and_unknown_members)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    cr_expect_eq(st_group_heartbeat(g, 1, a, NULL, now), ST_ERR_NONE);
    cr_expect_eq(st_group_heartbeat(g, 0, a, NULL, now), ST_ERR_ILLEGAL_GENERATION);
    cr_expect_eq(st_group_heartbeat(g, 1, "ghost", NULL, now), ST_ERR_UNKNOWN_MEMBER_ID);
    waiter_t s = { 0 };
    st_group_sync(g, 7, a, NULL, NULL, NULL, NULL, 0, &s, now, now);
    cr_expect_eq(s.error, ST_ERR_ILLEGAL_GENERATION);
    cr_expect_eq(st_group_validate_commit(g, 0, a, NULL, now), ST_ERR_ILLEGAL_GENERATION);
    cr_expect_eq(st_group_validate_commit(g, 1, a, NULL, now), ST_ERR_NONE);
    cr_expect_eq(st_group_validate_commit(g, -1, "", NULL, now), ST_ERR_UNKNOWN_MEMBER_ID,
                 "a simple commit is refused while the group has members");
    st_group_free(g);
}

Test(group_state, leave_starts_rebalance_completed_when_all_rejoin)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    cr_expect_eq(st_group_leave(g, a, NULL, "closing", now, now), ST_ERR_NONE);
    cr_expect_eq(g->state, ST_GROUP_PREPARING_REBALANCE, "the rebalance starts at once");
    cr_expect_str_eq(g->leader_id, b, "the leader moved to the remaining member");
    cr_expect_eq(st_group_heartbeat(g, 1, b, NULL, now), ST_ERR_REBALANCE_IN_PROGRESS);
    waiter_t w = { 0 };
    st_group_join_req_t r = req_for(b, NULL);
    st_group_join(g, &r, &w, now + 1, now + 1);
    cr_assert(w.done, "the join completes as soon as every known member has rejoined");
    cr_expect_eq(w.generation, 2);
    cr_expect_str_eq(w.leader, b);
    cr_expect_eq(st_group_leave(g, a, NULL, NULL, now, now), ST_ERR_UNKNOWN_MEMBER_ID);
    st_group_free(g);
}

Test(group_state, last_member_leaving_empties_the_group)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t w;
    char id[128];
    join_dynamic(g, &w, 0, id);
    st_group_tick(g, 100, 100);
    waiter_t s = { 0 };
    st_group_sync(g, 1, id, NULL, NULL, NULL, NULL, 0, &s, 100, 100);
    st_group_store_done(g, 1, ST_ERR_NONE, 100, 100);
    cr_assert_eq(g->state, ST_GROUP_STABLE);
    n_stores = 0;
    cr_expect_eq(st_group_leave(g, id, NULL, NULL, 200, 200), ST_ERR_NONE);
    cr_expect_eq(g->state, ST_GROUP_EMPTY);
    cr_expect_eq(g->generation, 2);
    cr_expect_eq(n_stores, 1);
    st_group_free(g);
}

Test(group_state, session_timeout_expires_member)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    /* a heartbeats, b does not: after b's session timeout (1000 ms) b is removed. */
    for (int i = 0; i < 4; i++) {            /* up to 1400, b's deadline was 1200 */
        now += 300;
        cr_expect_eq(st_group_heartbeat(g, 1, a, NULL, now), ST_ERR_NONE);
        st_group_tick(g, now, now);
    }
    cr_expect_null(st_group_member(g, b));
    cr_expect_eq(g->state, ST_GROUP_PREPARING_REBALANCE);
    cr_expect_eq(st_group_heartbeat(g, 1, a, NULL, now), ST_ERR_REBALANCE_IN_PROGRESS);
    st_group_free(g);
}

Test(group_state, rebalance_timeout_removes_members_that_do_not_rejoin)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    waiter_t w = { 0 };
    st_group_join_req_t r = req_for(a, NULL);
    r.rebalance_timeout_ms = 800;
    r.protocols = &(st_group_protocol_t){ "range", (uint8_t *)"x", 1 };   /* new metadata */
    st_group_join(g, &r, &w, now, now);
    cr_expect_eq(g->state, ST_GROUP_PREPARING_REBALANCE);
    cr_expect_not(w.done);
    /* b keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins. */
    now += 400;
    st_group_heartbeat(g, 1, b, NULL, now);
    st_group_tick(g, now, now);
    cr_expect_not(w.done);
    now += 4700;                               /* past the largest rebalance timeout (5000) */
    st_group_heartbeat(g, 1, b, NULL, now);
    st_group_tick(g, now, now);
    cr_assert(w.done);
    cr_expect_eq(w.generation, 2);
    cr_expect_null(st_group_member(g, b), "b did not rejoin in time");
    st_group_free(g);
}

Test(group_state, rebalance_fails_parked_syncs)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    waiter_t ja = { 0 }, jb = { 0 };
    st_group_join_req_t r = req_for(a, NULL);
    st_group_join(g, &r, &ja, now, now);              /* the leader rejoins: rebalance */
    r = req_for(b, NULL);
    st_group_join(g, &r, &jb, now, now);
    cr_assert(ja.done && jb.done);
    cr_assert_eq(g->state, ST_GROUP_COMPLETING_REBALANCE);
    waiter_t sb = { 0 };
    st_group_sync(g, 2, b, NULL, NULL, NULL, NULL, 0, &sb, now, now);
    cr_assert_not(sb.done);
    cr_expect_eq(st_group_leave(g, a, NULL, NULL, now, now), ST_ERR_NONE);
    cr_assert(sb.done);
    cr_expect_eq(sb.error, ST_ERR_REBALANCE_IN_PROGRESS);
    st_group_free(g);
}

Test(group_state, static_member_replaced_without_rebalance)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t w = { 0 };
    st_group_join_req_t r = req_for("", "inst-1");
    st_group_join(g, &r, &w, 0, 0);
    cr_expect_not(w.done, "a static member joins without MEMBER_ID_REQUIRED");
    st_group_tick(g, 100, 100);
    cr_assert(w.done);
    cr_expect_eq(w.error, ST_ERR_NONE);
    cr_expect(strncmp(w.member_id, "inst-1-", 7) == 0, "%s", w.member_id);
    char old_id[128];
    strcpy(old_id, w.member_id);
    waiter_t s = { 0 };
    st_group_assignment_t as = { old_id, (const uint8_t *)"ASG", 3 };
    st_group_sync(g, 1, old_id, "inst-1", NULL, NULL, &as, 1, &s, 100, 100);
    st_group_store_done(g, 1, ST_ERR_NONE, 100, 100);
    cr_assert_eq(g->state, ST_GROUP_STABLE);

    /* The instance restarts: same metadata, member_id "". */
    waiter_t w2 = { 0 };
    st_group_join(g, &r, &w2, 200, 200);
    cr_assert(w2.done, "answered at once, no rebalance");
    cr_expect_eq(w2.error, ST_ERR_NONE);
    cr_expect_eq(w2.generation, 1);
    cr_expect_str_neq(w2.member_id, old_id);
    cr_expect_str_eq(w2.leader, old_id, "the old leader id comes back (no reassignment)");
    cr_expect_eq(w2.n_members, 0);
    cr_expect_eq(g->state, ST_GROUP_STABLE);
    waiter_t s2 = { 0 };
    st_group_sync(g, 1, w2.member_id, "inst-1", NULL, NULL, NULL, 0, &s2, 200, 200);
    cr_expect_eq(s2.error, ST_ERR_NONE);
    cr_expect_eq(s2.assignment_len, 3, "the previous assignment is kept");
    /* The old incarnation is fenced. */
    cr_expect_eq(st_group_heartbeat(g, 1, old_id, "inst-1", 200), ST_ERR_FENCED_INSTANCE_ID);
    waiter_t w3 = { 0 };
    st_group_join_req_t r3 = req_for(old_id, "inst-1");
    st_group_join(g, &r3, &w3, 200, 200);
    cr_expect_eq(w3.error, ST_ERR_FENCED_INSTANCE_ID);

    /* A restart with different metadata rebalances. */
    waiter_t w4 = { 0 };
    st_group_join_req_t r4 = req_for("", "inst-1");
    r4.protocols = &(st_group_protocol_t){ "range", (uint8_t *)"other", 5 };
    st_group_join(g, &r4, &w4, 300, 300);
    cr_assert(w4.done, "a rebalance, which completes at once: the only member has rejoined");
    cr_expect_eq(g->state, ST_GROUP_COMPLETING_REBALANCE);
    cr_expect_eq(w4.generation, 2);
    st_group_free(g);
}

Test(group_state, inconsistent_protocols_and_vote)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    st_group_protocol_t pa[2] = { { "range", (uint8_t *)"", 0 }, { "roundrobin", (uint8_t *)"", 0 } };
    st_group_protocol_t pb[2] = { { "roundrobin", (uint8_t *)"", 0 }, { "range", (uint8_t *)"", 0 } };
    st_group_protocol_t pc[1] = { { "roundrobin", (uint8_t *)"", 0 } };
    st_group_protocol_t px[1] = { { "sticky", (uint8_t *)"", 0 } };
    waiter_t w[4] = { 0 };
    st_group_join_req_t r = req_for("", "i1");
    r.protocols = pa; r.n_protocols = 2;
    st_group_join(g, &r, &w[0], 0, 0);
    r = req_for("", "i2");
    r.protocols = pb; r.n_protocols = 2;
    st_group_join(g, &r, &w[1], 0, 0);
    r = req_for("", "i3");
    r.protocols = pc; r.n_protocols = 1;
    st_group_join(g, &r, &w[2], 0, 0);
    r = req_for("", "i4");
    r.protocols = px; r.n_protocols = 1;
    st_group_join(g, &r, &w[3], 0, 0);
    cr_expect_eq(w[3].error, ST_ERR_INCONSISTENT_GROUP_PROTOCOL);
    r = req_for("", "i5");
    r.protocol_type = "connect";
    waiter_t w5 = { 0 };
    st_group_join(g, &r, &w5, 0, 0);
    cr_expect_eq(w5.error, ST_ERR_INCONSISTENT_GROUP_PROTOCOL);
    st_group_tick(g, 100, 100);              /* extended: members arrived in the delay */
    st_group_tick(g, 200, 200);
    cr_assert(w[0].done);
    cr_expect_str_eq(w[0].protocol, "roundrobin", "the only common protocol of the three");
    st_group_free(g);
}

Test(group_state, held_heartbeat_released_when_rebalance_starts)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    waiter_t ha = { 0 }, hb = { 0 }, hb2 = { 0 };
    st_group_heartbeat_hold(g, 1, a, NULL, 5000, &ha, now);
    st_group_heartbeat_hold(g, 1, b, NULL, 5000, &hb, now);
    cr_expect_not(ha.done, "held: nothing changed");
    cr_expect_not(hb.done);
    st_group_heartbeat_hold(g, 1, b, NULL, 5000, &hb2, now);
    cr_expect(hb.done && hb.error == ST_ERR_NONE, "a newer held heartbeat releases the older");
    cr_expect_not(hb2.done);
    /* The member stays alive past its session timeout while held. */
    st_group_tick(g, now + 1500, now + 1500);
    cr_expect_not_null(st_group_member(g, a));
    /* b leaves: a learns of the rebalance at once. */
    cr_expect_eq(st_group_leave(g, b, NULL, NULL, now + 1600, now + 1600), ST_ERR_NONE);
    cr_assert(ha.done);
    cr_expect_eq(ha.error, ST_ERR_REBALANCE_IN_PROGRESS);
    cr_expect(hb2.done && hb2.error == ST_ERR_UNKNOWN_MEMBER_ID, "the leaver's own is answered");
    cr_expect_eq(ha.calls, 1);
    /* In PreparingRebalance a held heartbeat is answered at once. */
    waiter_t h3 = { 0 };
    st_group_heartbeat_hold(g, 1, a, NULL, 5000, &h3, now + 1700);
    cr_expect(h3.done && h3.error == ST_ERR_REBALANCE_IN_PROGRESS);
    st_group_free(g);
}

/* A member killed while its short hold is parked leaves session.timeout.ms (1000 here) after
 * that heartbeat arrived, not the hold's wait later (the broker used to add the wait). */
Test(group_state, short_held_heartbeat_does_not_extend_the_session)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    waiter_t ha = { 0 }, hb = { 0 };
    st_group_heartbeat_hold(g, 1, a, NULL, 300, &ha, now);
    cr_expect_eq(st_group_heartbeat(g, 1, b, NULL, now + 900), ST_ERR_NONE);
    st_group_tick(g, now + 999, now + 999);
    cr_expect_not_null(st_group_member(g, a), "alive within its session");
    st_group_tick(g, now + 1001, now + 1001);
    cr_expect_null(st_group_member(g, a), "gone one session after its last heartbeat");
    cr_expect(ha.done, "its held heartbeat is answered");
    (void)hb;
    st_group_free(g);
}

Test(group_state, failed_assignment_write_fails_syncs_and_rebalances)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    waiter_t w;
    char id[128];
    join_dynamic(g, &w, 0, id);
    st_group_tick(g, 100, 100);
    cr_assert(w.done);
    waiter_t s = { 0 };
    st_group_assignment_t as = { id, (const uint8_t *)"A", 1 };
    st_group_sync(g, 1, id, NULL, NULL, NULL, &as, 1, &s, 100, 100);
    cr_assert_not(s.done);
    /* A stale completion (another generation) changes nothing. */
    st_group_store_done(g, 7, ST_ERR_NOT_COORDINATOR, 110, 110);
    cr_assert_not(s.done);
    st_group_store_done(g, 1, ST_ERR_NOT_COORDINATOR, 120, 120);
    cr_assert(s.done);
    cr_expect_eq(s.error, ST_ERR_NOT_COORDINATOR);
    cr_expect_eq(g->state, ST_GROUP_PREPARING_REBALANCE);
    cr_expect_eq(st_group_member(g, id)->assignment_len, 0, "the assignment was dropped");
    /* A store that fails at once behaves the same. */
    waiter_t j = { 0 };
    st_group_join_req_t r = req_for(id, NULL);
    st_group_join(g, &r, &j, 130, 130);
    cr_assert(j.done);
    store_result = ST_ERR_COORDINATOR_NOT_AVAILABLE;
    waiter_t s2 = { 0 };
    st_group_sync(g, j.generation, id, NULL, NULL, NULL, &as, 1, &s2, 140, 140);
    store_result = ST_ERR_NONE;
    cr_assert(s2.done);
    cr_expect_eq(s2.error, ST_ERR_COORDINATOR_NOT_AVAILABLE);
    st_group_free(g);
}

Test(group_state, max_size_and_protocol_type_of_an_emptied_group)
{
    static const st_group_config_t small = {
        .initial_rebalance_delay_ms = 0, .min_session_timeout_ms = 10,
        .max_session_timeout_ms = 60000, .max_size = 1, .new_member_join_timeout_ms = 300000,
    };
    st_group_t *g = st_group_new("g", &small, &ops, NULL, 0);
    waiter_t w1 = { 0 }, w2 = { 0 };
    st_group_join_req_t r = req_for("", "i1");
    st_group_join(g, &r, &w1, 0, 0);
    st_group_tick(g, 0, 0);
    cr_assert(w1.done);
    r = req_for("", "i2");
    st_group_join(g, &r, &w2, 0, 0);
    cr_expect_eq(w2.error, ST_ERR_GROUP_MAX_SIZE_REACHED);
    /* Emptied, the group takes a member of another protocol type. */
    cr_expect_eq(st_group_leave(g, w1.member_id, NULL, NULL, 10, 10), ST_ERR_NONE);
    cr_assert_eq(g->state, ST_GROUP_EMPTY);
    waiter_t w3 = { 0 };
    r = req_for("", "i3");
    r.protocol_type = "connect";
    st_group_join(g, &r, &w3, 20, 20);
    st_group_tick(g, 20, 20);
    cr_expect_eq(w3.error, ST_ERR_NONE);
    cr_expect_str_eq(g->protocol_type, "connect");
    st_group_free(g);
}

static int expired;
static void on_expire(void *arg, const char *topic, int32_t partition)
{
    (void)arg; (void)topic; (void)partition;
    expired++;
}

Test(group_state, offsets_expire_only_when_empty)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    cr_assert_eq(st_group_offset_put(g, "t", 0, 10, -1, "", 0), 0);
    cr_assert_eq(st_group_offset_put(g, "t", 0, 11, 3, "m", 5), 0);
    cr_expect_eq(st_group_offset_get(g, "t", 0)->offset, 11);
    cr_expect_eq(st_group_expire_offsets(g, 1000000, 10, on_expire, NULL), 0, "group not empty");
    st_group_leave(g, a, NULL, NULL, now, now);
    st_group_leave(g, b, NULL, NULL, now, 500);
    cr_assert_eq(g->state, ST_GROUP_EMPTY);
    expired = 0;
    cr_expect_eq(st_group_expire_offsets(g, 505, 10, on_expire, NULL), 0,
                 "retention counts from when the group became Empty");
    cr_expect_eq(st_group_expire_offsets(g, 510, 10, on_expire, NULL), 1);
    cr_expect_eq(expired, 1);
    cr_expect_null(st_group_offset_get(g, "t", 0));
    st_group_free(g);

    /* A group without protocol type: by commit time. */
    g = st_group_new("simple", &cfg, &ops, NULL, 0);
    cr_expect_eq(st_group_validate_commit(g, -1, "", NULL, 0), ST_ERR_NONE);
    st_group_offset_put(g, "t", 0, 1, -1, "", 100);
    st_group_offset_put(g, "t", 1, 1, -1, "", 200);
    cr_expect_eq(st_group_expire_offsets(g, 150, 50, NULL, NULL), 1);
    cr_expect_eq(g->n_offsets, 1);
    st_group_free(g);
}

Test(group_state, subscribed_topics_from_consumer_metadata)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    cr_expect(st_group_subscribed(g, "t"));
    cr_expect_not(st_group_subscribed(g, "u"));
    st_group_free(g);
}

Test(group_state, record_round_trip_reloads_stable_group)
{
    char a[128], b[128];
    int64_t now = 0;
    st_group_t *g = stable_pair(a, b, &now);
    st_group_meta_value_t rec;
    cr_assert_eq(st_group_to_record(g, &rec), 0);
    st_buf_t buf = ST_BUF_INIT;
    cr_assert_eq(st_offsets_encode_group_value(&buf, &rec), 0);
    free(rec.members);
    st_group_meta_value_t dec;
    cr_assert_eq(st_offsets_decode_group_value(buf.data, buf.len, &dec, NULL, 0), 0);
    st_group_t *h = st_group_new("g", &cfg, &ops, NULL, 0);
    cr_assert_eq(st_group_load_record(h, &dec, 1000), 0);
    cr_expect_eq(h->state, ST_GROUP_STABLE);
    cr_expect_eq(h->generation, 1);
    cr_expect_str_eq(h->leader_id, a);
    cr_expect_str_eq(h->protocol_name, "range");
    cr_expect_eq(memcmp(st_group_member(h, b)->assignment, "BBB", 3), 0);
    cr_expect_eq(st_group_heartbeat(h, 1, b, NULL, 1000), ST_ERR_NONE);
    /* The reloaded members' sessions run from the load: unheard-of members expire. */
    st_group_tick(h, 1000 + 1001, 0);
    cr_expect_eq(h->n_members, 0);
    st_group_meta_value_free(&dec);
    st_buf_free(&buf);
    st_group_free(h);
    st_group_free(g);
}

Test(group_state, invariant_checker_catches_a_broken_group, .signal = SIGABRT)
{
    st_group_t *g = st_group_new("g", &cfg, &ops, NULL, 0);
    g->state = ST_GROUP_STABLE;          /* Stable without members or leader */
    st_group_check(g);
}
