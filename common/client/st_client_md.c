/* The client's metadata cache: Metadata requests (bootstrap, on demand, every
 * metadata.max.age.ms), applying responses (brokers, controller, topics with partition leaders,
 * replicas and ISR; per partition the newest leader epoch wins, KIP-320) and waiting for a topic
 * to become known. Written by the I/O thread, read by anyone under cl->lock (see st_client.h). */
#include "st_client.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_logger.h"

void st_client_md_refresh(st_client_t *cl)
{
    atomic_store(&cl->md_wanted, true);
    st_client_wake(cl);
}

void st_client_md_want(st_client_t *cl, const char *topic)
{
    pthread_mutex_lock(&cl->lock);
    bool found = false;
    for (size_t i = 0; i < cl->n_md_interest && !found; i++)
        found = strcmp(cl->md_interest[i], topic) == 0;
    if (!found) {
        char **grown = realloc(cl->md_interest, (cl->n_md_interest + 1) * sizeof(*grown));
        int64_t *since = realloc(cl->md_interest_err_ms, (cl->n_md_interest + 1) * sizeof(*since));
        char *copy = strdup(topic);
        if (grown)
            cl->md_interest = grown;
        if (since)
            cl->md_interest_err_ms = since;
        if (grown && since && copy) {
            cl->md_interest_err_ms[cl->n_md_interest] = 0;
            cl->md_interest[cl->n_md_interest++] = copy;
            cl->md_interest_gen++;
        } else {
            free(copy);
        }
    }
    pthread_mutex_unlock(&cl->lock);
    st_client_md_refresh(cl);
}

const st_md_topic_t *st_client_md_topic_locked(const st_client_t *cl, const char *topic)
{
    for (size_t i = 0; i < cl->n_topics; i++)
        if (strcmp(cl->topics[i].name, topic) == 0)
            return &cl->topics[i];
    return NULL;
}

int32_t st_client_md_leader(st_client_t *cl, const char *topic, int32_t partition)
{
    int32_t leader = -1;
    pthread_mutex_lock(&cl->lock);
    const st_md_topic_t *t = st_client_md_topic_locked(cl, topic);
    if (t && partition >= 0 && (size_t)partition < t->n_parts &&
        t->parts[partition].partition == partition)
        leader = t->parts[partition].leader;
    pthread_mutex_unlock(&cl->lock);
    return leader;
}

static int32_t *dup_ids(const int32_t *src, size_t n)
{
    int32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
    if (ids && n)
        memcpy(ids, src, n * sizeof(*ids));
    return ids;
}

int st_md_partition_copy(st_md_partition_t *dst, const Strand__PartitionMetadata *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->partition = src->partition;
    dst->error = src->error_code;
    dst->leader = src->leader;
    dst->leader_epoch = src->leader_epoch;
    dst->replicas = dup_ids(src->replicas, src->n_replicas);
    dst->n_replicas = src->n_replicas;
    dst->isr = dup_ids(src->isr, src->n_isr);
    dst->n_isr = src->n_isr;
    dst->offline = dup_ids(src->offline_replicas, src->n_offline_replicas);
    dst->n_offline = src->n_offline_replicas;
    if (!dst->replicas || !dst->isr || !dst->offline) {
        st_md_partition_free(dst);
        return -ENOMEM;
    }
    return 0;
}

void st_md_partition_free(st_md_partition_t *p)
{
    free(p->replicas);
    free(p->isr);
    free(p->offline);
    p->replicas = p->isr = p->offline = NULL;
}

static void topic_clear(st_md_topic_t *t)
{
    for (size_t i = 0; i < t->n_parts; i++)
        st_md_partition_free(&t->parts[i]);
    free(t->parts);
    t->parts = NULL;
    t->n_parts = 0;
}

