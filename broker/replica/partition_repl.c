/* A partition's replication state machine: role transitions from LeaderAndIsr, the leader's
 * appends and its view of the followers (ISR expand/shrink, high watermark, acks=all), the
 * follower's appends and truncation. The rules themselves are pure functions in isr.c.
 *
 * Roles and transitions (all under the partition's exclusive lock, checker after each):
 *
 *     NONE --make_leader--> LEADER --make_follower--> FOLLOWER --make_leader--> LEADER
 *       \--make_follower--> FOLLOWER      LEADER --make_leader(new epoch)--> LEADER
 *     any --st_registry_drop_partition--> NONE (not hosted) / deleted
 *     any --st_partition_set_offline--> NONE, offline for good (its log dir failed; from the
 *       moment of the failure every entry point answers -EIO, the transition only drops the
 *       role, the ISR proposal and the remotes)
 *
 * Invariants (st_partition_check):
 *   P1. deleted == (log == NULL).
 *   P2. while not deleted: log_start <= high_watermark <= log_end.
 *   P3. role == LEADER  =>  leader == self, leader_epoch >= 0, self in replicas and in isr,
 *       term_epoch <= leader_epoch.
 *   P4. role == FOLLOWER => leader != self, leader >= 0, self in replicas, leader_epoch >= 0.
 *   P5. role == LEADER  =>  remotes are exactly replicas \ {self}, in order.
 *   P6. isr_pending  =>  role == LEADER and self in proposed_isr.
 *   P7. n_replicas, n_isr, n_proposed <= ST_MAX_REPLICAS.
 *   P8. refs >= 1 while reachable; waiters[i] >= 0.
 *   P9. replicas are distinct; the ISR is a set of replicas (no repeated id, none outside the
 *       assignment): what the controller sends is normalised (st_isr_normalize), so that
 *       n_isr counts distinct replicas for min.insync.replicas.
 * The high watermark only moves forward while leading (st_partition_advance_hw); a follower
 * sets it to min(leader HW, LEO) and truncation may lower it to the new log end.
 *
 * Threads: make_* and maybe_shrink on the replica-state thread; follower_fetch, append,
 * acks_status on network loops; append_as_follower / truncate_diverging on fetcher threads.
 * Every function takes the partition lock itself (none is held on entry) and never holds it
 * across a network call; log I/O (append, truncate) happens under it, as today's appends do.
 * ISR proposals are reported through st_partition_notify_isr AFTER the lock is released. */
#include "partition_int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "st_batch.h"
#include "st_error.h"
#include "st_logger.h"

/* Wall-clock-independent "now" for the fetch-state rules: CLOCK_MONOTONIC ms. */
#include <time.h>
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_partition_check(st_partition_t *part)
{
    bool deleted = atomic_load(&part->deleted);
    assert(deleted == (part->log == NULL));                                       /* P1 */
    if (!deleted) {
        int64_t start = st_log_start_offset(part->log);
        int64_t end = st_log_end_offset(part->log);
        int64_t hw = atomic_load(&part->high_watermark);
        assert(start <= hw && hw <= end);                                          /* P2 */
        (void)start; (void)end; (void)hw;
    }
    assert(part->n_replicas <= ST_MAX_REPLICAS && part->n_isr <= ST_MAX_REPLICAS &&
           part->n_proposed <= ST_MAX_REPLICAS);                                   /* P7 */
    if (part->role == ST_ROLE_LEADER) {
        assert(part->leader == part->self && part->leader_epoch >= 0);             /* P3 */
        assert(part->term_epoch <= part->leader_epoch);
        assert(st_isr_contains(part->replicas, part->n_replicas, part->self));
        assert(st_isr_contains(part->isr, part->n_isr, part->self));
        size_t k = 0;                                                              /* P5 */
        for (size_t i = 0; i < part->n_replicas; i++)
            if (part->replicas[i] != part->self) {
                assert(k < part->n_remotes && part->remotes[k].id == part->replicas[i]);
                k++;
            }
        assert(k == part->n_remotes);
    } else if (part->role == ST_ROLE_FOLLOWER) {
        assert(part->leader != part->self && part->leader >= 0);                   /* P4 */
        assert(part->leader_epoch >= 0);
        assert(st_isr_contains(part->replicas, part->n_replicas, part->self));
    }
    if (part->isr_pending) {
        assert(part->role == ST_ROLE_LEADER);                                      /* P6 */
        assert(st_isr_contains(part->proposed_isr, part->n_proposed, part->self));
    }
    assert(st_ids_distinct(part->replicas, part->n_replicas));                    /* P9 */
    for (size_t i = 0; i < part->n_isr; i++)
        assert(st_isr_contains(part->replicas, part->n_replicas, part->isr[i]) &&
               !st_isr_contains(part->isr, i, part->isr[i]));
    assert(atomic_load(&part->refs) >= 1);                                         /* P8 */
    for (int i = 0; i < part->n_loops; i++)
        assert(atomic_load(&part->waiters[i]) >= 0);
}

