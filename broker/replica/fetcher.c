/* A replica fetcher thread (Kafka's ReplicaFetcherThread): for the partitions it was given
 * (all followed from one leader, a share of them when num.replica.fetchers > 1) it sends Fetch
 * with replica_id = this broker, fetch_offset = LEO, current_leader_epoch and
 * last_fetched_epoch, then for each partition of the response:
 *   - diverging_epoch set   -> truncate (st_partition_truncate_diverging) and fetch again;
 *   - records               -> append the leader's bytes UNCHANGED (validated, not re-stamped),
 *                              HW = min(leader HW, LEO);
 *   - an error              -> that partition backs off: 5 ms, doubled per consecutive error
 *                              up to replica.fetch.backoff.ms (the fetch in flight meanwhile
 *                              waits at most until the earliest backed-off partition is due).
 * Connection: a blocking st_channel (channel.h) to the leader's inter-broker endpoint, plain or
 * SSL per security.inter.broker.protocol; reconnects after replica.fetch.backoff.ms.
 *
 * Threads and locks: the fetcher thread does the network call with NO lock held; it takes
 * f->lock to snapshot the partition list and again to apply a response (appends and
 * truncations happen under it, so st_fetcher_remove, which takes the same lock, guarantees
 * the fetcher is done with a partition when it returns). Lock order: replica-state mutex ->
 * fetcher lock -> partition -> log. */
#include "fetcher.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "channel.h"
#include "st_error.h"
#include "st_logger.h"
#include "strand.pb-c.h"

typedef struct fetch_entry {
    st_partition_t *part;
    int32_t leader_epoch;
    int64_t delayed_until_ms;
    int32_t backoff_ms;               /* last error backoff; 0 after a clean response */
} fetch_entry_t;

/* First backoff of a partition after an error; doubled per consecutive error up to
 * replica.fetch.backoff.ms. Most partition errors a follower sees are the leader not having
 * applied the same LeaderAndIsr yet (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_LEADER_EPOCH right after a topic creation or an election): they clear within
 * milliseconds, and a flat replica.fetch.backoff.ms (1 s) held acks=all produces that long. */
#define FIRST_ERROR_BACKOFF_MS 5

static void back_off(fetch_entry_t *e, int32_t max_ms, int64_t now)
{
    int32_t b = e->backoff_ms ? e->backoff_ms * 2 : FIRST_ERROR_BACKOFF_MS;
    e->backoff_ms = b < max_ms ? b : max_ms;
    e->delayed_until_ms = now + e->backoff_ms;
}

