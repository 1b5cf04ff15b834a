/* Shared by the assignor unit tests (test_assignor.c, test_assignor_props.c): groups built from
 * short specs, running an assignor, and comparing results. Test code only. */
#ifndef ASSIGNOR_TEST_UTIL_H
#define ASSIGNOR_TEST_UTIL_H

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

static inline grp_t *grp_new(void)
{
    grp_t *g = calloc(1, sizeof(*g));
    cr_assert_not_null(g);
    return g;
}

static inline void topic(grp_t *g, const char *name, int32_t parts)
{
    cr_assert_lt(g->nt, MAXT);
    snprintf(g->tt[g->nt], sizeof(g->tt[0]), "%s", name);
    g->t[g->nt] = (st_assign_topic_t){ g->tt[g->nt], parts };
    g->nt++;
}

static inline size_t add(grp_t *g, const char *id, const char *instance, const char *topics,
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
static inline void set_owned(grp_t *g, size_t i, const st_tp_list_t *l, int32_t gen)
{
    cr_assert_leq(l->n, MAXO);
    for (size_t k = 0; k < l->n; k++) {
        snprintf(g->onames[i][k], sizeof(g->onames[0][0]), "%s", l->v[k].topic);
        g->owned[i][k] = (st_tp_t){ g->onames[i][k], l->v[k].partition };
    }
    g->m[i].owned = (st_tp_list_t){ g->owned[i], l->n };
    g->m[i].generation = gen;
}

static inline void remove_member(grp_t *g, size_t i)
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

static inline size_t member_index(const grp_t *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->m[i].member_id, id) == 0)
            return i;
    cr_assert_fail("no member %s", id);
    return 0;
}

static inline void run(st_assignor_t a, const grp_t *g, st_assign_result_t *res)
{
    char err[256] = "";
    int rc = st_assign(a, g->m, g->n, g->t, g->nt, res, err, sizeof(err));
    cr_assert_eq(rc, 0, "st_assign(%s): %d %s", st_assignor_name(a), rc, err);
    cr_assert_eq(res->member_cnt, g->n);
}

static inline bool has(const st_tp_list_t *l, const char *t, int32_t p)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k].topic, t) == 0 && l->v[k].partition == p)
            return true;
    return false;
}

static inline const char *fmt(const st_tp_list_t *l)
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
static inline void expect(const st_assign_result_t *res, const grp_t *g, const char *id,
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
static inline bool subset(const st_tp_list_t *l, const st_tp_list_t *of)
{
    for (size_t k = 0; k < l->n; k++)
        if (!has(of, l->v[k].topic, l->v[k].partition))
            return false;
    return true;
}

static inline bool disjoint(const st_tp_list_t *a, const st_tp_list_t *b)
{
    for (size_t k = 0; k < a->n; k++)
        if (has(b, a->v[k].topic, a->v[k].partition))
            return false;
    return true;
}

static inline void copy_list(st_tp_list_t *dst, st_tp_t *store, char (*names)[24], const st_tp_list_t *s)
{
    for (size_t k = 0; k < s->n; k++) {
        snprintf(names[k], 24, "%s", s->v[k].topic);
        store[k] = (st_tp_t){ names[k], s->v[k].partition };
    }
    *dst = (st_tp_list_t){ store, s->n };
}

#endif
