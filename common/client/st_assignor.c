/* The partition assignors' entry point: input validation and indexing (st_asg_t), the range and
 * roundrobin assignors, cooperative-sticky's withholding step, the result, and the helpers that
 * turn a Subscription into assignor input and back (memberData, subscriptionUserData). The
 * sticky algorithm is in st_assignor_sticky.c. See st_assignor.h. */
#include "st_assignor.h"
#include "st_assignor_int.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* ---- names ------------------------------------------------------------------------------------ */
static const struct {
    const char *name;
    const char *cls;
} names[ST_ASSIGNOR_COUNT] = {
    [ST_ASSIGNOR_RANGE] = { "range", "RangeAssignor" },
    [ST_ASSIGNOR_ROUNDROBIN] = { "roundrobin", "RoundRobinAssignor" },
    [ST_ASSIGNOR_STICKY] = { "sticky", "StickyAssignor" },
    [ST_ASSIGNOR_COOPERATIVE_STICKY] = { "cooperative-sticky", "CooperativeStickyAssignor" },
};

const char *st_assignor_name(st_assignor_t assignor)
{
    return (unsigned)assignor < ST_ASSIGNOR_COUNT ? names[assignor].name : NULL;
}

int st_assignor_parse(const char *s, st_assignor_t *ret_assignor)
{
    if (!s)
        return -EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    static const char pkg[] = "org.apache.kafka.clients.consumer.";
    for (int i = 0; i < ST_ASSIGNOR_COUNT; i++) {
        const char *cls = names[i].cls;
        size_t cl = strlen(cls), pl = sizeof(pkg) - 1;
        if ((n == strlen(names[i].name) && strncmp(s, names[i].name, n) == 0) ||
            (n == cl && strncmp(s, cls, n) == 0) ||
            (n == pl + cl && strncmp(s, pkg, pl) == 0 && strncmp(s + pl, cls, cl) == 0)) {
            *ret_assignor = (st_assignor_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

int st_assignor_parse_list(const char *list, st_assignor_t *ret_assignors, size_t *ret_count,
                           char *errbuf, size_t errlen)
{
    st_assignor_t found[ST_ASSIGNOR_COUNT];
    size_t n = 0;
    const char *p = list ? list : "";
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char word[160];
        snprintf(word, sizeof(word), "%.*s", (int)(len < sizeof(word) ? len : sizeof(word) - 1), p);
        st_assignor_t a;
        bool blank = strspn(word, " \t") == strlen(word);
        if (!blank || end) {
            if (blank || len >= sizeof(word) || st_assignor_parse(word, &a) < 0) {
                if (errbuf && errlen)
                    snprintf(errbuf, errlen, "partition.assignment.strategy: '%s' is not an "
                             "assignor (accepted: range, roundrobin, sticky, cooperative-sticky, "
                             "or Kafka's class names such as "
                             "org.apache.kafka.clients.consumer.RangeAssignor)", word);
                return -EINVAL;
            }
            for (size_t i = 0; i < n; i++) {
                if (found[i] == a) {
                    if (errbuf && errlen)
                        snprintf(errbuf, errlen, "partition.assignment.strategy: %s is listed "
                                 "twice", st_assignor_name(a));
                    return -EINVAL;
                }
            }
            found[n++] = a;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (n == 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "partition.assignment.strategy: no assignor given (accepted: "
                     "range, roundrobin, sticky, cooperative-sticky)");
        return -EINVAL;
    }
    if (ret_assignors)
        memcpy(ret_assignors, found, n * sizeof(found[0]));
    if (ret_count)
        *ret_count = n;
    return 0;
}

bool st_assignor_is_cooperative(st_assignor_t assignor)
{
    return assignor == ST_ASSIGNOR_COOPERATIVE_STICKY;
}

/* ---- indexing --------------------------------------------------------------------------------- */
typedef struct name_key {
    const char *name;
    size_t idx;
} name_key_t;

static int cmp_name_key(const void *x, const void *y)
{
    const name_key_t *a = x, *b = y;
    int c = st_cp_java_strcmp(a->name, b->name);
    return c ? c : (a->idx < b->idx ? -1 : (a->idx > b->idx));
}

/* Index of topic `name` among the known topics, or -1. */
static long topic_find(const st_asg_t *a, const char *name)
{
    size_t lo = 0, hi = a->t;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = st_cp_java_strcmp(a->tname[mid], name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void asg_free(st_asg_t *a)
{
    free(a->id_rank);
    free(a->tname);
    free(a->tparts);
    free(a->tbase);
    free(a->ptopic);
    free(a->sub);
    free(a->tsub_off);
    free(a->tsub);
    free(a->claim_off);
    free(a->claim);
    free(a->owner);
    free(a->multi);
    free(a->asg);
    memset(a, 0, sizeof(*a));
}

/* Global number of an owned entry, or -1 when it names no known partition. */
static long owned_global(const st_asg_t *a, const st_tp_t *tp)
{
    long ti = topic_find(a, tp->topic);
    if (ti < 0 || tp->partition < 0 || tp->partition >= a->tparts[ti])
        return -1;
    return (long)(a->tbase[ti] + (size_t)tp->partition);
}

/* Claims: per partition, the distinct members claiming it; then the owner by generation. */
static int index_claims(st_asg_t *a)
{
    size_t total = 0;
    for (size_t i = 0; i < a->m; i++)
        total += a->mem[i].owned.n;
    a->claim_off = calloc(a->p + 1, sizeof(*a->claim_off));
    a->claim = malloc((total ? total : 1) * sizeof(*a->claim));
    a->owner = malloc((a->p ? a->p : 1) * sizeof(*a->owner));
    a->multi = calloc(a->p ? a->p : 1, 1);
    int32_t *last = malloc((a->p ? a->p : 1) * sizeof(*last));   /* dedupe per member */
    if (!a->claim_off || !a->claim || !a->owner || !a->multi || !last) {
        free(last);
        return -ENOMEM;
    }
    for (size_t g = 0; g < a->p; g++)
        last[g] = -1;
    /* count, then fill (members in index order, so each claim list is ascending) */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < a->m; i++) {
            const st_tp_list_t *own = &a->mem[i].owned;
            for (size_t k = 0; k < own->n; k++) {
                long g = owned_global(a, &own->v[k]);
                if (g < 0 || last[g] == (int32_t)i)
                    continue;
                last[g] = (int32_t)i;
                if (pass == 0)
                    a->claim_off[g + 1]++;
                else
                    a->claim[a->claim_off[g]++] = (int32_t)i;
            }
        }
        if (pass == 0) {
            for (size_t g = 0; g < a->p; g++)
                a->claim_off[g + 1] += a->claim_off[g];
            for (size_t g = 0; g < a->p; g++)
                last[g] = -1;
        } else {
            /* claim_off[g] now holds the end of g's list: shift back */
            for (size_t g = a->p; g > 0; g--)
                a->claim_off[g] = a->claim_off[g - 1];
            a->claim_off[0] = 0;
        }
    }
    free(last);

    for (size_t g = 0; g < a->p; g++) {
        int32_t best = -1, best_gen = INT32_MIN;
        size_t at_best = 0;
        for (size_t k = a->claim_off[g]; k < a->claim_off[g + 1]; k++) {
            int32_t i = a->claim[k];
            int32_t gen = a->mem[i].generation < 0 ? ST_CP_DEFAULT_GENERATION
                                                   : a->mem[i].generation;
            if (gen > best_gen) {
                best = i, best_gen = gen, at_best = 1;
            } else if (gen == best_gen) {
                at_best++;
            }
        }
        a->owner[g] = -1;
        if (at_best >= 2)
            a->multi[g] = 1;
        else if (best >= 0 && st_asg_subscribed(a, (size_t)best, a->ptopic[g]))
            a->owner[g] = best;
    }
    return 0;
}

static int asg_build(st_asg_t *a, const st_assign_member_t *members, size_t m,
                     const st_assign_topic_t *topics, size_t topic_cnt, char *errbuf,
                     size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->mem = members;
    a->m = m;
    if (m && !members)
        return fail(errbuf, errlen, "assignor: %zu members but no member array", m);
    if (topic_cnt && !topics)
        return fail(errbuf, errlen, "assignor: %zu topics but no topic array", topic_cnt);
    if (m > INT32_MAX)
        return fail(errbuf, errlen, "assignor: %zu members are too many", m);
    for (size_t i = 0; i < m; i++) {
        const st_assign_member_t *mb = &members[i];
        if (!mb->member_id || !*mb->member_id)
            return fail(errbuf, errlen, "assignor: member %zu has %s member id", i,
                        mb->member_id ? "an empty" : "no");
        if (mb->topic_cnt && !mb->topics)
            return fail(errbuf, errlen, "assignor: member %s subscribes to %zu topics but has "
                        "no topic array", mb->member_id, mb->topic_cnt);
        for (size_t k = 0; k < mb->topic_cnt; k++)
            if (!mb->topics[k])
                return fail(errbuf, errlen, "assignor: member %s: subscribed topic %zu is NULL",
                            mb->member_id, k);
        if (mb->owned.n && !mb->owned.v)
            return fail(errbuf, errlen, "assignor: member %s owns %zu partitions but has no "
                        "partition array", mb->member_id, mb->owned.n);
        for (size_t k = 0; k < mb->owned.n; k++)
            if (!mb->owned.v[k].topic)
                return fail(errbuf, errlen, "assignor: member %s: owned partition %zu has no "
                            "topic", mb->member_id, k);
    }
    for (size_t k = 0; k < topic_cnt; k++) {
        if (!topics[k].name)
            return fail(errbuf, errlen, "assignor: topic %zu has no name", k);
        if (topics[k].partitions < 0)
            return fail(errbuf, errlen, "assignor: topic %s has a negative partition count %d",
                        topics[k].name, topics[k].partitions);
    }

    int rc = -ENOMEM;
    size_t mm = m ? m : 1;
    name_key_t *keys = malloc((topic_cnt > m ? topic_cnt : mm) * sizeof(*keys));
    a->id_rank = malloc(mm * sizeof(*a->id_rank));
    if (!keys || !a->id_rank)
        goto out;

    /* members by id: duplicates refused; then group.instance.id duplicates */
    for (size_t i = 0; i < m; i++)
        keys[i] = (name_key_t){ members[i].member_id, i };
    qsort(keys, m, sizeof(*keys), cmp_name_key);
    for (size_t r = 0; r < m; r++) {
        if (r && strcmp(keys[r].name, keys[r - 1].name) == 0) {
            rc = fail(errbuf, errlen, "assignor: member id %s appears twice", keys[r].name);
            goto out;
        }
        a->id_rank[keys[r].idx] = r;
    }
    size_t nstatic = 0;
    for (size_t i = 0; i < m; i++)
        if (members[i].group_instance_id)
            keys[nstatic++] = (name_key_t){ members[i].group_instance_id, i };
    qsort(keys, nstatic, sizeof(*keys), cmp_name_key);
    for (size_t r = 1; r < nstatic; r++)
        if (strcmp(keys[r].name, keys[r - 1].name) == 0) {
            rc = fail(errbuf, errlen, "assignor: group.instance.id %s is used by members %s and "
                      "%s", keys[r].name, members[keys[r - 1].idx].member_id,
                      members[keys[r].idx].member_id);
            goto out;
        }

    /* known topics sorted by name */
    size_t t = 0;
    for (size_t k = 0; k < topic_cnt; k++)
        keys[t++] = (name_key_t){ topics[k].name, k };
    qsort(keys, t, sizeof(*keys), cmp_name_key);
    for (size_t r = 1; r < t; r++)
        if (strcmp(keys[r].name, keys[r - 1].name) == 0) {
            rc = fail(errbuf, errlen, "assignor: topic %s is listed twice", keys[r].name);
            goto out;
        }
    size_t tt = t ? t : 1;
    a->tname = malloc(tt * sizeof(*a->tname));
    a->tparts = malloc(tt * sizeof(*a->tparts));
    a->tbase = malloc(tt * sizeof(*a->tbase));
    if (!a->tname || !a->tparts || !a->tbase)
        goto out;
    a->t = 0;
    for (size_t r = 0; r < t; r++) {
        if (topics[keys[r].idx].partitions == 0)
            continue;
        a->tname[a->t] = keys[r].name;
        a->tparts[a->t] = topics[keys[r].idx].partitions;
        a->tbase[a->t] = a->p;
        a->p += (size_t)a->tparts[a->t];
        a->t++;
    }
    if (a->p > UINT32_MAX) {
        rc = fail(errbuf, errlen, "assignor: %zu partitions are too many", a->p);
        goto out;
    }
    size_t pp = a->p ? a->p : 1;
    a->ptopic = malloc(pp * sizeof(*a->ptopic));
    a->asg = malloc(pp * sizeof(*a->asg));
    size_t subsz = m * a->t;
    a->sub = calloc(subsz ? subsz : 1, 1);
    a->tsub_off = calloc(a->t + 1, sizeof(*a->tsub_off));
    if (!a->ptopic || !a->asg || !a->sub || !a->tsub_off)
        goto out;
    for (size_t ti = 0; ti < a->t; ti++)
        for (int32_t q = 0; q < a->tparts[ti]; q++)
            a->ptopic[a->tbase[ti] + (size_t)q] = (uint32_t)ti;
    for (size_t g = 0; g < a->p; g++)
        a->asg[g] = -1;

    /* subscriptions */
    size_t nsub = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < members[i].topic_cnt; k++) {
            long ti = topic_find(a, members[i].topics[k]);
            if (ti >= 0 && !a->sub[i * a->t + (size_t)ti]) {
                a->sub[i * a->t + (size_t)ti] = 1;
                a->tsub_off[ti + 1]++;
                nsub++;
            }
        }
    for (size_t ti = 0; ti < a->t; ti++)
        a->tsub_off[ti + 1] += a->tsub_off[ti];
    a->tsub = malloc((nsub ? nsub : 1) * sizeof(*a->tsub));
    if (!a->tsub)
        goto out;
    size_t *fill = calloc(a->t ? a->t : 1, sizeof(*fill));
    if (!fill)
        goto out;
    for (size_t i = 0; i < m; i++)
        for (size_t ti = 0; ti < a->t; ti++)
            if (a->sub[i * a->t + ti])
                a->tsub[a->tsub_off[ti] + fill[ti]++] = (int32_t)i;
    free(fill);

    rc = index_claims(a);
out:
    free(keys);
    return rc;
}

bool st_asg_check(const st_asg_t *a)
{
    for (size_t g = 0; g < a->p; g++) {
        size_t ti = a->ptopic[g];
        if (a->asg[g] < -1 || a->asg[g] >= (int32_t)a->m)
            return false;
        if (a->asg[g] >= 0 && !st_asg_subscribed(a, (size_t)a->asg[g], ti))
            return false;
        if (a->owner[g] >= 0 && (a->multi[g] || !st_asg_subscribed(a, (size_t)a->owner[g], ti)))
            return false;
        for (size_t k = a->claim_off[g]; k + 1 < a->claim_off[g + 1]; k++)
            if (a->claim[k] >= a->claim[k + 1])
                return false;
    }
    return true;
}

/* ---- member order (AbstractPartitionAssignor.MemberInfo) -------------------------------------- */
typedef struct member_key {
    const char *instance;   /* NULL: dynamic */
    const char *id;
    size_t idx;
} member_key_t;

static int cmp_member_info(const void *x, const void *y)
{
    const member_key_t *a = x, *b = y;
    if (a->instance && b->instance)
        return st_cp_java_strcmp(a->instance, b->instance);
    if (a->instance)
        return -1;
    if (b->instance)
        return 1;
    return st_cp_java_strcmp(a->id, b->id);
}

/* Member indices in MemberInfo order. */
static size_t *member_info_order(const st_asg_t *a)
{
    member_key_t *keys = malloc((a->m ? a->m : 1) * sizeof(*keys));
    size_t *order = malloc((a->m ? a->m : 1) * sizeof(*order));
    if (!keys || !order) {
        free(keys);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < a->m; i++)
        keys[i] = (member_key_t){ a->mem[i].group_instance_id, a->mem[i].member_id, i };
    qsort(keys, a->m, sizeof(*keys), cmp_member_info);
    for (size_t r = 0; r < a->m; r++)
        order[r] = keys[r].idx;
    free(keys);
    return order;
}

/* ---- range ------------------------------------------------------------------------------------ */
static int assign_range(st_asg_t *a)
{
    size_t *order = member_info_order(a);
    size_t *subs = malloc((a->m ? a->m : 1) * sizeof(*subs));
    if (!order || !subs) {
        free(order);
        free(subs);
        return -ENOMEM;
    }
    for (size_t ti = 0; ti < a->t; ti++) {
        size_t c = 0;
        for (size_t r = 0; r < a->m; r++)
            if (st_asg_subscribed(a, order[r], ti))
                subs[c++] = order[r];
        if (c == 0)
            continue;
        size_t parts = (size_t)a->tparts[ti], each = parts / c, extra = parts % c, q = 0;
        for (size_t k = 0; k < c; k++) {
            size_t n = each + (k < extra ? 1 : 0);
            for (size_t j = 0; j < n; j++, q++)
                a->asg[a->tbase[ti] + q] = (int32_t)subs[k];
        }
        assert(q == parts);
    }
    free(order);
    free(subs);
    return 0;
}

/* ---- roundrobin ------------------------------------------------------------------------------- */
static int assign_roundrobin(st_asg_t *a)
{
    if (a->m == 0)
        return 0;
    size_t *order = member_info_order(a);
    if (!order)
        return -ENOMEM;
    size_t next = 0;   /* position in order[] of the member to try next (circular) */
    for (size_t g = 0; g < a->p; g++) {
        size_t ti = a->ptopic[g];
        if (st_asg_topic_subs(a, ti) == 0)
            continue;
        while (!st_asg_subscribed(a, order[next], ti))
            next = (next + 1) % a->m;
        a->asg[g] = (int32_t)order[next];
        next = (next + 1) % a->m;
    }
    free(order);
    return 0;
}

/* ---- cooperative-sticky ----------------------------------------------------------------------- */
static bool claims(const st_asg_t *a, size_t g, int32_t i)
{
    for (size_t k = a->claim_off[g]; k < a->claim_off[g + 1]; k++)
        if (a->claim[k] == i)
            return true;
    return false;
}

/* Marks in *withheld the partitions this round must leave out; returns their number. */
static size_t cooperative_withhold(const st_asg_t *a, uint8_t *withheld)
{
    size_t n = 0;
    for (size_t g = 0; g < a->p; g++) {
        int32_t to = a->asg[g];
        withheld[g] = 0;
        if (to < 0)
            continue;
        size_t nclaims = a->claim_off[g + 1] - a->claim_off[g];
        bool taken = !claims(a, g, to) && nclaims > 0;   /* someone else claims it */
        if (taken || a->multi[g]) {
            withheld[g] = 1;
            n++;
        }
    }
    return n;
}

/* ---- result ----------------------------------------------------------------------------------- */
void st_assign_result_free(st_assign_result_t *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->member_cnt && res->assigned; i++)
        st_tp_list_free(&res->assigned[i]);
    free(res->assigned);
    for (size_t k = 0; k < res->pending_cnt; k++)
        free(res->pending[k].tp.topic);
    free(res->pending);
    memset(res, 0, sizeof(*res));
}

static int result_build(const st_asg_t *a, const uint8_t *withheld, size_t nwithheld,
                        st_assign_result_t *ret)
{
    st_assign_result_t res = { .member_cnt = a->m };
    res.assigned = calloc(a->m ? a->m : 1, sizeof(*res.assigned));
    res.pending = calloc(nwithheld ? nwithheld : 1, sizeof(*res.pending));
    size_t *cnt = calloc(a->m ? a->m : 1, sizeof(*cnt));
    if (!res.assigned || !res.pending || !cnt)
        goto nomem;
    for (size_t g = 0; g < a->p; g++)
        if (a->asg[g] >= 0 && !(withheld && withheld[g]))
            cnt[a->asg[g]]++;
    for (size_t i = 0; i < a->m; i++)
        if (cnt[i] && !(res.assigned[i].v = calloc(cnt[i], sizeof(st_tp_t))))
            goto nomem;
    for (size_t g = 0; g < a->p; g++) {
        int32_t i = a->asg[g];
        if (i < 0)
            continue;
        st_tp_t tp = { strdup(a->tname[a->ptopic[g]]),
                       (int32_t)(g - a->tbase[a->ptopic[g]]) };
        if (!tp.topic)
            goto nomem;
        if (withheld && withheld[g]) {
            res.pending[res.pending_cnt++] = (st_assign_pending_t){ tp, (size_t)i };
        } else {
            st_tp_list_t *l = &res.assigned[i];
            l->v[l->n++] = tp;
        }
    }
    free(cnt);
    *ret = res;
    return 0;
nomem:
    free(cnt);
    st_assign_result_free(&res);
    return -ENOMEM;
}

int st_assign(st_assignor_t assignor, const st_assign_member_t *members, size_t member_cnt,
              const st_assign_topic_t *topics, size_t topic_cnt, st_assign_result_t *ret,
              char *errbuf, size_t errlen)
{
    if ((unsigned)assignor >= ST_ASSIGNOR_COUNT)
        return fail(errbuf, errlen, "assignor: unknown assignor %d", (int)assignor);
    st_asg_t a;
    int rc = asg_build(&a, members, member_cnt, topics, topic_cnt, errbuf, errlen);
    if (rc == 0) {
        switch (assignor) {
        case ST_ASSIGNOR_RANGE:
            rc = assign_range(&a);
            break;
        case ST_ASSIGNOR_ROUNDROBIN:
            rc = assign_roundrobin(&a);
            break;
        case ST_ASSIGNOR_STICKY:
        case ST_ASSIGNOR_COOPERATIVE_STICKY:
            rc = st_asg_sticky(&a);
            break;
        }
    }
    if (rc == 0) {
        assert(st_asg_check(&a));
        uint8_t *withheld = NULL;
        size_t nwithheld = 0;
        if (assignor == ST_ASSIGNOR_COOPERATIVE_STICKY) {
            withheld = malloc(a.p ? a.p : 1);
            if (!withheld)
                rc = -ENOMEM;
            else
                nwithheld = cooperative_withhold(&a, withheld);
        }
        if (rc == 0)
            rc = result_build(&a, withheld, nwithheld, ret);
        free(withheld);
    }
    asg_free(&a);
    return rc;
}

/* ---- Subscription <-> assignor input ----------------------------------------------------------- */
static int tp_list_copy(st_tp_list_t *dst, const st_tp_list_t *src)
{
    st_tp_list_t l = { 0 };
    if (src->n) {
        l.v = calloc(src->n, sizeof(*l.v));
        if (!l.v)
            return -ENOMEM;
        for (; l.n < src->n; l.n++) {
            l.v[l.n].partition = src->v[l.n].partition;
            if (!(l.v[l.n].topic = strdup(src->v[l.n].topic))) {
                st_tp_list_free(&l);
                return -ENOMEM;
            }
        }
    }
    *dst = l;
    return 0;
}

int st_assignor_member_data(st_assignor_t assignor, const st_cp_subscription_t *sub,
                            st_tp_list_t *ret_owned, int32_t *ret_generation)
{
    st_tp_list_t owned = { 0 };
    int32_t gen = ST_CP_DEFAULT_GENERATION;
    const st_cp_bytes_t *ud = &sub->user_data;
    int rc = 0;
    if (assignor == ST_ASSIGNOR_STICKY) {
        /* eager: the user data (the last assignment it received) is the truth */
        if (ud->len > 0) {
            bool has_gen;
            char err[160];
            rc = st_cp_sticky_userdata_decode(ud->data, (size_t)ud->len, &owned, &gen, &has_gen,
                                              err, sizeof(err));
            if (rc == -EBADMSG) {   /* unreadable: Kafka ignores it */
                owned = (st_tp_list_t){ 0 };
                gen = ST_CP_DEFAULT_GENERATION;
                rc = 0;
            } else if (rc == 0 && !has_gen) {
                gen = ST_CP_DEFAULT_GENERATION;
            }
        }
    } else if (assignor == ST_ASSIGNOR_COOPERATIVE_STICKY) {
        rc = tp_list_copy(&owned, &sub->owned);
        if (rc == 0 && sub->generation_id >= 0) {
            gen = sub->generation_id;
        } else if (rc == 0 && ud->len >= 0) {
            char err[120];
            int32_t g;
            if (st_cp_coop_userdata_decode(ud->data, (size_t)ud->len, &g, err, sizeof(err)) == 0)
                gen = g;
        }
    }
    if (rc < 0) {
        st_tp_list_free(&owned);
        return rc;
    }
    *ret_owned = owned;
    *ret_generation = gen;
    return 0;
}

int st_assignor_user_data(st_assignor_t assignor, const st_tp_list_t *last, int32_t generation,
                          st_buf_t *out, bool *ret_null, char *errbuf, size_t errlen)
{
    switch (assignor) {
    case ST_ASSIGNOR_STICKY:
        if (!last) {
            *ret_null = true;
            return 0;
        }
        *ret_null = false;
        return st_cp_sticky_userdata_encode(last, generation, out, errbuf, errlen);
    case ST_ASSIGNOR_COOPERATIVE_STICKY:
        *ret_null = false;
        return st_cp_coop_userdata_encode(generation, out);
    case ST_ASSIGNOR_RANGE:
    case ST_ASSIGNOR_ROUNDROBIN:
        *ret_null = true;
        return 0;
    }
    return fail(errbuf, errlen, "assignor: unknown assignor %d", (int)assignor);
}

/* ---- cooperative check -------------------------------------------------------------------------- */
typedef struct tpm {
    const char *topic;
    int32_t partition;
    size_t member;
} tpm_t;

static int cmp_tpm(const void *x, const void *y)
{
    const tpm_t *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    if (c)
        return c;
    if (a->partition != b->partition)
        return a->partition < b->partition ? -1 : 1;
    return a->member < b->member ? -1 : (a->member > b->member);
}

int st_assign_check_cooperative(const st_assign_member_t *members, size_t member_cnt,
                                const st_assign_result_t *res, char *errbuf, size_t errlen)
{
    if (res->member_cnt != member_cnt)
        return fail(errbuf, errlen, "assignment has %zu members, the group %zu",
                    res->member_cnt, member_cnt);
    size_t nc = 0, na = 0;
    for (size_t i = 0; i < member_cnt; i++) {
        nc += members[i].owned.n;
        na += res->assigned[i].n;
    }
    tpm_t *cl = malloc((nc ? nc : 1) * sizeof(*cl));
    tpm_t *as = malloc((na ? na : 1) * sizeof(*as));
    int rc = 0;
    if (!cl || !as) {
        rc = -ENOMEM;
        goto out;
    }
    nc = na = 0;
    for (size_t i = 0; i < member_cnt; i++) {
        for (size_t k = 0; k < members[i].owned.n; k++)
            cl[nc++] = (tpm_t){ members[i].owned.v[k].topic, members[i].owned.v[k].partition, i };
        for (size_t k = 0; k < res->assigned[i].n; k++)
            as[na++] = (tpm_t){ res->assigned[i].v[k].topic, res->assigned[i].v[k].partition, i };
    }
    qsort(cl, nc, sizeof(*cl), cmp_tpm);
    qsort(as, na, sizeof(*as), cmp_tpm);
    for (size_t k = 0; k < na; k++) {
        if (k && strcmp(as[k].topic, as[k - 1].topic) == 0 &&
            as[k].partition == as[k - 1].partition) {
            rc = fail(errbuf, errlen, "%s-%d is assigned to both %s and %s", as[k].topic,
                      as[k].partition, members[as[k - 1].member].member_id,
                      members[as[k].member].member_id);
            goto out;
        }
        /* the claims on this partition: a contiguous run in cl */
        size_t lo = 0, hi = nc;
        tpm_t key = { as[k].topic, as[k].partition, 0 };
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cmp_tpm(&cl[mid], &key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        bool self = false;
        const tpm_t *other = NULL;
        for (size_t j = lo; j < nc && strcmp(cl[j].topic, key.topic) == 0 &&
                            cl[j].partition == key.partition; j++) {
            if (cl[j].member == as[k].member)
                self = true;
            else if (!other)
                other = &cl[j];
        }
        if (!self && other) {
            rc = fail(errbuf, errlen, "%s-%d is assigned to %s while %s still owns it",
                      as[k].topic, as[k].partition, members[as[k].member].member_id,
                      members[other->member].member_id);
            goto out;
        }
    }
out:
    free(cl);
    free(as);
    return rc;
}
