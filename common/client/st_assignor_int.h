/* The assignors' shared working state (st_assignor.c builds it, st_assignor_sticky.c uses it).
 * Not for use outside common/client/st_assignor*.c.
 *
 * Partitions are numbered globally: the known topics (partition count > 0) are sorted by name in
 * Java order, and partition q of topic ti is number tbase[ti] + q. So ascending global numbers
 * are Kafka's (topic, partition) order.
 *
 * Invariants (st_asg_check): every asg[g] is -1 or a member subscribed to topic ptopic[g];
 * owner[g] is -1 or a member that claims g in the highest generation among g's claimers, alone,
 * and subscribes to its topic; multi[g] implies owner[g] == -1; claim lists hold distinct
 * members. */
#ifndef ST_ASSIGNOR_INT_H
#define ST_ASSIGNOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_assignor.h"

typedef struct st_asg {
    const st_assign_member_t *mem;
    size_t m;                  /* members */
    size_t *id_rank;           /* [m]: position of member i in member-id order (Java order) */

    size_t t;                  /* known topics, sorted by name */
    const char **tname;        /* [t] */
    int32_t *tparts;           /* [t] partition counts (> 0) */
    size_t *tbase;             /* [t] global number of partition 0 */
    size_t p;                  /* total partitions */
    uint32_t *ptopic;          /* [p] topic index of each partition */
    uint8_t *sub;              /* [m * t]: sub[i * t + ti] = member i subscribes to topic ti */
    size_t *tsub_off;          /* [t + 1] CSR: members subscribed to topic ti ... */
    int32_t *tsub;             /* ... tsub[tsub_off[ti] .. tsub_off[ti+1]), by member index */

    /* claims (owned partitions), deduplicated per member */
    size_t *claim_off;         /* [p + 1] CSR: members claiming partition g ... */
    int32_t *claim;            /* ... claim[claim_off[g] .. claim_off[g+1]) */
    int32_t *owner;            /* [p] current owner by generation, or -1 */
    uint8_t *multi;            /* [p] claimed by two or more members in the top generation */

    int32_t *asg;              /* [p] the result: member index or -1 */
} st_asg_t;

static inline size_t st_asg_topic_subs(const st_asg_t *a, size_t ti)
{
    return a->tsub_off[ti + 1] - a->tsub_off[ti];
}

static inline bool st_asg_subscribed(const st_asg_t *a, size_t i, size_t ti)
{
    return a->sub[i * a->t + ti] != 0;
}

/* The sticky assignment into a->asg (all -1 on entry). 0 or -ENOMEM. */
int st_asg_sticky(st_asg_t *a);

/* Checks the invariants above; for assert(). */
bool st_asg_check(const st_asg_t *a);

#endif
