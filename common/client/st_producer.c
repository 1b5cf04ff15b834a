/* The asynchronous, batching producer (strand_produce and friends, see strand.h).
 *
 * Data path
 *   strand_produce() (any application thread) finds the topic in a lock-free hash table, picks
 *   the partition (explicit, murmur2 of the key, or the sticky partition for null keys), takes
 *   the partition's lock, appends the record to the partition's open batch (an
 *   st_batch_writer_t) and releases the lock: one short lock and no malloc per record. A batch
 *   that cannot take the next record is detached under the lock onto the partition's FIFO and
 *   finished (compressed, CRC) outside it. The I/O thread takes batches off a FIFO head only
 *   once they are finished, so a partition's batches always leave in record order, even when an
 *   application thread and the I/O thread (linger) seal consecutive batches concurrently.
 *   The I/O thread (producer_tick) seals batches whose linger.ms expired, groups ready batches by
 *   partition leader into ProduceRequests of up to max.request.size (batch bytes travel as the
 *   frame tail, never copied), keeps up to max.in.flight.requests.per.connection of them in
 *   flight per broker, and on each response reports every record (delivery callback, I/O
 *   thread), retries retriable errors after retry.backoff.ms, or fails them.
 *
 * Batch life cycle (st_pbatch_t), each step by one function:
 *   pool --batch_get--> OPEN (part->cur, records being added, on the linger queue)
 *        --detach--> DETACHED (on part's FIFO) --seal--> finished (data set, or seal_err)
 *        --drain_part--> READY (the partition's ready queue, I/O thread only)
 *        --send_ready--> IN FLIGHT (in a st_preq_t) --preq_cb--> back to READY (retry)
 *        or --batch_done--> pool (reported, memory released).
 * Invariants (batch_check): an OPEN batch has data == NULL; a READY / IN FLIGHT batch has
 *   data != NULL, len > 0 and count >= 1; a partition's batches enter its ready queue in FIFO
 *   order; a batch's reserved memory (mem) stays counted in mem_used until batch_done.
 *
 * Locks: part->lock (open batch and FIFO), p->topics_lock (topic table changes),
 * p->sealed_lock (partitions to drain), p->lq_lock (linger queue), p->mem_lock (buffer.memory
 * and the batch pool), p->flush_lock. Lock order: topics_lock -> cl->lock. part->lock is never
 * held while taking another lock (batch_get and sealing happen with no lock held). */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_batch.h"
#include "st_client.h"
#include "st_logger.h"
#include "strand.h"

#define TOPIC_BUCKETS 256
#define RECORD_OVERHEAD 40   /* upper bound of a record's varints and attributes */

_Static_assert(sizeof(strand_header_t) == sizeof(st_record_header_t),
               "strand_header_t must match st_record_header_t");
_Static_assert(offsetof(strand_header_t, value_len) == offsetof(st_record_header_t, value_len),
               "strand_header_t must match st_record_header_t");

typedef struct st_ptopic st_ptopic_t;
typedef struct st_ppart st_ppart_t;

typedef struct st_pbatch {
    struct st_pbatch *next;
    st_ppart_t *part;
    st_batch_writer_t *w;
    uint64_t seq;
    void **opaques;               /* per record, only with a delivery callback */
    int64_t *timestamps;
    uint32_t count, cap;
    int64_t open_ms;
    const void *data;             /* finished bytes */
    size_t len;
    bool finished;                /* part->lock: sealing done (data set, or seal_err) */
    int seal_err;
    size_t mem;
    int attempts;
    int last_err;                 /* the error of the last attempt (0 before any) */
    int64_t retry_at_ms;
} st_pbatch_t;

struct st_ppart {
    pthread_mutex_t lock;
    st_pbatch_t *cur;             /* OPEN batch (lock) */
    st_pbatch_t *fifo_head, *fifo_tail;   /* detached batches, in record order (lock) */
    bool drain_queued;            /* on p->drain (p->sealed_lock) */
    st_ppart_t *drain_next;
    st_ptopic_t *topic;
    int32_t partition;
    atomic_int leader;
    /* I/O thread only */
    st_pbatch_t *ready_head, *ready_tail;
    int inflight;                 /* ProduceRequests holding batches of this partition */
    bool on_ready_list;
    st_ppart_t *ready_next;
};

struct st_ptopic {
    char *name;
    uint32_t index;               /* creation order, for sorting request contents */
    atomic_int n_parts;
    _Atomic(st_ppart_t **) parts;
    atomic_int sticky;
    _Atomic(st_ptopic_t *) hnext;
};

typedef struct linger_ent {
    st_pbatch_t *batch;
    st_ppart_t *part;
    uint64_t seq;
    int64_t deadline_ms;
} linger_ent_t;

typedef struct st_preq {
    struct strand_producer *p;
    st_broker_t *broker;
    st_pbatch_t **batches;
    size_t n, cap;
    size_t bytes;
    struct iovec *iov;
} st_preq_t;

struct strand_producer {
    st_client_t cl;
    int codec;
    /* topics */
    pthread_mutex_t topics_lock;
    _Atomic(st_ptopic_t *) buckets[TOPIC_BUCKETS];
    st_ptopic_t **all_topics;
    size_t n_topics;
    void **retired;               /* replaced partition arrays, freed at destroy */
    size_t n_retired;
    /* buffer memory and batch pool */
    pthread_mutex_t mem_lock;
    pthread_cond_t mem_cond;
    int64_t mem_used;
    st_pbatch_t *pool;
    uint64_t next_seq;
    /* partitions with finished batches for the I/O thread */
    pthread_mutex_t sealed_lock;
    st_ppart_t *drain;
    /* linger queue (FIFO = deadline order, linger.ms is the same for every batch) */
    pthread_mutex_t lq_lock;
    linger_ent_t *lq;
    size_t lq_head, lq_len, lq_cap;
    /* flush */
    atomic_int flushing;
    atomic_long outq;
    pthread_mutex_t flush_lock;
    pthread_cond_t flush_cond;
    /* I/O thread only */
    st_ppart_t **drain_buf;       /* partitions taken off p->drain this tick */
    size_t drain_cap;
    st_ppart_t *ready_list;
    st_preq_t **builders;
    size_t n_builders;
};

static uint32_t rand_next(void)
{
    static __thread uint32_t state;
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&state ^ 0x9e3779b9u;
        if (!state)
            state = 1;
    }
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static bool batch_check(const st_pbatch_t *b)
{
    if (!b->part || b->count == 0)
        return false;
    if (b->data && b->len == 0)
        return false;
    return true;
}

