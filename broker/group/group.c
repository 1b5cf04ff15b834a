/* One consumer group's state machine and membership rules (see group.h), after Kafka's
 * GroupMetadata and GroupCoordinator (2.8).
 *
 * Invariants (st_group_check, called after every transition and every public call):
 *   1. Empty: no members and no leader; protocol_name NULL. (Pending members may exist: a
 *      member told MEMBER_ID_REQUIRED has not joined yet.)
 *   2. PreparingRebalance: join_deadline set; no member has a parked SyncGroup or a held
 *      Heartbeat (starting the rebalance answered them).
 *   3. CompletingRebalance: at least one member; the leader is a member; protocol_name set; no
 *      member has a parked JoinGroup.
 *   4. Stable: as 3, and no member has a parked SyncGroup either.
 *   5. Dead: no members, no pending members, no parked request.
 *   6. Members have unique member ids and unique instance ids; when there are members,
 *      protocol_type is set and every member supports at least one protocol.
 *   7. generation >= 0; it grows by one at every completed join (never goes back).
 *   8. store_pending (the leader's assignment is being written) only in CompletingRebalance.
 *
 * Transitions (to_state checks the previous state, as Kafka's validPreviousStates):
 *   -> PreparingRebalance  from Empty, CompletingRebalance, Stable   (prepare_rebalance)
 *   -> CompletingRebalance from PreparingRebalance                   (complete_join)
 *   -> Stable              from CompletingRebalance                  (st_group_store_done, once
 *                                                                     the leader's assignment
 *                                                                     is replicated)
 *   -> Empty               from PreparingRebalance                   (complete_join, no members)
 *   -> Dead                from any                                  (st_group_shutdown)
 *
 * Timers: a member is removed when its heartbeat_deadline passes (reset by Heartbeat, JoinGroup,
 * SyncGroup and OffsetCommit to now + session timeout), except while its JoinGroup is parked
 * (Kafka keeps such a member alive; a NEW member that never completes its first join is dropped
 * after new_member_join_timeout_ms). A pending member (MEMBER_ID_REQUIRED) is forgotten after
 * its session timeout. PreparingRebalance completes when every member has rejoined (and no
 * pending member is outstanding), or at join_deadline = the largest rebalance timeout; the
 * first rebalance of an Empty group waits group.initial.rebalance.delay.ms instead, extended
 * (by at most that delay each time, up to the rebalance timeout) while new members arrive. */
#include "group.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "st_error.h"
#include "st_logger.h"

#define NO_DEADLINE INT64_MAX

static const char *const state_names[] = {
    "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead",
};

const char *st_group_state_name(st_group_state_t s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "Unknown";
}

int st_group_state_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcasecmp(name, state_names[i]) == 0)
            return (int)i;
    return -1;
}

static bool empty_str(const char *s) { return !s || !*s; }
static bool str_eq(const char *a, const char *b)
{
    if (empty_str(a) || empty_str(b))
        return empty_str(a) && empty_str(b);
    return strcmp(a, b) == 0;
}

/* ---- invariants ------------------------------------------------------------------------------ */

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            ST_ERROR("group %s (%s, generation %" PRId32 "): invariant broken: %s", g->id,  \
                     st_group_state_name(g->state), g->generation, #cond);                  \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

void st_group_check(const st_group_t *g)
{
    CHECK(g->generation >= 0);
    bool any_join = false, any_sync = false, any_hb = false;
    for (size_t i = 0; i < g->n_members; i++) {
        const st_group_member_t *m = g->members[i];
        any_join |= m->join_waiter != NULL;
        any_sync |= m->sync_waiter != NULL;
        any_hb |= m->hb_waiter != NULL;
        CHECK(m->n_protocols > 0);
        for (size_t j = i + 1; j < g->n_members; j++) {
            CHECK(strcmp(m->member_id, g->members[j]->member_id) != 0);
            CHECK(!m->instance_id || !g->members[j]->instance_id ||
                  strcmp(m->instance_id, g->members[j]->instance_id) != 0);
        }
    }
    if (g->n_members)
        CHECK(g->protocol_type != NULL);
    if (g->store_pending)
        CHECK(g->state == ST_GROUP_COMPLETING_REBALANCE);
    if (g->leader_id)
        CHECK(st_group_member(g, g->leader_id) != NULL);
    switch (g->state) {
    case ST_GROUP_EMPTY:
        CHECK(g->n_members == 0 && g->leader_id == NULL && g->protocol_name == NULL);
        break;
    case ST_GROUP_PREPARING_REBALANCE:
        CHECK(g->join_deadline != NO_DEADLINE);
        CHECK(!any_sync);
        CHECK(!any_hb);
        break;
    case ST_GROUP_COMPLETING_REBALANCE:
    case ST_GROUP_STABLE:
        CHECK(g->n_members > 0 && g->leader_id != NULL && g->protocol_name != NULL);
        CHECK(!any_join);
        if (g->state == ST_GROUP_STABLE)
            CHECK(!any_sync);
        break;
    case ST_GROUP_DEAD:
        CHECK(g->n_members == 0 && g->n_pending == 0);
        break;
    }
}

static void to_state(st_group_t *g, st_group_state_t next, int64_t wall)
{
    st_group_state_t prev = g->state;
    bool ok;
    switch (next) {
    case ST_GROUP_PREPARING_REBALANCE:
        ok = prev == ST_GROUP_EMPTY || prev == ST_GROUP_COMPLETING_REBALANCE ||
             prev == ST_GROUP_STABLE;
        break;
    case ST_GROUP_COMPLETING_REBALANCE:
    case ST_GROUP_EMPTY:
        ok = prev == ST_GROUP_PREPARING_REBALANCE;
        break;
    case ST_GROUP_STABLE:
        ok = prev == ST_GROUP_COMPLETING_REBALANCE;
        break;
    default:
        ok = true;
        break;
    }
    if (!ok) {
        ST_ERROR("group %s: illegal transition %s -> %s", g->id, st_group_state_name(prev),
                 st_group_state_name(next));
        abort();
    }
    g->state = next;
    g->state_timestamp = wall;
    if (next != ST_GROUP_PREPARING_REBALANCE)
        g->join_deadline = NO_DEADLINE;
}

/* ---- members --------------------------------------------------------------------------------- */

st_group_member_t *st_group_member(const st_group_t *g, const char *member_id)
{
    if (empty_str(member_id))
        return NULL;
    for (size_t i = 0; i < g->n_members; i++)
        if (strcmp(g->members[i]->member_id, member_id) == 0)
            return g->members[i];
    return NULL;
}

st_group_member_t *st_group_static_member(const st_group_t *g, const char *instance_id)
{
    if (empty_str(instance_id))
        return NULL;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->instance_id && strcmp(g->members[i]->instance_id, instance_id) == 0)
            return g->members[i];
    return NULL;
}

