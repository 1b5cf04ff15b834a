/* The fault suite's workload and checker.
 *
 * Workload: one producer (the client library, acks=all, max.in.flight.requests.per.connection=1
 * so that retries cannot reorder, retries within delivery.timeout.ms) writes records
 * "<tag>:<partition>:<seq>" at a fixed rate round-robin over the topic's partitions (seq % n =
 * partition), and one consumer reads every partition from the beginning while it runs. Every
 * send's outcome is recorded: acked (with the offset the broker gave), failed (with the error),
 * or unknown (no report by the end). Every record the consumer sees during the run is recorded
 * with its offset.
 *
 * Checker (after the faults healed), each a failure when violated:
 *   - every partition has a leader again (ZooKeeper), within the printed bound;
 *   - every broker's metadata names the same leader and leader epoch as ZooKeeper;
 *   - reading every partition from offset 0 to its high watermark: offsets are contiguous; every
 *     acked record is at the offset its ack gave (else LOST); no record appears that was never
 *     sent (PHANTOM); acked records of a partition are in send order (REORDERED);
 *   - every record the live consumer saw is still at the offset it was seen at (a consumer saw
 *     data that was later truncated: committed data changed);
 *   - all replicas' segment files are byte-identical up to the high watermark.
 * Counted and printed, not failures: records written twice (a retried batch that had been
 * written: the client has no idempotence), failed sends whose record is in the log anyway.
 *
 * Threads: ft_work_start/stop/check on the driver's main thread; the producer and consumer run
 * on threads of their own; counters are atomics; per-record rows are written by the delivery
 * callback (the producer's I/O thread) and read after ft_work_stop joined everything. */
#ifndef ST_FAULTS_FT_WORK_H
#define ST_FAULTS_FT_WORK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ft_cluster.h"
#include "strand.h"

#define FT_MAX_PART 8
#define FT_MAX_ERRS 16

typedef struct ft_row {
    int64_t offset;         /* the ack's offset, -1 if none */
    int64_t t_done;         /* ms since the workload started, when the report came */
    int error;              /* 0 when acked */
    uint8_t state;          /* 0 not sent, 1 sent, 2 acked, 3 failed */
} ft_row_t;

typedef struct ft_seen {
    int64_t offset;
    long seq;               /* -1: not a record of this workload */
} ft_seen_t;

typedef struct ft_work {
    ft_cluster_t *c;
    char topic[64];
    char tag[16];
    int n_part;
    int rate;               /* records per second, all partitions */
    long cap;
    ft_row_t *rows;         /* [cap], indexed by seq */
    atomic_long sent;
    atomic_long acked, failed;
    atomic_bool stop;
    int64_t t0;
    pthread_t prod_thread, cons_thread;
    bool threads;
    strand_producer_t *prod;
    /* errors by code */
    pthread_mutex_t err_lock;
    int err_code[FT_MAX_ERRS];
    long err_count[FT_MAX_ERRS];
    /* what the live consumer saw */
    ft_seen_t *seen[FT_MAX_PART];
    long n_seen[FT_MAX_PART], cap_seen[FT_MAX_PART];
    atomic_long consumer_errors;
    char consumer_first_error[256];
} ft_work_t;

/* Creates the topic (RF 3, min.insync.replicas=2; assignment: NULL for the balanced one, else
 * n_part rows of 3 broker ids), waits until each partition has a leader and a full ISR, then
 * starts the producer and the consumer. 0 or -1. */
int ft_work_start(ft_work_t *w, ft_cluster_t *c, const char *topic, int n_part, int rate,
                  const int32_t *assignment);
/* Acks per partition in the window [from_ms, to_ms) of workload time (for availability). */
long ft_work_acks_between(ft_work_t *w, int64_t from_ms, int64_t to_ms);
/* The longest time in [from_ms, to_ms) without any ack on any partition. */
int64_t ft_work_longest_gap(ft_work_t *w, int64_t from_ms, int64_t to_ms);
/* Workload time now (ms since start). */
int64_t ft_work_now(ft_work_t *w);
/* Stops producing, flushes (every record gets its report), stops the consumer. */
void ft_work_stop(ft_work_t *w);
void ft_work_free(ft_work_t *w);

typedef struct ft_result {
    long sent, acked, failed, unknown;
    long lost, phantom, reordered, duplicated, failed_present, changed_seen, gaps;
    long consumer_seen;
    int diverged;           /* partitions whose replicas differ up to the HW */
    int64_t recover_ms;     /* time from the heal to every partition led and the checks done */
    bool leaders_ok, views_ok;
    char why[1024];         /* the first failures, one per line */
} ft_result_t;

/* Runs every check. heal_ms: when the faults were healed (st_test_now_ms clock), for the
 * recovery time; bound_ms: how long leaders and replicas may take to come back. True when
 * every check passed. */
bool ft_work_check(ft_work_t *w, int64_t heal_ms, int bound_ms, ft_result_t *res);
/* One line of figures. */
void ft_result_print(const ft_work_t *w, const ft_result_t *res);

/* Partition p of topic as broker b's Metadata tells it (its metadata cache): 0 or -1. */
int ft_broker_view(ft_cluster_t *c, ft_proc_t *b, const char *topic, int p, int *ret_leader,
                   int *ret_epoch);

/* Waits until every partition of the topic has a leader and an ISR of `isr` members in
 * ZooKeeper. 0 or -1. */
int ft_wait_topic(ft_cluster_t *c, const char *topic, int n_part, int isr, int timeout_ms);

#endif