/* ---- topics ------------------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static st_ptopic_t *topic_lookup(strand_producer_t *p, const char *name)
{
    st_ptopic_t *t = atomic_load_explicit(&p->buckets[name_hash(name) % TOPIC_BUCKETS],
                                          memory_order_acquire);
    while (t && strcmp(t->name, name) != 0)
        t = atomic_load_explicit(&t->hnext, memory_order_acquire);
    return t;
}

static st_ppart_t *part_new(st_ptopic_t *t, int32_t partition, int32_t leader)
{
    st_ppart_t *part = calloc(1, sizeof(*part));
    if (!part)
        return NULL;
    pthread_mutex_init(&part->lock, NULL);
    part->topic = t;
    part->partition = partition;
    atomic_init(&part->leader, leader);
    return part;
}

/* Grows t to n partitions and refreshes leaders from md. topics_lock and cl->lock held. */
static int topic_update(strand_producer_t *p, st_ptopic_t *t, const st_md_topic_t *md)
{
    int cur = atomic_load(&t->n_parts);
    st_ppart_t **parts = atomic_load(&t->parts);
    if (md->error == 0 && (int)md->n_parts > cur) {
        st_ppart_t **grown = calloc(md->n_parts, sizeof(*grown));
        void **retired = realloc(p->retired, (p->n_retired + 1) * sizeof(*retired));
        if (retired)
            p->retired = retired;
        if (!grown || !retired) {
            free(grown);
            return -ENOMEM;
        }
        if (cur)
            memcpy(grown, parts, (size_t)cur * sizeof(*grown));
        for (size_t i = (size_t)cur; i < md->n_parts; i++) {
            if (!(grown[i] = part_new(t, (int32_t)i, md->parts[i].leader))) {
                for (size_t j = (size_t)cur; j < i; j++)
                    free(grown[j]);
                free(grown);
                return -ENOMEM;
            }
        }
        if (parts)
            p->retired[p->n_retired++] = parts;
        atomic_store_explicit(&t->parts, grown, memory_order_release);
        atomic_store_explicit(&t->n_parts, (int)md->n_parts, memory_order_release);
        parts = grown;
        cur = (int)md->n_parts;
    }
    for (int i = 0; i < cur && (size_t)i < md->n_parts; i++)
        atomic_store(&parts[i]->leader, md->parts[i].leader);
    return 0;
}

/* Finds or creates the topic once metadata knows it (may block up to max.block.ms). */
static int topic_get(strand_producer_t *p, const char *name, st_ptopic_t **ret_topic,
                     char *errstr, size_t errstr_size)
{
    st_ptopic_t *t = topic_lookup(p, name);
    if (t && atomic_load_explicit(&t->n_parts, memory_order_acquire) > 0) {
        *ret_topic = t;
        return 0;
    }
    int64_t wait = st_client_on_io_thread(&p->cl) ? 0 : p->cl.conf.max_block_ms;
    int32_t count = 0;
    int err = st_client_md_wait_topic(&p->cl, name, st_client_now_ms() + wait, false, &count,
                                      errstr, errstr_size);
    if (err)
        return err;
    pthread_mutex_lock(&p->topics_lock);
    t = topic_lookup(p, name);
    if (!t) {
        st_ptopic_t **all = realloc(p->all_topics, (p->n_topics + 1) * sizeof(*all));
        if (all)
            p->all_topics = all;
        t = calloc(1, sizeof(*t));
        if (!all || !t || !(t->name = strdup(name))) {
            free(t);
            pthread_mutex_unlock(&p->topics_lock);
            st_client_errstr(errstr, errstr_size, "out of memory");
            return ST_ERR_INVALID_ARG;
        }
        t->index = (uint32_t)p->n_topics;
        atomic_init(&t->sticky, -1);
        p->all_topics[p->n_topics++] = t;
        _Atomic(st_ptopic_t *) *bucket = &p->buckets[name_hash(name) % TOPIC_BUCKETS];
        atomic_store(&t->hnext, atomic_load(bucket));
        atomic_store_explicit(bucket, t, memory_order_release);
    }
    pthread_mutex_lock(&p->cl.lock);
    const st_md_topic_t *md = st_client_md_topic_locked(&p->cl, name);
    int r = md ? topic_update(p, t, md) : 0;
    pthread_mutex_unlock(&p->cl.lock);
    pthread_mutex_unlock(&p->topics_lock);
    if (r < 0 || atomic_load(&t->n_parts) == 0) {
        st_client_errstr(errstr, errstr_size, "topic '%s': no partitions known", name);
        return ST_ERR_LEADER_NOT_AVAILABLE;
    }
    *ret_topic = t;
    return 0;
}

static void producer_on_metadata(st_client_t *cl)
{
    strand_producer_t *p = cl->role_arg;
    pthread_mutex_lock(&p->topics_lock);
    pthread_mutex_lock(&cl->lock);
    for (size_t i = 0; i < p->n_topics; i++) {
        const st_md_topic_t *md = st_client_md_topic_locked(cl, p->all_topics[i]->name);
        if (md)
            topic_update(p, p->all_topics[i], md);
    }
    pthread_mutex_unlock(&cl->lock);
    pthread_mutex_unlock(&p->topics_lock);
}

/* Chooses a new sticky partition for t, different from `old` when possible, preferring
 * partitions with a known leader (KIP-480). */
static void sticky_next(st_ptopic_t *t, int32_t old)
{
    int n = atomic_load_explicit(&t->n_parts, memory_order_acquire);
    st_ppart_t **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
    if (n <= 0)
        return;
    int32_t pick = (int32_t)(rand_next() % (uint32_t)n);
    for (int i = 0; i < n; i++) {
        int32_t cand = (pick + i) % n;
        if ((cand != old || n == 1) && atomic_load(&parts[cand]->leader) >= 0) {
            pick = cand;
            break;
        }
    }
    int expected = old;
    atomic_compare_exchange_strong(&t->sticky, &expected, pick);
}

/* ---- batches ------------------------------------------------------------------------------ */