static const st_group_protocol_t *member_protocol(const st_group_member_t *m, const char *name)
{
    for (size_t i = 0; name && i < m->n_protocols; i++)
        if (strcmp(m->protocols[i].name, name) == 0)
            return &m->protocols[i];
    return NULL;
}

const uint8_t *st_group_member_metadata(const st_group_t *g, const st_group_member_t *m,
                                        size_t *ret_len)
{
    const st_group_protocol_t *p = member_protocol(m, g->protocol_name);
    *ret_len = p ? p->metadata_len : 0;
    return p ? p->metadata : NULL;
}

static void protocols_free(st_group_protocol_t *ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ps[i].name);
        free(ps[i].metadata);
    }
    free(ps);
}

static st_group_protocol_t *protocols_dup(const st_group_protocol_t *ps, size_t n)
{
    st_group_protocol_t *out = calloc(n ? n : 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i].name = strdup(ps[i].name ? ps[i].name : "");
        out[i].metadata = malloc(ps[i].metadata_len ? ps[i].metadata_len : 1);
        if (!out[i].name || !out[i].metadata) {
            protocols_free(out, i + 1);
            return NULL;
        }
        if (ps[i].metadata_len)
            memcpy(out[i].metadata, ps[i].metadata, ps[i].metadata_len);
        out[i].metadata_len = ps[i].metadata_len;
    }
    return out;
}

static bool protocols_equal(const st_group_protocol_t *a, size_t na, const st_group_protocol_t *b,
                            size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) != 0 || a[i].metadata_len != b[i].metadata_len ||
            (a[i].metadata_len && memcmp(a[i].metadata, b[i].metadata, a[i].metadata_len) != 0))
            return false;
    return true;
}

static void member_free(st_group_member_t *m)
{
    if (!m)
        return;
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    protocols_free(m->protocols, m->n_protocols);
    free(m->assignment);
    free(m);
}

static int set_assignment(st_group_member_t *m, const uint8_t *a, size_t len)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, a, len);
    }
    free(m->assignment);
    m->assignment = copy;
    m->assignment_len = len;
    return 0;
}

/* "<prefix>-<uuid v4>" (Kafka: clientId or groupInstanceId, "-", a random UUID). */
static char *new_member_id(const char *prefix)
{
    uint8_t u[16];
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
        for (size_t i = 0; i < sizeof(u); i++)
            u[i] = (uint8_t)random();
    }
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
    char buf[320];
    snprintf(buf, sizeof(buf), "%.250s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x"
             "%02x%02x%02x", prefix ? prefix : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
             u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return strdup(buf);
}

static int32_t max_rebalance_timeout(const st_group_t *g)
{
    int32_t t = 0;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i]->rebalance_timeout_ms > t)
            t = g->members[i]->rebalance_timeout_ms;
    return t;
}

/* The protocols every member supports (in the first member's order) and the members' votes:
 * the winner is the candidate most members prefer (first in their list among the candidates);
 * ties go to the earlier candidate. NULL when there is no common protocol. */
