/* Kafka's consumer partition assignors as pure functions: range, roundrobin, sticky and
 * cooperative-sticky (partition.assignment.strategy). The group leader runs one of them on every
 * member's subscription and sends each member its part. Strand-internal (not in strand.h): the
 * client library's group membership calls it. No I/O, no threads, no logging, no globals.
 *
 * Input: the members (member id, group.instance.id, subscribed topics, the partitions each says
 * it owns and the generation it owned them in) and the partition count of every topic in the
 * leader's metadata. Subscribed topics missing from that table are skipped (as Kafka skips
 * topics without metadata). Output: each member's partitions, index-aligned with the input.
 *
 * The assignors (clients/.../consumer/{Range,RoundRobin,Sticky,CooperativeSticky}Assignor.java):
 *
 * range      Per topic: the members subscribed to it in "member order" (below), partitions in
 *            numeric order; each member gets count/members consecutive partitions and the first
 *            count%members members one more. Example (javadoc): C0, C1 on t0 and t1 with 3
 *            partitions each: C0 [t0p0 t0p1 t1p0 t1p1], C1 [t0p2 t1p2].
 * roundrobin All partitions of all subscribed topics sorted by (topic, partition), dealt in turn
 *            to the members in member order, skipping a member not subscribed to the topic.
 *            Same example: C0 [t0p0 t0p2 t1p1], C1 [t0p1 t1p0 t1p2].
 *   Member order (AbstractPartitionAssignor.MemberInfo): static members (group.instance.id set)
 *   first, by group.instance.id, then dynamic members by member id -- so a static member keeps
 *   its partitions across restarts even though its member id changes.
 * sticky     Balanced first, sticky second: the result minimises the sum over members of
 *            (partition count)^2 -- with equal subscriptions that means counts differ by at most
 *            one; otherwise no chain of moves can even the counts out further, which implies
 *            Kafka's rule that no partition can move to a member with 2+ fewer -- and among those
 *            assignments it keeps the most partitions with their current owner. When every
 *            member subscribes to the same topics it runs Kafka's quota algorithm
 *            (ConstrainedAssignmentBuilder: keep owned partitions up to minQuota/maxQuota, lowest
 *            partition numbers first, then give the rest out fewest-partitions-first), which is
 *            optimal on both counts; otherwise it starts the same way and then cancels improving
 *            move cycles until none is left (a min-cost-flow optimality argument: see
 *            st_assignor_sticky.c).
 *   Where subscriptions differ this can be more balanced than Kafka, whose general case stops
 *   once no single partition can move to a member with 2+ fewer; Strand also follows chains
 *   (A gives one to B, B one to C), so counts 3-2-1 that such a chain can even out become 2-2-2.
 *   Cost: equal subscriptions O(P log P + P log M) time (P partitions, M members); otherwise
 *   O(P*M) to start plus O(P*M + M^3) per improving cycle (usually few), and O(M^2) memory.
 *   Measured on the (shared) build machine at -O2: 1,000,000 partitions and 2,000 members take
 *   under 1 s with equal subscriptions and 4 to 5 s when one member subscribes to a single topic
 *   (the sizes of Kafka's testLargeAssignmentAndGroupWith{Uniform,NonEqual}Subscription).
 *   Current owner: the member that claims a partition (st_assign_member_t.owned) with the
 *   highest generation. Two claimers in that same generation both lose it (Kafka logs "Found
 *   multiple consumers ... claiming the same TopicPartition"). A claim on a topic the member no
 *   longer subscribes to, on an unknown topic or on a partition number out of range is ignored.
 *   Where Kafka's choice among equally good answers follows HashMap iteration order, Strand
 *   breaks ties by member id, so the result does not depend on the order of the input.
 * cooperative-sticky
 *            The sticky assignment, then for the incremental (KIP-429) protocol: a partition
 *            given to a member that does not claim it, while another member claims it, is left
 *            out of this round (so its claimer revokes it first); so is a partition claimed by
 *            two members in the same generation. A second rebalance, after the revocation, hands
 *            it over. These withheld partitions are listed in st_assign_result_t.pending.
 *
 * Not implemented: rack-aware assignment (KIP-881; Kafka uses it only when consumers set
 * client.rack and partition replicas have racks).
 *
 * Errors: -EINVAL with a reason in errbuf naming the member or topic (NULL or empty member id,
 * duplicate member id or group.instance.id, NULL or duplicate topic name, negative partition
 * count, NULL topic in a subscription or owned list), -ENOMEM. Nothing is written to *ret on
 * failure. */
#ifndef ST_ASSIGNOR_H
#define ST_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_buf.h"
#include "st_cluster.h"
#include "st_consumer_protocol.h"

typedef enum st_assignor {
    ST_ASSIGNOR_RANGE = 0,
    ST_ASSIGNOR_ROUNDROBIN,
    ST_ASSIGNOR_STICKY,
    ST_ASSIGNOR_COOPERATIVE_STICKY,
} st_assignor_t;

#define ST_ASSIGNOR_COUNT 4

/* The protocol name a member puts in JoinGroup: "range", "roundrobin", "sticky",
 * "cooperative-sticky". NULL for an unknown value. */
const char *st_assignor_name(st_assignor_t assignor);