static int cmp_part(const void *a, const void *b)
{
    const st_md_partition_t *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Leader epochs (Kafka's KIP-320, Metadata.updateLatestMetadata): a broker whose ZooKeeper
 * session expired may still answer Metadata naming itself leader at its old epoch. Per
 * partition the cache keeps the entry with the highest leader_epoch seen:
 *   - an answer at an equal or newer epoch (or one without an epoch, -1) replaces the entry;
 *   - an answer at an older epoch is ignored (the whole cached partition entry stays: leader,
 *     epoch, replicas, ISR), logged at debug, and counted on the cached entry.
 * Without topic ids a deleted and recreated topic (epochs restart at 0) cannot be told from a
 * stale broker, so the cached epoch gives way when
 *   - the partition count changed (or the topic had no partitions cached): nothing is compared;
 *   - ST_MD_STALE_BROKERS distinct brokers have answered older epochs with no answer confirming
 *     the cached epoch in between, or the first of those contradictions is at least
 *     metadata.max.age.ms old (one stale broker alone thus holds a client back for at most
 *     about one metadata.max.age.ms, and only while no other broker answers). */

/* Whether cached entry old (with its contradiction counters, updated here) gives way to nw,
 * an answer from node from_node at now_ms. cl->lock held. */
static bool epoch_accept(const st_client_t *cl, st_md_partition_t *old,
                         const st_md_partition_t *nw, const char *topic, int32_t from_node,
                         int64_t now_ms)
{
    if (old->leader_epoch < 0 || nw->leader_epoch < 0 || nw->leader_epoch >= old->leader_epoch)
        return true;
    if (!old->stale_since_ms)
        old->stale_since_ms = now_ms;
    bool known = false;
    for (int i = 0; i < old->n_stale_by && !known; i++)
        known = old->stale_by[i] == from_node;
    if (!known && old->n_stale_by < ST_MD_STALE_BROKERS)
        old->stale_by[old->n_stale_by++] = from_node;
    assert(old->n_stale_by >= 1 && old->n_stale_by <= ST_MD_STALE_BROKERS);
    if (old->n_stale_by >= ST_MD_STALE_BROKERS ||
        now_ms - old->stale_since_ms >= cl->conf.metadata_max_age_ms) {
        ST_DEBUG("client: %s-%d: accepting leader %d at epoch %d over cached epoch %d "
                 "(contradicted by %d brokers for %lld ms: topic recreated?)", topic,
                 nw->partition, nw->leader, nw->leader_epoch, old->leader_epoch,
                 old->n_stale_by, (long long)(now_ms - old->stale_since_ms));
        return true;
    }
    ST_DEBUG("client: %s-%d: ignoring metadata from node %d naming leader %d at epoch %d, "
             "older than the cached leader %d at epoch %d", topic, nw->partition, from_node,
             nw->leader, nw->leader_epoch, old->leader, old->leader_epoch);
    return false;
}

/* Replaces t's partitions with those of src (answered by from_node), keeping a cached partition
 * entry whose leader epoch is newer than src's (see above). cl->lock held. */
static int topic_fill(st_client_t *cl, st_md_topic_t *t, const Strand__TopicMetadata *src,
                      uint64_t version, int32_t from_node)
{
    st_md_partition_t *parts = calloc(src->n_partitions ? src->n_partitions : 1, sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    for (size_t i = 0; i < src->n_partitions; i++) {
        if (st_md_partition_copy(&parts[i], src->partitions[i]) < 0) {
            for (size_t j = 0; j < i; j++)
                st_md_partition_free(&parts[j]);
            free(parts);
            return -ENOMEM;
        }
    }
    qsort(parts, src->n_partitions, sizeof(*parts), cmp_part);
    if (t->n_parts == src->n_partitions) {
        int64_t now = st_client_now_ms();
        for (size_t i = 0; i < t->n_parts; i++) {
            st_md_partition_t *old = &t->parts[i];
            if (old->partition != parts[i].partition ||
                epoch_accept(cl, old, &parts[i], t->name, from_node, now))
                continue;
            /* Keep the cached entry: move it over, its arrays too (topic_clear frees NULLs). */
            st_md_partition_free(&parts[i]);
            parts[i] = *old;
            old->replicas = old->isr = old->offline = NULL;
        }
    }
    topic_clear(t);
    t->parts = parts;
    t->n_parts = src->n_partitions;
    t->error = src->error_code;
    t->internal = src->is_internal;
    t->version = version;
    /* A topic whose partitions are not exactly 0..n-1 is not usable yet. */
    for (size_t i = 0; i < t->n_parts && t->error == 0; i++)
        if (t->parts[i].partition != (int32_t)i)
            t->error = ST_ERR_LEADER_NOT_AVAILABLE;
    return 0;
}

void st_client_md_apply(st_client_t *cl, const Strand__MetadataResponse *resp, int32_t from_node)
{
    for (size_t i = 0; i < resp->n_brokers; i++) {
        const Strand__BrokerMetadata *bm = resp->brokers[i];
        if (bm->node_id >= 0 && bm->host && bm->port > 0 && bm->port < 65536)
            st_client_broker_upsert(cl, bm->node_id, bm->host, bm->port);
    }
    pthread_mutex_lock(&cl->lock);
    cl->md_version++;
    cl->controller_id = resp->controller_id;
    if (resp->cluster_id && (!cl->cluster_id || strcmp(cl->cluster_id, resp->cluster_id) != 0)) {
        free(cl->cluster_id);
        cl->cluster_id = strdup(resp->cluster_id);
    }
    for (size_t i = 0; i < resp->n_topics; i++) {
        const Strand__TopicMetadata *tm = resp->topics[i];
        if (!tm->name || !*tm->name)
            continue;
        st_md_topic_t *t = (st_md_topic_t *)st_client_md_topic_locked(cl, tm->name);
        if (!t) {
            st_md_topic_t *grown = realloc(cl->topics, (cl->n_topics + 1) * sizeof(*grown));
            if (!grown)
                continue;
            cl->topics = grown;
            t = &cl->topics[cl->n_topics];
            memset(t, 0, sizeof(*t));
            if (!(t->name = strdup(tm->name)))
                continue;
            cl->n_topics++;
        }
        if (topic_fill(cl, t, tm, cl->md_version, from_node) < 0)
            ST_DEBUG("client: out of memory applying metadata for topic %s", tm->name);
    }
    cl->md_last_err = 0;
    cl->md_last_errstr[0] = '\0';
    pthread_cond_broadcast(&cl->md_cond);
    pthread_mutex_unlock(&cl->lock);
}

/* I/O thread: Kafka's "Error while fetching metadata with correlation id N : {t=ERROR}" for the
 * topics asked about that a response says are not usable, from the second such response on: a
 * topic that does not exist fails a consumer's wait at the first answer (one error, no warning),
 * while a producer waiting for a topic to appear (or a leader to be elected) keeps asking and
 * says so. */
static void md_warn_topics(st_client_t *cl, const Strand__MetadataResponse *resp, int32_t corr,
                           int64_t now)
{
    for (size_t i = 0; i < resp->n_topics; i++) {
        const Strand__TopicMetadata *tm = resp->topics[i];
        if (!tm->name)
            continue;
        int64_t since = 0;
        bool asked = false;
        pthread_mutex_lock(&cl->lock);
        for (size_t k = 0; k < cl->n_md_interest; k++) {
            if (strcmp(cl->md_interest[k], tm->name) != 0)
                continue;
            asked = true;
            since = cl->md_interest_err_ms[k];
            cl->md_interest_err_ms[k] = tm->error_code ? (since ? since : now) : 0;
        }
        pthread_mutex_unlock(&cl->lock);
        if (!asked || !tm->error_code || !since || !st_error_retriable(tm->error_code))
            continue;
        char key[300];
        snprintf(key, sizeof(key), "metadata %s %d", tm->name, tm->error_code);
        st_client_log(cl, STRAND_LOG_WARN, "strand.metadata", key,
                      "Error while fetching metadata with correlation id %d : {%s=%s} (topic %s "
                      "not present in metadata after %lld ms)", corr, tm->name,
                      st_error_name(tm->error_code), tm->name, (long long)(now - since));
    }
}

static void md_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    int64_t now = st_client_now_ms();
    cl->md_inflight = false;
    cl->md_not_before_ms = now + cl->conf.retry_backoff_ms;
    Strand__MetadataResponse *mr = NULL;
    if (!err) {
        mr = strand__metadata_response__unpack(NULL, resp->view.body_len, resp->view.body);
        if (!mr) {
            err = ST_ERR_BAD_RESPONSE;
            errstr = "undecodable Metadata response";
        }
    }
    if (err) {
        ST_DEBUG("client: metadata request failed: %s", errstr);
        pthread_mutex_lock(&cl->lock);
        cl->md_fail_seq++;
        cl->md_last_err = err;
        snprintf(cl->md_last_errstr, sizeof(cl->md_last_errstr), "%s", errstr);
        pthread_cond_broadcast(&cl->md_cond);
        pthread_mutex_unlock(&cl->lock);
        atomic_store(&cl->md_wanted, true);
        return;
    }
    /* req->broker is the broker that answered (kept until the callback has run). */
    st_client_md_apply(cl, mr, req->broker ? req->broker->node_id : INT32_MIN);
    md_warn_topics(cl, mr, req->corr_id, now);
    strand__metadata_response__free_unpacked(mr, NULL);
    cl->md_last_ok_ms = now;
    if (cl->role && cl->role->on_metadata)
        cl->role->on_metadata(cl);
}

void st_client_md_tick(st_client_t *cl, int64_t now_ms)
{
    if (cl->md_inflight)
        return;
    bool wanted = atomic_load(&cl->md_wanted);
    bool due = cl->md_last_ok_ms && now_ms >= cl->md_last_ok_ms + cl->conf.metadata_max_age_ms;
    if (!wanted && !due)
        return;
    if (now_ms < cl->md_not_before_ms) {
        /* retry.backoff.ms spaces refreshes of what is already known; a topic asked about for
         * the first time is fetched at once (Kafka's Metadata.requestUpdateForNewTopics), so
         * that a producer's first record costs one metadata round trip, not a backoff too. */
        pthread_mutex_lock(&cl->lock);
        bool new_topics = cl->md_interest_gen != cl->md_req_interest_gen;
        pthread_mutex_unlock(&cl->lock);
        if (!wanted || !new_topics)
            return;
    }
    atomic_store(&cl->md_wanted, false);
    Strand__MetadataRequest mr = STRAND__METADATA_REQUEST__INIT;
    pthread_mutex_lock(&cl->lock);
    mr.n_topics = cl->n_md_interest;
    mr.topics = cl->md_interest;
    mr.all_topics = cl->md_all_topics;
    mr.allow_auto_topic_creation = cl->md_auto_create;
    cl->md_req_interest_gen = cl->md_interest_gen;
    st_req_t *req = st_req_new(cl, STRAND__API_KEY__METADATA, &mr.base, 0, ST_BROKER_ANY, -1,
                               md_cb, NULL);
    pthread_mutex_unlock(&cl->lock);
    if (!req) {
        atomic_store(&cl->md_wanted, true);
        return;
    }
    cl->md_inflight = true;
    st_client_send(cl, req);
}

int st_client_md_wait_topic(st_client_t *cl, const char *topic, int64_t deadline_ms,
                            bool fail_unknown, int32_t *ret_count, char *errstr,
                            size_t errstr_size)
{
    int64_t start = st_client_now_ms();
    pthread_mutex_lock(&cl->lock);
    uint64_t v0 = cl->md_version, f0 = cl->md_fail_seq;
    const st_md_topic_t *t = st_client_md_topic_locked(cl, topic);
    if (t && t->error == 0 && t->n_parts > 0) {
        *ret_count = (int32_t)t->n_parts;
        pthread_mutex_unlock(&cl->lock);
        return 0;
    }
    pthread_mutex_unlock(&cl->lock);
    st_client_md_want(cl, topic);
    pthread_mutex_lock(&cl->lock);
    /* From v0, not the version now: the answer to the request md_want just caused may already
     * be in (then it did not make the topic usable, and the next one must be asked for). */
    uint64_t seen = v0;
    for (;;) {
        t = st_client_md_topic_locked(cl, topic);
        if (t && t->error == 0 && t->n_parts > 0) {
            *ret_count = (int32_t)t->n_parts;
            pthread_mutex_unlock(&cl->lock);
            return 0;
        }
        bool fresh = t && t->version > v0;
        if (fail_unknown && fresh && t->error == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
            pthread_mutex_unlock(&cl->lock);
            st_client_errstr(errstr, errstr_size, "topic '%s' does not exist", topic);
            return ST_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        /* Retrying cannot cure these (Kafka's producer throws them from waitOnMetadata at
         * once): an invalid name, no authorization, ... */
        if (fresh && t->error && !st_error_retriable(t->error)) {
            int err = t->error;
            pthread_mutex_unlock(&cl->lock);
            st_client_errstr(errstr, errstr_size, "topic '%s': %s: %s", topic, st_error_name(err),
                             st_error_desc(err));
            return err;
        }
        if (cl->md_fail_seq != f0 && cl->md_last_err && !st_error_retriable(cl->md_last_err)) {
            int err = cl->md_last_err;
            st_client_errstr(errstr, errstr_size, "metadata for topic '%s' unavailable: %s",
                             topic, cl->md_last_errstr);
            pthread_mutex_unlock(&cl->lock);
            return err;
        }
        int64_t now = st_client_now_ms();
        if (now >= deadline_ms) {
            int err = ST_ERR_TIMED_OUT;
            if (t && t->error)
                st_client_errstr(errstr, errstr_size, "Topic %s not present in metadata after "
                                 "%lld ms (last error: %s).", topic, (long long)(now - start),
                                 st_error_name(t->error));
            else if (cl->md_last_err)
                st_client_errstr(errstr, errstr_size, "Topic %s not present in metadata after "
                                 "%lld ms: %s", topic, (long long)(now - start),
                                 cl->md_last_errstr);
            else
                st_client_errstr(errstr, errstr_size, "Topic %s not present in metadata after "
                                 "%lld ms.", topic, (long long)(now - start));
            pthread_mutex_unlock(&cl->lock);
            return err;
        }
        if (cl->md_version != seen) {
            seen = cl->md_version;
            pthread_mutex_unlock(&cl->lock);
            st_client_md_refresh(cl);
            pthread_mutex_lock(&cl->lock);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = deadline_ms - now;
        if (wait > 200)
            wait = 200;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cl->md_cond, &cl->lock, &ts);
    }
}

void st_client_md_free(st_client_t *cl)
{
    for (size_t i = 0; i < cl->n_topics; i++) {
        topic_clear(&cl->topics[i]);
        free(cl->topics[i].name);
    }
    free(cl->topics);
    cl->topics = NULL;
    cl->n_topics = 0;
    for (size_t i = 0; i < cl->n_md_interest; i++)
        free(cl->md_interest[i]);
    free(cl->md_interest);
    cl->md_interest = NULL;
    free(cl->md_interest_err_ms);
    cl->md_interest_err_ms = NULL;
    cl->n_md_interest = 0;
    free(cl->cluster_id);
    cl->cluster_id = NULL;
}
