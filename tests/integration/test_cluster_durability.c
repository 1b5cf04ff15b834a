/* Durability under repeated leader crashes (reference §6.8/§6.9): RF 3, min.insync.replicas=2,
 * acks=all, a producer with retries writing records that carry a unique sequence number to
 * several partitions, while the leader of those partitions is SIGKILLed and restarted at least
 * N_KILLS times (each time: wait for a new leader in ZooKeeper, restart the broker, wait until it
 * is back in every ISR). Afterwards every partition is read back from the beginning:
 *   - every acknowledged record is there, at the offset its delivery report gave (lost = 0);
 *   - per partition, the first occurrences of acknowledged records are in sequence order;
 *   - duplicates (a retried batch that had been written) and failed sends are counted, printed,
 *     and not failures.
 * The producer keeps one request in flight per connection: without idempotence, retries with
 * more than one in flight may reorder records (as with Kafka), which is the client's choice,
 * not a broker fault. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_util.h"

#define TOPIC "durable"
#define N_PART 3
#define N_KILLS 10
#define MAX_RECS 400000

static st_test_cluster_t cluster;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
}

typedef struct row {
    int32_t partition;
    int64_t offset;
    int error;
    bool done;
} row_t;

typedef struct prod {
    strand_producer_t *p;
    row_t *rows;
    atomic_long produced;
    atomic_long acked, failed;
    atomic_bool stop;
    _Atomic int64_t first_ack_ms;     /* first acknowledgement since the main thread reset it */
    char first_error[256];
} prod_t;

static void dr_cb(const strand_delivery_report_t *rep, void *opaque)
{
    prod_t *pr = opaque;
    long seq = (long)(intptr_t)rep->msg_opaque;
    if (seq >= 0 && seq < MAX_RECS) {
        pr->rows[seq].partition = rep->partition;
        pr->rows[seq].offset = rep->offset;
        pr->rows[seq].error = rep->error;
        pr->rows[seq].done = true;
    }
    if (rep->error) {
        if (atomic_fetch_add(&pr->failed, 1) == 0)
            snprintf(pr->first_error, sizeof(pr->first_error), "%s: %s",
                     strand_err_name(rep->error), rep->errstr);
    } else {
        atomic_fetch_add(&pr->acked, 1);
        int64_t zero = 0;
        atomic_compare_exchange_strong(&pr->first_ack_ms, &zero, st_test_now_ms());
    }
}

/* ~1000 records/s round-robin over the partitions: enough to keep every kill busy, gentle on a
 * shared machine. */
static void *produce_main(void *arg)
{
    prod_t *pr = arg;
    long seq = 0;
    while (!atomic_load(&pr->stop) && seq < MAX_RECS) {
        char v[32];
        snprintf(v, sizeof(v), "seq-%ld", seq);
        int r = strand_produce(pr->p, TOPIC, (int32_t)(seq % N_PART), NULL, 0, v, strlen(v),
                               NULL, 0, 0, (void *)(intptr_t)seq);
        if (r != 0) {
            st_test_sleep_ms(10);   /* queue full or no metadata: try the same record again */
            continue;
        }
        seq++;
        atomic_store(&pr->produced, seq);
        st_test_sleep_ms(1);
    }
    return NULL;
}

static int cmp_off(const void *a, const void *b)
{
    int64_t x = ((const fu_rec_t *)a)->offset, y = ((const fu_rec_t *)b)->offset;
    return x < y ? -1 : x > y;
}

static const fu_rec_t *at_offset(const fu_rec_t *recs, size_t n, int64_t off)
{
    fu_rec_t key = { off, NULL };
    return bsearch(&key, recs, n, sizeof(*recs), cmp_off);
}

static long seq_of(const fu_rec_t *r)
{
    return r && r->value && strncmp(r->value, "seq-", 4) == 0 ? atol(r->value + 4) : -1;
}

