/* Connection quotas (see conn_quota.h): a total count and a per-address count table.
 *
 * Invariants (checked by check_quota in debug paths and asserted at each transition):
 *   Q1. total == sum of every entry's count; every entry in the table has count >= 1 (an entry
 *       that drops to 0 is removed at once, so the table holds only addresses with open
 *       connections and cannot grow without bound from one-off peers).
 *   Q2. n_entries == number of entries; the table has 2^k buckets and n_entries <= 2 * buckets
 *       after every insert (it doubles otherwise).
 * Transitions: acquire (+1 on total and the address's entry, creating it), release (-1, removing
 * the entry at 0). A release without its acquire is a bug: asserted. */
#include "conn_quota.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct quota_entry {
    st_quota_addr_t addr;
    int64_t count;
    struct quota_entry *next;
} quota_entry_t;

struct st_conn_quota {
    pthread_mutex_t lock;
    const st_broker_config_t *cfg;
    int64_t total;
    quota_entry_t **buckets;
    size_t n_buckets;                 /* a power of two */
    size_t n_entries;
};

static uint64_t addr_hash(const st_quota_addr_t *a)
{
    uint64_t h = 1469598103934665603ULL;            /* FNV-1a */
    for (size_t i = 0; i < sizeof(a->bytes); i++) {
        h ^= a->bytes[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static quota_entry_t **find_slot(st_conn_quota_t *q, const st_quota_addr_t *addr)
{
    quota_entry_t **slot = &q->buckets[addr_hash(addr) & (q->n_buckets - 1)];
    while (*slot && memcmp((*slot)->addr.bytes, addr->bytes, sizeof(addr->bytes)) != 0)
        slot = &(*slot)->next;
    return slot;
}

static void grow(st_conn_quota_t *q)
{
    size_t n = q->n_buckets * 2;
    quota_entry_t **b = calloc(n, sizeof(*b));
    if (!b)
        return;                       /* longer chains, still correct */
    for (size_t i = 0; i < q->n_buckets; i++) {
        quota_entry_t *e = q->buckets[i];
        while (e) {
            quota_entry_t *next = e->next;
            size_t k = addr_hash(&e->addr) & (n - 1);
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->n_buckets = n;
}

#ifndef NDEBUG
/* Q1: O(entries); only called when the table is small, so asserts stay cheap in production. */
static void check_quota(const st_conn_quota_t *q)
{
    if (q->n_entries > 64)
        return;
    int64_t sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < q->n_buckets; i++)
        for (const quota_entry_t *e = q->buckets[i]; e; e = e->next, n++) {
            assert(e->count >= 1);
            sum += e->count;
        }
    assert(sum == q->total);
    assert(n == q->n_entries);
}
#else
#define check_quota(q) ((void)(q))
#endif

st_conn_quota_t *st_conn_quota_new(const st_broker_config_t *cfg)
{
    st_conn_quota_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->cfg = cfg;
    q->n_buckets = 64;
    q->buckets = calloc(q->n_buckets, sizeof(*q->buckets));
    if (!q->buckets) {
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void st_conn_quota_free(st_conn_quota_t *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_buckets; i++) {
        quota_entry_t *e = q->buckets[i];
        while (e) {
            quota_entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(q->buckets);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void st_quota_addr_from_sockaddr(const struct sockaddr *sa, st_quota_addr_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (sa->sa_family == AF_INET) {
        ret->bytes[10] = ret->bytes[11] = 0xff;
        memcpy(ret->bytes + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(ret->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

void st_quota_addr_format(const st_quota_addr_t *addr, char *out, size_t len)
{
    static const uint8_t v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    char buf[INET6_ADDRSTRLEN] = "?";
    if (memcmp(addr->bytes, v4_prefix, sizeof(v4_prefix)) == 0)
        inet_ntop(AF_INET, addr->bytes + 12, buf, sizeof(buf));
    else
        inet_ntop(AF_INET6, addr->bytes, buf, sizeof(buf));
    snprintf(out, len, "%s", buf);
}

bool st_conn_quota_is_override(const st_conn_quota_t *q, const st_quota_addr_t *addr)
{
    for (size_t i = 0; i < q->cfg->n_ip_limits; i++)
        if (memcmp(q->cfg->ip_limits[i].addr, addr->bytes, sizeof(addr->bytes)) == 0)
            return true;
    return false;
}

/* The limit of one address: its override, else max.connections.per.ip. */
static int32_t ip_limit(const st_conn_quota_t *q, const st_quota_addr_t *addr)
{
    for (size_t i = 0; i < q->cfg->n_ip_limits; i++)
        if (memcmp(q->cfg->ip_limits[i].addr, addr->bytes, sizeof(addr->bytes)) == 0)
            return q->cfg->ip_limits[i].max;
    return q->cfg->max_connections_per_ip;
}

st_quota_verdict_t st_conn_quota_acquire(st_conn_quota_t *q, const st_quota_addr_t *addr,
                                         bool protected_listener, int32_t *ret_limit,
                                         int64_t *ret_open)
{
    int32_t per_ip = ip_limit(q, addr);
    pthread_mutex_lock(&q->lock);
    check_quota(q);
    st_quota_verdict_t verdict = ST_QUOTA_OK;
    int32_t limit = 0;
    int64_t open = 0;
    quota_entry_t **slot = find_slot(q, addr);
    int64_t from_ip = *slot ? (*slot)->count : 0;
    if (!protected_listener && q->total >= q->cfg->max_connections) {
        verdict = ST_QUOTA_MAX_CONNECTIONS;
        limit = q->cfg->max_connections;
        open = q->total;
    } else if (from_ip >= per_ip) {
        verdict = ST_QUOTA_PER_IP;
        limit = per_ip;
        open = from_ip;
    } else {
        if (!*slot) {
            quota_entry_t *e = calloc(1, sizeof(*e));
            if (e) {
                e->addr = *addr;
                *slot = e;
                q->n_entries++;
            }
        }
        if (*slot) {
            (*slot)->count++;
            q->total++;
            if (q->n_entries > 2 * q->n_buckets)
                grow(q);
        } else {
            verdict = ST_QUOTA_NO_MEMORY;
        }
    }
    check_quota(q);
    pthread_mutex_unlock(&q->lock);
    if (ret_limit)
        *ret_limit = limit;
    if (ret_open)
        *ret_open = open;
    return verdict;
}

void st_conn_quota_release(st_conn_quota_t *q, const st_quota_addr_t *addr)
{
    pthread_mutex_lock(&q->lock);
    assert(q->total > 0);
    q->total--;
    quota_entry_t **slot = find_slot(q, addr);
    assert(*slot && (*slot)->count > 0);
    if (*slot && --(*slot)->count == 0) {
        quota_entry_t *e = *slot;
        *slot = e->next;
        free(e);
        q->n_entries--;
    }
    check_quota(q);
    pthread_mutex_unlock(&q->lock);
}

int64_t st_conn_quota_open(st_conn_quota_t *q, const st_quota_addr_t *addr)
{
    pthread_mutex_lock(&q->lock);
    int64_t n = q->total;
    if (addr) {
        quota_entry_t **slot = find_slot(q, addr);
        n = *slot ? (*slot)->count : 0;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}
