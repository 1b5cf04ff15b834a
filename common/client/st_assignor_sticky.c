/* The sticky assignment (StickyAssignor and CooperativeStickyAssignor; Kafka's
 * AbstractStickyAssignor), written from its contract rather than its code:
 *
 *   1. balance: the assignment minimises B = sum over members of count^2;
 *   2. stickiness: among those, it keeps the most partitions with their current owner
 *      (a->owner: the sole top-generation claimer, still subscribed).
 *
 * Equal subscriptions (every member subscribes to the same known topics) -- Kafka's
 * ConstrainedAssignmentBuilder. With N partitions and M members, minQuota = N/M, maxQuota =
 * ceil(N/M), and N%M members end with maxQuota. Going through the members by member id, each keeps
 * its owned partitions, lowest partition numbers first (Kafka sorts them by partition, then
 * topic): all of them if fewer than minQuota; maxQuota if it has that many and a maxQuota slot is
 * left; else minQuota. The remaining partitions, in (topic, partition) order, each go to the
 * member with the fewest (ties: member id). This is optimal: the counts end in {minQuota,
 * maxQuota} with exactly N%M at maxQuota (water-filling from counts <= maxQuota), and the number
 * kept, sum(min(owned, minQuota)) + min(N%M, #members owning >= maxQuota), is the most any
 * balanced assignment can keep (every balanced one has N%M members at maxQuota, the rest at
 * minQuota).
 *
 * Otherwise (the GeneralAssignmentBuilder's case): every member keeps all its owned partitions;
 * the rest go, topics with the fewest subscribers first, to the subscribed member with the fewest
 * (ties: member id); then improving cycles are cancelled until none is left. The cost of an
 * assignment is W*B + moved, with W = partitions + 1 so that any balance gain outweighs any
 * number of moves (B changes by even amounts, moved is at most the partition count). As a
 * min-cost flow (partition -> subscribed member: 0 if it is the owner else 1; member -> sink:
 * the convex cost W*c^2 as unit steps W*(2c+1)), an assignment is optimal iff its residual graph
 * has no negative cycle. Contracted to the members plus the sink, that graph is:
 *   a -> b   a holds a partition of a topic b subscribes to; weight: the cheapest such partition's
 *            change in moved: +1 if a owns it, -1 if b owns it, else 0 (a simple cycle leaves
 *            each member once, so each edge uses a different partition);
 *   b -> S   b takes one more: W*(2c_b + 1);     S -> a   a gives one up: -W*(2c_a - 1).
 * Bellman-Ford finds a negative cycle; moving the chosen partitions along it lowers the cost by
 * at least 1, so the loop ends, at the optimum. Each round costs O(P*M + M^3).
 *
 * Invariant kept throughout (asserted at the end): cnt[i] is the number of partitions with
 * asg == i, and every assigned partition goes to a subscriber of its topic. */
#include "st_assignor_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- a min-heap of members keyed by (count, member-id rank) ---------------------------------- */
typedef struct mheap {
    int32_t *v;
    size_t n;
    const size_t *cnt;
    const size_t *rank;
} mheap_t;

static bool mh_less(const mheap_t *h, int32_t x, int32_t y)
{
    if (h->cnt[x] != h->cnt[y])
        return h->cnt[x] < h->cnt[y];
    return h->rank[x] < h->rank[y];
}

static void mh_down(mheap_t *h, size_t k)
{
    for (;;) {
        size_t l = 2 * k + 1, r = l + 1, s = k;
        if (l < h->n && mh_less(h, h->v[l], h->v[s]))
            s = l;
        if (r < h->n && mh_less(h, h->v[r], h->v[s]))
            s = r;
        if (s == k)
            return;
        int32_t tmp = h->v[k];
        h->v[k] = h->v[s];
        h->v[s] = tmp;
        k = s;
    }
}

/* ---- equal subscriptions ------------------------------------------------------------------------ */
typedef struct qg {
    int32_t q;     /* partition number */
    size_t g;      /* global number (topic order breaks ties) */
} qg_t;

