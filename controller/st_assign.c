/* Replica assignment, leader election and leader-imbalance algorithms (Kafka 2.8 ZooKeeper-mode
 * semantics); see st_assign.h for the contracts and the election invariants. Pure functions:
 * the only state they touch is their arguments and the memory they return. */
#include "st_assign.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (!msg || msg_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_broker_id(const void *a, const void *b)
{
    return cmp_i32(&((const st_assign_broker_t *)a)->id, &((const st_assign_broker_t *)b)->id);
}

static int cmp_broker_rack(const void *a, const void *b)
{
    const st_assign_broker_t *x = a, *y = b;
    int c = strcmp(x->rack, y->rack);
    return c ? c : cmp_i32(&x->id, &y->id);
}

static bool has_rack(const st_assign_broker_t *b)
{
    return b->rack && b->rack[0];
}

static bool in_list(const int32_t *ids, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* ---- Replica assignment ------------------------------------------------------------------ */

/* Copies the brokers sorted by id into a new array; NULL with *ret_dup set on a duplicate id. */
static st_assign_broker_t *sorted_copy(const st_assign_broker_t *brokers, size_t n, int32_t *ret_dup,
                                       bool *ret_oom)
{
    st_assign_broker_t *list = malloc((n ? n : 1) * sizeof(*list));
    *ret_oom = !list;
    if (!list)
        return NULL;
    memcpy(list, brokers, n * sizeof(*list));
    qsort(list, n, sizeof(*list), cmp_broker_id);
    for (size_t i = 1; i < n; i++) {
        if (list[i].id == list[i - 1].id) {
            *ret_dup = list[i].id;
            free(list);
            return NULL;
        }
    }
    return list;
}

/* Rewrites list (every broker has a rack) into Kafka's rack-alternated order and fills rack_of
 * with each position's rack ordinal. Returns the number of racks, or -ENOMEM. */
static int rack_alternate(st_assign_broker_t *list, size_t n, size_t *rack_of)
{
    st_assign_broker_t *by_rack = malloc((n ? n : 1) * sizeof(*by_rack));
    size_t *rack_start = malloc((n + 1) * sizeof(*rack_start));
    if (!by_rack || !rack_start) {
        free(by_rack);
        free(rack_start);
        return -ENOMEM;
    }
    memcpy(by_rack, list, n * sizeof(*by_rack));
    qsort(by_rack, n, sizeof(*by_rack), cmp_broker_rack);
    size_t n_racks = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(by_rack[i].rack, by_rack[i - 1].rack) != 0)
            rack_start[n_racks++] = i;
    rack_start[n_racks] = n;
    /* Kafka cycles over the racks, skipping exhausted ones: the same as taking round r of every
     * rack that still has an r-th broker, round after round. */
    size_t out = 0;
    for (size_t round = 0; out < n; round++) {
        for (size_t r = 0; r < n_racks; r++) {
            if (rack_start[r] + round < rack_start[r + 1]) {
                rack_of[out] = r;
                list[out++] = by_rack[rack_start[r] + round];
            }
        }
    }
    free(by_rack);
    free(rack_start);
    return (int)n_racks;
}

/* Kafka's replicaIndex: position of follower j of a partition whose first replica is at
 * first. Never lands on first; n - 1 consecutive j visit every other position once. */
static size_t follower_index(size_t first, int64_t shift, int64_t j, size_t n)
{
    assert(n > 1 && shift >= 0 && j >= 0);
    int64_t step = 1 + (shift + j) % (int64_t)(n - 1);
    return (first + (size_t)step) % n;
}

