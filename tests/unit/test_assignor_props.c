/* Property tests of the partition assignors (common/client/st_assignor*.c) over random groups:
 * every subscribed partition assigned exactly once and only to a subscriber; range and
 * roundrobin as defined; sticky minimal in sum(count^2) (no single move nor chain of moves can
 * even the counts out) and maximal in partitions kept, checked against exhaustive search on
 * small groups and against the closed form for equal subscriptions; cooperative-sticky never
 * hands a partition to a new owner in the round its owner gives it up, and settles in one more
 * round; the result does not depend on the order of the members. Reproducible: fixed seeds. */
#include "assignor_test_util.h"

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