static int cmp_qg(const void *x, const void *y)
{
    const qg_t *a = x, *b = y;
    if (a->q != b->q)
        return a->q < b->q ? -1 : 1;
    return a->g < b->g ? -1 : (a->g > b->g);
}

static int sticky_equal(st_asg_t *a, size_t *cnt, const size_t *byrank)
{
    size_t m = a->m, n = 0;
    for (size_t ti = 0; ti < a->t; ti++)
        if (st_asg_subscribed(a, 0, ti))
            n += (size_t)a->tparts[ti];
    size_t min_q = n / m, max_q = min_q + (n % m ? 1 : 0), want_over = n % m, over = 0;

    /* owned partitions per member (CSR), each list sorted by (partition number, topic) */
    size_t *off = calloc(m + 1, sizeof(*off));
    qg_t *own = malloc((a->p ? a->p : 1) * sizeof(*own));
    mheap_t h = { malloc(m * sizeof(int32_t)), 0, cnt, a->id_rank };
    if (!off || !own || !h.v) {
        free(off);
        free(own);
        free(h.v);
        return -ENOMEM;
    }
    for (size_t g = 0; g < a->p; g++)
        if (a->owner[g] >= 0)
            off[a->owner[g] + 1]++;
    for (size_t i = 0; i < m; i++)
        off[i + 1] += off[i];
    for (size_t g = 0; g < a->p; g++)
        if (a->owner[g] >= 0) {
            size_t i = (size_t)a->owner[g];
            own[off[i]++] = (qg_t){ (int32_t)(g - a->tbase[a->ptopic[g]]), g };
        }
    for (size_t i = m; i > 0; i--)
        off[i] = off[i - 1];
    off[0] = 0;

    for (size_t r = 0; r < m; r++) {
        size_t i = byrank[r], k = off[i + 1] - off[i], keep;
        qsort(own + off[i], k, sizeof(*own), cmp_qg);
        if (k < min_q) {
            keep = k;
        } else if (k >= max_q && over < want_over) {
            keep = max_q;
            over++;
        } else {
            keep = min_q;
        }
        for (size_t j = 0; j < keep; j++)
            a->asg[own[off[i] + j].g] = (int32_t)i;
        cnt[i] = keep;
    }

    for (size_t i = 0; i < m; i++)
        h.v[h.n++] = (int32_t)i;
    for (size_t k = h.n / 2; k-- > 0;)
        mh_down(&h, k);
    for (size_t g = 0; g < a->p; g++) {
        if (a->asg[g] >= 0 || !st_asg_subscribed(a, 0, a->ptopic[g]))
            continue;
        int32_t i = h.v[0];
        a->asg[g] = i;
        cnt[i]++;
        mh_down(&h, 0);
    }
    free(off);
    free(own);
    free(h.v);
    return 0;
}

/* ---- general case ------------------------------------------------------------------------------ */
#define W_NONE INT8_MAX

typedef struct topic_key {
    size_t subs;
    size_t ti;
} topic_key_t;

static int cmp_topic_key(const void *x, const void *y)
{
    const topic_key_t *a = x, *b = y;
    if (a->subs != b->subs)
        return a->subs < b->subs ? -1 : 1;
    return a->ti < b->ti ? -1 : (a->ti > b->ti);
}