int st_assign_replicas(const st_assign_broker_t *brokers, size_t n_brokers, int32_t n_partitions,
                       int32_t rf, int32_t fixed_start_index, int32_t start_partition_id,
                       int32_t fixed_shift, bool rack_aware, int32_t **ret_replicas,
                       char *msg, size_t msg_len)
{
    if (!ret_replicas || (n_brokers && !brokers)) {
        set_msg(msg, msg_len, "Invalid arguments to replica assignment.");
        return ST_ERR_INVALID_REQUEST;
    }
    if (n_partitions <= 0) {
        set_msg(msg, msg_len, "Number of partitions must be larger than 0.");
        return ST_ERR_INVALID_PARTITIONS;
    }
    if (rf <= 0) {
        set_msg(msg, msg_len, "Replication factor must be larger than 0.");
        return ST_ERR_INVALID_REPLICATION_FACTOR;
    }
    if ((size_t)rf > n_brokers) {
        set_msg(msg, msg_len, "Replication factor: %d larger than available brokers: %zu.",
                rf, n_brokers);
        return ST_ERR_INVALID_REPLICATION_FACTOR;
    }
    size_t n_racked = 0;
    for (size_t i = 0; i < n_brokers; i++)
        n_racked += has_rack(&brokers[i]);
    bool use_racks = rack_aware && n_racked > 0;
    if (use_racks && n_racked < n_brokers) {
        set_msg(msg, msg_len,
                "Not all brokers have rack information for replica rack aware assignment.");
        return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    int64_t first_pid = start_partition_id < 0 ? 0 : start_partition_id;
    if (first_pid + n_partitions - 1 > INT32_MAX) {
        set_msg(msg, msg_len, "Partition ids would exceed %d.", INT32_MAX);
        return ST_ERR_INVALID_PARTITIONS;
    }

    size_t n = n_brokers;
    int32_t dup = 0;
    bool oom;
    st_assign_broker_t *list = sorted_copy(brokers, n, &dup, &oom);
    if (!list && !oom) {
        set_msg(msg, msg_len, "Duplicate broker id %d in the broker list.", dup);
        return ST_ERR_INVALID_REQUEST;
    }
    int32_t *out = malloc((size_t)n_partitions * (size_t)rf * sizeof(*out));
    size_t *rack_of = use_racks ? malloc(n * sizeof(*rack_of)) : NULL;
    bool *rack_used = use_racks ? malloc(n) : NULL;
    bool *broker_used = use_racks ? malloc(n) : NULL;
    int n_racks = 1;
    if (list && out && (!use_racks || (rack_of && rack_used && broker_used))) {
        if (use_racks)
            n_racks = rack_alternate(list, n, rack_of);
    } else {
        n_racks = -ENOMEM;
    }
    if (n_racks < 0) {
        free(list);
        free(out);
        free(rack_of);
        free(rack_used);
        free(broker_used);
        set_msg(msg, msg_len, "Out of memory assigning replicas.");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }

    int64_t start = fixed_start_index >= 0 ? fixed_start_index
                                           : (int64_t)arc4random_uniform((uint32_t)n);
    int64_t shift = fixed_shift >= 0         ? fixed_shift
                    : fixed_start_index >= 0 ? fixed_start_index
                                             : (int64_t)arc4random_uniform((uint32_t)n);
    for (int32_t p = 0; p < n_partitions; p++) {
        int64_t pid = first_pid + p;
        if (pid > 0 && pid % (int64_t)n == 0)
            shift++;
        size_t first = (size_t)((pid + start) % (int64_t)n);
        int32_t *row = out + (size_t)p * (size_t)rf;
        row[0] = list[first].id;
        if (!use_racks) {
            for (int32_t j = 0; j < rf - 1; j++)
                row[j + 1] = list[follower_index(first, shift, j, n)].id;
            continue;
        }
        /* A follower is taken only if its rack has no replica yet (or every rack has one) and
         * it has none itself (or every broker has one); k keeps counting across followers. */
        memset(rack_used, 0, n);
        memset(broker_used, 0, n);
        rack_used[rack_of[first]] = broker_used[first] = true;
        size_t racks_with = 1, brokers_with = 1;
        int64_t k = 0;
        for (int32_t r = 1; r < rf; r++) {
            for (;;) {
                /* n - 1 steps visit every other broker, and one of them is acceptable. */
                assert(k < (int64_t)rf * (int64_t)n);
                size_t idx = follower_index(first, shift * n_racks, k++, n);
                size_t rack = rack_of[idx];
                if ((!rack_used[rack] || racks_with == (size_t)n_racks) &&
                    (!broker_used[idx] || brokers_with == n)) {
                    row[r] = list[idx].id;
                    racks_with += !rack_used[rack];
                    brokers_with += !broker_used[idx];
                    rack_used[rack] = broker_used[idx] = true;
                    break;
                }
            }
        }
    }
    free(list);
    free(rack_of);
    free(rack_used);
    free(broker_used);
    *ret_replicas = out;
    return ST_ERR_NONE;
}

int st_assign_rack_alternated(const st_assign_broker_t *brokers, size_t n_brokers,
                              int32_t *ret_ids)
{
    if ((n_brokers && !brokers) || !ret_ids)
        return -EINVAL;
    for (size_t i = 0; i < n_brokers; i++)
        if (!has_rack(&brokers[i]))
            return -EINVAL;
    int32_t dup;
    bool oom;
    st_assign_broker_t *list = sorted_copy(brokers, n_brokers, &dup, &oom);
    if (!list)
        return oom ? -ENOMEM : -EINVAL;
    size_t *rack_of = malloc((n_brokers ? n_brokers : 1) * sizeof(*rack_of));
    int rc = rack_of ? rack_alternate(list, n_brokers, rack_of) : -ENOMEM;
    if (rc >= 0)
        for (size_t i = 0; i < n_brokers; i++)
            ret_ids[i] = list[i].id;
    free(rack_of);
    free(list);
    return rc < 0 ? rc : 0;
}

int32_t st_assign_add_start_index(const st_assign_broker_t *brokers, size_t n_brokers,
                                  int32_t p0_first_replica)
{
    /* In the id-sorted list, the first id >= x sits after every id < x. */
    size_t below = 0;
    for (size_t i = 0; i < n_brokers; i++)
        below += brokers[i].id < p0_first_replica;
    return below < n_brokers ? (int32_t)below : 0;
}

int st_assign_add_partitions(const st_assign_broker_t *brokers, size_t n_brokers,
                             const int32_t *p0_replicas, size_t p0_len, int32_t existing_count,
                             int32_t new_total, bool rack_aware, int32_t **ret_replicas,
                             char *msg, size_t msg_len)
{
    if (!p0_replicas || p0_len == 0 || existing_count <= 0) {
        set_msg(msg, msg_len, "Unexpected existing replica assignment: partition id 0 is missing.");
        return ST_ERR_INVALID_REQUEST;
    }
    if (new_total <= existing_count) {
        set_msg(msg, msg_len, "The number of partitions for a topic can only be increased. "
                "The topic currently has %d partitions, %d would not be an increase.",
                existing_count, new_total);
        return ST_ERR_INVALID_PARTITIONS;
    }
    int32_t rf = p0_len > (size_t)INT32_MAX ? INT32_MAX : (int32_t)p0_len;
    int32_t start = st_assign_add_start_index(brokers, n_brokers, p0_replicas[0]);
    return st_assign_replicas(brokers, n_brokers, new_total - existing_count, rf, start,
                              existing_count, -1, rack_aware, ret_replicas, msg, msg_len);
}

/* ---- Broker sets ------------------------------------------------------------------------- */

size_t st_assign_idset_normalize(int32_t *ids, size_t len)
{
    if (len == 0)
        return 0;
    qsort(ids, len, sizeof(*ids), cmp_i32);
    size_t out = 1;
    for (size_t i = 1; i < len; i++)
        if (ids[i] != ids[out - 1])
            ids[out++] = ids[i];
    return out;
}

bool st_assign_idset_contains(const st_assign_idset_t *set, int32_t id)
{
    if (!set || set->len == 0)
        return false;
    return bsearch(&id, set->ids, set->len, sizeof(int32_t), cmp_i32) != NULL;
}

static bool idset_ok(const st_assign_idset_t *set)
{
    if (!set)
        return true;
    if (set->len && !set->ids)
        return false;
    for (size_t i = 1; i < set->len; i++)
        if (set->ids[i - 1] >= set->ids[i])
            return false;
    return true;
}

/* ---- Explicit assignments ---------------------------------------------------------------- */

int st_assign_check_replicas(int32_t partition, const int32_t *replicas, size_t n_replicas,
                             const st_assign_idset_t *known, char *msg, size_t msg_len)
{
    if (n_replicas == 0) {
        set_msg(msg, msg_len, "Cannot have replication factor of 0 for partition id %d.",
                partition);
        return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    if (!replicas || !idset_ok(known)) {
        set_msg(msg, msg_len, "Invalid arguments to replica assignment check.");
        return ST_ERR_INVALID_REQUEST;
    }
    for (size_t i = 0; i < n_replicas; i++) {
        int32_t id = replicas[i];
        if (id < 0) {
            set_msg(msg, msg_len, "Invalid broker id %d in the replica assignment of partition "
                    "%d: broker ids are not negative.", id, partition);
            return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        if (in_list(replicas, i, id)) {
            set_msg(msg, msg_len, "Duplicate brokers not allowed in replica assignment: broker "
                    "%d appears twice in partition %d.", id, partition);
            return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        if (known && !st_assign_idset_contains(known, id)) {
            set_msg(msg, msg_len, "Unknown broker id %d in the replica assignment of partition "
                    "%d.", id, partition);
            return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    return ST_ERR_NONE;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int st_assign_parse(const char *spec, const st_assign_idset_t *known, int32_t **ret_replicas,
                    int32_t *ret_n_partitions, int32_t *ret_rf, char *msg, size_t msg_len)
{
    if (!spec || !ret_replicas || !ret_n_partitions || !ret_rf || !idset_ok(known)) {
        set_msg(msg, msg_len, "Invalid arguments to replica assignment parsing.");
        return ST_ERR_INVALID_REQUEST;
    }
    /* Every id is followed by ':' or ',' or the end: that bounds the number of ids. */
    size_t max_ids = 1;
    const char *c = spec;
    while (is_blank(*c))
        c++;
    if (*c == '\0') {
        set_msg(msg, msg_len, "The replica assignment is empty.");
        return ST_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (c = spec; *c; c++)
        max_ids += *c == ':' || *c == ',';
    int32_t *ids = malloc(max_ids * sizeof(*ids));
    if (!ids) {
        set_msg(msg, msg_len, "Out of memory parsing the replica assignment.");
        return ST_ERR_UNKNOWN_SERVER_ERROR;
    }
    size_t n_ids = 0, row_start = 0, rf = 0;
    int32_t partition = 0;
    int code = ST_ERR_NONE;
    for (const char *p = spec;; p++) {
        const char *token = p;
        while (is_blank(*p))
            p++;
        const char *digits = p;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9' && v <= INT32_MAX)
            v = v * 10 + (*p++ - '0');
        const char *digits_end = p;
        while (is_blank(*p))
            p++;
        if (digits == digits_end || v > INT32_MAX || (*p != ':' && *p != ',' && *p != '\0')) {
            size_t len = strcspn(token, ":,");
            set_msg(msg, msg_len, "Invalid broker id '%.*s' at position %zu (partition %d) of "
                    "the replica assignment: expected a non-negative integer.",
                    (int)len, token, (size_t)(token - spec), partition);
            code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
            break;
        }
        ids[n_ids++] = (int32_t)v;
        if (*p == ':')
            continue;
        size_t count = n_ids - row_start;   /* the partition ends here */
        code = st_assign_check_replicas(partition, ids + row_start, count, known, msg, msg_len);
        if (code != ST_ERR_NONE)
            break;
        if (partition == 0) {
            rf = count;
        } else if (count != rf) {
            set_msg(msg, msg_len, "Partition %d has different replication factor: %zu replicas "
                    "where partition 0 has %zu.", partition, count, rf);
            code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
            break;
        }
        if (*p == '\0')
            break;
        if (partition == INT32_MAX) {
            set_msg(msg, msg_len, "Too many partitions in the replica assignment.");
            code = ST_ERR_INVALID_REPLICA_ASSIGNMENT;
            break;
        }
        partition++;
        row_start = n_ids;
    }
    if (code != ST_ERR_NONE) {
        free(ids);
        return code;
    }
    *ret_replicas = ids;
    *ret_n_partitions = partition + 1;
    *ret_rf = (int32_t)rf;
    return ST_ERR_NONE;
}

/* ---- Leader election --------------------------------------------------------------------- */

static bool online(const st_assign_cluster_t *cluster, int32_t id)
{
    return st_assign_idset_contains(&cluster->live, id) &&
           !st_assign_idset_contains(&cluster->shutting_down, id);
}

static int election_args(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                         const int32_t *isr_buf, size_t isr_cap, size_t need,
                         const st_assign_election_t *ret)
{
    if (!part || !ret || !isr_buf || (part->n_replicas && !part->replicas) ||
        (part->n_isr && !part->isr))
        return -EINVAL;
    if (cluster && (!idset_ok(&cluster->live) || !idset_ok(&cluster->shutting_down)))
        return -EINVAL;
    return isr_cap < (need ? need : 1) ? -ENOSPC : 0;
}

/* E1: no leader, the old ISR unchanged. */
static void no_leader(const st_assign_partition_t *part, int32_t *isr_buf,
                      st_assign_election_t *ret)
{
    if (part->n_isr)
        memcpy(isr_buf, part->isr, part->n_isr * sizeof(*isr_buf));
    *ret = (st_assign_election_t){ .leader = ST_ASSIGN_NO_LEADER, .isr = isr_buf,
                                   .isr_len = part->n_isr };
}

/* Invariants E1-E3 of st_assign.h for an election among candidates. */
static bool election_ok(const st_assign_partition_t *part, const int32_t *candidates,
                        size_t n_candidates, const st_assign_election_t *e)
{
    if (e->leader == ST_ASSIGN_NO_LEADER)
        return !e->unclean;
    if (!in_list(candidates, n_candidates, e->leader) || !in_list(e->isr, e->isr_len, e->leader))
        return false;
    if (e->unclean)
        return e->isr_len == 1;
    for (size_t i = 0; i < e->isr_len; i++)
        if (!in_list(part->isr, part->n_isr, e->isr[i]))
            return false;
    return true;
}

/* Leader = first of candidates that is online and in the ISR; ISR unchanged. */
static void elect_keep_isr(const st_assign_partition_t *part, const int32_t *candidates,
                           size_t n_candidates, const st_assign_cluster_t *cluster,
                           int32_t *isr_buf, st_assign_election_t *ret)
{
    no_leader(part, isr_buf, ret);
    for (size_t i = 0; i < n_candidates; i++) {
        if (online(cluster, candidates[i]) && in_list(part->isr, part->n_isr, candidates[i])) {
            ret->leader = candidates[i];
            break;
        }
    }
    assert(election_ok(part, candidates, n_candidates, ret));
}

int st_assign_elect_offline(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                            bool unclean_allowed, int32_t *isr_buf, size_t isr_cap,
                            st_assign_election_t *ret)
{
    int rc = cluster ? election_args(part, cluster, isr_buf, isr_cap, part ? part->n_isr : 0, ret)
                     : -EINVAL;
    if (rc < 0)
        return rc;
    int32_t leader = ST_ASSIGN_NO_LEADER;
    for (size_t i = 0; i < part->n_replicas && leader == ST_ASSIGN_NO_LEADER; i++)
        if (online(cluster, part->replicas[i]) && in_list(part->isr, part->n_isr, part->replicas[i]))
            leader = part->replicas[i];
    bool unclean = false;
    for (size_t i = 0; unclean_allowed && i < part->n_replicas && leader == ST_ASSIGN_NO_LEADER; i++) {
        if (online(cluster, part->replicas[i])) {
            leader = part->replicas[i];
            unclean = true;
        }
    }
    if (leader == ST_ASSIGN_NO_LEADER) {
        no_leader(part, isr_buf, ret);
    } else if (unclean) {
        isr_buf[0] = leader;
        *ret = (st_assign_election_t){ .leader = leader, .unclean = true, .isr = isr_buf,
                                       .isr_len = 1 };
    } else {
        size_t len = 0;
        for (size_t i = 0; i < part->n_isr; i++)
            if (online(cluster, part->isr[i]))
                isr_buf[len++] = part->isr[i];
        *ret = (st_assign_election_t){ .leader = leader, .isr = isr_buf, .isr_len = len };
    }
    assert(election_ok(part, part->replicas, part->n_replicas, ret));
    return 0;
}

int st_assign_elect_preferred(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                              int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret)
{
    int rc = cluster ? election_args(part, cluster, isr_buf, isr_cap, part ? part->n_isr : 0, ret)
                     : -EINVAL;
    if (rc < 0)
        return rc;
    elect_keep_isr(part, part->replicas, part->n_replicas ? 1 : 0, cluster, isr_buf, ret);
    return 0;
}

int st_assign_elect_controlled_shutdown(const st_assign_partition_t *part,
                                        const st_assign_cluster_t *cluster, int32_t *isr_buf,
                                        size_t isr_cap, st_assign_election_t *ret)
{
    int rc = cluster ? election_args(part, cluster, isr_buf, isr_cap, part ? part->n_isr : 0, ret)
                     : -EINVAL;
    if (rc < 0)
        return rc;
    /* live, in the ISR and not shutting down is exactly online and in the ISR. */
    elect_keep_isr(part, part->replicas, part->n_replicas, cluster, isr_buf, ret);
    if (ret->leader != ST_ASSIGN_NO_LEADER) {
        size_t len = 0;
        for (size_t i = 0; i < part->n_isr; i++)
            if (!st_assign_idset_contains(&cluster->shutting_down, part->isr[i]))
                isr_buf[len++] = part->isr[i];
        ret->isr_len = len;
    }
    assert(election_ok(part, part->replicas, part->n_replicas, ret));
    return 0;
}

int st_assign_elect_reassign(const st_assign_partition_t *part, const int32_t *target,
                             size_t n_target, const st_assign_cluster_t *cluster,
                             int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret)
{
    int rc = cluster ? election_args(part, cluster, isr_buf, isr_cap, part ? part->n_isr : 0, ret)
                     : -EINVAL;
    if (rc < 0)
        return rc;
    if (n_target && !target)
        return -EINVAL;
    elect_keep_isr(part, target, n_target, cluster, isr_buf, ret);
    return 0;
}

int st_assign_elect_new(const st_assign_partition_t *part, const st_assign_cluster_t *cluster,
                        int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret)
{
    int rc = cluster ? election_args(part, cluster, isr_buf, isr_cap,
                                     part ? part->n_replicas : 0, ret)
                     : -EINVAL;
    if (rc < 0)
        return rc;
    size_t len = 0;
    for (size_t i = 0; i < part->n_replicas; i++)
        if (online(cluster, part->replicas[i]))
            isr_buf[len++] = part->replicas[i];
    *ret = (st_assign_election_t){ .leader = len ? isr_buf[0] : ST_ASSIGN_NO_LEADER,
                                   .isr = isr_buf, .isr_len = len };
    assert(ret->leader == ST_ASSIGN_NO_LEADER || in_list(part->replicas, part->n_replicas, ret->leader));
    return 0;
}

int st_assign_remove_from_isr(const st_assign_partition_t *part, int32_t replica,
                              int32_t *isr_buf, size_t isr_cap, st_assign_election_t *ret)
{
    int rc = election_args(part, NULL, isr_buf, isr_cap, part ? part->n_isr : 0, ret);
    if (rc < 0)
        return rc;
    no_leader(part, isr_buf, ret);
    ret->leader = part->leader;
    if (!in_list(part->isr, part->n_isr, replica))
        return 0;
    if (part->leader == replica)
        ret->leader = ST_ASSIGN_NO_LEADER;
    if (part->n_isr > 1) {
        size_t len = 0;
        for (size_t i = 0; i < part->n_isr; i++)
            if (part->isr[i] != replica)
                isr_buf[len++] = part->isr[i];
        ret->isr_len = len;
    }
    assert(ret->isr_len >= 1);
    return 0;
}

/* ---- Auto leader rebalance --------------------------------------------------------------- */

static int cmp_imbalance(const void *key, const void *elem)
{
    return cmp_i32(key, &((const st_assign_imbalance_t *)elem)->broker);
}

int st_assign_leader_imbalance(const st_assign_partition_t *parts, size_t n_parts,
                               st_assign_imbalance_t **ret, size_t *ret_len)
{
    if ((n_parts && !parts) || !ret || !ret_len)
        return -EINVAL;
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i].n_replicas && !parts[i].replicas)
            return -EINVAL;
    int32_t *heads = malloc((n_parts ? n_parts : 1) * sizeof(*heads));
    if (!heads)
        return -ENOMEM;
    size_t n_heads = 0;
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i].n_replicas)
            heads[n_heads++] = parts[i].replicas[0];
    n_heads = st_assign_idset_normalize(heads, n_heads);
    st_assign_imbalance_t *out = NULL;
    if (n_heads) {
        out = calloc(n_heads, sizeof(*out));
        if (!out) {
            free(heads);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < n_heads; i++)
        out[i].broker = heads[i];
    free(heads);
    for (size_t i = 0; i < n_parts; i++) {
        if (!parts[i].n_replicas)
            continue;
        st_assign_imbalance_t *b = bsearch(&parts[i].replicas[0], out, n_heads, sizeof(*out),
                                           cmp_imbalance);
        assert(b);
        b->n_preferred++;
        b->n_not_led += parts[i].leader != b->broker;
    }
    *ret = out;
    *ret_len = n_heads;
    return 0;
}

bool st_assign_imbalance_exceeds(const st_assign_imbalance_t *imb, int32_t imbalance_pct)
{
    if (!imb || imb->n_preferred == 0)
        return false;
    if (imbalance_pct < 0)
        return true;        /* any ratio, even 0, is above a negative threshold */
    if (imbalance_pct >= 100)
        return false;       /* the ratio never exceeds 1 */
    /* n_not_led / n_preferred > pct / 100, in integers (no rounding at exactly pct). */
    return (uint64_t)imb->n_not_led * 100 > (uint64_t)imbalance_pct * imb->n_preferred;
}

int st_assign_rebalance_candidates(const st_assign_partition_t *parts, size_t n_parts,
                                   int32_t imbalance_pct, const st_assign_cluster_t *cluster,
                                   size_t **ret_idx, size_t *ret_len)
{
    if (!cluster || !ret_idx || !ret_len || !idset_ok(&cluster->live) ||
        !idset_ok(&cluster->shutting_down))
        return -EINVAL;
    for (size_t i = 0; i < n_parts; i++)
        if (parts && parts[i].n_isr && !parts[i].isr)
            return -EINVAL;
    st_assign_imbalance_t *imb;
    size_t n_imb;
    int rc = st_assign_leader_imbalance(parts, n_parts, &imb, &n_imb);
    if (rc < 0)
        return rc;
    size_t *idx = malloc((n_parts ? n_parts : 1) * sizeof(*idx));
    if (!idx) {
        free(imb);
        return -ENOMEM;
    }
    size_t len = 0;
    for (size_t i = 0; i < n_parts; i++) {
        const st_assign_partition_t *part = &parts[i];
        if (!part->n_replicas)
            continue;
        int32_t preferred = part->replicas[0];
        const st_assign_imbalance_t *b = bsearch(&preferred, imb, n_imb, sizeof(*imb),
                                                 cmp_imbalance);
        assert(b);
        if (part->leader != preferred && st_assign_imbalance_exceeds(b, imbalance_pct) &&
            online(cluster, preferred) && in_list(part->isr, part->n_isr, preferred))
            idx[len++] = i;
    }
    free(imb);
    if (len == 0) {
        free(idx);
        idx = NULL;
    }
    *ret_idx = idx;
    *ret_len = len;
    return 0;
}