/* A fresh OPEN batch reserving `mem` bytes of buffer.memory; waits for memory up to deadline. */
static int batch_get(strand_producer_t *p, size_t mem, int64_t deadline_ms, st_pbatch_t **ret)
{
    bool may_block = !st_client_on_io_thread(&p->cl);
    pthread_mutex_lock(&p->mem_lock);
    while (p->mem_used > 0 && p->mem_used + (int64_t)mem > p->cl.conf.buffer_memory) {
        int64_t now = st_client_now_ms();
        if (!may_block || now >= deadline_ms) {
            pthread_mutex_unlock(&p->mem_lock);
            return ST_ERR_QUEUE_FULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = deadline_ms - now < 100 ? deadline_ms - now : 100;
        ts.tv_nsec += wait * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->mem_cond, &p->mem_lock, &ts);
    }
    p->mem_used += (int64_t)mem;
    st_pbatch_t *b = p->pool;
    if (b)
        p->pool = b->next;
    uint64_t seq = ++p->next_seq;
    pthread_mutex_unlock(&p->mem_lock);
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (b && !(b->w = st_batch_writer_new((st_compression_t)p->codec))) {
            free(b);
            b = NULL;
        }
        if (!b) {
            pthread_mutex_lock(&p->mem_lock);
            p->mem_used -= (int64_t)mem;
            pthread_cond_broadcast(&p->mem_cond);
            pthread_mutex_unlock(&p->mem_lock);
            return ST_ERR_QUEUE_FULL;
        }
    } else {
        st_batch_writer_reset(b->w);
    }
    b->next = NULL;
    b->part = NULL;
    b->seq = seq;
    b->count = 0;
    b->data = NULL;
    b->len = 0;
    b->finished = false;
    b->seal_err = 0;
    b->mem = mem;
    b->attempts = 0;
    b->last_err = 0;
    b->retry_at_ms = 0;
    *ret = b;
    return 0;
}

/* Returns a batch to the pool and releases its memory. */
static void batch_put(strand_producer_t *p, st_pbatch_t *b)
{
    pthread_mutex_lock(&p->mem_lock);
    p->mem_used -= (int64_t)b->mem;
    b->mem = 0;
    b->next = p->pool;
    p->pool = b;
    pthread_cond_broadcast(&p->mem_cond);
    pthread_mutex_unlock(&p->mem_lock);
}

static void outq_sub(strand_producer_t *p, long n)
{
    if (atomic_fetch_sub(&p->outq, n) == n) {
        pthread_mutex_lock(&p->flush_lock);
        pthread_cond_broadcast(&p->flush_cond);
        pthread_mutex_unlock(&p->flush_lock);
    }
}

/* Reports every record of b (offsets base, base+1, ... when err == 0) and recycles it. */
static void batch_done(strand_producer_t *p, st_pbatch_t *b, int err, const char *errstr,
                       int64_t base_offset, int64_t log_append_time)
{
    assert(batch_check(b));
    if (p->cl.delivery_cb) {
        strand_delivery_report_t rep = {
            .error = err,
            .errstr = err ? (errstr && *errstr ? errstr : st_error_desc(err)) : "",
            .topic = b->part->topic->name,
            .partition = b->part->partition,
        };
        for (uint32_t i = 0; i < b->count; i++) {
            rep.offset = err || base_offset < 0 ? -1 : base_offset + i;
            rep.timestamp = log_append_time >= 0 ? log_append_time : b->timestamps[i];
            rep.msg_opaque = b->opaques[i];
            p->cl.delivery_cb(&rep, p->cl.delivery_opaque);
        }
    }
    long n = b->count;
    batch_put(p, b);
    outq_sub(p, n);
}

/* part->lock held: moves the OPEN batch b off part->cur onto the partition's FIFO. */
static void detach(st_ppart_t *part, st_pbatch_t *b)
{
    assert(part->cur == b && b->count > 0);
    part->cur = NULL;
    b->next = NULL;
    if (part->fifo_tail)
        part->fifo_tail->next = b;
    else
        part->fifo_head = b;
    part->fifo_tail = b;
}

/* Finishes a DETACHED batch (compression, CRC) without the lock, then publishes the result
 * under it. Any thread. */
static void seal(st_pbatch_t *b)
{
    assert(!b->data && b->count > 0);
    const void *data = NULL;
    size_t len = 0;
    int r = st_batch_writer_finish(b->w, &data, &len);
    st_ppart_t *part = b->part;
    pthread_mutex_lock(&part->lock);
    if (r < 0) {
        b->seal_err = r;
    } else {
        b->data = data;
        b->len = len;
        assert(batch_check(b));
    }
    b->finished = true;
    pthread_mutex_unlock(&part->lock);
}

/* Application thread: seals b and tells the I/O thread its partition has work. */
static void seal_and_hand_over(strand_producer_t *p, st_pbatch_t *b)
{
    st_ppart_t *part = b->part;
    seal(b);
    pthread_mutex_lock(&p->sealed_lock);
    bool wake = !p->drain;
    if (!part->drain_queued) {
        part->drain_queued = true;
        part->drain_next = p->drain;
        p->drain = part;
    }
    pthread_mutex_unlock(&p->sealed_lock);
    if (wake)
        st_client_wake(&p->cl);
}

static void linger_push(strand_producer_t *p, st_pbatch_t *b, st_ppart_t *part, uint64_t seq,
                        int64_t open_ms)
{
    pthread_mutex_lock(&p->lq_lock);
    if (p->lq_len == p->lq_cap) {
        size_t cap = p->lq_cap ? p->lq_cap * 2 : 256;
        linger_ent_t *grown = malloc(cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&p->lq_lock);
            return;   /* the batch still goes out when full or at flush */
        }
        for (size_t i = 0; i < p->lq_len; i++)
            grown[i] = p->lq[(p->lq_head + i) % p->lq_cap];
        free(p->lq);
        p->lq = grown;
        p->lq_cap = cap;
        p->lq_head = 0;
    }
    bool was_empty = p->lq_len == 0;
    p->lq[(p->lq_head + p->lq_len) % p->lq_cap] =
        (linger_ent_t){ b, part, seq, open_ms + p->cl.conf.linger_ms };
    p->lq_len++;
    pthread_mutex_unlock(&p->lq_lock);
    if (was_empty)
        st_client_wake(&p->cl);
}

/* ---- strand_produce ----------------------------------------------------------------------- */

/* Bytes of a zigzag varint holding v (Kafka's ByteUtils.sizeOfVarint). */
static size_t varint_size(int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (z >= 0x80) {
        z >>= 7;
        n++;
    }
    return n;
}

/* The most a record can take in a batch of its own, computed as Kafka's producer does before
 * it accepts a record (DefaultRecordBatch.estimateBatchSizeUpperBound: the 61-byte batch
 * header, DefaultRecord.MAX_RECORD_OVERHEAD = 21, then key, value and headers with their
 * length varints), so the sizes in our messages are the ones a Kafka user would see. */