static const char *select_protocol(const st_group_t *g)
{
    if (g->n_members == 0)
        return NULL;
    const st_group_member_t *first = g->members[0];
    const char *best = NULL;
    size_t best_votes = 0;
    for (size_t c = 0; c < first->n_protocols; c++) {
        const char *cand = first->protocols[c].name;
        bool common = true;
        for (size_t i = 1; common && i < g->n_members; i++)
            common = member_protocol(g->members[i], cand) != NULL;
        if (!common)
            continue;
        size_t votes = 0;
        for (size_t i = 0; i < g->n_members; i++) {
            const st_group_member_t *m = g->members[i];
            for (size_t k = 0; k < m->n_protocols; k++) {
                const char *name = m->protocols[k].name;
                bool cand_k = true;
                for (size_t j = 0; cand_k && j < g->n_members; j++)
                    cand_k = member_protocol(g->members[j], name) != NULL;
                if (cand_k) {
                    votes += strcmp(name, cand) == 0;
                    break;
                }
            }
        }
        if (!best || votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

/* Kafka's supportsProtocols: an empty group takes any non-empty type and list; otherwise the type
 * must match and some protocol must be supported by every other member. `self` (may be NULL) is
 * left out of the check (a member updating its own protocols). */
static bool supports_protocols(const st_group_t *g, const char *type,
                               const st_group_protocol_t *ps, size_t n,
                               const st_group_member_t *self)
{
    if (empty_str(type) || n == 0)
        return false;
    size_t others = g->n_members - (self ? 1 : 0);
    if (others == 0)
        return true;
    if (!g->protocol_type || strcmp(g->protocol_type, type) != 0)
        return false;
    for (size_t k = 0; k < n; k++) {
        bool all = true;
        for (size_t i = 0; all && i < g->n_members; i++)
            if (g->members[i] != self)
                all = member_protocol(g->members[i], ps[k].name) != NULL;
        if (all)
            return true;
    }
    return false;
}

static bool all_members_joined(const st_group_t *g)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (!g->members[i]->join_waiter)
            return false;
    return g->n_pending == 0;
}

static void answer_join_error(st_group_t *g, void *waiter, const char *member_id, int32_t error)
{
    st_group_join_result_t res = {
        .error = error, .member_id = member_id ? member_id : "", .generation = -1,
        .protocol_type = g->protocol_type, .protocol_name = NULL, .leader = "",
    };
    g->ops->join_done(g->ops_arg, waiter, &res);
}

static void answer_sync(st_group_t *g, st_group_member_t *m, int32_t error)
{
    void *w = m->sync_waiter;
    m->sync_waiter = NULL;
    if (!w)
        return;
    if (error == ST_ERR_NONE)
        g->ops->sync_done(g->ops_arg, w, error, g->protocol_type, g->protocol_name, m->assignment,
                          m->assignment_len);
    else
        g->ops->sync_done(g->ops_arg, w, error, g->protocol_type, g->protocol_name, NULL, 0);
}

static void answer_hb(st_group_t *g, st_group_member_t *m, int32_t error)
{
    void *w = m->hb_waiter;
    m->hb_waiter = NULL;
    if (w)
        g->ops->heartbeat_done(g->ops_arg, w, error);
}

static void remove_pending(st_group_t *g, size_t i)
{
    free(g->pending[i]);
    g->pending[i] = g->pending[g->n_pending - 1];
    g->pending_deadline[i] = g->pending_deadline[g->n_pending - 1];
    g->n_pending--;
}

static ssize_t find_pending(const st_group_t *g, const char *member_id)
{
    for (size_t i = 0; !empty_str(member_id) && i < g->n_pending; i++)
        if (strcmp(g->pending[i], member_id) == 0)
            return (ssize_t)i;
    return -1;
}

static int add_pending(st_group_t *g, const char *member_id, int64_t deadline)
{
    if (g->n_pending == g->cap_pending) {
        size_t cap = g->cap_pending ? g->cap_pending * 2 : 4;
        char **p = realloc(g->pending, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        g->pending = p;
        int64_t *d = realloc(g->pending_deadline, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        g->pending_deadline = d;
        g->cap_pending = cap;
    }
    g->pending[g->n_pending] = strdup(member_id);
    if (!g->pending[g->n_pending])
        return -ENOMEM;
    g->pending_deadline[g->n_pending++] = deadline;
    return 0;
}

/* Removes a member (answering its parked requests with UNKNOWN_MEMBER_ID); the leader passes to
 * the next member. Does not change the state. */
static void remove_member(st_group_t *g, st_group_member_t *m)
{
    if (m->join_waiter) {
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        answer_join_error(g, w, m->member_id, ST_ERR_UNKNOWN_MEMBER_ID);
    }
    answer_sync(g, m, ST_ERR_UNKNOWN_MEMBER_ID);
    answer_hb(g, m, ST_ERR_UNKNOWN_MEMBER_ID);
    size_t i = 0;
    while (g->members[i] != m)
        i++;
    memmove(&g->members[i], &g->members[i + 1], (g->n_members - i - 1) * sizeof(*g->members));
    g->n_members--;
    if (g->leader_id && strcmp(g->leader_id, m->member_id) == 0) {
        free(g->leader_id);
        g->leader_id = g->n_members ? strdup(g->members[0]->member_id) : NULL;
    }
    member_free(m);
}

/* ---- rebalancing ------------------------------------------------------------------------------ */

static void complete_join(st_group_t *g, int64_t now, int64_t wall);

/* Kafka's prepareRebalance: parked syncs fail with REBALANCE_IN_PROGRESS (assignments of the
 * aborted generation are dropped), then PreparingRebalance with a join deadline. */
static void prepare_rebalance(st_group_t *g, const char *reason, int64_t now, int64_t wall)
{
    if (g->state == ST_GROUP_COMPLETING_REBALANCE) {
        for (size_t i = 0; i < g->n_members; i++) {
            set_assignment(g->members[i], NULL, 0);
            answer_sync(g, g->members[i], ST_ERR_REBALANCE_IN_PROGRESS);
        }
    }
    for (size_t i = 0; i < g->n_members; i++)
        answer_hb(g, g->members[i], ST_ERR_REBALANCE_IN_PROGRESS);
    g->store_pending = false;            /* a pending assignment write no longer matters */
    int32_t rebalance_timeout = max_rebalance_timeout(g);
    if (g->state == ST_GROUP_EMPTY) {
        int32_t delay = g->cfg->initial_rebalance_delay_ms;
        g->initial_delay = true;
        g->new_member_added = false;
        g->initial_remaining_ms = rebalance_timeout > delay ? rebalance_timeout - delay : 0;
        g->join_deadline = now + delay;
    } else {
        g->initial_delay = false;
        g->join_deadline = now + rebalance_timeout;
    }
    ST_INFO("Preparing to rebalance group %s in state %s with old generation %" PRId32
            " (__consumer_offsets-%" PRId32 ") (reason: %s)", g->id, st_group_state_name(g->state),
            g->generation, g->partition, reason);
    to_state(g, ST_GROUP_PREPARING_REBALANCE, wall);
}

static void maybe_prepare_rebalance(st_group_t *g, const char *reason, int64_t now, int64_t wall)
{
    if (g->state == ST_GROUP_STABLE || g->state == ST_GROUP_COMPLETING_REBALANCE ||
        g->state == ST_GROUP_EMPTY)
        prepare_rebalance(g, reason, now, wall);
}

/* Completes the join early when every member has rejoined (not during the initial delay). */
static void try_complete_join(st_group_t *g, int64_t now, int64_t wall)
{
    if (g->state == ST_GROUP_PREPARING_REBALANCE && !g->initial_delay && all_members_joined(g))
        complete_join(g, now, wall);
}

/* Kafka's onCompleteJoin: dynamic members that did not rejoin are removed, the leader moves to
 * a member that rejoined, the generation advances; members get their JoinGroup answers. */
static void complete_join(st_group_t *g, int64_t now, int64_t wall)
{
    for (size_t i = 0; i < g->n_members;) {
        st_group_member_t *m = g->members[i];
        if (!m->join_waiter && !m->instance_id) {
            ST_INFO("Group %s: member %s did not rejoin in time; removing it", g->id, m->member_id);
            remove_member(g, m);
        } else {
            i++;
        }
    }
    bool any_joined = false;
    for (size_t i = 0; i < g->n_members; i++)
        any_joined |= g->members[i]->join_waiter != NULL;
    if (g->n_members && !any_joined) {
        /* Only static members that have not rejoined: wait another rebalance timeout, until
         * their sessions expire (Kafka does the same). */
        g->join_deadline = now + (max_rebalance_timeout(g) > 0 ? max_rebalance_timeout(g) : 1000);
        g->initial_delay = false;
        return;
    }
    st_group_member_t *leader = st_group_member(g, g->leader_id);
    if (g->n_members && (!leader || !leader->join_waiter)) {
        for (size_t i = 0; i < g->n_members; i++)
            if (g->members[i]->join_waiter) {
                free(g->leader_id);
                g->leader_id = strdup(g->members[i]->member_id);
                break;
            }
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->n_members == 0) {
        free(g->leader_id);
        g->leader_id = NULL;
        to_state(g, ST_GROUP_EMPTY, wall);
        ST_INFO("Group %s with generation %" PRId32 " is now empty (__consumer_offsets-%" PRId32
                ")", g->id, g->generation, g->partition);
        st_group_check(g);
        g->ops->store(g->ops_arg, g, false);
        return;
    }
    const char *proto = select_protocol(g);
    g->protocol_name = strdup(proto ? proto : "");
    to_state(g, ST_GROUP_COMPLETING_REBALANCE, wall);
    ST_INFO("Stabilized group %s generation %" PRId32 " (__consumer_offsets-%" PRId32 ") with %zu "
            "members", g->id, g->generation, g->partition, g->n_members);
    for (size_t i = 0; i < g->n_members; i++) {
        st_group_member_t *m = g->members[i];
        m->is_new = false;
        m->heartbeat_deadline = now + m->session_timeout_ms;
        if (!m->join_waiter)
            continue;
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        bool is_leader = strcmp(m->member_id, g->leader_id) == 0;
        st_group_join_result_t res = {
            .error = ST_ERR_NONE, .member_id = m->member_id, .generation = g->generation,
            .protocol_type = g->protocol_type, .protocol_name = g->protocol_name,
            .leader = g->leader_id, .members = is_leader ? g->members : NULL,
            .n_members = is_leader ? g->n_members : 0,
        };
        g->ops->join_done(g->ops_arg, w, &res);
    }
    st_group_check(g);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

st_group_t *st_group_new(const char *id, const st_group_config_t *cfg, const st_group_ops_t *ops,
                         void *ops_arg, int64_t wall_ms)
{
    st_group_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->id = strdup(id);
    if (!g->id) {
        free(g);
        return NULL;
    }
    g->state = ST_GROUP_EMPTY;
    g->state_timestamp = wall_ms;
    g->join_deadline = NO_DEADLINE;
    g->cfg = cfg;
    g->ops = ops;
    g->ops_arg = ops_arg;
    return g;
}

void st_group_free(st_group_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_members; i++)
        member_free(g->members[i]);
    free(g->members);
    for (size_t i = 0; i < g->n_pending; i++)
        free(g->pending[i]);
    free(g->pending);
    free(g->pending_deadline);
    for (size_t i = 0; i < g->n_offsets; i++) {
        free(g->offsets[i].topic);
        free(g->offsets[i].metadata);
    }
    free(g->offsets);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    free(g);
}

void st_group_shutdown(st_group_t *g, int32_t error, int64_t wall)
{
    while (g->n_members) {
        st_group_member_t *m = g->members[g->n_members - 1];
        if (m->join_waiter) {
            void *w = m->join_waiter;
            m->join_waiter = NULL;
            answer_join_error(g, w, m->member_id, error);
        }
        answer_sync(g, m, error);
        answer_hb(g, m, error);
        g->n_members--;
        member_free(m);
    }
    while (g->n_pending)
        remove_pending(g, g->n_pending - 1);
    free(g->leader_id);
    g->leader_id = NULL;
    free(g->protocol_name);
    g->protocol_name = NULL;
    g->store_pending = false;
    to_state(g, ST_GROUP_DEAD, wall);
    st_group_check(g);
}

/* ---- JoinGroup ------------------------------------------------------------------------------- */

static st_group_member_t *add_member(st_group_t *g, const char *member_id,
                                     const st_group_join_req_t *req, void *waiter, int64_t now)
{
    if (g->n_members == g->cap_members) {
        size_t cap = g->cap_members ? g->cap_members * 2 : 4;
        st_group_member_t **p = realloc(g->members, cap * sizeof(*p));
        if (!p)
            return NULL;
        g->members = p;
        g->cap_members = cap;
    }
    st_group_member_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->member_id = strdup(member_id);
    m->instance_id = empty_str(req->instance_id) ? NULL : strdup(req->instance_id);
    m->client_id = strdup(req->client_id ? req->client_id : "");
    m->client_host = strdup(req->client_host ? req->client_host : "");
    m->protocols = protocols_dup(req->protocols, req->n_protocols);
    m->n_protocols = req->n_protocols;
    if (!m->member_id || (!empty_str(req->instance_id) && !m->instance_id) || !m->client_id ||
        !m->client_host || !m->protocols) {
        member_free(m);
        return NULL;
    }
    if (g->n_members == 0) {          /* Kafka: the first member sets the protocol type */
        char *pt = strdup(req->protocol_type);
        if (!pt) {
            member_free(m);
            return NULL;
        }
        free(g->protocol_type);
        g->protocol_type = pt;
    }
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    m->join_waiter = waiter;
    m->is_new = true;
    m->heartbeat_deadline = now + req->session_timeout_ms;
    g->members[g->n_members++] = m;
    if (!g->leader_id)
        g->leader_id = strdup(m->member_id);
    return m;
}

/* Kafka's addMemberAndRebalance. */
static void add_member_and_rebalance(st_group_t *g, const char *member_id,
                                     const st_group_join_req_t *req, void *waiter, int64_t now,
                                     int64_t wall)
{
    st_group_member_t *m = add_member(g, member_id, req, waiter, now);
    if (!m) {
        answer_join_error(g, waiter, member_id, ST_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    if (g->state == ST_GROUP_PREPARING_REBALANCE && g->initial_delay)
        g->new_member_added = true;
    char reason[400];
    snprintf(reason, sizeof(reason), "Adding new member %s with group instance id %s%s%s",
             member_id, m->instance_id ? m->instance_id : "None",
             empty_str(req->reason) ? "" : "; client reason: ",
             empty_str(req->reason) ? "" : req->reason);
    maybe_prepare_rebalance(g, reason, now, wall);
    try_complete_join(g, now, wall);
}

/* Kafka's updateMemberAndRebalance: new protocols, parked join, rebalance. */
static void update_member_and_rebalance(st_group_t *g, st_group_member_t *m,
                                        const st_group_join_req_t *req, void *waiter, int64_t now,
                                        int64_t wall)
{
    st_group_protocol_t *ps = protocols_dup(req->protocols, req->n_protocols);
    if (!ps) {
        answer_join_error(g, waiter, m->member_id, ST_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    protocols_free(m->protocols, m->n_protocols);
    m->protocols = ps;
    m->n_protocols = req->n_protocols;
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    if (m->join_waiter)                    /* a second JoinGroup replaces the first */
        answer_join_error(g, m->join_waiter, m->member_id, ST_ERR_REBALANCE_IN_PROGRESS);
    m->join_waiter = waiter;
    char reason[400];
    snprintf(reason, sizeof(reason), "Updating metadata for member %s%s%s", m->member_id,
             empty_str(req->reason) ? "" : " during JoinGroup; client reason: ",
             empty_str(req->reason) ? "" : req->reason);
    maybe_prepare_rebalance(g, reason, now, wall);
    try_complete_join(g, now, wall);
}

/* The answer to a member that rejoins a generation it already belongs to (no rebalance). */
static void answer_current_generation(st_group_t *g, st_group_member_t *m, void *waiter,
                                      const char *leader)
{
    bool is_leader = leader && strcmp(leader, m->member_id) == 0;
    st_group_join_result_t res = {
        .error = ST_ERR_NONE, .member_id = m->member_id, .generation = g->generation,
        .protocol_type = g->protocol_type, .protocol_name = g->protocol_name,
        .leader = leader ? leader : "", .members = is_leader ? g->members : NULL,
        .n_members = is_leader ? g->n_members : 0,
    };
    g->ops->join_done(g->ops_arg, waiter, &res);
}

/* Kafka's updateStaticMemberAndRebalance: a known instance id rejoins with member_id "". */
static void replace_static_member(st_group_t *g, st_group_member_t *m, const char *new_id,
                                  const st_group_join_req_t *req, void *waiter, int64_t now,
                                  int64_t wall)
{
    char *id = strdup(new_id);
    st_group_protocol_t *ps = protocols_dup(req->protocols, req->n_protocols);
    if (!id || !ps) {
        free(id);
        if (ps)
            protocols_free(ps, req->n_protocols);
        answer_join_error(g, waiter, new_id, ST_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    /* The old member id is fenced: its parked requests fail with FENCED_INSTANCE_ID. */
    if (m->join_waiter) {
        void *w = m->join_waiter;
        m->join_waiter = NULL;
        answer_join_error(g, w, m->member_id, ST_ERR_FENCED_INSTANCE_ID);
    }
    answer_sync(g, m, ST_ERR_FENCED_INSTANCE_ID);
    answer_hb(g, m, ST_ERR_FENCED_INSTANCE_ID);
    char *current_leader = g->leader_id ? strdup(g->leader_id) : NULL;
    bool was_leader = g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
    ST_INFO("Group %s: static member with instance id %s rejoined; member id %s replaces %s",
            g->id, m->instance_id, id, m->member_id);
    free(m->member_id);
    m->member_id = id;
    if (was_leader) {
        free(g->leader_id);
        g->leader_id = strdup(id);
    }
    const uint8_t *old_meta = NULL;
    size_t old_len = 0;
    if (g->protocol_name)
        old_meta = st_group_member_metadata(g, m, &old_len);
    const st_group_protocol_t *np = NULL;
    for (size_t i = 0; g->protocol_name && i < req->n_protocols; i++)
        if (strcmp(ps[i].name, g->protocol_name) == 0)
            np = &ps[i];
    bool same = np && old_meta && np->metadata_len == old_len &&
                (old_len == 0 || memcmp(np->metadata, old_meta, old_len) == 0);
    protocols_free(m->protocols, m->n_protocols);
    m->protocols = ps;
    m->n_protocols = req->n_protocols;
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    m->heartbeat_deadline = now + m->session_timeout_ms;
    if (g->state == ST_GROUP_STABLE && same &&
        str_eq(select_protocol(g), g->protocol_name)) {
        /* No rebalance: the member gets the current generation; the old leader id is returned so
         * that a rejoining leader does not recompute a stable group's assignment (Kafka). */
        g->ops->store(g->ops_arg, g, false);
        answer_current_generation(g, m, waiter, current_leader);
        free(current_leader);
        return;
    }
    free(current_leader);
    m->join_waiter = waiter;
    if (g->state == ST_GROUP_STABLE || g->state == ST_GROUP_COMPLETING_REBALANCE)
        prepare_rebalance(g, "Updating metadata for static member (protocol changed or group "
                          "completing a rebalance)", now, wall);
    try_complete_join(g, now, wall);
}

void st_group_join(st_group_t *g, const st_group_join_req_t *req, void *waiter, int64_t now,
                   int64_t wall)
{
    const char *mid = req->member_id ? req->member_id : "";
    bool is_static = !empty_str(req->instance_id);
    if (g->state == ST_GROUP_DEAD) {
        answer_join_error(g, waiter, mid, ST_ERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (req->session_timeout_ms < g->cfg->min_session_timeout_ms ||
        req->session_timeout_ms > g->cfg->max_session_timeout_ms) {
        answer_join_error(g, waiter, mid, ST_ERR_INVALID_SESSION_TIMEOUT);
        return;
    }
    st_group_member_t *m = st_group_member(g, mid);
    if (!supports_protocols(g, req->protocol_type, req->protocols, req->n_protocols, m)) {
        answer_join_error(g, waiter, mid, ST_ERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    if (empty_str(mid)) {
        /* A new member (Kafka's doUnknownJoinGroup). */
        st_group_member_t *sm = is_static ? st_group_static_member(g, req->instance_id) : NULL;
        char *new_id = new_member_id(is_static ? req->instance_id : req->client_id);
        if (!new_id) {
            answer_join_error(g, waiter, "", ST_ERR_UNKNOWN_SERVER_ERROR);
            return;
        }
        if (sm) {
            replace_static_member(g, sm, new_id, req, waiter, now, wall);
        } else if (g->cfg->max_size > 0 && g->n_members >= (size_t)g->cfg->max_size) {
            answer_join_error(g, waiter, "", ST_ERR_GROUP_MAX_SIZE_REACHED);
        } else if (is_static) {
            add_member_and_rebalance(g, new_id, req, waiter, now, wall);
        } else {
            /* KIP-394: the member must come back with this id; it is pending until then. */
            if (add_pending(g, new_id, now + req->session_timeout_ms) < 0)
                answer_join_error(g, waiter, "", ST_ERR_UNKNOWN_SERVER_ERROR);
            else
                answer_join_error(g, waiter, new_id, ST_ERR_MEMBER_ID_REQUIRED);
        }
        free(new_id);
        st_group_check(g);
        return;
    }
    /* A known (or pending) member id (Kafka's doJoinGroup). */
    ssize_t pend = find_pending(g, mid);
    if (pend >= 0) {
        remove_pending(g, (size_t)pend);
        if (g->cfg->max_size > 0 && g->n_members >= (size_t)g->cfg->max_size)
            answer_join_error(g, waiter, mid, ST_ERR_GROUP_MAX_SIZE_REACHED);
        else
            add_member_and_rebalance(g, mid, req, waiter, now, wall);
        st_group_check(g);
        return;
    }
    st_group_member_t *sm = is_static ? st_group_static_member(g, req->instance_id) : NULL;
    if (sm && strcmp(sm->member_id, mid) != 0) {
        answer_join_error(g, waiter, mid, ST_ERR_FENCED_INSTANCE_ID);
        return;
    }
    if (!m) {
        answer_join_error(g, waiter, mid, ST_ERR_UNKNOWN_MEMBER_ID);
        return;
    }
    m->heartbeat_deadline = now + req->session_timeout_ms;
    switch (g->state) {
    case ST_GROUP_PREPARING_REBALANCE:
        update_member_and_rebalance(g, m, req, waiter, now, wall);
        break;
    case ST_GROUP_COMPLETING_REBALANCE:
        if (protocols_equal(m->protocols, m->n_protocols, req->protocols, req->n_protocols)) {
            /* A lost JoinGroup answer: the member gets the same generation again. */
            answer_current_generation(g, m, waiter, g->leader_id);
        } else {
            update_member_and_rebalance(g, m, req, waiter, now, wall);
        }
        break;
    case ST_GROUP_STABLE:
        if (strcmp(m->member_id, g->leader_id) == 0 ||
            !protocols_equal(m->protocols, m->n_protocols, req->protocols, req->n_protocols)) {
            /* The leader rejoining, or changed metadata (e.g. a new subscription): rebalance. */
            update_member_and_rebalance(g, m, req, waiter, now, wall);
        } else {
            answer_current_generation(g, m, waiter, g->leader_id);
        }
        break;
    default:               /* Empty with a member: impossible (invariant 1) */
        answer_join_error(g, waiter, mid, ST_ERR_UNKNOWN_MEMBER_ID);
        break;
    }
    st_group_check(g);
}

/* ---- SyncGroup ------------------------------------------------------------------------------- */

/* The member check shared by SyncGroup, Heartbeat and OffsetCommit. NONE or the error. */
static int32_t validate_member(const st_group_t *g, const char *member_id, const char *instance_id,
                               st_group_member_t **ret)
{
    st_group_member_t *sm = st_group_static_member(g, instance_id);
    if (sm && !str_eq(sm->member_id, member_id))
        return ST_ERR_FENCED_INSTANCE_ID;
    st_group_member_t *m = st_group_member(g, member_id);
    if (!m)
        return ST_ERR_UNKNOWN_MEMBER_ID;
    if (m->instance_id && !empty_str(instance_id) && strcmp(m->instance_id, instance_id) != 0)
        return ST_ERR_FENCED_INSTANCE_ID;
    *ret = m;
    return ST_ERR_NONE;
}

void st_group_sync(st_group_t *g, int32_t generation, const char *member_id,
                   const char *instance_id, const char *protocol_type, const char *protocol_name,
                   const st_group_assignment_t *assignments, size_t n_assignments, void *waiter,
                   int64_t now, int64_t wall)
{
    int32_t err = ST_ERR_NONE;
    st_group_member_t *m = NULL;
    if (g->state == ST_GROUP_DEAD)
        err = ST_ERR_COORDINATOR_NOT_AVAILABLE;
    else
        err = validate_member(g, member_id, instance_id, &m);
    if (err == ST_ERR_NONE && generation != g->generation)
        err = ST_ERR_ILLEGAL_GENERATION;
    if (err == ST_ERR_NONE && ((!empty_str(protocol_type) && !str_eq(protocol_type, g->protocol_type)) ||
                               (!empty_str(protocol_name) && !str_eq(protocol_name, g->protocol_name))))
        err = ST_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (err == ST_ERR_NONE && g->state == ST_GROUP_PREPARING_REBALANCE)
        err = ST_ERR_REBALANCE_IN_PROGRESS;
    if (err == ST_ERR_NONE && g->state == ST_GROUP_EMPTY)
        err = ST_ERR_UNKNOWN_MEMBER_ID;
    if (err != ST_ERR_NONE) {
        g->ops->sync_done(g->ops_arg, waiter, err, g->protocol_type, g->protocol_name, NULL, 0);
        return;
    }
    m->heartbeat_deadline = now + m->session_timeout_ms;
    if (g->state == ST_GROUP_STABLE) {
        g->ops->sync_done(g->ops_arg, waiter, ST_ERR_NONE, g->protocol_type, g->protocol_name,
                          m->assignment, m->assignment_len);
        return;
    }
    /* CompletingRebalance: park until the leader's assignments arrive. */
    if (m->sync_waiter)
        answer_sync(g, m, ST_ERR_REBALANCE_IN_PROGRESS);
    m->sync_waiter = waiter;
    if (strcmp(m->member_id, g->leader_id) != 0 || g->store_pending)
        return;
    for (size_t i = 0; i < g->n_members; i++) {
        st_group_member_t *x = g->members[i];
        const uint8_t *a = NULL;
        size_t len = 0;
        for (size_t k = 0; k < n_assignments; k++)
            if (assignments[k].member_id && strcmp(assignments[k].member_id, x->member_id) == 0) {
                a = assignments[k].assignment;
                len = assignments[k].len;
            }
        if (set_assignment(x, a, len) < 0) {
            for (size_t j = 0; j < g->n_members; j++)
                set_assignment(g->members[j], NULL, 0);
            prepare_rebalance(g, "out of memory storing the assignment", now, wall);
            st_group_check(g);
            return;
        }
    }
    size_t n_static = 0;
    for (size_t i = 0; i < g->n_members; i++)
        n_static += g->members[i]->instance_id != NULL;
    ST_INFO("Assignment received from leader %s for group %s for generation %" PRId32
            ". The group has %zu members, %zu of which are static.", m->member_id, g->id,
            g->generation, g->n_members, n_static);
    /* Kafka's storeGroup: the group record must be replicated before anyone gets the
     * assignment (st_group_store_done goes on). */
    g->store_pending = true;
    st_group_check(g);
    int32_t store_err = g->ops->store(g->ops_arg, g, true);
    if (store_err != ST_ERR_NONE)
        st_group_store_done(g, g->generation, store_err, now, wall);
}

void st_group_store_done(st_group_t *g, int32_t generation, int32_t error, int64_t now,
                         int64_t wall)
{
    if (!g->store_pending || g->state != ST_GROUP_COMPLETING_REBALANCE ||
        generation != g->generation)
        return;                 /* a rebalance or an unload overtook the write: nothing to do */
    g->store_pending = false;
    if (error == ST_ERR_NONE) {
        to_state(g, ST_GROUP_STABLE, wall);
        for (size_t i = 0; i < g->n_members; i++)
            answer_sync(g, g->members[i], ST_ERR_NONE);
    } else {
        ST_WARN("Group %s generation %" PRId32 ": storing the assignment failed (%s); "
                "rebalancing", g->id, generation, st_error_name(error));
        for (size_t i = 0; i < g->n_members; i++) {
            set_assignment(g->members[i], NULL, 0);
            answer_sync(g, g->members[i], error);
        }
        prepare_rebalance(g, "error when storing group assignment during SyncGroup", now, wall);
    }
    st_group_check(g);
}

/* ---- Heartbeat, LeaveGroup, OffsetCommit --------------------------------------------------------- */

int32_t st_group_heartbeat(st_group_t *g, int32_t generation, const char *member_id,
                           const char *instance_id, int64_t now)
{
    if (g->state == ST_GROUP_DEAD)
        return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    st_group_member_t *m = NULL;
    int32_t err = validate_member(g, member_id, instance_id, &m);
    if (err != ST_ERR_NONE)
        return err;
    switch (g->state) {
    case ST_GROUP_EMPTY:
        return ST_ERR_UNKNOWN_MEMBER_ID;
    case ST_GROUP_PREPARING_REBALANCE:
        m->heartbeat_deadline = now + m->session_timeout_ms;
        return ST_ERR_REBALANCE_IN_PROGRESS;
    default:
        if (generation != g->generation)
            return ST_ERR_ILLEGAL_GENERATION;
        m->heartbeat_deadline = now + m->session_timeout_ms;
        return ST_ERR_NONE;
    }
}

void st_group_heartbeat_hold(st_group_t *g, int32_t generation, const char *member_id,
                             const char *instance_id, int32_t max_wait_ms, void *waiter,
                             int64_t now)
{
    int32_t err = st_group_heartbeat(g, generation, member_id, instance_id, now);
    st_group_member_t *m = st_group_member(g, member_id);
    if (err != ST_ERR_NONE || !m || max_wait_ms <= 0) {
        g->ops->heartbeat_done(g->ops_arg, waiter, err);
        return;
    }
    answer_hb(g, m, ST_ERR_NONE);                 /* an older held heartbeat */
    m->hb_waiter = waiter;
    /* The session counts from this heartbeat's arrival, as for a plain one, when the hold ends
     * well before it (the member heartbeats again as soon as it is answered): a member killed
     * while holding leaves session.timeout.ms after its last heartbeat, as in Kafka. Only a hold
     * as long as the session itself extends it by the wait, so that the answer's own arrival
     * cannot race the expiry. */
    m->heartbeat_deadline = now + m->session_timeout_ms +
                            (max_wait_ms < m->session_timeout_ms ? 0 : (int64_t)max_wait_ms);
    st_group_check(g);
}

/* Kafka's removeMemberAndUpdateGroup. */
static void remove_member_and_update(st_group_t *g, st_group_member_t *m, const char *reason,
                                     int64_t now, int64_t wall)
{
    remove_member(g, m);
    switch (g->state) {
    case ST_GROUP_STABLE:
    case ST_GROUP_COMPLETING_REBALANCE:
        prepare_rebalance(g, reason, now, wall);
        /* An empty group has nobody left to wait for. */
        if (g->n_members == 0)
            complete_join(g, now, wall);
        break;
    case ST_GROUP_PREPARING_REBALANCE:
        try_complete_join(g, now, wall);
        if (g->state == ST_GROUP_PREPARING_REBALANCE && g->n_members == 0 && g->n_pending == 0)
            complete_join(g, now, wall);
        break;
    default:
        break;
    }
}

int32_t st_group_leave(st_group_t *g, const char *member_id, const char *instance_id,
                       const char *reason, int64_t now, int64_t wall)
{
    if (g->state == ST_GROUP_DEAD)
        return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    ssize_t pend = find_pending(g, member_id);
    if (pend >= 0 && empty_str(instance_id)) {
        remove_pending(g, (size_t)pend);
        try_complete_join(g, now, wall);
        st_group_check(g);
        return ST_ERR_NONE;
    }
    st_group_member_t *m = NULL;
    if (empty_str(member_id) && !empty_str(instance_id)) {
        m = st_group_static_member(g, instance_id);
        if (!m)
            return ST_ERR_UNKNOWN_MEMBER_ID;
    } else {
        int32_t err = validate_member(g, member_id, instance_id, &m);
        if (err != ST_ERR_NONE)
            return err;
    }
    char why[400];
    snprintf(why, sizeof(why), "Removing member %s on LeaveGroup%s%s", m->member_id,
             empty_str(reason) ? "" : "; client reason: ", empty_str(reason) ? "" : reason);
    ST_INFO("Member %s has left group %s through explicit LeaveGroup%s%s", m->member_id, g->id,
            empty_str(reason) ? "" : "; client reason: ", empty_str(reason) ? "" : reason);
    remove_member_and_update(g, m, why, now, wall);
    st_group_check(g);
    return ST_ERR_NONE;
}

int32_t st_group_validate_commit(st_group_t *g, int32_t generation, const char *member_id,
                                 const char *instance_id, int64_t now)
{
    if (g->state == ST_GROUP_DEAD)
        return ST_ERR_COORDINATOR_NOT_AVAILABLE;
    if (generation < 0 && empty_str(member_id) && g->state == ST_GROUP_EMPTY)
        return ST_ERR_NONE;
    st_group_member_t *m = NULL;
    int32_t err = validate_member(g, member_id, instance_id, &m);
    if (err == ST_ERR_NONE && g->state == ST_GROUP_COMPLETING_REBALANCE)
        return ST_ERR_REBALANCE_IN_PROGRESS;
    if (err != ST_ERR_NONE)
        return g->state == ST_GROUP_EMPTY && err == ST_ERR_UNKNOWN_MEMBER_ID
                   ? ST_ERR_UNKNOWN_MEMBER_ID : err;
    if (generation != g->generation)
        return ST_ERR_ILLEGAL_GENERATION;
    m->heartbeat_deadline = now + m->session_timeout_ms;
    return ST_ERR_NONE;
}

/* ---- timers ---------------------------------------------------------------------------------- */

int64_t st_group_tick(st_group_t *g, int64_t now, int64_t wall)
{
    if (g->state == ST_GROUP_DEAD)
        return NO_DEADLINE;
    for (size_t i = 0; i < g->n_pending;) {
        if (g->pending_deadline[i] <= now) {
            ST_INFO("Group %s: pending member %s did not rejoin within its session timeout; "
                    "forgetting it", g->id, g->pending[i]);
            remove_pending(g, i);
            try_complete_join(g, now, wall);
            if (g->state == ST_GROUP_PREPARING_REBALANCE && g->n_members == 0 &&
                g->n_pending == 0)
                complete_join(g, now, wall);
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < g->n_members;) {
        st_group_member_t *m = g->members[i];
        bool keep;
        if (m->join_waiter)
            keep = !m->is_new || m->heartbeat_deadline - m->session_timeout_ms +
                                     g->cfg->new_member_join_timeout_ms > now;
        else
            keep = m->heartbeat_deadline > now;
        if (keep) {
            i++;
            continue;
        }
        char why[400];
        snprintf(why, sizeof(why), "removing member %s on heartbeat expiration", m->member_id);
        ST_INFO("Member %s in group %s has failed, %s", m->member_id, g->id, why);
        remove_member_and_update(g, m, why, now, wall);
        i = 0;                              /* the array changed */
    }
    if (g->state == ST_GROUP_PREPARING_REBALANCE && g->join_deadline <= now) {
        if (g->initial_delay && g->new_member_added && g->initial_remaining_ms > 0) {
            int32_t delay = g->cfg->initial_rebalance_delay_ms < g->initial_remaining_ms
                                ? g->cfg->initial_rebalance_delay_ms : g->initial_remaining_ms;
            g->initial_remaining_ms -= delay;
            g->new_member_added = false;
            g->join_deadline = now + delay;
        } else {
            g->initial_delay = false;
            complete_join(g, now, wall);
        }
    }
    st_group_check(g);
    int64_t next = NO_DEADLINE;
    if (g->state == ST_GROUP_PREPARING_REBALANCE && g->join_deadline < next)
        next = g->join_deadline;
    for (size_t i = 0; i < g->n_pending; i++)
        if (g->pending_deadline[i] < next)
            next = g->pending_deadline[i];
    for (size_t i = 0; i < g->n_members; i++) {
        const st_group_member_t *m = g->members[i];
        int64_t d = m->join_waiter ? (m->is_new ? m->heartbeat_deadline - m->session_timeout_ms +
                                                      g->cfg->new_member_join_timeout_ms
                                                : NO_DEADLINE)
                                   : m->heartbeat_deadline;
        if (d < next)
            next = d;
    }
    return next;
}

/* ---- offsets --------------------------------------------------------------------------------- */

static ssize_t offset_index(const st_group_t *g, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < g->n_offsets; i++)
        if (g->offsets[i].partition == partition && strcmp(g->offsets[i].topic, topic) == 0)
            return (ssize_t)i;
    return -1;
}

const st_group_offset_t *st_group_offset_get(const st_group_t *g, const char *topic,
                                             int32_t partition)
{
    ssize_t i = offset_index(g, topic, partition);
    return i < 0 ? NULL : &g->offsets[i];
}

int st_group_offset_put(st_group_t *g, const char *topic, int32_t partition, int64_t offset,
                        int32_t leader_epoch, const char *metadata, int64_t commit_timestamp)
{
    char *md = strdup(metadata ? metadata : "");
    if (!md)
        return -ENOMEM;
    ssize_t i = offset_index(g, topic, partition);
    if (i < 0) {
        if (g->n_offsets == g->cap_offsets) {
            size_t cap = g->cap_offsets ? g->cap_offsets * 2 : 8;
            st_group_offset_t *p = realloc(g->offsets, cap * sizeof(*p));
            if (!p) {
                free(md);
                return -ENOMEM;
            }
            g->offsets = p;
            g->cap_offsets = cap;
        }
        char *t = strdup(topic);
        if (!t) {
            free(md);
            return -ENOMEM;
        }
        i = (ssize_t)g->n_offsets++;
        g->offsets[i].topic = t;
        g->offsets[i].partition = partition;
        g->offsets[i].metadata = NULL;
    }
    st_group_offset_t *o = &g->offsets[i];
    free(o->metadata);
    o->metadata = md;
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    o->commit_timestamp = commit_timestamp;
    return 0;
}

bool st_group_offset_remove(st_group_t *g, const char *topic, int32_t partition)
{
    ssize_t i = offset_index(g, topic, partition);
    if (i < 0)
        return false;
    free(g->offsets[i].topic);
    free(g->offsets[i].metadata);
    g->offsets[i] = g->offsets[--g->n_offsets];
    return true;
}

size_t st_group_expire_offsets(st_group_t *g, int64_t wall, int64_t retention_ms,
                               void (*fn)(void *arg, const char *topic, int32_t partition),
                               void *arg)
{
    if (g->state != ST_GROUP_EMPTY)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < g->n_offsets;) {
        st_group_offset_t *o = &g->offsets[i];
        int64_t base = g->protocol_type ? g->state_timestamp : o->commit_timestamp;
        if (wall - base >= retention_ms) {
            if (fn)
                fn(arg, o->topic, o->partition);
            free(o->topic);
            free(o->metadata);
            g->offsets[i] = g->offsets[--g->n_offsets];
            n++;
        } else {
            i++;
        }
    }
    return n;
}

typedef struct sub_match {
    const char *topic;
    bool found;
} sub_match_t;

static void sub_visit(void *arg, const char *topic, size_t len)
{
    sub_match_t *s = arg;
    if (strlen(s->topic) == len && memcmp(s->topic, topic, len) == 0)
        s->found = true;
}

bool st_group_subscribed(const st_group_t *g, const char *topic)
{
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0)
        return false;
    for (size_t i = 0; i < g->n_members; i++) {
        const st_group_member_t *m = g->members[i];
        /* The chosen protocol's subscription, or (mid-rebalance) any of the member's. */
        for (size_t k = 0; k < m->n_protocols; k++) {
            if (g->protocol_name && strcmp(m->protocols[k].name, g->protocol_name) != 0)
                continue;
            sub_match_t s = { topic, false };
            st_subscription_topics(m->protocols[k].metadata, m->protocols[k].metadata_len,
                                   sub_visit, &s);
            if (s.found)
                return true;
        }
    }
    return false;
}

/* ---- persistence ----------------------------------------------------------------------------- */

int st_group_to_record(const st_group_t *g, st_group_meta_value_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->version = 3;
    rec->protocol_type = g->protocol_type ? g->protocol_type : "";
    rec->generation = g->generation;
    rec->protocol = g->protocol_name;
    rec->leader = g->leader_id;
    rec->current_state_timestamp = g->state_timestamp;
    if (g->n_members) {
        rec->members = calloc(g->n_members, sizeof(*rec->members));
        if (!rec->members)
            return -ENOMEM;
    }
    rec->n_members = g->n_members;
    for (size_t i = 0; i < g->n_members; i++) {
        const st_group_member_t *m = g->members[i];
        st_group_member_record_t *r = &rec->members[i];
        r->member_id = m->member_id;
        r->group_instance_id = m->instance_id;
        r->client_id = m->client_id;
        r->client_host = m->client_host;
        r->rebalance_timeout = m->rebalance_timeout_ms;
        r->session_timeout = m->session_timeout_ms;
        size_t len = 0;
        const uint8_t *md = st_group_member_metadata(g, m, &len);
        r->subscription = (uint8_t *)md;
        r->subscription_len = len;
        r->assignment = m->assignment;
        r->assignment_len = m->assignment_len;
    }
    return 0;
}

int st_group_load_record(st_group_t *g, const st_group_meta_value_t *rec, int64_t now)
{
    if (rec->generation < 0)
        return -EINVAL;
    if (rec->n_members && (!rec->protocol || !rec->leader || !rec->protocol_type[0]))
        return -EINVAL;
    g->generation = rec->generation;
    free(g->protocol_type);
    g->protocol_type = rec->protocol_type && rec->protocol_type[0] ? strdup(rec->protocol_type)
                                                                   : NULL;
    if (rec->current_state_timestamp >= 0)
        g->state_timestamp = rec->current_state_timestamp;
    for (size_t i = 0; i < rec->n_members; i++) {
        const st_group_member_record_t *r = &rec->members[i];
        st_group_protocol_t p = { rec->protocol, r->subscription, r->subscription_len };
        st_group_join_req_t req = {
            .instance_id = r->group_instance_id, .client_id = r->client_id,
            .client_host = r->client_host, .protocol_type = rec->protocol_type,
            .session_timeout_ms = r->session_timeout, .rebalance_timeout_ms = r->rebalance_timeout,
            .protocols = &p, .n_protocols = 1,
        };
        if (st_group_member(g, r->member_id) ||
            (r->group_instance_id && st_group_static_member(g, r->group_instance_id)))
            return -EINVAL;
        st_group_member_t *m = add_member(g, r->member_id, &req, NULL, now);
        if (!m || set_assignment(m, r->assignment, r->assignment_len) < 0)
            return -ENOMEM;
        m->is_new = false;
    }
    if (rec->n_members) {
        if (!st_group_member(g, rec->leader))
            return -EINVAL;
        free(g->leader_id);
        g->leader_id = strdup(rec->leader);
        g->protocol_name = strdup(rec->protocol);
        g->state = ST_GROUP_STABLE;
    } else {
        g->state = ST_GROUP_EMPTY;
    }
    st_group_check(g);
    return 0;
}