struct st_fetcher {
    st_broker_t *b;
    int32_t leader;
    int index;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    atomic_bool stopping;             /* = stop, readable without the lock */
    char host[256];
    int port;
    bool endpoint_changed;
    int sock;                         /* the channel's socket while it is open, else -1 (lock):
                                       * st_fetcher_stop shuts it down to end a long poll */
    /* Partitions added while a fetch is in flight (see st_fetcher_add): */
    uint64_t add_gen;                 /* bumped by every add that changes what to fetch */
    int64_t last_add_ms;
    bool in_call;                     /* a fetch is on the wire */
    bool call_short;                  /* ... built with a short max_wait (adds were recent) */
    bool kicked;                      /* st_fetcher_add shut its socket down */
    fetch_entry_t *entries;
    size_t n, cap;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After a partition is added, fetches wait at most this long on the leader for this long:
 * a LeaderAndIsr adds its partitions one by one, and each would otherwise have to wait for the
 * long poll of the fetch sent before it (replica.fetch.wait.max.ms). */
#define ADD_SETTLE_MS 100
#define ADD_SHORT_WAIT_MS 5

/* Waits on the condition up to ms (f->lock held). */
static void wait_locked(st_fetcher_t *f, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

static fetch_entry_t *find_entry(st_fetcher_t *f, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < f->n; i++)
        if (st_partition_id(f->entries[i].part) == partition &&
            strcmp(st_partition_topic(f->entries[i].part), topic) == 0)
            return &f->entries[i];
    return NULL;
}

/* The entry a response partition is for. The leader answers in request order, so the k-th
 * partition of the response is the k-th of the request, whose entry index and partition were
 * noted when it was built (req_entry, req_part); entries may have been added or removed since
 * (the lock is not held during the call), so the hint is checked and a scan is the fallback.
 * Without the hint every response cost n x n comparisons (1,000 partitions: 10^6 strcmp). */
static fetch_entry_t *response_entry(st_fetcher_t *f, size_t k, size_t n_req,
                                     const size_t *req_entry, st_partition_t *const *req_part,
                                     const char *topic, int32_t partition)
{
    if (k < n_req && req_entry[k] < f->n) {
        fetch_entry_t *e = &f->entries[req_entry[k]];
        if (e->part == req_part[k] && st_partition_id(e->part) == partition &&
            strcmp(st_partition_topic(e->part), topic) == 0)
            return e;
    }
    return find_entry(f, topic, partition);
}

/* Applies one response (f->lock held). */
static void apply_response(st_fetcher_t *f, Strand__FetchResponse *resp, const uint8_t *tail,
                           size_t tail_len, int64_t now, size_t n_req, const size_t *req_entry,
                           st_partition_t *const *req_part)
{
    const st_broker_config_t *cfg = &f->b->cfg;
    size_t pos = 0, k = 0;
    for (size_t t = 0; t < resp->n_responses; t++) {
        Strand__FetchTopicResponse *tr = resp->responses[t];
        for (size_t p = 0; p < tr->n_partitions; p++, k++) {
            Strand__FetchPartitionResponse *pr = tr->partitions[p];
            size_t len = pr->records_size;
            if (len > tail_len - pos)
                return;
            const uint8_t *data = tail + pos;
            pos += len;
            fetch_entry_t *e = response_entry(f, k, n_req, req_entry, req_part, tr->topic,
                                              pr->partition);
            if (!e)
                continue;
            if (pr->error_code != ST_ERR_NONE) {
                ST_DEBUG("Fetcher %" PRId32 "-%d: %s-%" PRId32 ": %s from the leader", f->leader,
                         f->index, tr->topic, pr->partition, st_error_name(pr->error_code));
                back_off(e, cfg->replica_fetch_backoff_ms, now);
                continue;
            }
            if (pr->diverging_epoch) {
                /* A truncation that leaves the fetch position (LEO, last fetched epoch) as it
                 * was would send the same fetch and get the same answer: back off instead of
                 * spinning (a guard; the known cause, an empty epoch at the LEO, is dropped by
                 * the truncation itself). */
                int64_t leo0 = -1, leo1 = -1;
                int32_t last0 = -1, last1 = -1, ep;
                st_partition_fetch_position(e->part, &leo0, &last0, &ep);
                st_partition_truncate_diverging(e->part, e->leader_epoch,
                                                pr->diverging_epoch->leader_epoch,
                                                pr->diverging_epoch->end_offset);
                st_partition_fetch_position(e->part, &leo1, &last1, &ep);
                if (leo1 == leo0 && last1 == last0) {
                    ST_WARN("Fetcher %" PRId32 "-%d: %s-%" PRId32 ": the leader answers diverging "
                            "(its epoch %" PRId32 " ends at %" PRId64 ") but truncating changed "
                            "nothing (log end %" PRId64 ", last epoch %" PRId32 "); backing off",
                            f->leader, f->index, tr->topic, pr->partition,
                            pr->diverging_epoch->leader_epoch, pr->diverging_epoch->end_offset,
                            leo1, last1);
                    back_off(e, cfg->replica_fetch_backoff_ms, now);
                } else {
                    e->backoff_ms = 0;
                }
                continue;
            }
            e->backoff_ms = 0;
            int r = st_partition_append_as_follower(e->part, e->leader_epoch, data, len,
                                                    pr->high_watermark);
            if (r < 0 && r != -ESTALE) {
                /* retried every backoff while the cause lasts (a full disk before its dir goes
                 * offline): counted, not repeated */
                static st_log_limit_t limit = ST_LOG_LIMIT_INIT(10000);
                char key[300];
                snprintf(key, sizeof(key), "%s-%" PRId32 ": %d", tr->topic, pr->partition, r);
                st_logger_write_limited(&limit, ST_LEVEL_WARN, key,
                                        "Fetcher %" PRId32 "-%d: appending %zu bytes to %s-%"
                                        PRId32 ": %s", f->leader, f->index, len, tr->topic,
                                        pr->partition, strerror(-r));
                back_off(e, cfg->replica_fetch_backoff_ms, now);
            }
        }
    }
}

static void *fetcher_main(void *arg)
{
    st_fetcher_t *f = arg;
    const st_broker_config_t *cfg = &f->b->cfg;
    char name[16];
    snprintf(name, sizeof(name), "fetch-%" PRId32 "-%d", f->leader, f->index);
    pthread_setname_np(pthread_self(), name);
    st_channel_t *ch = NULL;
    st_buf_t frame = ST_BUF_INIT;
    bool warned = false;
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        int64_t now = mono_ms();
        /* ---- build the request (under the lock) ----
         * Consecutive entries of one topic share a FetchTopic (entries are added a
         * LeaderAndIsr at a time, so a topic's partitions are mostly adjacent): one name per
         * topic on the wire and on the leader instead of one per partition. */
        size_t n = 0, nt = 0;
        size_t cap = f->n ? f->n : 1;
        Strand__FetchTopic *topics = calloc(cap, sizeof(*topics));
        Strand__FetchTopic **tptrs = calloc(cap, sizeof(*tptrs));
        Strand__FetchPartition *parts = calloc(cap, sizeof(*parts));
        Strand__FetchPartition **pptrs = calloc(cap, sizeof(*pptrs));
        char **names = calloc(cap, sizeof(*names));
        size_t *req_entry = calloc(cap, sizeof(*req_entry));
        st_partition_t **req_part = calloc(cap, sizeof(*req_part));
        int64_t next_due = now + 1000;
        bool any_delayed = false;
        uint64_t gen = f->add_gen;
        bool short_wait = now - f->last_add_ms < ADD_SETTLE_MS;
        for (size_t i = 0; topics && tptrs && parts && pptrs && names && req_entry && req_part &&
                           i < f->n; i++) {
            fetch_entry_t *e = &f->entries[i];
            if (e->delayed_until_ms > now) {
                if (e->delayed_until_ms < next_due)
                    next_due = e->delayed_until_ms;
                any_delayed = true;
                continue;
            }
            int64_t leo;
            int32_t last_epoch, epoch;
            if (st_partition_fetch_position(e->part, &leo, &last_epoch, &epoch) < 0 ||
                epoch != e->leader_epoch)
                continue;
            strand__fetch_partition__init(&parts[n]);
            parts[n].partition = st_partition_id(e->part);
            parts[n].current_leader_epoch = e->leader_epoch;
            parts[n].fetch_offset = leo;
            parts[n].log_start_offset = -1;
            parts[n].partition_max_bytes = cfg->replica_fetch_max_bytes;
            parts[n].last_fetched_epoch = last_epoch;
            pptrs[n] = &parts[n];
            req_entry[n] = i;
            req_part[n] = e->part;
            const char *topic = st_partition_topic(e->part);
            if (nt == 0 || strcmp(names[nt - 1], topic) != 0) {
                char *copy = strdup(topic);   /* the entry may go while the lock is released */
                if (!copy)
                    break;
                strand__fetch_topic__init(&topics[nt]);
                names[nt] = copy;
                topics[nt].topic = copy;
                topics[nt].partitions = &pptrs[n];
                tptrs[nt] = &topics[nt];
                nt++;
            }
            topics[nt - 1].n_partitions++;
            n++;
        }
        char host[256];
        snprintf(host, sizeof(host), "%s", f->host);
        int port = f->port;
        if (f->endpoint_changed) {
            f->endpoint_changed = false;
            f->sock = -1;
            st_channel_close(ch);
            ch = NULL;
        }
        if (n == 0 || port <= 0) {
            int64_t wait = next_due - now;
            wait_locked(f, wait > 0 ? wait : 1);
        }
        pthread_mutex_unlock(&f->lock);

        /* ---- network, no lock ---- */
        int r = -EAGAIN;
        bool kicked = false;
        Strand__FetchResponse *resp = NULL;
        st_frame_view_t view;
        memset(&view, 0, sizeof(view));
        if (n > 0 && port > 0) {
            char err[256] = "";
            if (!ch) {
                st_channel_conf_t cc;
                st_channel_conf_inter_broker(cfg, name, &cc);
                r = st_channel_open(&cc, host, port, cfg->replica_socket_timeout_ms, &ch, err,
                                    sizeof(err));
                if (r < 0 && !warned) {
                    ST_WARN("Replica fetcher %s: cannot connect to leader %" PRId32 " at %s:%d: %s",
                            name, f->leader, host, port, err);
                    warned = true;
                }
                if (ch) {
                    pthread_mutex_lock(&f->lock);
                    f->sock = st_channel_fd(ch);
                    pthread_mutex_unlock(&f->lock);
                }
            }
            bool stale = false;
            if (ch) {
                /* Partitions added since the request was built: build it again rather than
                 * send a long poll without them. Else mark the call in flight, so that an add
                 * from now on can end it (st_fetcher_add). */
                pthread_mutex_lock(&f->lock);
                stale = f->add_gen != gen;
                if (!stale) {
                    f->in_call = true;
                    f->call_short = short_wait;
                }
                pthread_mutex_unlock(&f->lock);
            }
            if (ch && atomic_load_explicit(&f->stopping, memory_order_acquire))
                r = -ECANCELED;       /* stopped before the socket could be shut down */
            else if (stale)
                r = -EAGAIN;          /* rebuilt at once, connection kept */
            else if (ch) {
                Strand__FetchRequest req = STRAND__FETCH_REQUEST__INIT;
                req.replica_id = cfg->broker_id;
                req.max_wait_ms = cfg->replica_fetch_wait_max_ms;
                /* A backed-off partition is retried when due, not after a full long poll. */
                if (any_delayed && next_due - now < req.max_wait_ms)
                    req.max_wait_ms = next_due - now > 0 ? (int32_t)(next_due - now) : 0;
                if (short_wait && req.max_wait_ms > ADD_SHORT_WAIT_MS)
                    req.max_wait_ms = ADD_SHORT_WAIT_MS;
                req.min_bytes = cfg->replica_fetch_min_bytes;
                req.max_bytes = cfg->replica_fetch_response_max_bytes;
                req.n_topics = nt;
                req.topics = tptrs;
                r = st_channel_call(ch, STRAND__API_KEY__FETCH, 0, &req.base,
                                    cfg->replica_fetch_wait_max_ms + cfg->replica_socket_timeout_ms,
                                    &frame, &view);
                if (r == 0) {
                    resp = strand__fetch_response__unpack(NULL, view.body_len, view.body);
                    if (!resp)
                        r = -EBADMSG;
                }
                pthread_mutex_lock(&f->lock);
                f->in_call = false;
                kicked = f->kicked;
                f->kicked = false;
                pthread_mutex_unlock(&f->lock);
                static st_log_limit_t fail_limit = ST_LOG_LIMIT_INIT(10000);
                if (r < 0 && !kicked && !atomic_load_explicit(&f->stopping, memory_order_acquire))
                    st_logger_write_limited(&fail_limit, ST_LEVEL_WARN, NULL,
                                            "Replica fetcher %s: fetch from leader %" PRId32
                                            " at %s failed: %s", name, f->leader,
                                            st_channel_peer(ch), strerror(-r));
                else if (r == 0)
                    warned = false;
            }
            if (ch && (kicked || (r < 0 && !stale))) {
                pthread_mutex_lock(&f->lock);
                f->sock = -1;
                pthread_mutex_unlock(&f->lock);
                st_channel_close(ch);
                ch = NULL;
            }
        }
        for (size_t i = 0; i < nt; i++)
            free(names[i]);
        free(names);
        free(topics);
        free(tptrs);
        free(parts);
        free(pptrs);

        pthread_mutex_lock(&f->lock);
        if (resp) {
            if (resp->error_code != ST_ERR_NONE) {
                static st_log_limit_t limit = ST_LOG_LIMIT_INIT(10000);
                st_logger_write_limited(&limit, ST_LEVEL_WARN, NULL,
                                        "Replica fetcher %s: leader %" PRId32 " answered %s", name,
                                        f->leader, st_error_name(resp->error_code));
                wait_locked(f, cfg->replica_fetch_backoff_ms);
            } else {
                apply_response(f, resp, view.tail, view.tail_len, mono_ms(), n, req_entry,
                               req_part);
            }
            strand__fetch_response__free_unpacked(resp, NULL);
        } else if (n > 0 && r < 0 && r != -EAGAIN && !kicked && !f->stop) {
            wait_locked(f, cfg->replica_fetch_backoff_ms);
        }
        free(req_entry);
        free(req_part);
    }
    f->sock = -1;
    pthread_mutex_unlock(&f->lock);
    st_channel_close(ch);
    st_buf_free(&frame);
    return NULL;
}

