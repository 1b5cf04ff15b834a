/* Internals of the consumer shared by st_consumer.c (positions, fetching, poll -- its header
 * comment has the partition state machine, the threads and the locks), st_consumer_group.c
 * (group membership) and st_consumer_offsets.c (committed offsets). Not for use elsewhere.
 *
 * Who touches what: fields marked "lock" need c->lock; "app" fields belong to the application
 * thread (the one thread at a time calling strand_consumer_*); "io" fields to the I/O thread.
 * Lock order: c->lock -> cl->lock. Nothing calls into the application (rebalance and commit
 * callbacks) or waits for the network with c->lock held. */
#ifndef ST_CONSUMER_INT_H
#define ST_CONSUMER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "st_batch.h"
#include "st_client.h"
#include "strand.h"

/* Partition states (st_cpart_t.state); transitions in st_consumer.c's header comment. */
enum {
    CP_REMOVED,              /* not assigned (entries are kept and reused) */
    CP_RESET,                /* needs ListOffsets for reset_spec */
    CP_RESETTING,            /* ListOffsets in flight */
    CP_FETCH,                /* fetching from fetch_pos */
    CP_ERROR,                /* stopped after an error reported to the application */
    CP_COMMITTED,            /* needs the group's committed offset (OffsetFetch) */
    CP_COMMITTED_FETCHING,   /* OffsetFetch in flight (st_consumer_offsets.c) */
};

typedef struct st_cpart {
    char *topic;
    int32_t partition;
    int state;                  /* lock */
    uint32_t epoch;             /* lock: bumped whenever the application moves the position */
    int64_t reset_spec;         /* RESET: STRAND_OFFSET_BEGINNING / _END or a timestamp */
    int64_t position;           /* app: next offset poll returns */
    int32_t pos_epoch;          /* app: leader epoch of the record before position (-1 unknown),
                                   committed with the offset */
    int64_t reset_to;           /* lock: set on the I/O thread (ListOffsets, OffsetFetch), */
    int32_t reset_epoch;        /*   applied to position / pos_epoch by the app thread */
    bool reset_pending;
    int64_t fetch_pos;          /* next offset to fetch */
    int32_t leader;
    int32_t max_bytes;
    bool fetch_inflight;
    int queued;                 /* chunks queued and not yet started by poll */
    int64_t retry_at_ms;
} st_cpart_t;

typedef struct st_chunk st_chunk_t;
typedef struct st_cgroup st_cgroup_t;

/* What the partitions come from (c->mode, lock). */
enum { CM_NONE, CM_ASSIGNED, CM_SUBSCRIBED };

struct strand_consumer {
    st_client_t cl;
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* chunks queued, positions resolved, group events, commits done */
    st_cpart_t **parts;         /* every partition ever assigned (REMOVED ones reused) */
    size_t n_parts;
    st_chunk_t *q_head, *q_tail;   /* lock */
    int waiting;                /* lock: application threads waiting on cond in poll */
    bool wake_app;              /* lock: chunks were queued for a waiting poll (see after_io) */
    /* app thread only */
    st_chunk_t *cur;            /* chunk being decoded */
    bool reader_live;
    st_batch_reader_t reader;
    bool in_batch;              /* reader has a current batch */
    bool cur_compressed;        /* the current batch was decompressed into the scratch */
    st_chunk_t *done;           /* chunks whose messages were returned by the last poll */
    strand_message_t *msgs;
    size_t msgs_cap;
    int reset_mode;             /* auto.offset.reset: STRAND_OFFSET_BEGINNING/_END, 0 = none */
    /* groups */
    int mode;                   /* lock: CM_* */
    st_cgroup_t *grp;           /* NULL without group.id (fixed after creation) */
    strand_rebalance_cb_t *rebalance_cb;   /* app */
    void *rebalance_opaque;
    bool in_callback;           /* app: a rebalance or commit callback is running */
    bool closed;                /* app: strand_consumer_close() ran */
};

/* ---- st_consumer.c helpers (c->lock held unless said otherwise) ---------------------------- */

st_cpart_t *st_consumer_part_find(strand_consumer_t *c, const char *topic, int32_t partition);
/* Finds or creates the entry for topic/partition (state untouched: REMOVED when new), with its
 * leader from metadata; NULL when out of memory. */
st_cpart_t *st_consumer_part_get(strand_consumer_t *c, const char *topic, int32_t partition);
/* Positions part at offset (>= 0, BEGINNING, END, or INVALID: the committed offset when the
 * consumer has a group, else auto.offset.reset); bumps its epoch. */
void st_consumer_part_position(strand_consumer_t *c, st_cpart_t *part, int64_t offset);
/* Applies auto.offset.reset to part (no committed offset): RESET, or ERROR with Kafka's
 * "Undefined offset with no reset policy for partitions: [t-p]" for none. Bumps the epoch. */
void st_consumer_part_reset(strand_consumer_t *c, st_cpart_t *part);
/* Drops part from the assignment (REMOVED, epoch+1: its queued data is discarded). */
void st_consumer_part_remove(strand_consumer_t *c, st_cpart_t *part);
/* App thread: takes over positions resolved on the I/O thread (reset_pending). */
void st_consumer_apply_resets_locked(strand_consumer_t *c);
/* An error message for the application about part (part may not be NULL). */
void st_consumer_queue_error(strand_consumer_t *c, st_cpart_t *part, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