Test(cluster_durability, acked_records_survive_leader_kills, .fini = teardown, .timeout = 580)
{
    const char *ov[] = { "min.insync.replicas=2", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    fu_create_topic(&cluster, TOPIC, N_PART, 3, (const char *const[]){ "min.insync.replicas=2",
                                                                      NULL });

    prod_t pr;
    memset(&pr, 0, sizeof(pr));
    pr.rows = calloc(MAX_RECS, sizeof(*pr.rows));
    cr_assert_not_null(pr.rows);
    strand_conf_t *conf = fu_conf(&cluster, (const char *const[]){
        "acks=all", "max.in.flight.requests.per.connection=1", "linger.ms=5",
        "request.timeout.ms=15000", "delivery.timeout.ms=120000", "retry.backoff.ms=100",
        "reconnect.backoff.max.ms=500", NULL });
    strand_conf_set_delivery_cb(conf, dr_cb, &pr);
    char err[512];
    pr.p = strand_producer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    cr_assert_not_null(pr.p, "%s", err);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, produce_main, &pr), 0);
    st_test_sleep_ms(1000);

    int64_t failover_ms[N_KILLS], rejoin_ms[N_KILLS];
    int killed[N_KILLS];
    for (int k = 0; k < N_KILLS; k++) {
        int part = k % N_PART;
        int leader = fu_leader(&cluster, TOPIC, part, NULL, NULL, NULL);
        cr_assert_gt(leader, 0, "kill %d: %s-%d has no leader", k, TOPIC, part);
        killed[k] = leader;
        long before = atomic_load(&pr.acked);
        int64_t t0 = st_test_now_ms();
        atomic_store(&pr.first_ack_ms, 0);
        st_test_broker_stop(st_test_cluster_broker(&cluster, leader), SIGKILL);
        int nl = fu_wait_leader(&cluster, TOPIC, part, leader, 60000);
        failover_ms[k] = st_test_now_ms() - t0;
        cr_assert_gt(nl, 0, "kill %d: %s-%d got no new leader after broker %d died", k, TOPIC,
                     part, leader);
        cr_assert_eq(st_test_broker_restart(st_test_cluster_broker(&cluster, leader)), 0,
                     "kill %d: broker %d restarts", k, leader);
        int64_t t1 = st_test_now_ms();
        for (int p = 0; p < N_PART; p++)
            cr_assert_eq(fu_wait_isr_size(&cluster, TOPIC, p, 3, 90000), 0,
                         "kill %d: %s-%d: broker %d never rejoined the ISR", k, TOPIC, p, leader);
        rejoin_ms[k] = st_test_now_ms() - t1;
        st_test_sleep_ms(500);
        int64_t first_ack = atomic_load(&pr.first_ack_ms);
        printf("kill %2d: broker %d (leader of %s-%d) SIGKILLed; new leader %d after %lld ms; "
               "back in every ISR %lld ms after restart; first ack %lld ms after the kill; %ld "
               "records acked by 500 ms after the rejoin\n", k + 1, leader, TOPIC, part, nl,
               (long long)failover_ms[k], (long long)rejoin_ms[k],
               first_ack ? (long long)(first_ack - t0) : -1LL, atomic_load(&pr.acked) - before);
        fflush(stdout);
    }
    atomic_store(&pr.stop, true);
    pthread_join(th, NULL);
    int fr = strand_producer_flush(pr.p, 180000);
    cr_assert_eq(fr, 0, "the producer did not drain: %zu records outstanding",
                 strand_producer_outq_len(pr.p));
    strand_producer_destroy(pr.p);
    long produced = atomic_load(&pr.produced);
    cr_assert_eq(atomic_load(&pr.acked) + atomic_load(&pr.failed), produced,
                 "every produced record got exactly one delivery report");

    long lost = 0, misplaced = 0, dups = 0, out_of_order = 0, acked_total = 0, in_log = 0;
    char first_problem[512] = "";
    uint8_t *seen = calloc((size_t)produced + 1, 1);
    for (int p = 0; p < N_PART; p++) {
        fu_rec_t *recs = NULL;
        size_t n = fu_consume_all(&cluster, TOPIC, p, 120000, &recs);
        qsort(recs, n, sizeof(*recs), cmp_off);
        in_log += (long)n;
        /* duplicates and order of first occurrences of acknowledged records */
        long last_acked_seq = -1;
        for (size_t i = 0; i < n; i++) {
            long s = seq_of(&recs[i]);
            if (s < 0 || s >= produced) {
                if (!first_problem[0])
                    snprintf(first_problem, sizeof(first_problem), "%s-%d@%lld holds '%s'",
                             TOPIC, p, (long long)recs[i].offset,
                             recs[i].value ? recs[i].value : "(null)");
                misplaced++;
                continue;
            }
            if (seen[s]) {
                dups++;
                continue;
            }
            seen[s] = 1;
            if (pr.rows[s].done && pr.rows[s].error == 0) {
                if (s < last_acked_seq) {
                    out_of_order++;
                    if (out_of_order <= 5)
                        printf("out of order: %s-%d@%lld seq %ld (acked at %lld) after seq %ld\n",
                               TOPIC, p, (long long)recs[i].offset, s,
                               (long long)pr.rows[s].offset, last_acked_seq);
                    if (!first_problem[0])
                        snprintf(first_problem, sizeof(first_problem), "%s-%d: seq %ld at "
                                 "offset %lld after seq %ld", TOPIC, p, s,
                                 (long long)recs[i].offset, last_acked_seq);
                }
                last_acked_seq = s;
            }
        }
        /* every acknowledged record at its acknowledged offset */
        for (long s = 0; s < produced; s++) {
            if (!pr.rows[s].done || pr.rows[s].error || pr.rows[s].partition != p)
                continue;
            acked_total++;
            const fu_rec_t *r = at_offset(recs, n, pr.rows[s].offset);
            if (seq_of(r) != s) {
                lost++;
                if (!first_problem[0] || lost == 1)
                    snprintf(first_problem, sizeof(first_problem), "acked seq %ld at %s-%d@%lld: "
                             "the log holds %s", s, TOPIC, p, (long long)pr.rows[s].offset,
                             r && r->value ? r->value : "nothing");
            }
        }
        fu_recs_free(recs, n);
    }
    free(seen);
    printf("durability: %d kills, %ld records produced, %ld acknowledged, %ld failed sends "
           "(first: %s), %ld records in the logs, %ld lost acknowledged records, %ld duplicates, "
           "%ld out of order, %ld foreign\n", N_KILLS, produced, acked_total,
           atomic_load(&pr.failed), pr.first_error[0] ? pr.first_error : "none", in_log, lost,
           dups, out_of_order, misplaced);
    int64_t fmax = 0, rmax = 0, fsum = 0;
    for (int k = 0; k < N_KILLS; k++) {
        fsum += failover_ms[k];
        fmax = failover_ms[k] > fmax ? failover_ms[k] : fmax;
        rmax = rejoin_ms[k] > rmax ? rejoin_ms[k] : rmax;
        (void)killed[k];
    }
    printf("durability: time to a new leader: mean %lld ms, max %lld ms; ISR rejoin max %lld ms\n",
           (long long)(fsum / N_KILLS), (long long)fmax, (long long)rmax);
    cr_assert_gt(acked_total, 0, "nothing was acknowledged");
    cr_assert_eq(lost, 0, "%ld acknowledged records lost or moved; first: %s", lost, first_problem);
    cr_assert_eq(out_of_order, 0, "acknowledged records out of order: %s", first_problem);
    cr_assert_eq(misplaced, 0, "records that were never produced: %s", first_problem);
    free(pr.rows);
}
