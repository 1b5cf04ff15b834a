/* Replication rules as pure functions (no locks, no clocks, no I/O), so that they can be unit
 * tested on their own (tests/unit/test_replica_rules.c) and the partition code only applies
 * them. Each names the Kafka rule it follows (reference/kafka-zk-mode.md section 3). */
#ifndef ST_ISR_H
#define ST_ISR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_REPLICAS 16

/* What the leader knows of one follower. leo = -1: unknown (no fetch since this broker became
 * leader). */
typedef struct st_remote_replica {
    int32_t id;
    int64_t leo;
    int64_t last_caught_up_ms;
    int64_t last_fetch_leader_leo;     /* the leader's LEO at the previous fetch */
    int64_t last_fetch_ms;             /* time of the previous fetch */
} st_remote_replica_t;

bool st_isr_contains(const int32_t *ids, size_t n, int32_t id);
/* No id twice. */
bool st_ids_distinct(const int32_t *ids, size_t n);
/* An ISR as a set of the replicas: drops repeated ids and ids that are not replicas, in place,
 * keeping the order; returns the new count. An ISR from the controller (LeaderAndIsr, an
 * AlterIsr answer) naming the leader twice or a broker outside the assignment would otherwise
 * count towards min.insync.replicas (Kafka keeps the ISR as a Set). */
size_t st_isr_normalize(int32_t *isr, size_t n, const int32_t *replicas, size_t n_replicas);

/* Kafka's Replica.updateFetchState (section 3.2): called for each follower fetch at fetch_offset
 * while the leader's LEO is leader_leo. */
void st_replica_update_fetch_state(st_remote_replica_t *r, int64_t fetch_offset, int64_t leader_leo,
                                   int64_t now_ms);

/* Section 3.3 expand: not in the ISR, LEO >= HW and LEO >= the start of the leader's epoch. */
bool st_isr_should_expand(const st_remote_replica_t *r, bool in_isr, int64_t hw,
                          int64_t leader_epoch_start_offset);

/* Section 3.3 shrink: an ISR follower is out of sync if its LEO differs from the leader's and it
 * has not caught up for more than lag_ms. */
bool st_isr_is_lagging(const st_remote_replica_t *r, int64_t leader_leo, int64_t now_ms,
                       int64_t lag_ms);

/* Section 3.4: the HW candidate = min LEO over the leader and every remote replica that is in
 * isr (the maximal ISR while an AlterIsr is in flight) or caught up within lag_ms. The caller
 * never moves the HW backwards (it takes the max with the current HW). */
int64_t st_isr_compute_hw(int64_t leader_leo, const st_remote_replica_t *remotes, size_t n_remotes,
                          const int32_t *isr, size_t n_isr, int64_t now_ms, int64_t lag_ms);

/* Leader side of truncate-on-fetch (KIP-595, section 3.5): the follower's last fetched epoch
 * and fetch offset against the leader's epoch history, where leader_epoch_found and
 * leader_end_offset are the leader's answer for last_fetched_epoch (st_log_end_offset_for_epoch:
 * the largest epoch <= it, and where that epoch ends). True when the follower diverges: it
 * must truncate to min(leader_end_offset, its own end of that epoch) -> diverging_epoch =
 * {leader_epoch_found, leader_end_offset}. last_fetched_epoch < 0 (an empty follower log) never
 * diverges. */
bool st_epoch_diverges(int32_t last_fetched_epoch, int64_t fetch_offset, int32_t leader_epoch_found,
                       int64_t leader_end_offset);

/* Follower side (AbstractFetcherThread.getOffsetTruncationState, section 3.5): where to truncate
 * after the leader answered {leader_epoch, leader_end_offset}. follower_epoch / follower_end are
 * the follower's own answer for leader_epoch (largest epoch <= it, and its end; -1 when none).
 *   - leader answer undefined (-1)           -> the high watermark (never below committed data
 *                                               because the HW is committed)
 *   - follower has no epoch <= leader_epoch  -> min(leader_end_offset, leo)
 *   - follower's epoch differs               -> min(follower_end, leo); the next fetch asks again
 *   - same epoch                             -> min(leader_end_offset, follower_end, leo)
 * The result is never above leo, and never below hw when the leader's answer is defined and
 * hw <= leader_end_offset (committed data is on the leader). */
int64_t st_truncation_offset(int32_t leader_epoch, int64_t leader_end_offset,
                             int32_t follower_epoch, int64_t follower_end, int64_t leo, int64_t hw);

#endif