static void general_fill(st_asg_t *a, size_t *cnt, topic_key_t *order)
{
    for (size_t g = 0; g < a->p; g++)
        if (a->owner[g] >= 0) {
            a->asg[g] = a->owner[g];
            cnt[a->owner[g]]++;
        }
    for (size_t ti = 0; ti < a->t; ti++)
        order[ti] = (topic_key_t){ st_asg_topic_subs(a, ti), ti };
    qsort(order, a->t, sizeof(*order), cmp_topic_key);
    for (size_t k = 0; k < a->t; k++) {
        size_t ti = order[k].ti;
        if (order[k].subs == 0)
            continue;
        for (int32_t q = 0; q < a->tparts[ti]; q++) {
            size_t g = a->tbase[ti] + (size_t)q;
            if (a->asg[g] >= 0)
                continue;
            int32_t best = -1;
            for (size_t s = a->tsub_off[ti]; s < a->tsub_off[ti + 1]; s++) {
                int32_t i = a->tsub[s];
                if (best < 0 || cnt[i] < cnt[best] ||
                    (cnt[i] == cnt[best] && a->id_rank[i] < a->id_rank[best]))
                    best = i;
            }
            a->asg[g] = best;
            cnt[best]++;
        }
    }
}

typedef struct cyc_ws {
    int8_t *w;       /* [m*m] member edge weights, W_NONE = no edge */
    uint32_t *via;   /* [m*m] the partition each member edge moves */
    int64_t *dist;   /* [m+1] */
    size_t *pred;    /* [m+1] */
    size_t *cycle;   /* [m+1] */
} cyc_ws_t;

/* Member edges for the current assignment. */
static void member_edges(const st_asg_t *a, cyc_ws_t *ws)
{
    size_t m = a->m;
    memset(ws->w, W_NONE, m * m);
    for (size_t g = 0; g < a->p; g++) {
        int32_t from = a->asg[g];
        size_t ti = a->ptopic[g];
        if (from < 0 || st_asg_topic_subs(a, ti) < 2)
            continue;
        for (size_t s = a->tsub_off[ti]; s < a->tsub_off[ti + 1]; s++) {
            int32_t to = a->tsub[s];
            if (to == from)
                continue;
            int8_t d = (int8_t)((a->owner[g] == from) - (a->owner[g] == to));
            size_t e = (size_t)from * m + (size_t)to;
            if (d < ws->w[e]) {
                ws->w[e] = d;
                ws->via[e] = (uint32_t)g;
            }
        }
    }
}

/* One Bellman-Ford pass over the contracted graph; returns the length of a negative cycle
 * written to ws->cycle (nodes in reverse edge order: pred[cycle[k]] == cycle[k+1]), or 0. */
static size_t find_negative_cycle(const st_asg_t *a, const size_t *cnt, const size_t *byrank,
                                  int64_t big_w, cyc_ws_t *ws)
{
    size_t m = a->m, nodes = m + 1, sink = m, none = (size_t)-1, last = none;
    for (size_t v = 0; v < nodes; v++) {
        ws->dist[v] = 0;
        ws->pred[v] = none;
    }
    for (size_t round = 0; round < nodes; round++) {
        last = none;
        for (size_t ru = 0; ru < m; ru++) {
            size_t u = byrank[ru];
            for (size_t rv = 0; rv < m; rv++) {
                size_t v = byrank[rv];
                int8_t w = ws->w[u * m + v];
                if (w != W_NONE && ws->dist[u] + w < ws->dist[v]) {
                    ws->dist[v] = ws->dist[u] + w;
                    ws->pred[v] = u;
                    last = v;
                }
            }
            int64_t to_sink = big_w * (int64_t)(2 * cnt[u] + 1);
            if (ws->dist[u] + to_sink < ws->dist[sink]) {
                ws->dist[sink] = ws->dist[u] + to_sink;
                ws->pred[sink] = u;
                last = sink;
            }
        }
        for (size_t ru = 0; ru < m; ru++) {
            size_t u = byrank[ru];
            if (cnt[u] == 0)
                continue;
            int64_t from_sink = -big_w * (int64_t)(2 * cnt[u] - 1);
            if (ws->dist[sink] + from_sink < ws->dist[u]) {
                ws->dist[u] = ws->dist[sink] + from_sink;
                ws->pred[u] = sink;
                last = u;
            }
        }
        if (last == none)
            return 0;
    }
    /* relaxed in round `nodes`: walk back into the cycle, then collect it. The predecessor
     * chain of a node relaxed that late runs into a cycle; should it ever end instead (a chain
     * back to an unrelaxed node), report no cycle -- the assignment stays valid, only possibly
     * short of optimal -- rather than follow a missing pointer. */
    size_t y = last;
    for (size_t k = 0; k < nodes && y != none; k++)
        y = ws->pred[y];
    if (y == none)
        return 0;
    size_t len = 0, c = y;
    do {
        if (c == none || len == nodes)
            return 0;
        ws->cycle[len++] = c;
        c = ws->pred[c];
    } while (c != y);
    return len;
}

