/* Replication rules as pure functions: follower fetch state, ISR expand/shrink conditions, the
 * high-watermark candidate, and the two sides of leader-epoch truncation. See isr.h. */
#include "isr.h"

bool st_isr_contains(const int32_t *ids, size_t n, int32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool st_ids_distinct(const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return false;
    return true;
}

size_t st_isr_normalize(int32_t *isr, size_t n, const int32_t *replicas, size_t n_replicas)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (st_isr_contains(replicas, n_replicas, isr[i]) && !st_isr_contains(isr, k, isr[i]))
            isr[k++] = isr[i];
    return k;
}

void st_replica_update_fetch_state(st_remote_replica_t *r, int64_t fetch_offset, int64_t leader_leo,
                                   int64_t now_ms)
{
    if (fetch_offset >= leader_leo) {
        r->last_caught_up_ms = now_ms > r->last_caught_up_ms ? now_ms : r->last_caught_up_ms;
    } else if (r->last_fetch_leader_leo >= 0 && fetch_offset >= r->last_fetch_leader_leo) {
        if (r->last_fetch_ms > r->last_caught_up_ms)
            r->last_caught_up_ms = r->last_fetch_ms;
    }
    r->last_fetch_leader_leo = leader_leo;
    r->last_fetch_ms = now_ms;
    r->leo = fetch_offset;
}

bool st_isr_should_expand(const st_remote_replica_t *r, bool in_isr, int64_t hw,
                          int64_t leader_epoch_start_offset)
{
    return !in_isr && r->leo >= 0 && r->leo >= hw && r->leo >= leader_epoch_start_offset;
}

bool st_isr_is_lagging(const st_remote_replica_t *r, int64_t leader_leo, int64_t now_ms,
                       int64_t lag_ms)
{
    return r->leo != leader_leo && now_ms - r->last_caught_up_ms > lag_ms;
}

int64_t st_isr_compute_hw(int64_t leader_leo, const st_remote_replica_t *remotes, size_t n_remotes,
                          const int32_t *isr, size_t n_isr, int64_t now_ms, int64_t lag_ms)
{
    int64_t hw = leader_leo;
    for (size_t i = 0; i < n_remotes; i++) {
        const st_remote_replica_t *r = &remotes[i];
        bool counts = st_isr_contains(isr, n_isr, r->id) ||
                      (r->leo >= 0 && now_ms - r->last_caught_up_ms <= lag_ms);
        if (counts && r->leo < hw)
            hw = r->leo;   /* an unknown LEO (-1) holds the HW where it is */
    }
    return hw;
}

bool st_epoch_diverges(int32_t last_fetched_epoch, int64_t fetch_offset, int32_t leader_epoch_found,
                       int64_t leader_end_offset)
{
    if (last_fetched_epoch < 0)
        return false;
    return leader_epoch_found != last_fetched_epoch || leader_end_offset < fetch_offset;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int64_t st_truncation_offset(int32_t leader_epoch, int64_t leader_end_offset,
                             int32_t follower_epoch, int64_t follower_end, int64_t leo, int64_t hw)
{
    int64_t off;
    if (leader_epoch < 0 || leader_end_offset < 0)
        off = hw;
    else if (follower_epoch < 0 || follower_end < 0)
        off = min64(leader_end_offset, leo);
    else if (follower_epoch != leader_epoch)
        off = min64(follower_end, leo);
    else
        off = min64(min64(leader_end_offset, follower_end), leo);
    return off < 0 ? 0 : min64(off, leo);
}