int st_fetcher_new(st_broker_t *b, int32_t leader_id, int index, st_fetcher_t **ret)
{
    st_fetcher_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->b = b;
    f->leader = leader_id;
    f->index = index;
    f->sock = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    int r = pthread_create(&f->thread, NULL, fetcher_main, f);
    if (r != 0) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f);
        return -r;
    }
    *ret = f;
    return 0;
}

int32_t st_fetcher_leader(const st_fetcher_t *f) { return f->leader; }
int st_fetcher_index(const st_fetcher_t *f) { return f->index; }

void st_fetcher_set_endpoint(st_fetcher_t *f, const char *host, int port)
{
    pthread_mutex_lock(&f->lock);
    if (strcmp(f->host, host) != 0 || f->port != port) {
        snprintf(f->host, sizeof(f->host), "%s", host);
        f->port = port;
        f->endpoint_changed = true;
        pthread_cond_signal(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
}

int st_fetcher_add(st_fetcher_t *f, st_partition_t *part, int32_t leader_epoch)
{
    pthread_mutex_lock(&f->lock);
    fetch_entry_t *e = find_entry(f, st_partition_topic(part), st_partition_id(part));
    bool changed = !e || e->part != part || e->leader_epoch != leader_epoch;
    if (!e) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 16;
            fetch_entry_t *n = realloc(f->entries, cap * sizeof(*n));
            if (!n) {
                pthread_mutex_unlock(&f->lock);
                return -ENOMEM;
            }
            f->entries = n;
            f->cap = cap;
        }
        e = &f->entries[f->n++];
        st_partition_ref(part);
        e->part = part;
    } else if (e->part != part) {
        st_partition_unref(e->part);
        st_partition_ref(part);
        e->part = part;
    }
    e->leader_epoch = leader_epoch;
    e->delayed_until_ms = 0;
    e->backoff_ms = 0;
    if (changed) {
        /* A fetch in flight does not carry this partition and may sit in a long poll on the
         * leader for replica.fetch.wait.max.ms, while acks=all produces to the partition wait
         * for this follower. End it (the fetcher reconnects at once, and its next fetches
         * wait only ADD_SHORT_WAIT_MS while adds keep coming) -- once: a fetch already built
         * with the short wait ends soon enough by itself. */
        f->add_gen++;
        f->last_add_ms = mono_ms();
        if (f->in_call && !f->call_short && f->sock >= 0 && !f->kicked) {
            f->kicked = true;
            shutdown(f->sock, SHUT_RDWR);
        }
    }
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

bool st_fetcher_remove(st_fetcher_t *f, st_partition_t *part)
{
    pthread_mutex_lock(&f->lock);
    bool found = false;
    for (size_t i = 0; i < f->n; i++) {
        if (f->entries[i].part == part) {
            st_partition_unref(part);
            f->entries[i] = f->entries[--f->n];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return found;
}

void st_fetcher_stop(st_fetcher_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    atomic_store_explicit(&f->stopping, true, memory_order_release);
    pthread_cond_signal(&f->cond);
    /* A fetch in flight may be a long poll of replica.fetch.wait.max.ms on the leader: end it
     * now (the socket stays open until the fetcher thread closes it, which needs this lock). */
    if (f->sock >= 0)
        shutdown(f->sock, SHUT_RDWR);
    pthread_mutex_unlock(&f->lock);
}

void st_fetcher_free(st_fetcher_t *f)
{
    if (!f)
        return;
    st_fetcher_stop(f);
    pthread_join(f->thread, NULL);
    for (size_t i = 0; i < f->n; i++)
        st_partition_unref(f->entries[i].part);
    free(f->entries);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f);
}