static size_t record_size_upper_bound(const void *key, size_t key_len, const void *value,
                                      size_t value_len, const strand_header_t *headers,
                                      size_t header_count)
{
    size_t size = ST_BATCH_HEADER_SIZE + 21;
    size += key ? varint_size((int64_t)key_len) + key_len : 1;
    size += value ? varint_size((int64_t)value_len) + value_len : 1;
    size += varint_size((int64_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        size += varint_size((int64_t)headers[i].key_len) + headers[i].key_len;
        size += headers[i].value ? varint_size((int64_t)headers[i].value_len) + headers[i].value_len
                                 : 1;
    }
    return size;
}

int strand_produce(strand_producer_t *p, const char *topic, int32_t partition,
                   const void *key, size_t key_len, const void *value, size_t value_len,
                   const strand_header_t *headers, size_t header_count,
                   int64_t timestamp_ms, void *msg_opaque)
{
    size_t errstr_size;
    char *errstr = st_client_last_errstr_buf(&errstr_size);
    if (!p || !topic || !*topic || (header_count && !headers) || partition < STRAND_PARTITION_ANY) {
        st_client_errstr(errstr, errstr_size, "strand_produce: %s", !p ? "no producer"
                         : !topic || !*topic ? "no topic" : partition < STRAND_PARTITION_ANY
                         ? "invalid partition" : "headers missing");
        return ST_ERR_INVALID_ARG;
    }
    size_t est = RECORD_OVERHEAD + (key ? key_len : 0) + (value ? value_len : 0);
    for (size_t i = 0; i < header_count; i++)
        est += headers[i].key_len + (headers[i].value ? headers[i].value_len : 0) + 10;
    size_t bound = record_size_upper_bound(key, key_len, value, value_len, headers, header_count);
    if (bound > (size_t)p->cl.conf.max_request_size) {
        st_client_errstr(errstr, errstr_size, "The message is %zu bytes when serialized which is "
                         "larger than %d, which is the value of the max.request.size "
                         "configuration.", bound, p->cl.conf.max_request_size);
        return ST_ERR_MESSAGE_TOO_LARGE;
    }
    if ((int64_t)bound > p->cl.conf.buffer_memory) {
        st_client_errstr(errstr, errstr_size, "The message is %zu bytes when serialized which is "
                         "larger than the total memory buffer you have configured with the "
                         "buffer.memory configuration.", bound);
        return ST_ERR_MESSAGE_TOO_LARGE;
    }
    if (timestamp_ms == 0)
        timestamp_ms = st_client_record_time_ms();

    st_ptopic_t *t;
    int err = topic_get(p, topic, &t, errstr, errstr_size);
    if (err)
        return err;
    int n = atomic_load_explicit(&t->n_parts, memory_order_acquire);
    st_ppart_t **parts = atomic_load_explicit(&t->parts, memory_order_acquire);
    bool sticky = false;
    if (partition >= 0) {
        if (partition >= n) {
            st_client_errstr(errstr, errstr_size, "Invalid partition given with record: %d is not "
                             "in the range [0...%d).", partition, n);
            return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    } else if (key) {
        partition = strand_partition_for_key(key, key_len, n);
    } else {
        partition = atomic_load(&t->sticky);
        if (partition < 0 || partition >= n) {
            sticky_next(t, partition);
            partition = atomic_load(&t->sticky);
            if (partition < 0 || partition >= n)
                partition = 0;
        }
        sticky = true;
    }

    size_t batch_size = (size_t)p->cl.conf.batch_size;
    size_t mem = est + ST_BATCH_HEADER_SIZE > batch_size ? est + ST_BATCH_HEADER_SIZE : batch_size;
    int64_t deadline = 0;
    st_pbatch_t *spare = NULL;
    bool keep_cbs = p->cl.delivery_cb != NULL;
    for (;;) {
        st_ppart_t *part = parts[partition];
        st_pbatch_t *sealed = NULL, *opened = NULL;
        pthread_mutex_lock(&part->lock);
        st_pbatch_t *b = part->cur;
        if (b && b->count > 0 && st_batch_writer_size(b->w) + est > batch_size) {
            sealed = b;
            detach(part, b);
            b = NULL;
        }
        if (!b && sticky) {
            /* KIP-480: a new batch on the sticky partition moves the sticky partition on,
             * and this record goes to the new one. */
            sticky = false;
            int32_t now_sticky = atomic_load(&t->sticky);
            if (now_sticky == partition && n > 1)
                sticky_next(t, partition);
            now_sticky = atomic_load(&t->sticky);
            if (now_sticky != partition && now_sticky >= 0 && now_sticky < n) {
                pthread_mutex_unlock(&part->lock);
                if (sealed)
                    seal_and_hand_over(p, sealed);
                partition = now_sticky;
                continue;
            }
        }
        if (!b && spare) {
            b = spare;
            spare = NULL;
            b->part = part;
            b->open_ms = st_client_now_ms();
            part->cur = b;
            opened = b;
        }
        if (!b) {
            pthread_mutex_unlock(&part->lock);
            if (sealed)
                seal_and_hand_over(p, sealed);
            if (!deadline)
                deadline = st_client_now_ms() + p->cl.conf.max_block_ms;
            err = batch_get(p, mem, deadline, &spare);
            if (err)
                return err;
            continue;
        }
        if (keep_cbs && b->count == b->cap) {
            uint32_t cap = b->cap ? b->cap * 2 : 64;
            void **ops = realloc(b->opaques, cap * sizeof(*ops));
            if (ops)
                b->opaques = ops;
            int64_t *tss = ops ? realloc(b->timestamps, cap * sizeof(*tss)) : NULL;
            if (tss)
                b->timestamps = tss;
            if (!ops || !tss) {
                pthread_mutex_unlock(&part->lock);
                err = ST_ERR_QUEUE_FULL;
                break;
            }
            b->cap = cap;
        }
        int r = st_batch_writer_add(b->w, timestamp_ms, key, key ? (ssize_t)key_len : -1,
                                    value, value ? (ssize_t)value_len : -1,
                                    (const st_record_header_t *)headers, header_count);
        if (r < 0) {
            if (b->count == 0) {
                part->cur = NULL;   /* do not leave an empty batch behind */
                spare = b;
                opened = NULL;
            }
            pthread_mutex_unlock(&part->lock);
            if (sealed)
                seal_and_hand_over(p, sealed);
            err = r == -ENOMEM ? ST_ERR_QUEUE_FULL : ST_ERR_INVALID_ARG;
            break;
        }
        if (keep_cbs) {
            b->opaques[b->count] = msg_opaque;
            b->timestamps[b->count] = timestamp_ms;
        }
        b->count++;
        atomic_fetch_add_explicit(&p->outq, 1, memory_order_relaxed);
        uint64_t seq = b->seq;
        int64_t open_ms = b->open_ms;
        pthread_mutex_unlock(&part->lock);
        if (sealed)
            seal_and_hand_over(p, sealed);
        if (opened)
            linger_push(p, opened, part, seq, open_ms);
        err = 0;
        break;
    }
    if (spare)
        batch_put(p, spare);
    return err;
}

/* ---- I/O thread: linger, sending, responses ----------------------------------------------- */

static void ready_push(strand_producer_t *p, st_pbatch_t *b, bool front)
{
    st_ppart_t *part = b->part;
    if (front) {
        b->next = part->ready_head;
        part->ready_head = b;
        if (!part->ready_tail)
            part->ready_tail = b;
    } else {
        b->next = NULL;
        if (part->ready_tail)
            part->ready_tail->next = b;
        else
            part->ready_head = b;
        part->ready_tail = b;
    }
    if (!part->on_ready_list) {
        part->on_ready_list = true;
        part->ready_next = p->ready_list;
        p->ready_list = part;
    }
}

/* I/O thread: moves the finished batches at the head of part's FIFO to its ready queue. */
static void drain_part(strand_producer_t *p, st_ppart_t *part)
{
    pthread_mutex_lock(&part->lock);
    st_pbatch_t *list = NULL, **tail = &list;
    while (part->fifo_head && part->fifo_head->finished) {
        st_pbatch_t *b = part->fifo_head;
        part->fifo_head = b->next;
        if (!part->fifo_head)
            part->fifo_tail = NULL;
        b->next = NULL;
        *tail = b;
        tail = &b->next;
    }
    pthread_mutex_unlock(&part->lock);
    while (list) {
        st_pbatch_t *b = list;
        list = b->next;
        if (b->seal_err) {
            char msg[128];
            snprintf(msg, sizeof(msg), "cannot build the record batch: %s", strerror(-b->seal_err));
            batch_done(p, b, ST_ERR_INVALID_ARG, msg, -1, -1);
        } else {
            ready_push(p, b, false);
        }
    }
}

static void linger_tick(strand_producer_t *p, int64_t now)
{
    bool all = atomic_load(&p->flushing) > 0;
    for (;;) {
        pthread_mutex_lock(&p->lq_lock);
        if (!p->lq_len || (!all && p->lq[p->lq_head].deadline_ms > now)) {
            pthread_mutex_unlock(&p->lq_lock);
            return;
        }
        linger_ent_t ent = p->lq[p->lq_head];
        p->lq_head = (p->lq_head + 1) % p->lq_cap;
        p->lq_len--;
        pthread_mutex_unlock(&p->lq_lock);
        st_ppart_t *part = ent.part;
        pthread_mutex_lock(&part->lock);
        st_pbatch_t *b = part->cur;
        if (b != ent.batch || b->seq != ent.seq || b->count == 0) {
            pthread_mutex_unlock(&part->lock);
            continue;   /* already sealed because it was full */
        }
        detach(part, b);
        pthread_mutex_unlock(&part->lock);
        seal(b);
        drain_part(p, part);
    }
}

static void preq_free(st_preq_t *rq)
{
    free(rq->batches);
    free(rq->iov);
    free(rq);
}

/* A batch failed with err: retried when allowed, else reported. `front` collects the batches of
 * one partition to put back, in order. */
static bool batch_retry_ok(strand_producer_t *p, st_pbatch_t *b, int err, int64_t now)
{
    return st_error_retriable(err) && b->attempts < p->cl.conf.retries &&
           now < b->open_ms + p->cl.conf.delivery_timeout_ms;
}

/* Kafka's Sender refreshes metadata on an InvalidMetadataException; a request that timed out
 * or an unknown leader epoch may mean the same here. */
static bool err_needs_metadata(int err)
{
    return st_error_invalid_metadata(err) || err == ST_ERR_REQUEST_TIMED_OUT ||
           err == ST_ERR_UNKNOWN_LEADER_EPOCH;
}

/* Handles the outcome for batches rq->batches[from, to) of one partition. corr: the request's
 * correlation id; detail: the broker's error message or why the request failed ("" if none),
 * for the retry warning. */
static void group_result(strand_producer_t *p, st_preq_t *rq, size_t from, size_t to, int err,
                         const char *errstr, int64_t base_offset, int64_t log_append_time,
                         int32_t corr, const char *detail)
{
    int64_t now = st_client_now_ms();
    if (!err) {
        int64_t off = base_offset;
        for (size_t i = from; i < to; i++) {
            st_pbatch_t *b = rq->batches[i];
            uint32_t count = b->count;   /* b may be reused by another thread once done */
            batch_done(p, b, 0, NULL, off, log_append_time);
            if (off >= 0)
                off += count;
        }
        return;
    }
    if (err_needs_metadata(err))
        st_client_md_refresh(&p->cl);
    /* Put retriable batches back at the front of their partition's queue, in order. */
    for (size_t i = to; i-- > from;) {
        st_pbatch_t *b = rq->batches[i];
        if (batch_retry_ok(p, b, err, now)) {
            /* One line per broker and error while it lasts (see st_client_log). */
            char key[128];
            snprintf(key, sizeof(key), "produce node %d %d", rq->broker->node_id, err);
            st_client_log(&p->cl, STRAND_LOG_WARN, "strand.producer", key,
                          "Got error produce response with correlation id %d on topic-partition "
                          "%s-%d, retrying (%d attempts left). Error: %s%s%s", corr,
                          b->part->topic->name, b->part->partition,
                          p->cl.conf.retries - b->attempts - 1, st_error_name(err),
                          detail && *detail ? ". Error Message: " : "", detail ? detail : "");
            b->attempts++;
            b->last_err = err;
            b->retry_at_ms = now + p->cl.conf.retry_backoff_ms;
            ST_DEBUG("producer: retrying batch of %u records to %s-%d: %s", b->count,
                     b->part->topic->name, b->part->partition, errstr);
            ready_push(p, b, true);
        } else {
            char msg[700];
            if (st_error_retriable(err) && b->attempts >= p->cl.conf.retries)
                snprintf(msg, sizeof(msg), "%s (after %d retries)", errstr, b->attempts);
            else if (st_error_retriable(err))
                snprintf(msg, sizeof(msg), "%s (delivery.timeout.ms %d exceeded)", errstr,
                         p->cl.conf.delivery_timeout_ms);
            else
                snprintf(msg, sizeof(msg), "%s", errstr);
            batch_done(p, b, err, msg, -1, -1);
        }
    }
}

static void preq_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                    st_rframe_t *resp)
{
    strand_producer_t *p = cl->role_arg;
    st_preq_t *rq = req->arg;
    rq->broker->produce_inflight--;
    Strand__ProduceResponse *pr = NULL;
    if (!err && resp) {
        pr = strand__produce_response__unpack(NULL, resp->view.body_len, resp->view.body);
        if (!pr) {
            err = ST_ERR_BAD_RESPONSE;
            errstr = "undecodable ProduceResponse";
        }
    }
    size_t i = 0;
    while (i < rq->n) {
        size_t j = i + 1;
        while (j < rq->n && rq->batches[j]->part == rq->batches[i]->part)
            j++;
        st_ppart_t *part = rq->batches[i]->part;
        part->inflight--;   /* before group_result: a retry may be sent right away */
        if (err) {
            group_result(p, rq, i, j, err, errstr, -1, -1, req->corr_id, errstr);
        } else if (!pr) {
            group_result(p, rq, i, j, 0, NULL, -1, -1, req->corr_id, NULL);   /* acks=0 */
        } else {
            const Strand__ProducePartitionResponse *ppr = NULL;
            for (size_t ti = 0; ti < pr->n_responses && !ppr; ti++) {
                const Strand__ProduceTopicResponse *tr = pr->responses[ti];
                if (!tr->name || strcmp(tr->name, part->topic->name) != 0)
                    continue;
                for (size_t pi = 0; pi < tr->n_partitions; pi++)
                    if (tr->partitions[pi]->partition == part->partition) {
                        ppr = tr->partitions[pi];
                        break;
                    }
            }
            char msg[600];
            if (!ppr) {
                snprintf(msg, sizeof(msg), "broker %s: partition %s-%d missing from the ProduceResponse",
                         rq->broker->addr, part->topic->name, part->partition);
                group_result(p, rq, i, j, ST_ERR_BAD_RESPONSE, msg, -1, -1, req->corr_id, msg);
            } else if (ppr->error_code) {
                snprintf(msg, sizeof(msg), "%s-%d: %s%s%s", part->topic->name, part->partition,
                         st_error_name(ppr->error_code),
                         ppr->error_message && *ppr->error_message ? ": " : "",
                         ppr->error_message ? ppr->error_message : "");
                group_result(p, rq, i, j, ppr->error_code, msg, -1, -1, req->corr_id,
                             ppr->error_message);
            } else {
                group_result(p, rq, i, j, 0, NULL, ppr->base_offset, ppr->log_append_time_ms,
                             req->corr_id, NULL);
            }
        }
        i = j;
    }
    if (pr)
        strand__produce_response__free_unpacked(pr, NULL);
    preq_free(rq);
}

static int cmp_batch(const void *a, const void *b)
{
    const st_pbatch_t *x = *(st_pbatch_t *const *)a, *y = *(st_pbatch_t *const *)b;
    if (x->part->topic->index != y->part->topic->index)
        return x->part->topic->index < y->part->topic->index ? -1 : 1;
    if (x->part->partition != y->part->partition)
        return x->part->partition < y->part->partition ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Encodes and sends one ProduceRequest holding rq's batches. */
static void preq_send(strand_producer_t *p, st_preq_t *rq)
{
    st_client_t *cl = &p->cl;
    qsort(rq->batches, rq->n, sizeof(*rq->batches), cmp_batch);
    size_t n_topics = 0, n_parts = 0;
    for (size_t i = 0; i < rq->n; i++) {
        if (i == 0 || rq->batches[i]->part != rq->batches[i - 1]->part) {
            n_parts++;
            if (i == 0 || rq->batches[i]->part->topic != rq->batches[i - 1]->part->topic)
                n_topics++;
        }
    }
    Strand__ProduceTopicData *tds = calloc(n_topics, sizeof(*tds));
    Strand__ProduceTopicData **tdp = calloc(n_topics, sizeof(*tdp));
    Strand__ProducePartitionData *pds = calloc(n_parts, sizeof(*pds));
    Strand__ProducePartitionData **pdp = calloc(n_parts, sizeof(*pdp));
    rq->iov = calloc(rq->n, sizeof(*rq->iov));
    st_req_t *req = NULL;
    if (tds && tdp && pds && pdp && rq->iov) {
        size_t ti = 0, pi = 0, tail = 0;
        for (size_t i = 0; i < rq->n; i++) {
            st_pbatch_t *b = rq->batches[i];
            if (i == 0 || b->part != rq->batches[i - 1]->part) {
                if (i == 0 || b->part->topic != rq->batches[i - 1]->part->topic) {
                    strand__produce_topic_data__init(&tds[ti]);
                    tds[ti].name = b->part->topic->name;
                    tds[ti].partitions = &pdp[pi];
                    tdp[ti] = &tds[ti];
                    ti++;
                }
                strand__produce_partition_data__init(&pds[pi]);
                pds[pi].partition = b->part->partition;
                pdp[pi] = &pds[pi];
                tds[ti - 1].n_partitions++;
                pi++;
            }
            pds[pi - 1].records_size += (uint32_t)b->len;
            rq->iov[i].iov_base = (void *)b->data;
            rq->iov[i].iov_len = b->len;
            tail += b->len;
        }
        Strand__ProduceRequest preq = STRAND__PRODUCE_REQUEST__INIT;
        preq.acks = cl->acks;
        preq.timeout_ms = cl->conf.request_timeout_ms;
        preq.n_topics = n_topics;
        preq.topics = tdp;
        req = st_req_new(cl, STRAND__API_KEY__PRODUCE, &preq.base, tail, rq->broker->node_id,
                         cl->conf.request_timeout_ms + 1000, preq_cb, rq);
    }
    free(tds);
    free(tdp);
    free(pds);
    free(pdp);
    if (!req) {
        /* Out of memory: put everything back for a later attempt. */
        for (size_t i = rq->n; i-- > 0;)
            ready_push(p, rq->batches[i], true);
        preq_free(rq);
        return;
    }
    req->tail = rq->iov;
    req->tail_cnt = (int)rq->n;
    req->no_response = cl->acks == 0;
    rq->broker->produce_inflight++;
    for (size_t i = 0; i < rq->n; i++)   /* batches are sorted: one count per partition */
        if (i == 0 || rq->batches[i]->part != rq->batches[i - 1]->part)
            rq->batches[i]->part->inflight++;
    st_client_send(cl, req);
}

/* With max.in.flight.requests.per.connection=1 the producer promises Kafka's ordering: a
 * partition's records are written in the order they were produced, retries included. The
 * per-broker in-flight limit alone does not give that: when a partition's leader moves, its next
 * batch could go to the new leader while an earlier one is still in flight to the old one, and
 * the earlier one, retried, would land after it. So, as Kafka's Sender does when it guarantees
 * ordering, a partition with a request in flight sends nothing more until that request is done
 * (its retries go back to the front of its queue). I/O thread. */
static bool part_muted(const strand_producer_t *p, const st_ppart_t *part)
{
    return p->cl.conf.max_in_flight == 1 && part->inflight > 0;
}

/* Fails the batches at the head of part's ready queue that outlived delivery.timeout.ms. The
 * queue is in open order (retries go back to the front, and they are the oldest), so only the
 * head needs looking at. */
static void expire_batches(strand_producer_t *p, st_ppart_t *part, int64_t now)
{
    st_pbatch_t *b;
    while ((b = part->ready_head) && now >= b->open_ms + p->cl.conf.delivery_timeout_ms) {
        part->ready_head = b->next;
        if (!part->ready_head)
            part->ready_tail = NULL;
        b->next = NULL;
        char msg[300];
        snprintf(msg, sizeof(msg), "%s-%d: not delivered within delivery.timeout.ms (%d ms)%s%s",
                 part->topic->name, part->partition, p->cl.conf.delivery_timeout_ms,
                 atomic_load(&part->leader) < 0 ? ": partition has no leader"
                 : b->last_err ? "; last error: " : "",
                 atomic_load(&part->leader) >= 0 && b->last_err ? st_error_name(b->last_err) : "");
        batch_done(p, b, ST_ERR_TIMED_OUT, msg, -1, -1);
    }
}

static void send_ready(strand_producer_t *p, int64_t now)
{
    st_client_t *cl = &p->cl;
    if (p->n_builders < cl->n_brokers) {
        st_preq_t **grown = realloc(p->builders, cl->n_brokers * sizeof(*grown));
        if (!grown)
            return;
        for (size_t i = p->n_builders; i < cl->n_brokers; i++)
            grown[i] = NULL;
        p->builders = grown;
        p->n_builders = cl->n_brokers;
    }
    bool need_md = false;
    size_t max_bytes = (size_t)cl->conf.max_request_size;
    st_ppart_t **link = &p->ready_list;
    while (*link) {
        st_ppart_t *part = *link;
        expire_batches(p, part, now);
        if (!part->ready_head) {
            *link = part->ready_next;
            part->on_ready_list = false;
            continue;
        }
        link = &part->ready_next;
        if (part->ready_head->retry_at_ms > now || part_muted(p, part))
            continue;
        int32_t leader = atomic_load(&part->leader);
        st_broker_t *broker = leader >= 0 ? st_client_broker(cl, leader) : NULL;
        if (!broker) {
            need_md = true;
            continue;
        }
        size_t bi = 0;
        while (cl->brokers[bi] != broker)
            bi++;
        while (part->ready_head) {
            st_preq_t *rq = p->builders[bi];
            if (!rq) {
                if (broker->produce_inflight >= cl->conf.max_in_flight)
                    break;
                rq = calloc(1, sizeof(*rq));
                if (!rq)
                    break;
                rq->p = p;
                rq->broker = broker;
                p->builders[bi] = rq;
            }
            st_pbatch_t *b = part->ready_head;
            if (rq->n > 0 && rq->bytes + b->len > max_bytes) {
                p->builders[bi] = NULL;
                preq_send(p, rq);
                continue;
            }
            if (rq->n == rq->cap) {
                size_t cap = rq->cap ? rq->cap * 2 : 16;
                st_pbatch_t **grown = realloc(rq->batches, cap * sizeof(*grown));
                if (!grown)
                    break;
                rq->batches = grown;
                rq->cap = cap;
            }
            part->ready_head = b->next;
            if (!part->ready_head)
                part->ready_tail = NULL;
            b->next = NULL;
            rq->batches[rq->n++] = b;
            rq->bytes += b->len;
        }
    }
    for (size_t i = 0; i < p->n_builders; i++) {
        if (p->builders[i]) {
            st_preq_t *rq = p->builders[i];
            p->builders[i] = NULL;
            if (rq->n)
                preq_send(p, rq);
            else
                preq_free(rq);
        }
    }
    if (need_md)
        st_client_md_refresh(cl);
}

static void producer_tick(st_client_t *cl, int64_t now)
{
    strand_producer_t *p = cl->role_arg;
    linger_tick(p, now);
    /* Take the list apart under the lock: once a partition is unqueued, an application thread
     * may queue it again and rewrite its drain_next. */
    size_t n = 0;
    pthread_mutex_lock(&p->sealed_lock);
    while (p->drain) {
        if (n == p->drain_cap) {
            size_t cap = p->drain_cap ? p->drain_cap * 2 : 64;
            st_ppart_t **grown = realloc(p->drain_buf, cap * sizeof(*grown));
            if (!grown)
                break;   /* the rest stays queued for the next tick */
            p->drain_buf = grown;
            p->drain_cap = cap;
        }
        st_ppart_t *part = p->drain;
        p->drain = part->drain_next;
        part->drain_next = NULL;
        part->drain_queued = false;
        p->drain_buf[n++] = part;
    }
    pthread_mutex_unlock(&p->sealed_lock);
    for (size_t i = 0; i < n; i++)
        drain_part(p, p->drain_buf[i]);
    if (p->ready_list)
        send_ready(p, now);
}

static int64_t producer_next_wakeup(st_client_t *cl, int64_t now)
{
    strand_producer_t *p = cl->role_arg;
    int64_t next = INT64_MAX;
    pthread_mutex_lock(&p->lq_lock);
    if (p->lq_len)
        next = atomic_load(&p->flushing) ? now : p->lq[p->lq_head].deadline_ms;
    pthread_mutex_unlock(&p->lq_lock);
    for (st_ppart_t *part = p->ready_list; part; part = part->ready_next)
        if (part->ready_head && !part_muted(p, part) && part->ready_head->retry_at_ms < next)
            next = part->ready_head->retry_at_ms > now ? part->ready_head->retry_at_ms : now + 1;
    return next;
}

static const st_client_role_t producer_role = {
    .name = "Producer",
    .tick = producer_tick,
    .next_wakeup = producer_next_wakeup,
    .on_metadata = producer_on_metadata,
    .auto_create_topics = true,
};

/* ---- public lifecycle --------------------------------------------------------------------- */

strand_producer_t *strand_producer_new(const strand_conf_t *conf, char *errstr, size_t errstr_size)
{
    if (!conf) {
        st_client_errstr(errstr, errstr_size, "no configuration given");
        return NULL;
    }
    st_compression_t codec;
    if (st_compression_parse(conf->props.compression_type, &codec) < 0) {
        st_client_errstr(errstr, errstr_size, "compression.type=%s: not supported (accepted: none, lz4)",
                         conf->props.compression_type);
        return NULL;
    }
    strand_producer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->codec = codec;
    pthread_mutex_init(&p->topics_lock, NULL);
    pthread_mutex_init(&p->mem_lock, NULL);
    pthread_mutex_init(&p->sealed_lock, NULL);
    pthread_mutex_init(&p->lq_lock, NULL);
    pthread_mutex_init(&p->flush_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->mem_cond, &ca);
    pthread_cond_init(&p->flush_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (st_client_init(&p->cl, conf, &producer_role, p, errstr, errstr_size) != 0) {
        pthread_mutex_destroy(&p->topics_lock);
        pthread_mutex_destroy(&p->mem_lock);
        pthread_mutex_destroy(&p->sealed_lock);
        pthread_mutex_destroy(&p->lq_lock);
        pthread_mutex_destroy(&p->flush_lock);
        pthread_cond_destroy(&p->mem_cond);
        pthread_cond_destroy(&p->flush_cond);
        free(p);
        return NULL;
    }
    return p;
}

int strand_producer_flush(strand_producer_t *p, int timeout_ms)
{
    if (!p)
        return ST_ERR_INVALID_ARG;
    if (st_client_on_io_thread(&p->cl))
        return ST_ERR_INVALID_ARG;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : st_client_now_ms() + timeout_ms;
    atomic_fetch_add(&p->flushing, 1);
    st_client_wake(&p->cl);
    int err = 0;
    pthread_mutex_lock(&p->flush_lock);
    while (atomic_load(&p->outq) > 0) {
        int64_t now = st_client_now_ms();
        if (now >= deadline) {
            err = ST_ERR_TIMED_OUT;
            break;
        }
        int64_t wait = deadline - now < 100 ? deadline - now : 100;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += wait * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->flush_cond, &p->flush_lock, &ts);
        st_client_wake(&p->cl);   /* records added meanwhile must not linger */
    }
    pthread_mutex_unlock(&p->flush_lock);
    atomic_fetch_sub(&p->flushing, 1);
    return err;
}

size_t strand_producer_outq_len(strand_producer_t *p)
{
    long n = p ? atomic_load(&p->outq) : 0;
    return n > 0 ? (size_t)n : 0;
}

int strand_producer_partition_count(strand_producer_t *p, const char *topic, int timeout_ms,
                                    int32_t *ret_count)
{
    if (!p || !topic || !ret_count)
        return ST_ERR_INVALID_ARG;
    int64_t deadline = st_client_now_ms() + (timeout_ms < 0 ? p->cl.conf.max_block_ms : timeout_ms);
    size_t errstr_size;
    char *errstr = st_client_last_errstr_buf(&errstr_size);
    return st_client_md_wait_topic(&p->cl, topic, deadline, true, ret_count, errstr, errstr_size);
}

void strand_producer_destroy(strand_producer_t *p)
{
    if (!p)
        return;
    st_client_stop(&p->cl);   /* in-flight batches are reported ST_ERR_DESTROYED here */
    /* Open, sealed and ready batches. */
    for (size_t ti = 0; ti < p->n_topics; ti++) {
        st_ptopic_t *t = p->all_topics[ti];
        int n = atomic_load(&t->n_parts);
        st_ppart_t **parts = atomic_load(&t->parts);
        for (int i = 0; i < n; i++) {
            st_ppart_t *part = parts[i];
            if (part->cur) {
                st_pbatch_t *b = part->cur;
                part->cur = NULL;
                if (b->count)
                    batch_done(p, b, ST_ERR_DESTROYED, "producer destroyed before delivery", -1, -1);
                else
                    batch_put(p, b);
            }
            while (part->fifo_head) {
                st_pbatch_t *b = part->fifo_head;
                part->fifo_head = b->next;
                batch_done(p, b, ST_ERR_DESTROYED, "producer destroyed before delivery", -1, -1);
            }
            part->fifo_tail = NULL;
        }
    }
    st_pbatch_t *b;
    for (st_ppart_t *part = p->ready_list; part; part = part->ready_next) {
        while ((b = part->ready_head)) {
            part->ready_head = b->next;
            batch_done(p, b, ST_ERR_DESTROYED, "producer destroyed before delivery", -1, -1);
        }
    }
    st_client_destroy(&p->cl);
    while ((b = p->pool)) {
        p->pool = b->next;
        st_batch_writer_free(b->w);
        free(b->opaques);
        free(b->timestamps);
        free(b);
    }
    for (size_t ti = 0; ti < p->n_topics; ti++) {
        st_ptopic_t *t = p->all_topics[ti];
        int n = atomic_load(&t->n_parts);
        st_ppart_t **parts = atomic_load(&t->parts);
        for (int i = 0; i < n; i++) {
            pthread_mutex_destroy(&parts[i]->lock);
            free(parts[i]);
        }
        free(parts);
        free(t->name);
        free(t);
    }
    free(p->all_topics);
    for (size_t i = 0; i < p->n_retired; i++)
        free(p->retired[i]);
    free(p->retired);
    free(p->lq);
    free(p->builders);
    free(p->drain_buf);
    pthread_mutex_destroy(&p->topics_lock);
    pthread_mutex_destroy(&p->mem_lock);
    pthread_mutex_destroy(&p->sealed_lock);
    pthread_mutex_destroy(&p->lq_lock);
    pthread_mutex_destroy(&p->flush_lock);
    pthread_cond_destroy(&p->mem_cond);
    pthread_cond_destroy(&p->flush_cond);
    free(p);
}