/* One entry of partition.assignment.strategy: the protocol name or Kafka's class name
 * (org.apache.kafka.clients.consumer.RangeAssignor, RoundRobinAssignor, StickyAssignor,
 * CooperativeStickyAssignor; also without the package), surrounding blanks ignored.
 * 0, or -EINVAL for anything else. */
int st_assignor_parse(const char *s, st_assignor_t *ret_assignor);

/* The whole partition.assignment.strategy value: a comma-separated list of entries as
 * st_assignor_parse takes them, in order of preference. Fills ret_assignors (room for
 * ST_ASSIGNOR_COUNT; may be NULL) and *ret_count (may be NULL). -EINVAL with errbuf naming the
 * entry for an unknown one, an empty entry, a repeated assignor or an empty list. */
int st_assignor_parse_list(const char *list, st_assignor_t *ret_assignors, size_t *ret_count,
                           char *errbuf, size_t errlen);

/* True for cooperative-sticky: members keep their partitions through a rebalance and revoke
 * only what the assignment takes away (RebalanceProtocol.COOPERATIVE). The others are EAGER:
 * members revoke everything before they rejoin. */
bool st_assignor_is_cooperative(st_assignor_t assignor);

/* A topic in the leader's metadata. partitions == 0 is the same as the topic being absent. */
typedef struct st_assign_topic {
    const char *name;
    int32_t partitions;
} st_assign_topic_t;

/* A member as the leader sees it in JoinGroup. Nothing is copied; the assignor only reads. */
typedef struct st_assign_member {
    const char *member_id;               /* unique, non-empty */
    const char *group_instance_id;       /* NULL for a dynamic member */
    const char *const *topics;           /* subscription; duplicates allowed */
    size_t topic_cnt;
    st_tp_list_t owned;                  /* partitions it owns (sticky kinds only; see
                                            st_assignor_member_data); duplicates allowed */
    int32_t generation;                  /* generation of `owned`; ST_CP_DEFAULT_GENERATION
                                            (or any negative) when unknown */
} st_assign_member_t;

/* A partition left out of this round by cooperative-sticky. */
typedef struct st_assign_pending {
    st_tp_t tp;        /* topic owned by the result */
    size_t to;         /* the member the sticky assignment gives it to (index into members) */
} st_assign_pending_t;

typedef struct st_assign_result {
    size_t member_cnt;
    st_tp_list_t *assigned;       /* [member_cnt], index-aligned with the input members; each
                                     list sorted by (topic, partition); topics owned */
    st_assign_pending_t *pending; /* cooperative-sticky only */
    size_t pending_cnt;
} st_assign_result_t;

/* Runs the assignor. members may be empty (member_cnt 0); topics may be empty. */
int st_assign(st_assignor_t assignor, const st_assign_member_t *members, size_t member_cnt,
              const st_assign_topic_t *topics, size_t topic_cnt, st_assign_result_t *ret,
              char *errbuf, size_t errlen);

/* Frees what the result owns and zeroes it. NULL-safe. */
void st_assign_result_free(st_assign_result_t *res);

/* What an assignor reads from a member's decoded subscription as `owned` and `generation`
 * (Kafka's AbstractStickyAssignor.memberData):
 *   range, roundrobin    nothing (empty list, ST_CP_DEFAULT_GENERATION);
 *   sticky (eager)       its user data (StickyAssignor layout): the partitions and generation
 *                        there; none and the default generation if the user data is null, empty
 *                        or does not parse (Kafka ignores an unreadable previous assignment);
 *   cooperative-sticky   owned_partitions, with generation_id when the subscription carries one
 *                        (v2+ and >= 0), else the generation in its user data (CooperativeSticky
 *                        layout; the default if null or unreadable).
 * 0 or -ENOMEM. *ret_owned is a deep copy the caller frees with st_tp_list_free. */
int st_assignor_member_data(st_assignor_t assignor, const st_cp_subscription_t *sub,
                            st_tp_list_t *ret_owned, int32_t *ret_generation);

/* The user data a member puts in its Subscription for this assignor
 * (ConsumerPartitionAssignor.subscriptionUserData), given the partitions it was last assigned
 * and that assignment's generation (last == NULL before the first assignment):
 *   range, roundrobin    null;
 *   sticky               null before the first assignment, then the StickyAssignor layout
 *                        (last, generation);
 *   cooperative-sticky   the CooperativeStickyAssignor layout (generation).
 * Appends to out (nothing for null) and sets *ret_null. 0, -EINVAL (errbuf), -ENOMEM. */
int st_assignor_user_data(st_assignor_t assignor, const st_tp_list_t *last, int32_t generation,
                          st_buf_t *out, bool *ret_null, char *errbuf, size_t errlen);

/* Checks an assignment against the cooperative rule the leader must keep (Kafka's
 * ConsumerCoordinator.validateCooperativeAssignment): no partition may go to a member that does
 * not claim it while another member claims it. Also checks that no partition is assigned twice.
 * 0 if it holds; -EINVAL naming the first partition and members that break it. */
int st_assign_check_cooperative(const st_assign_member_t *members, size_t member_cnt,
                                const st_assign_result_t *res, char *errbuf, size_t errlen);

#endif