static const char *role_name(st_replica_role_t role)
{
    return role == ST_ROLE_LEADER ? "leader" : role == ST_ROLE_FOLLOWER ? "follower" : "none";
}

static void format_ids(char *out, size_t len, const int32_t *ids, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(out + used, len - used, "%s%" PRId32, i ? "," : "", ids[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* The ISR used for the HW and acks=all: committed ISR plus a pending addition (Kafka's
 * maximalIsr). Under the lock. */
static size_t maximal_isr(const st_partition_t *part, int32_t *out)
{
    size_t n = part->n_isr;
    memcpy(out, part->isr, n * sizeof(int32_t));
    if (part->isr_pending)
        for (size_t i = 0; i < part->n_proposed; i++)
            if (!st_isr_contains(out, n, part->proposed_isr[i]) && n < ST_MAX_REPLICAS)
                out[n++] = part->proposed_isr[i];
    return n;
}

/* Leader: raises the HW per section 3.4. Under the lock (shared is enough: the HW is atomic and
 * the remote states it reads are only written under the exclusive lock). True if it moved. */
static bool maybe_increment_hw(st_partition_t *part, int64_t now_ms)
{
    int32_t isr[ST_MAX_REPLICAS];
    size_t n = maximal_isr(part, isr);
    int64_t cand = st_isr_compute_hw(st_log_end_offset(part->log), part->remotes, part->n_remotes,
                                     isr, n, now_ms, part->lag_ms);
    int64_t old = atomic_load(&part->high_watermark);
    if (cand <= old)
        return false;
    st_partition_advance_hw(part, cand);
    return true;
}

static void set_state(st_partition_t *part, const st_partition_state_t *st)
{
    part->leader = st->leader;
    __atomic_store_n(&part->leader_epoch, st->leader_epoch, __ATOMIC_RELAXED);   /* read lock-free */
    part->controller_epoch = st->controller_epoch;
    part->zk_version = st->zk_version;
    memcpy(part->replicas, st->replicas, st->n_replicas * sizeof(int32_t));
    part->n_replicas = st->n_replicas;
    memcpy(part->isr, st->isr, st->n_isr * sizeof(int32_t));
    part->n_isr = st_isr_normalize(part->isr, st->n_isr, part->replicas, part->n_replicas);
    if (part->n_isr != st->n_isr)
        ST_WARN("%s-%" PRId32 ": the ISR from the controller (epoch %" PRId32 ") names a broker "
                "twice or one that is no replica; counting its %zu distinct replicas, not %zu",
                part->topic, part->id, st->controller_epoch, part->n_isr, st->n_isr);
    part->isr_pending = false;
    part->n_proposed = 0;
}

static void log_change(st_partition_t *part, st_replica_role_t old_role, int32_t old_leader,
                       const st_partition_state_t *st)
{
    char isr[128];
    format_ids(isr, sizeof(isr), st->isr, st->n_isr);
    ST_INFO("%s-%" PRId32 ": %s -> %s, leader %" PRId32 " -> %" PRId32 " at leader epoch %" PRId32
            ", ISR [%s]", part->topic, part->id, role_name(old_role),
            part->role == ST_ROLE_LEADER ? "leader" : "follower", old_leader, st->leader,
            st->leader_epoch, isr);
}

int st_partition_make_leader(st_partition_t *part, const st_partition_state_t *st, int64_t now_ms)
{
    if (st->n_replicas > ST_MAX_REPLICAS || st->n_isr > ST_MAX_REPLICAS || st->leader_epoch < 0 ||
        !st_isr_contains(st->isr, st->n_isr, part->self) ||
        !st_ids_distinct(st->replicas, st->n_replicas))
        return -EINVAL;
    pthread_rwlock_wrlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (st_partition_offline_int(part)) {
        pthread_rwlock_unlock(&part->lock);
        return -EIO;
    }
    st_replica_role_t old_role = part->role;
    int32_t old_leader = part->leader;
    set_state(part, st);
    __atomic_store_n(&part->role, ST_ROLE_LEADER, __ATOMIC_RELAXED);
    if (old_role != ST_ROLE_LEADER)
        part->term_epoch = st->leader_epoch;
    int64_t leo = st_log_end_offset(part->log);
    part->leader_epoch_start = leo;
    int r = st_log_assign_epoch(part->log, st->leader_epoch, leo);
    if (r < 0)
        ST_ERROR("%s-%" PRId32 ": recording leader epoch %" PRId32 " at offset %" PRId64 ": %s",
                 part->topic, part->id, st->leader_epoch, leo, strerror(-r));
    part->n_remotes = 0;
    for (size_t i = 0; i < st->n_replicas; i++) {
        if (st->replicas[i] == part->self)
            continue;
        st_remote_replica_t *rr = &part->remotes[part->n_remotes++];
        memset(rr, 0, sizeof(*rr));
        rr->id = st->replicas[i];
        rr->leo = -1;
        rr->last_fetch_leader_leo = -1;
        /* Kafka resets lastCaughtUpTime to now for ISR members, 0 otherwise. */
        rr->last_caught_up_ms = st_isr_contains(st->isr, st->n_isr, rr->id) ? now_ms : 0;
    }
    /* The HW may rise (ISR = [self]); it never falls. */
    int64_t hw = atomic_load(&part->high_watermark);
    if (hw > leo)
        atomic_store(&part->high_watermark, leo);
    maybe_increment_hw(part, now_ms);
    log_change(part, old_role, old_leader, st);
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    st_partition_wake(part);
    return 0;
}

int st_partition_make_follower(st_partition_t *part, const st_partition_state_t *st)
{
    if (st->n_replicas > ST_MAX_REPLICAS || st->n_isr > ST_MAX_REPLICAS || st->leader_epoch < 0 ||
        st->leader < 0 || st->leader == part->self ||
        !st_ids_distinct(st->replicas, st->n_replicas))
        return -EINVAL;
    pthread_rwlock_wrlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (st_partition_offline_int(part)) {
        pthread_rwlock_unlock(&part->lock);
        return -EIO;
    }
    st_replica_role_t old_role = part->role;
    int32_t old_leader = part->leader;
    set_state(part, st);
    __atomic_store_n(&part->role, ST_ROLE_FOLLOWER, __ATOMIC_RELAXED);
    part->n_remotes = 0;
    log_change(part, old_role, old_leader, st);
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    st_partition_wake(part);   /* parked produces learn they lost leadership */
    return 0;
}

void st_partition_set_offline(st_partition_t *part, const char *log_dir)
{
    pthread_rwlock_wrlock(&part->lock);
    st_replica_role_t old_role = part->role;
    __atomic_store_n(&part->role, ST_ROLE_NONE, __ATOMIC_RELAXED);
    part->isr_pending = false;
    part->n_proposed = 0;
    part->n_remotes = 0;
    ST_INFO("%s-%" PRId32 ": %s -> offline (log dir %s failed; leader epoch %" PRId32 ")",
            part->topic, part->id, role_name(old_role), log_dir, part->leader_epoch);
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    st_partition_wake(part);   /* parked produces and fetches answer KAFKA_STORAGE_ERROR now */
}

int32_t st_partition_leader_id(st_partition_t *part)
{
    pthread_rwlock_rdlock(&part->lock);
    int32_t leader = part->leader;
    pthread_rwlock_unlock(&part->lock);
    return leader;
}

/* ---- leader -------------------------------------------------------------------------------- */

int st_partition_append(st_partition_t *part, void *batches, size_t len, int32_t acks,
                        st_log_append_info_t *ret_info, int64_t *ret_log_start,
                        int32_t *ret_epoch)
{
    pthread_rwlock_rdlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (st_partition_offline_int(part)) {
        pthread_rwlock_unlock(&part->lock);
        return -EIO;
    }
    if (part->role != ST_ROLE_LEADER) {
        pthread_rwlock_unlock(&part->lock);
        return -EPERM;
    }
    if (acks == -1 && (int64_t)part->n_isr < (int64_t)atomic_load(&part->min_insync)) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOTCONN;
    }
    st_log_append_info_t info;
    int r = st_log_append(part->log, batches, len, part->leader_epoch, &info);
    if (r == 0) {
        maybe_increment_hw(part, mono_ms());
        if (ret_log_start)
            *ret_log_start = st_log_start_offset(part->log);
        if (ret_epoch)
            *ret_epoch = part->leader_epoch;
        *ret_info = info;
    }
    pthread_rwlock_unlock(&part->lock);
    if (r == 0)
        st_partition_wake(part);
    return r;
}

/* The append at leader_epoch still stands if this broker has led without interruption since
 * then: a leader never truncates, so offsets below required_offset still hold what was
 * appended. A LeaderAndIsr that keeps this broker leader at a higher epoch (the controller
 * bumps the epoch when it drops a dead follower from the ISR) must not fail the parked
 * acks=all requests: they would be retried and written twice although nothing was lost, as
 * Kafka's DelayedProduce (which checks leadership and the HW only) does not. Losing leadership,
 * even if regained later, fails them (term_epoch moves past leader_epoch). */
int st_partition_acks_status(st_partition_t *part, int32_t leader_epoch, int64_t required_offset)
{
    pthread_rwlock_rdlock(&part->lock);
    int code;
    if (st_partition_offline_int(part))
        code = ST_ERR_KAFKA_STORAGE_ERROR;
    else if (!part->log || part->role != ST_ROLE_LEADER || leader_epoch < part->term_epoch ||
        leader_epoch > part->leader_epoch)
        code = ST_ERR_NOT_LEADER_OR_FOLLOWER;
    else if (atomic_load(&part->high_watermark) < required_offset)
        code = -1;
    else if ((int64_t)part->n_isr < (int64_t)atomic_load(&part->min_insync))
        code = ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    else
        code = ST_ERR_NONE;
    pthread_rwlock_unlock(&part->lock);
    return code;
}

/* Proposes isr (under the exclusive lock) unless a proposal is already in flight. */
static bool propose_isr(st_partition_t *part, const int32_t *isr, size_t n)
{
    if (part->isr_pending)
        return false;               /* one change at a time, as Kafka's PendingIsr states */
    memcpy(part->proposed_isr, isr, n * sizeof(int32_t));
    part->n_proposed = n;
    part->isr_pending = true;
    return true;
}

int st_partition_follower_fetch(st_partition_t *part, int32_t replica_id, int64_t fetch_offset,
                                int32_t last_fetched_epoch, int64_t now_ms, int32_t *ret_div_epoch,
                                int64_t *ret_div_end)
{
    pthread_rwlock_wrlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (st_partition_offline_int(part)) {
        pthread_rwlock_unlock(&part->lock);
        return -EIO;
    }
    if (part->role != ST_ROLE_LEADER) {
        pthread_rwlock_unlock(&part->lock);
        return -EPERM;
    }
    st_remote_replica_t *rr = NULL;
    for (size_t i = 0; i < part->n_remotes; i++)
        if (part->remotes[i].id == replica_id)
            rr = &part->remotes[i];
    if (!rr) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (last_fetched_epoch >= 0) {
        int32_t found = -1;
        int64_t end = st_log_end_offset_for_epoch(part->log, last_fetched_epoch, &found);
        if (end < 0)
            found = -1;
        if (st_epoch_diverges(last_fetched_epoch, fetch_offset, found, end)) {
            *ret_div_epoch = found;
            *ret_div_end = end;
            pthread_rwlock_unlock(&part->lock);
            return 1;
        }
    }
    int64_t leo = st_log_end_offset(part->log);
    st_replica_update_fetch_state(rr, fetch_offset, leo, now_ms);
    bool hw_moved = false, proposed = false;
    bool in_isr = st_isr_contains(part->isr, part->n_isr, replica_id) ||
                  (part->isr_pending &&
                   st_isr_contains(part->proposed_isr, part->n_proposed, replica_id));
    if (st_isr_should_expand(rr, in_isr, atomic_load(&part->high_watermark),
                             part->leader_epoch_start)) {
        int32_t isr[ST_MAX_REPLICAS];
        size_t n = part->n_isr;
        memcpy(isr, part->isr, n * sizeof(int32_t));
        isr[n++] = replica_id;
        proposed = propose_isr(part, isr, n);
        if (proposed) {
            char s[128];
            format_ids(s, sizeof(s), isr, n);
            ST_INFO("%s-%" PRId32 ": expanding the ISR to [%s] (follower %" PRId32 " caught up at "
                    "offset %" PRId64 ")", part->topic, part->id, s, replica_id, fetch_offset);
        }
    }
    hw_moved = maybe_increment_hw(part, now_ms);
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    if (hw_moved || proposed)
        st_partition_wake(part);
    if (proposed)
        st_partition_notify_isr(part);
    return 0;
}

int st_partition_epoch_end_offset(st_partition_t *part, int32_t epoch, int32_t *ret_epoch,
                                  int64_t *ret_end)
{
    pthread_rwlock_rdlock(&part->lock);
    if (!part->log) {
        pthread_rwlock_unlock(&part->lock);
        return -ENOENT;
    }
    if (st_partition_offline_int(part)) {
        pthread_rwlock_unlock(&part->lock);
        return -EIO;
    }
    if (part->role != ST_ROLE_LEADER) {
        pthread_rwlock_unlock(&part->lock);
        return -EPERM;
    }
    int32_t found = -1;
    int64_t end = st_log_end_offset_for_epoch(part->log, epoch, &found);
    pthread_rwlock_unlock(&part->lock);
    *ret_epoch = end < 0 ? -1 : found;
    *ret_end = end < 0 ? -1 : end;
    return 0;
}

bool st_partition_maybe_shrink_isr(st_partition_t *part, int64_t now_ms)
{
    pthread_rwlock_wrlock(&part->lock);
    if (!part->log || part->role != ST_ROLE_LEADER || part->isr_pending) {
        pthread_rwlock_unlock(&part->lock);
        return false;
    }
    int64_t leo = st_log_end_offset(part->log);
    int32_t isr[ST_MAX_REPLICAS];
    size_t n = 0;
    for (size_t i = 0; i < part->n_isr; i++) {
        int32_t id = part->isr[i];
        const st_remote_replica_t *rr = NULL;
        for (size_t k = 0; k < part->n_remotes; k++)
            if (part->remotes[k].id == id)
                rr = &part->remotes[k];
        if (id != part->self && rr && st_isr_is_lagging(rr, leo, now_ms, part->lag_ms))
            continue;
        isr[n++] = id;
    }
    bool proposed = false;
    if (n < part->n_isr) {
        char was[128], now[128];
        format_ids(was, sizeof(was), part->isr, part->n_isr);
        format_ids(now, sizeof(now), isr, n);
        ST_INFO("%s-%" PRId32 ": shrinking the ISR from [%s] to [%s] (followers more than %" PRId64
                " ms behind, leader end offset %" PRId64 ")", part->topic, part->id, was, now,
                part->lag_ms, leo);
        proposed = propose_isr(part, isr, n);
    }
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    if (proposed)
        st_partition_notify_isr(part);
    return proposed;
}

bool st_partition_isr_proposal(st_partition_t *part, int32_t *ret_isr, size_t *ret_n,
                               int32_t *ret_leader_epoch, int32_t *ret_version)
{
    pthread_rwlock_rdlock(&part->lock);
    bool pending = part->isr_pending && part->role == ST_ROLE_LEADER;
    if (pending) {
        memcpy(ret_isr, part->proposed_isr, part->n_proposed * sizeof(int32_t));
        *ret_n = part->n_proposed;
        *ret_leader_epoch = part->leader_epoch;
        *ret_version = part->zk_version;
    }
    pthread_rwlock_unlock(&part->lock);
    return pending;
}

void st_partition_isr_result(st_partition_t *part, int code, int32_t leader_epoch,
                             const int32_t *isr, size_t n_isr, int32_t version, bool retry)
{
    pthread_rwlock_wrlock(&part->lock);
    if (part->role != ST_ROLE_LEADER || !part->isr_pending) {
        pthread_rwlock_unlock(&part->lock);
        return;
    }
    int32_t set[ST_MAX_REPLICAS];
    size_t n_set = 0;
    if (n_isr && n_isr <= ST_MAX_REPLICAS) {   /* an empty list comes as NULL */
        memcpy(set, isr, n_isr * sizeof(int32_t));
        n_set = st_isr_normalize(set, n_isr, part->replicas, part->n_replicas);
    }
    if (code == ST_ERR_NONE && leader_epoch == part->leader_epoch && n_isr <= ST_MAX_REPLICAS &&
        st_isr_contains(set, n_set, part->self)) {
        memcpy(part->isr, set, n_set * sizeof(int32_t));
        part->n_isr = n_set;
        part->zk_version = version;
        part->isr_pending = false;
        part->n_proposed = 0;
        char s[128];
        format_ids(s, sizeof(s), set, n_set);
        ST_INFO("%s-%" PRId32 ": ISR is now [%s] (version %" PRId32 ")", part->topic, part->id, s,
                version);
        maybe_increment_hw(part, mono_ms());
    } else if (!retry) {
        ST_WARN("%s-%" PRId32 ": the controller refused the ISR change: %s", part->topic, part->id,
                st_error_name(code));
        part->isr_pending = false;
        part->n_proposed = 0;
    }
    st_partition_check(part);
    pthread_rwlock_unlock(&part->lock);
    st_partition_wake(part);
}

/* ---- follower ------------------------------------------------------------------------------ */

int st_partition_fetch_position(st_partition_t *part, int64_t *ret_leo, int32_t *ret_last_epoch,
                                int32_t *ret_leader_epoch)
{
    pthread_rwlock_rdlock(&part->lock);
    int r = -ESTALE;
    if (part->log && part->role == ST_ROLE_FOLLOWER) {
        *ret_leo = st_log_end_offset(part->log);
        *ret_last_epoch = st_log_latest_epoch(part->log);   /* Kafka: log.latestEpoch */
        *ret_leader_epoch = part->leader_epoch;
        r = 0;
    }
    pthread_rwlock_unlock(&part->lock);
    return r;
}

int st_partition_append_as_follower(st_partition_t *part, int32_t leader_epoch, const void *data,
                                    size_t len, int64_t leader_hw)
{
    /* Validate every batch (CRC, lengths, codec) before taking the lock; nothing is re-stamped. */
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        st_batch_header_t hdr;
        st_batch_error_t err;
        memset(&err, 0, sizeof(err));
        int r = st_batch_validate(p + off, len - off, &hdr, &err);
        if (r == -EAGAIN && off > 0)
            break;                   /* a partial trailing batch (max bytes): drop it */
        if (r < 0) {
            ST_WARN("%s-%" PRId32 ": the leader sent an invalid batch at byte %zu: %s", part->topic,
                    part->id, off, err.reason[0] ? err.reason : strerror(-r));
            return -EBADMSG;
        }
        off += st_batch_total_size(&hdr);
    }
    pthread_rwlock_rdlock(&part->lock);
    int r = 0;
    if (!part->log || part->role != ST_ROLE_FOLLOWER || part->leader_epoch != leader_epoch) {
        r = -ESTALE;
    } else if (st_partition_offline_int(part)) {
        r = -EIO;   /* the replica manager drops it from its fetcher */
    } else {
        if (off > 0)
            r = st_log_append_follower(part->log, data, off, NULL);
        if (r == 0) {
            int64_t leo = st_log_end_offset(part->log);
            int64_t hw = leader_hw < leo ? leader_hw : leo;
            int64_t start = st_log_start_offset(part->log);
            if (hw < start)
                hw = start;
            /* A follower follows the leader's HW; only truncation lowers it. */
            st_partition_advance_hw(part, hw);
        }
    }
    pthread_rwlock_unlock(&part->lock);
    return r;
}

/* Under the exclusive lock. */
static int truncate_locked(st_partition_t *part, int64_t offset, const char *why)
{
    int64_t leo = st_log_end_offset(part->log);
    if (offset >= leo) {
        /* Nothing to remove, but an epoch this broker led without appending (it starts at the
         * LEO) must go, or it stays our "last fetched epoch" and the leader keeps answering
         * diverging: st_log_truncate_to drops it. */
        int32_t before = st_log_latest_epoch(part->log);
        int r = st_log_truncate_to(part->log, leo);
        int32_t after = st_log_latest_epoch(part->log);
        if (after != before)
            ST_INFO("%s-%" PRId32 ": dropped leader epoch %" PRId32 " (it starts at the log end %"
                    PRId64 " and holds no record; %s)", part->topic, part->id, before, leo, why);
        return r;
    }
    int r = st_log_truncate_to(part->log, offset);
    int64_t end = st_log_end_offset(part->log);
    if (atomic_load(&part->high_watermark) > end)
        atomic_store(&part->high_watermark, end);
    int64_t start = st_log_start_offset(part->log);
    if (atomic_load(&part->high_watermark) < start)
        atomic_store(&part->high_watermark, start);
    ST_INFO("%s-%" PRId32 ": truncated from offset %" PRId64 " to %" PRId64 " (%s)%s%s",
            part->topic, part->id, leo, end, why, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
    return r;
}

int st_partition_truncate_diverging(st_partition_t *part, int32_t leader_epoch, int32_t div_epoch,
                                    int64_t div_end)
{
    pthread_rwlock_wrlock(&part->lock);
    int r = -ESTALE;
    if (part->log && part->role == ST_ROLE_FOLLOWER && part->leader_epoch == leader_epoch) {
        int32_t own_epoch = -1;
        int64_t own_end = div_epoch >= 0
                              ? st_log_end_offset_for_epoch(part->log, div_epoch, &own_epoch) : -1;
        if (own_end < 0)
            own_epoch = -1;
        int64_t off = st_truncation_offset(div_epoch, div_end, own_epoch, own_end,
                                           st_log_end_offset(part->log),
                                           atomic_load(&part->high_watermark));
        char why[128];
        snprintf(why, sizeof(why), "the leader's epoch %" PRId32 " ends at %" PRId64, div_epoch,
                 div_end);
        r = truncate_locked(part, off, why);
        st_partition_check(part);
    }
    pthread_rwlock_unlock(&part->lock);
    return r;
}

int st_partition_truncate_to_hw(st_partition_t *part)
{
    pthread_rwlock_wrlock(&part->lock);
    int r = -ESTALE;
    if (part->log && part->role == ST_ROLE_FOLLOWER) {
        r = 0;
        if (st_log_latest_epoch(part->log) < 0)
            r = truncate_locked(part, atomic_load(&part->high_watermark),
                                "no leader-epoch history: back to the high watermark");
        st_partition_check(part);
    }
    pthread_rwlock_unlock(&part->lock);
    return r;
}