static int64_t edge_weight(const st_asg_t *a, const size_t *cnt, int64_t big_w,
                           const cyc_ws_t *ws, size_t u, size_t v)
{
    size_t m = a->m;
    if (v == m)
        return big_w * (int64_t)(2 * cnt[u] + 1);
    if (u == m)
        return -big_w * (int64_t)(2 * cnt[v] - 1);
    return ws->w[u * m + v];
}

static int sticky_general(st_asg_t *a, size_t *cnt, const size_t *byrank)
{
    size_t m = a->m;
    topic_key_t *order = malloc((a->t ? a->t : 1) * sizeof(*order));
    cyc_ws_t ws = {
        malloc(m * m), malloc(m * m * sizeof(uint32_t)), malloc((m + 1) * sizeof(int64_t)),
        malloc((m + 1) * sizeof(size_t)), malloc((m + 1) * sizeof(size_t)),
    };
    int rc = -ENOMEM;
    if (!order || !ws.w || !ws.via || !ws.dist || !ws.pred || !ws.cycle)
        goto out;
    general_fill(a, cnt, order);

    int64_t big_w = (int64_t)a->p + 1;
    for (;;) {
        member_edges(a, &ws);
        size_t len = find_negative_cycle(a, cnt, byrank, big_w, &ws);
        if (len == 0)
            break;
        /* the cycle's edges are pred[c] -> c for c in ws.cycle */
        int64_t total = 0;
        for (size_t k = 0; k < len; k++)
            total += edge_weight(a, cnt, big_w, &ws, ws.pred[ws.cycle[k]], ws.cycle[k]);
        if (total >= 0)   /* cannot happen (a predecessor-graph cycle is negative); stop safely */
            break;
        for (size_t k = 0; k < len; k++) {
            size_t v = ws.cycle[k], u = ws.pred[v];
            if (u == m || v == m)
                continue;
            size_t g = ws.via[u * m + v];
            assert(a->asg[g] == (int32_t)u);
            a->asg[g] = (int32_t)v;
            cnt[u]--;
            cnt[v]++;
        }
    }
    rc = 0;
out:
    free(order);
    free(ws.w);
    free(ws.via);
    free(ws.dist);
    free(ws.pred);
    free(ws.cycle);
    return rc;
}

int st_asg_sticky(st_asg_t *a)
{
    if (a->m == 0)
        return 0;
    size_t m = a->m;
    size_t *cnt = calloc(m, sizeof(*cnt));
    size_t *byrank = malloc(m * sizeof(*byrank));
    if (!cnt || !byrank) {
        free(cnt);
        free(byrank);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m; i++)
        byrank[a->id_rank[i]] = i;

    bool equal = true;
    for (size_t i = 1; i < m && equal; i++)
        equal = memcmp(a->sub, a->sub + i * a->t, a->t) == 0;

    int rc = equal ? sticky_equal(a, cnt, byrank) : sticky_general(a, cnt, byrank);
#ifndef NDEBUG
    if (rc == 0) {
        size_t *check = calloc(m, sizeof(*check));
        if (check) {
            for (size_t g = 0; g < a->p; g++)
                if (a->asg[g] >= 0)
                    check[a->asg[g]]++;
            for (size_t i = 0; i < m; i++)
                assert(check[i] == cnt[i]);
            free(check);
        }
    }
#endif
    free(cnt);
    free(byrank);
    return rc;
}
