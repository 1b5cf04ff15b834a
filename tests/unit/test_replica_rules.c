/* Replication rules (broker/replica/isr.c) as pure functions: follower truncation decisions,
 * leader-side divergence, HW candidate, ISR expand/shrink conditions, lastCaughtUpTime. */
#include <criterion/criterion.h>

#include "isr.h"

Test(truncation, same_epoch_takes_the_smaller_end)
{
    /* leader epoch 3 ends at 100; follower's epoch 3 ends at 120 (LEO 120) -> 100 */
    cr_assert_eq(st_truncation_offset(3, 100, 3, 120, 120, 50), 100);
    /* follower's epoch 3 ends earlier than the leader's -> its own end */
    cr_assert_eq(st_truncation_offset(3, 100, 3, 90, 95, 50), 90);
    /* never above LEO */
    cr_assert_eq(st_truncation_offset(3, 100, 3, 100, 80, 50), 80);
}

Test(truncation, different_epoch_truncates_to_own_end_and_asks_again)
{
    /* leader answers epoch 2 (largest <= asked); follower's largest <= 2 is 1, ending at 70 */
    cr_assert_eq(st_truncation_offset(2, 100, 1, 70, 120, 50), 70);
}

Test(truncation, unknown_answer_falls_back_to_the_high_watermark)
{
    cr_assert_eq(st_truncation_offset(-1, -1, -1, -1, 120, 50), 50);
    cr_assert_eq(st_truncation_offset(3, -1, 3, 100, 120, 60), 60);
}

Test(truncation, follower_without_epochs_truncates_to_the_leader_end)
{
    cr_assert_eq(st_truncation_offset(4, 30, -1, -1, 120, 10), 30);
    cr_assert_eq(st_truncation_offset(4, 300, -1, -1, 120, 10), 120);
}

Test(truncation, committed_data_is_kept)
{
    /* the HW (committed) is on the leader: leader_end >= hw, follower_end >= hw -> result >= hw */
    for (int64_t hw = 0; hw <= 50; hw += 10)
        cr_assert_geq(st_truncation_offset(5, 50, 5, 60, 60, hw), hw);
}

Test(divergence, leader_side)
{
    cr_assert_not(st_epoch_diverges(-1, 10, -1, -1), "empty follower log never diverges");
    cr_assert_not(st_epoch_diverges(2, 40, 2, 40));
    cr_assert_not(st_epoch_diverges(2, 30, 2, 40));
    cr_assert(st_epoch_diverges(2, 50, 2, 40), "follower has more of epoch 2 than the leader");
    cr_assert(st_epoch_diverges(2, 30, 1, 25), "leader never had epoch 2");
    cr_assert(st_epoch_diverges(7, 30, -1, -1), "epoch unknown to the leader");
}

Test(hw, min_leo_over_isr_and_caught_up)
{
    st_remote_replica_t r[2] = {
        { .id = 2, .leo = 80, .last_caught_up_ms = 1000 },
        { .id = 3, .leo = 60, .last_caught_up_ms = 0 },
    };
    int32_t isr[] = { 1, 2 };
    /* 3 is not in the ISR and lagging too long: ignored */
    cr_assert_eq(st_isr_compute_hw(100, r, 2, isr, 2, 100000, 30000), 80);
    /* 3 caught up recently: it holds the HW back so that it can join */
    r[1].last_caught_up_ms = 90000;
    cr_assert_eq(st_isr_compute_hw(100, r, 2, isr, 2, 100000, 30000), 60);
    /* an ISR member with unknown LEO holds the HW below anything (caller keeps the old HW) */
    r[0].leo = -1;
    cr_assert_lt(st_isr_compute_hw(100, r, 2, isr, 2, 100000, 30000), 0);
    /* ISR = [self] alone: HW = leader LEO */
    int32_t alone[] = { 1 };
    r[1].last_caught_up_ms = 0;
    r[0].leo = 5;
    r[0].last_caught_up_ms = 0;
    cr_assert_eq(st_isr_compute_hw(100, r, 2, alone, 1, 100000, 30000), 100);
}

Test(isr, expand_needs_hw_and_epoch_start)
{
    st_remote_replica_t r = { .id = 2, .leo = 50 };
    cr_assert(st_isr_should_expand(&r, false, 50, 40));
    cr_assert_not(st_isr_should_expand(&r, true, 50, 40), "already in");
    cr_assert_not(st_isr_should_expand(&r, false, 51, 40), "below HW");
    cr_assert_not(st_isr_should_expand(&r, false, 50, 60), "not into the leader's epoch yet");
}

Test(isr, shrink_only_when_behind_for_longer_than_the_lag)
{
    st_remote_replica_t r = { .id = 2, .leo = 90, .last_caught_up_ms = 1000 };
    cr_assert_not(st_isr_is_lagging(&r, 100, 20000, 30000));
    cr_assert(st_isr_is_lagging(&r, 100, 40000, 30000));
    r.leo = 100;
    cr_assert_not(st_isr_is_lagging(&r, 100, 40000, 30000), "at the leader's LEO: in sync");
}

Test(isr, last_caught_up_follows_kafka)
{
    st_remote_replica_t r = { .id = 2, .leo = -1, .last_fetch_leader_leo = -1 };
    st_replica_update_fetch_state(&r, 100, 100, 1000);
    cr_assert_eq(r.last_caught_up_ms, 1000, "fetch at the leader's LEO");
    st_replica_update_fetch_state(&r, 100, 150, 2000);
    cr_assert_eq(r.last_caught_up_ms, 1000, "behind now, but reached the previous LEO (100) -> "
                 "caught up as of the previous fetch");
    st_replica_update_fetch_state(&r, 120, 200, 3000);
    cr_assert_eq(r.last_caught_up_ms, 1000, "120 < previous LEO 150: no progress credit");
    st_replica_update_fetch_state(&r, 200, 260, 4000);
    cr_assert_eq(r.last_caught_up_ms, 3000, "reached the LEO of the previous fetch");
    cr_assert_eq(r.leo, 200);
}

Test(isr, normalized_to_a_set_of_the_replicas)
{
    int32_t reps[] = { 1, 2, 3 };
    int32_t a[] = { 1, 1, 99, 3, -5, 3, 2 };
    size_t n = st_isr_normalize(a, 7, reps, 3);
    cr_assert_eq(n, 3);
    cr_assert(a[0] == 1 && a[1] == 3 && a[2] == 2, "order kept: [%d,%d,%d]", a[0], a[1], a[2]);
    int32_t b[] = { 2, 1 };
    cr_assert_eq(st_isr_normalize(b, 2, reps, 3), 2);
    cr_assert_eq(st_isr_normalize(b, 0, reps, 3), 0);
    cr_assert(st_ids_distinct(reps, 3));
    cr_assert(!st_ids_distinct((int32_t[]){ 1, 2, 1 }, 3));
}
