/* Committed offsets of a consumer with group.id: commit jobs (strand_consumer_commit_sync /
 * _async, auto commits, commits before a revocation) and committed() lookups, sent one at a
 * time in call order to the group coordinator (OffsetCommit / OffsetFetch on its CG_NODE_AUX
 * connection) and retried while the coordinator is unavailable or moving, up to each job's
 * deadline; and the committed offsets of newly assigned partitions (state CP_COMMITTED), fetched
 * in one OffsetFetch and turned into positions (or auto.offset.reset when none is committed).
 *
 * Job lifecycle (st_cg_job_t, g->jobs_head..tail, c->lock):
 *   queued --cg_offsets_tick, head of the queue, coordinator known--> in flight (sent_seq != 0)
 *   in flight --answer: retriable error / coordinator lost--> queued (retry_at)
 *   in flight --answer: success or a final error--> done:
 *       sync job: done = true, its waiter (the application thread) frees it;
 *       async job: moved to g->done_head for its callback in the next poll;
 *       auto commit: freed (errors logged at debug, as Kafka logs them).
 *   queued, past its deadline --> done with ST_ERR_TIMED_OUT.
 * A commit carries the generation and member id of the moment it was made; if the member is no
 * longer in that generation when the job would be sent, it fails (REBALANCE_IN_PROGRESS while a
 * rebalance runs, else ILLEGAL_GENERATION) as Kafka's commit does (CommitFailedException).
 * Answers are matched to jobs by sequence number, never by pointer: a job failed meanwhile (close)
 * is simply not found. */
#include "st_consumer_group.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_logger.h"

#define DEFAULT_API_TIMEOUT_MS 60000   /* Kafka's default.api.timeout.ms */

/* ---- jobs --------------------------------------------------------------------------------- */

void cg_job_free(st_cg_job_t *job)
{
    if (!job)
        return;
    for (size_t i = 0; i < job->n; i++)
        free((char *)job->tps[i].topic);
    free(job->tps);
    free(job->epochs);
    free(job->member_id);
    free(job);
}

static st_cg_job_t *job_new(int kind, size_t n)
{
    st_cg_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->kind = kind;
    job->tps = calloc(n + 1, sizeof(*job->tps));
    job->epochs = calloc(n + 1, sizeof(*job->epochs));
    job->generation = -1;
    if (!job->tps || !job->epochs) {
        cg_job_free(job);
        return NULL;
    }
    return job;
}

/* Adds one entry (topic copied). */
static int job_add(st_cg_job_t *job, const char *topic, int32_t partition, int64_t offset,
                   int32_t epoch)
{
    char *t = strdup(topic);
    if (!t)
        return -ENOMEM;
    job->tps[job->n] = (strand_topic_partition_t){ t, partition, offset, 0 };
    job->epochs[job->n] = epoch;
    job->n++;
    return 0;
}

/* Sorts the entries by (topic, partition), epochs alongside. */
static void job_sort(st_cg_job_t *job)
{
    for (size_t i = 1; i < job->n; i++) {
        for (size_t k = i; k > 0; k--) {
            strand_topic_partition_t *a = &job->tps[k - 1], *b = &job->tps[k];
            int r = strcmp(a->topic, b->topic);
            if (r < 0 || (r == 0 && a->partition <= b->partition))
                break;
            strand_topic_partition_t t = *a;
            *a = *b;
            *b = t;
            int32_t e = job->epochs[k - 1];
            job->epochs[k - 1] = job->epochs[k];
            job->epochs[k] = e;
        }
    }
}

static void job_unlink(st_cgroup_t *g, st_cg_job_t *job)
{
    st_cg_job_t *prev = NULL;
    for (st_cg_job_t *j = g->jobs_head; j; prev = j, j = j->next) {
        if (j != job)
            continue;
        if (prev)
            prev->next = j->next;
        else
            g->jobs_head = j->next;
        if (g->jobs_tail == j)
            g->jobs_tail = prev;
        j->next = NULL;
        return;
    }
}

/* Lock held: the job is over (err 0 or its first error). */
static void job_finish(strand_consumer_t *c, st_cg_job_t *job, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void job_finish(strand_consumer_t *c, st_cg_job_t *job, int err, const char *fmt, ...)
{
    st_cgroup_t *g = c->grp;
    job_unlink(g, job);
    job->done = true;
    job->err = err;
    job->sent_seq = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(job->errstr, sizeof(job->errstr), fmt, ap);
        va_end(ap);
    }
    for (size_t i = 0; err && i < job->n; i++)
        if (!job->tps[i].error)
            job->tps[i].error = err;
    if (job->is_auto) {
        g->auto_inflight = false;
        if (err) {
            char key[64];
            snprintf(key, sizeof(key), "auto commit %d", err);
            st_client_log(&c->cl, STRAND_LOG_WARN, "strand.consumer", key, "Asynchronous "
                          "auto-commit of offsets of %zu partition(s) failed: %s (%s)", job->n,
                          st_error_name(err), job->errstr);
        }
        cg_job_free(job);
    } else if (job->sync) {
        pthread_cond_broadcast(&c->cond);
    } else {
        job->next = NULL;
        if (g->done_tail)
            g->done_tail->next = job;
        else
            g->done_head = job;
        g->done_tail = job;
        pthread_cond_broadcast(&c->cond);
    }
}

static st_cg_job_t *job_by_seq(st_cgroup_t *g, uint64_t seq)
{
    for (st_cg_job_t *j = g->jobs_head; j; j = j->next)
        if (j->sent_seq == seq)
            return j;
    return NULL;
}

/* Lock held: the generation and member id a commit made now carries, or why none can be made:
 * a subscribed consumer commits only as a member of a completed generation. */
static int job_identity(strand_consumer_t *c, st_cg_job_t *job)
{
    st_cgroup_t *g = c->grp;
    if (c->mode == CM_SUBSCRIBED) {
        if (g->state != CG_STABLE || g->generation < 0)
            return g->state != CG_UNJOINED || g->rejoin_needed ? ST_ERR_REBALANCE_IN_PROGRESS
                                                               : ST_ERR_ILLEGAL_GENERATION;
        job->generation = g->generation;
        job->member_id = strdup(g->member_id);
    } else {
        job->generation = -1;
        job->member_id = strdup("");
    }
    return job->member_id ? 0 : ST_ERR_INVALID_ARG;
}

static void job_enqueue(strand_consumer_t *c, st_cg_job_t *job)
{
    st_cgroup_t *g = c->grp;
    job->next = NULL;
    if (g->jobs_tail)
        g->jobs_tail->next = job;
    else
        g->jobs_head = job;
    g->jobs_tail = job;
    st_client_wake(&c->cl);
}

void cg_fail_jobs(strand_consumer_t *c, int err, const char *why)
{
    st_cgroup_t *g = c->grp;
    while (g->jobs_head)
        job_finish(c, g->jobs_head, err, "%s", why);
}

/* Lock held: waits on c->cond for up to ms. */
static void cond_wait_ms(strand_consumer_t *c, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms > 200)
        ms = 200;
    if (ms < 1)
        ms = 1;
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

/* Lock held: waits until the (sync) job is done; returns its error. The job stays the caller's. */
static int job_wait(strand_consumer_t *c, st_cg_job_t *job)
{
    while (!job->done)
        cond_wait_ms(c, 200);
    return job->err;
}

/* ---- requests ------------------------------------------------------------------------------- */

typedef struct off_ent {
    st_cpart_t *part;
    uint32_t epoch;
} off_ent_t;

typedef struct off_ctx {
    strand_consumer_t *c;
    uint64_t seq;
    size_t n;
    off_ent_t ent[];         /* OffsetFetch of CP_COMMITTED partitions only */
} off_ctx_t;

static void commit_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                      st_rframe_t *resp);

static bool coordinator_error(int err)
{
    return err == ST_ERR_NOT_COORDINATOR || err == ST_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == ST_ERR_TRANSPORT || err == ST_ERR_NETWORK_EXCEPTION;
}

/* Lock held: the OffsetCommit of job. */
static st_req_t *commit_request(strand_consumer_t *c, st_cg_job_t *job, off_ctx_t *ctx, int timeout)
{
    st_cgroup_t *g = c->grp;
    size_t n = job->n;
    Strand__OffsetCommitRequestTopic *ts = calloc(n + 1, sizeof(*ts));
    Strand__OffsetCommitRequestTopic **tsp = calloc(n + 1, sizeof(*tsp));
    Strand__OffsetCommitRequestPartition *ps = calloc(n + 1, sizeof(*ps));
    Strand__OffsetCommitRequestPartition **psp = calloc(n + 1, sizeof(*psp));
    st_req_t *req = NULL;
    if (ts && tsp && ps && psp) {
        size_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            strand__offset_commit_request_partition__init(&ps[i]);
            ps[i].partition_index = job->tps[i].partition;
            ps[i].committed_offset = job->tps[i].offset;
            ps[i].committed_leader_epoch = job->epochs[i];
            ps[i].committed_metadata = "";
            psp[i] = &ps[i];
            if (i == 0 || strcmp(job->tps[i].topic, job->tps[i - 1].topic) != 0) {
                strand__offset_commit_request_topic__init(&ts[nt]);
                ts[nt].name = (char *)job->tps[i].topic;
                ts[nt].partitions = &psp[i];
                tsp[nt] = &ts[nt];
                nt++;
            }
            ts[nt - 1].n_partitions++;
        }
        Strand__OffsetCommitRequest oc = STRAND__OFFSET_COMMIT_REQUEST__INIT;
        oc.group_id = g->group_id;
        oc.generation_id = job->generation;
        oc.member_id = job->member_id ? job->member_id : "";
        oc.group_instance_id = job->generation >= 0 && g->instance_id ? g->instance_id : "";
        oc.n_topics = nt;
        oc.topics = tsp;
        req = st_req_new(&c->cl, STRAND__API_KEY__OFFSET_COMMIT, &oc.base, 0,
                         CG_NODE_AUX(g->coord_id), timeout, commit_cb, ctx);
    }
    free(ts);
    free(tsp);
    free(ps);
    free(psp);
    return req;
}

/* Lock held: an OffsetFetch for n (topic, partition) pairs sorted by topic. */
static st_req_t *fetch_request(strand_consumer_t *c, const char *const *topics,
                               const int32_t *parts, size_t n, int timeout, st_req_cb_t *cb,
                               off_ctx_t *ctx)
{
    st_cgroup_t *g = c->grp;
    Strand__OffsetFetchRequestTopic *ts = calloc(n + 1, sizeof(*ts));
    Strand__OffsetFetchRequestTopic **tsp = calloc(n + 1, sizeof(*tsp));
    int32_t *idx = calloc(n + 1, sizeof(*idx));
    st_req_t *req = NULL;
    if (ts && tsp && idx) {
        size_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            idx[i] = parts[i];
            if (i == 0 || strcmp(topics[i], topics[i - 1]) != 0) {
                strand__offset_fetch_request_topic__init(&ts[nt]);
                ts[nt].name = (char *)topics[i];
                ts[nt].partition_indexes = &idx[i];
                tsp[nt] = &ts[nt];
                nt++;
            }
            ts[nt - 1].n_partition_indexes++;
        }
        Strand__OffsetFetchRequest of = STRAND__OFFSET_FETCH_REQUEST__INIT;
        of.group_id = g->group_id;
        of.all_topics = false;
        of.n_topics = nt;
        of.topics = tsp;
        req = st_req_new(&c->cl, STRAND__API_KEY__OFFSET_FETCH, &of.base, 0,
                         CG_NODE_AUX(g->coord_id), timeout, cb, ctx);
    }
    free(ts);
    free(tsp);
    free(idx);
    return req;
}

static const Strand__OffsetFetchResponsePartition *
fetch_find(const Strand__OffsetFetchResponse *fr, const char *topic, int32_t partition)
{
    for (size_t t = 0; fr && t < fr->n_topics; t++) {
        if (!fr->topics[t]->name || strcmp(fr->topics[t]->name, topic) != 0)
            continue;
        for (size_t k = 0; k < fr->topics[t]->n_partitions; k++)
            if (fr->topics[t]->partitions[k]->partition_index == partition)
                return fr->topics[t]->partitions[k];
    }
    return NULL;
}

/* Lock held: a job's request failed with a coordinator-level error: try again. */
static void job_retry(strand_consumer_t *c, st_cg_job_t *job, int err, const char *errstr)
{
    int64_t now = st_client_now_ms();
    job->sent_seq = 0;
    snprintf(job->errstr, sizeof(job->errstr), "%s", errstr ? errstr : st_error_desc(err));
    job->err = err;
    for (size_t i = 0; i < job->n; i++)
        job->tps[i].error = 0;
    if (coordinator_error(err))
        cg_coordinator_lost(c, job->errstr);
    job->retry_at_ms = now + c->cl.conf.retry_backoff_ms;
}

static void commit_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                      st_rframe_t *resp)
{
    (void)cl;
    off_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__OffsetCommitResponse *cr = err ? NULL :
        strand__offset_commit_response__unpack(NULL, resp->view.body_len, resp->view.body);
    if (!err && !cr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable OffsetCommit response";
    }
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = err == ST_ERR_DESTROYED ? NULL : job_by_seq(g, ctx->seq);
    if (!job)
        goto out;
    if (err) {
        job_retry(c, job, err, errstr);
        goto out;
    }
    int first = 0;
    for (size_t i = 0; i < job->n; i++) {
        int perr = ST_ERR_BAD_RESPONSE;
        for (size_t t = 0; t < cr->n_topics && perr == ST_ERR_BAD_RESPONSE; t++) {
            if (!cr->topics[t]->name || strcmp(cr->topics[t]->name, job->tps[i].topic) != 0)
                continue;
            for (size_t k = 0; k < cr->topics[t]->n_partitions; k++)
                if (cr->topics[t]->partitions[k]->partition_index == job->tps[i].partition)
                    perr = cr->topics[t]->partitions[k]->error_code;
        }
        job->tps[i].error = perr;
        if (perr && !first)
            first = perr;
    }
    switch (first) {
    case ST_ERR_NONE:
        job_finish(c, job, 0, NULL);
        break;
    case ST_ERR_NOT_COORDINATOR:
    case ST_ERR_COORDINATOR_NOT_AVAILABLE:
    case ST_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case ST_ERR_REQUEST_TIMED_OUT:
    case ST_ERR_NOT_ENOUGH_REPLICAS:
    case ST_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        job_retry(c, job, first, st_error_desc(first));
        break;
    case ST_ERR_ILLEGAL_GENERATION:
    case ST_ERR_UNKNOWN_MEMBER_ID:
        /* Kafka's CommitFailedException: the group rebalanced without this member. */
        if (c->mode == CM_SUBSCRIBED && job->generation >= 0 && job->generation == g->generation)
            cg_reset_generation(c, first == ST_ERR_UNKNOWN_MEMBER_ID, "OffsetCommit fenced");
        job_finish(c, job, first, "commit failed: the group has rebalanced (%s); the member "
                   "rejoins", st_error_name(first));
        break;
    case ST_ERR_REBALANCE_IN_PROGRESS:
        if (c->mode == CM_SUBSCRIBED && job->generation == g->generation && !g->rejoin_needed) {
            g->rejoin_needed = true;
            cg_wake(c);
        }
        job_finish(c, job, first, "commit failed: the group is rebalancing");
        break;
    case ST_ERR_FENCED_INSTANCE_ID:
        cg_fatal(c, first, "OffsetCommit: group.instance.id %s was fenced: another consumer with "
                 "the same group.instance.id joined the group %s",
                 g->instance_id ? g->instance_id : "", g->group_id);
        break;
    default:
        job_finish(c, job, first, "commit failed: %s", st_error_desc(first));
        break;
    }
out:
    pthread_mutex_unlock(&c->lock);
    if (cr)
        strand__offset_commit_response__free_unpacked(cr, NULL);
    free(ctx);
}

/* committed(): an OffsetFetch job's answer. */
static void fetch_job_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                         st_rframe_t *resp)
{
    (void)cl;
    off_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__OffsetFetchResponse *fr = err ? NULL :
        strand__offset_fetch_response__unpack(NULL, resp->view.body_len, resp->view.body);
    if (!err && !fr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable OffsetFetch response";
    }
    if (!err && fr->error_code) {
        err = fr->error_code;
        errstr = fr->error_message && *fr->error_message ? fr->error_message : st_error_desc(err);
    }
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = err == ST_ERR_DESTROYED ? NULL : job_by_seq(g, ctx->seq);
    if (!job)
        goto out;
    if (err) {
        if (coordinator_error(err) || st_error_retriable(err))
            job_retry(c, job, err, errstr);
        else
            job_finish(c, job, err, "OffsetFetch failed: %s", errstr);
        goto out;
    }
    for (size_t i = 0; i < job->n; i++) {
        const Strand__OffsetFetchResponsePartition *pr =
            fetch_find(fr, job->tps[i].topic, job->tps[i].partition);
        job->tps[i].error = pr ? pr->error_code : ST_ERR_BAD_RESPONSE;
        job->tps[i].offset = pr && !pr->error_code && pr->committed_offset >= 0
                                 ? pr->committed_offset : STRAND_OFFSET_INVALID;
    }
    job_finish(c, job, 0, NULL);
out:
    pthread_mutex_unlock(&c->lock);
    if (fr)
        strand__offset_fetch_response__free_unpacked(fr, NULL);
    free(ctx);
}

/* Partitions waiting for their committed offset (CP_COMMITTED): the answer. */
static void ofetch_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr,
                      st_rframe_t *resp)
{
    off_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__OffsetFetchResponse *fr = err ? NULL :
        strand__offset_fetch_response__unpack(NULL, resp->view.body_len, resp->view.body);
    if (!err && !fr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable OffsetFetch response";
    }
    if (!err && fr->error_code) {
        err = fr->error_code;
        errstr = fr->error_message && *fr->error_message ? fr->error_message : st_error_desc(err);
    }
    int64_t now = st_client_now_ms();
    pthread_mutex_lock(&c->lock);
    if (ctx->seq != g->ofetch_req || err == ST_ERR_DESTROYED)
        goto out;   /* the coordinator moved meanwhile: the partitions were put back */
    g->ofetch_req = 0;
    bool fatal = err && !coordinator_error(err) && !st_error_retriable(err) &&
                 err != ST_ERR_BAD_RESPONSE;
    for (size_t i = 0; i < ctx->n; i++) {
        st_cpart_t *part = ctx->ent[i].part;
        if (part->epoch != ctx->ent[i].epoch || part->state != CP_COMMITTED_FETCHING)
            continue;   /* moved by the application (seek) or revoked */
        const Strand__OffsetFetchResponsePartition *pr =
            err ? NULL : fetch_find(fr, part->topic, part->partition);
        int perr = err ? err : pr ? pr->error_code : ST_ERR_BAD_RESPONSE;
        if (perr) {
            if (fatal || (!st_error_retriable(perr) && perr != ST_ERR_BAD_RESPONSE &&
                          !coordinator_error(perr))) {
                part->state = CP_ERROR;
                st_consumer_queue_error(c, part, perr, "%s-%d: cannot fetch the committed offset "
                                        "of group %s: %s: %s", part->topic, part->partition,
                                        g->group_id, st_error_name(perr),
                                        err ? errstr : st_error_desc(perr));
            } else {
                part->state = CP_COMMITTED;
            }
            continue;
        }
        if (pr->committed_offset >= 0) {
            part->state = CP_FETCH;
            part->fetch_pos = part->reset_to = pr->committed_offset;
            part->reset_epoch = pr->committed_leader_epoch;
            part->reset_pending = true;
            part->retry_at_ms = 0;
            part->leader = st_client_md_leader(cl, part->topic, part->partition);
            ST_DEBUG("consumer group %s: %s-%d starts at committed offset %" PRId64, g->group_id,
                     part->topic, part->partition, pr->committed_offset);
        } else {
            /* Nothing committed: auto.offset.reset (Kafka's NoOffsetForPartition for none). */
            ST_DEBUG("consumer group %s: %s-%d has no committed offset: auto.offset.reset",
                     g->group_id, part->topic, part->partition);
            st_consumer_part_reset(c, part);
        }
    }
    if (err) {
        if (coordinator_error(err))
            cg_coordinator_lost(c, errstr);
        g->ofetch_retry_at = now + c->cl.conf.retry_backoff_ms;
        ST_DEBUG("consumer group %s: OffsetFetch failed: %s (%s)", g->group_id,
                 st_error_name(err), errstr);
    }
    pthread_cond_broadcast(&c->cond);
out:
    pthread_mutex_unlock(&c->lock);
    if (fr)
        strand__offset_fetch_response__free_unpacked(fr, NULL);
    free(ctx);
}

/* Lock held: one OffsetFetch for every CP_COMMITTED partition, or NULL. */
static st_req_t *ofetch_request(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    size_t n = 0;
    for (size_t i = 0; i < c->n_parts; i++)
        n += c->parts[i]->state == CP_COMMITTED;
    if (!n)
        return NULL;
    off_ctx_t *ctx = calloc(1, sizeof(*ctx) + n * sizeof(ctx->ent[0]));
    const char **topics = calloc(n, sizeof(*topics));
    int32_t *parts = calloc(n, sizeof(*parts));
    st_req_t *req = NULL;
    if (ctx && topics && parts) {
        ctx->c = c;
        ctx->seq = cg_next_seq(g);
        for (size_t i = 0; i < c->n_parts; i++)
            if (c->parts[i]->state == CP_COMMITTED) {
                ctx->ent[ctx->n].part = c->parts[i];
                ctx->ent[ctx->n].epoch = c->parts[i]->epoch;
                ctx->n++;
            }
        /* Grouped by topic. */
        for (size_t i = 1; i < n; i++)
            for (size_t k = i; k > 0 && strcmp(ctx->ent[k - 1].part->topic,
                                               ctx->ent[k].part->topic) > 0; k--) {
                off_ent_t t = ctx->ent[k - 1];
                ctx->ent[k - 1] = ctx->ent[k];
                ctx->ent[k] = t;
            }
        for (size_t i = 0; i < n; i++) {
            topics[i] = ctx->ent[i].part->topic;
            parts[i] = ctx->ent[i].part->partition;
        }
        req = fetch_request(c, topics, parts, n, -1, ofetch_cb, ctx);
    }
    free(topics);
    free(parts);
    if (!req) {
        free(ctx);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ctx->ent[i].part->state = CP_COMMITTED_FETCHING;
    g->ofetch_req = ctx->seq;
    ST_DEBUG("consumer group %s: OffsetFetch for %zu partition(s) without a position", g->group_id, n);
    return req;
}

/* ---- the I/O thread's part ------------------------------------------------------------------- */

void cg_offsets_tick(strand_consumer_t *c, int64_t now, st_req_t **reqs)
{
    st_cgroup_t *g = c->grp;
    for (st_cg_job_t *job = g->jobs_head, *next; job; job = next) {
        next = job->next;
        if (!job->sent_seq && now >= job->deadline_ms)
            job_finish(c, job, ST_ERR_TIMED_OUT, "no answer from the group coordinator in time%s%s",
                       job->errstr[0] ? ": " : "", job->errstr);
    }
    st_cg_job_t *job;
    while ((job = g->jobs_head) && !job->sent_seq && now >= job->retry_at_ms && g->coord_id >= 0) {
        if (job->kind == CG_JOB_COMMIT && job->generation >= 0 &&
            (c->mode != CM_SUBSCRIBED || g->generation != job->generation ||
             g->state != CG_STABLE)) {
            int err = g->state == CG_PREPARING_REBALANCE || g->state == CG_COMPLETING_REBALANCE
                          ? ST_ERR_REBALANCE_IN_PROGRESS : ST_ERR_ILLEGAL_GENERATION;
            job_finish(c, job, err, "commit failed: the member left generation %d before the "
                       "commit could be sent", job->generation);
            continue;
        }
        off_ctx_t *ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
            break;
        ctx->c = c;
        ctx->seq = cg_next_seq(g);
        int64_t left = job->deadline_ms - now;
        int timeout = left < c->cl.conf.request_timeout_ms ? (int)left : c->cl.conf.request_timeout_ms;
        if (timeout < 1)
            timeout = 1;
        st_req_t *req;
        if (job->kind == CG_JOB_COMMIT) {
            req = commit_request(c, job, ctx, timeout);
        } else {
            const char **topics = calloc(job->n + 1, sizeof(*topics));
            int32_t *parts = calloc(job->n + 1, sizeof(*parts));
            for (size_t i = 0; topics && parts && i < job->n; i++) {
                topics[i] = job->tps[i].topic;
                parts[i] = job->tps[i].partition;
            }
            req = topics && parts ? fetch_request(c, topics, parts, job->n, timeout, fetch_job_cb, ctx)
                                  : NULL;
            free(topics);
            free(parts);
        }
        if (!req) {
            free(ctx);
            job->retry_at_ms = now + c->cl.conf.retry_backoff_ms;
            break;
        }
        job->sent_seq = ctx->seq;
        req->next = *reqs;
        *reqs = req;
        break;   /* one job in flight at a time: commits land in call order */
    }
    if (!g->ofetch_req && g->coord_id >= 0 && now >= g->ofetch_retry_at) {
        st_req_t *req = ofetch_request(c);
        if (req) {
            req->next = *reqs;
            *reqs = req;
        }
    }
}

int64_t cg_offsets_next_wakeup(const strand_consumer_t *c, int64_t now)
{
    const st_cgroup_t *g = c->grp;
    int64_t next = INT64_MAX;
    for (const st_cg_job_t *job = g->jobs_head; job; job = job->next) {
        if (job->sent_seq)
            continue;
        if (job->deadline_ms < next)
            next = job->deadline_ms;
        if (job->retry_at_ms > now && job->retry_at_ms < next)
            next = job->retry_at_ms;
    }
    if (g->ofetch_retry_at > now && g->ofetch_retry_at < next)
        next = g->ofetch_retry_at;
    return next;
}

void cg_offsets_coordinator_lost(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    for (st_cg_job_t *job = g->jobs_head; job; job = job->next)
        job->sent_seq = 0;
    g->ofetch_req = 0;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->state == CP_COMMITTED_FETCHING)
            c->parts[i]->state = CP_COMMITTED;
}

bool cg_offsets_need_coordinator(const strand_consumer_t *c)
{
    if (c->grp->jobs_head)
        return true;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->state == CP_COMMITTED || c->parts[i]->state == CP_COMMITTED_FETCHING)
            return true;
    return false;
}

/* ---- the application thread's part ----------------------------------------------------------- */

/* Lock held: a COMMIT job with the positions of the assigned partitions (those in filter when
 * given; those whose position is still being resolved are left out). NULL when there is none. */
static st_cg_job_t *positions_job(strand_consumer_t *c, const st_tp_list_t *filter)
{
    st_consumer_apply_resets_locked(c);
    st_cg_job_t *job = job_new(CG_JOB_COMMIT, c->n_parts);
    if (!job)
        return NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        const st_cpart_t *part = c->parts[i];
        if (part->state == CP_REMOVED || part->position < 0)
            continue;
        bool wanted = !filter;
        for (size_t k = 0; filter && k < filter->n && !wanted; k++)
            wanted = filter->v[k].partition == part->partition &&
                     strcmp(filter->v[k].topic, part->topic) == 0;
        if (wanted && job_add(job, part->topic, part->partition, part->position,
                              part->pos_epoch) < 0) {
            cg_job_free(job);
            return NULL;
        }
    }
    if (!job->n) {
        cg_job_free(job);
        return NULL;
    }
    job_sort(job);
    return job;
}

int cg_commit_positions_sync(strand_consumer_t *c, const st_tp_list_t *filter, int timeout_ms)
{
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = positions_job(c, filter);
    if (!job) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    int err = job_identity(c, job);
    if (!err) {
        job->sync = true;
        job->deadline_ms = st_client_now_ms() + timeout_ms;
        job_enqueue(c, job);
        err = job_wait(c, job);
        if (err)
            ST_DEBUG("consumer group %s: commit before revocation failed: %s (%s)",
                     c->grp->group_id, st_error_name(err), job->errstr);
    }
    pthread_mutex_unlock(&c->lock);
    cg_job_free(job);
    return err;
}

void cg_auto_commit_locked(strand_consumer_t *c, int64_t now, bool force)
{
    st_cgroup_t *g = c->grp;
    if (!g->auto_commit || c->mode == CM_NONE || g->fatal)
        return;
    if (!force && now < g->next_auto_commit_ms)
        return;
    g->next_auto_commit_ms = now + g->auto_commit_interval_ms;
    if (g->auto_inflight)
        return;
    if (c->mode == CM_SUBSCRIBED && (g->state != CG_STABLE || g->generation < 0))
        return;
    st_cg_job_t *job = positions_job(c, NULL);
    if (!job)
        return;
    if (job_identity(c, job) != 0) {
        cg_job_free(job);
        return;
    }
    job->is_auto = true;
    job->deadline_ms = now + c->cl.conf.request_timeout_ms;
    g->auto_inflight = true;
    job_enqueue(c, job);
}

void cg_deliver_commit_callbacks(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    if (!g || c->in_callback)
        return;
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *list = g->done_head;
    g->done_head = g->done_tail = NULL;
    pthread_mutex_unlock(&c->lock);
    while (list) {
        st_cg_job_t *job = list;
        list = job->next;
        if (job->cb) {
            c->in_callback = true;
            job->cb(c, job->err, job->tps, job->n, job->opaque);
            c->in_callback = false;
        }
        cg_job_free(job);
    }
}

void cg_wait_jobs(strand_consumer_t *c, int64_t deadline_ms)
{
    pthread_mutex_lock(&c->lock);
    while (c->grp->jobs_head) {
        int64_t now = st_client_now_ms();
        if (now >= deadline_ms)
            break;
        cond_wait_ms(c, deadline_ms - now);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- public API --------------------------------------------------------------------------- */

static int commit_precheck(strand_consumer_t *c, const strand_topic_partition_t *offsets,
                           size_t count)
{
    if (!c || (count && !offsets))
        return ST_ERR_INVALID_ARG;
    if (!c->grp)
        return ST_ERR_INVALID_CONFIG;
    if (c->closed)
        return ST_ERR_ILLEGAL_STATE;
    for (size_t i = 0; i < count; i++)
        if (!offsets[i].topic || !*offsets[i].topic || offsets[i].partition < 0 ||
            offsets[i].offset < 0)
            return ST_ERR_INVALID_ARG;
    return 0;
}

/* Lock held: a COMMIT job of explicit offsets; the leader epoch is the position's when the
 * offset is the partition's current position. */
static st_cg_job_t *explicit_job(strand_consumer_t *c, const strand_topic_partition_t *offsets,
                                 size_t count)
{
    st_consumer_apply_resets_locked(c);
    st_cg_job_t *job = job_new(CG_JOB_COMMIT, count);
    for (size_t i = 0; job && i < count; i++) {
        const st_cpart_t *part = st_consumer_part_find(c, offsets[i].topic, offsets[i].partition);
        int32_t epoch = part && part->state != CP_REMOVED && part->position == offsets[i].offset
                            ? part->pos_epoch : -1;
        if (job_add(job, offsets[i].topic, offsets[i].partition, offsets[i].offset, epoch) < 0) {
            cg_job_free(job);
            job = NULL;
        }
    }
    return job;
}

/* Copies each job entry's error (and, for fetches, offset) into the caller's entries. */
static void copy_back(const st_cg_job_t *job, strand_topic_partition_t *tps, size_t count,
                      bool offsets)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < job->n; k++) {
            if (job->tps[k].partition == tps[i].partition &&
                strcmp(job->tps[k].topic, tps[i].topic) == 0) {
                tps[i].error = job->tps[k].error;
                if (offsets)
                    tps[i].offset = job->tps[k].offset;
                break;
            }
        }
    }
}

int strand_consumer_commit_sync(strand_consumer_t *c, strand_topic_partition_t *offsets,
                                size_t count, int timeout_ms)
{
    int err = commit_precheck(c, offsets, count);
    if (err)
        return err;
    cg_deliver_commit_callbacks(c);
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = count ? explicit_job(c, offsets, count) : positions_job(c, NULL);
    if (!job) {
        pthread_mutex_unlock(&c->lock);
        return count ? ST_ERR_INVALID_ARG : 0;
    }
    job_sort(job);
    err = job_identity(c, job);
    if (!err) {
        job->sync = true;
        job->deadline_ms = st_client_now_ms() + (timeout_ms < 0 ? DEFAULT_API_TIMEOUT_MS : timeout_ms);
        job_enqueue(c, job);
        err = job_wait(c, job);
    } else {
        for (size_t i = 0; i < job->n; i++)
            job->tps[i].error = err;
    }
    pthread_mutex_unlock(&c->lock);
    if (count)
        copy_back(job, offsets, count, false);
    cg_job_free(job);
    return err;
}

int strand_consumer_commit_async(strand_consumer_t *c, const strand_topic_partition_t *offsets,
                                 size_t count, strand_commit_cb_t *cb, void *opaque)
{
    int err = commit_precheck(c, offsets, count);
    if (err)
        return err;
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = count ? explicit_job(c, offsets, count) : positions_job(c, NULL);
    if (!job) {
        pthread_mutex_unlock(&c->lock);
        return count ? ST_ERR_INVALID_ARG : 0;
    }
    job_sort(job);
    job->cb = cb;
    job->opaque = opaque;
    job->deadline_ms = st_client_now_ms() + c->cl.conf.request_timeout_ms;
    err = job_identity(c, job);
    job_enqueue(c, job);
    if (err)
        job_finish(c, job, err, "commit failed: not a member of a completed generation");
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int strand_consumer_committed(strand_consumer_t *c, strand_topic_partition_t *tps, size_t count,
                              int timeout_ms)
{
    if (!c || (count && !tps))
        return ST_ERR_INVALID_ARG;
    if (!c->grp)
        return ST_ERR_INVALID_CONFIG;
    if (c->closed)
        return ST_ERR_ILLEGAL_STATE;
    if (!count)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (!tps[i].topic || !*tps[i].topic || tps[i].partition < 0)
            return ST_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    st_cg_job_t *job = job_new(CG_JOB_FETCH, count);
    for (size_t i = 0; job && i < count; i++) {
        if (job_add(job, tps[i].topic, tps[i].partition, STRAND_OFFSET_INVALID, -1) < 0) {
            cg_job_free(job);
            job = NULL;
        }
    }
    if (!job) {
        pthread_mutex_unlock(&c->lock);
        return ST_ERR_INVALID_ARG;
    }
    job_sort(job);
    job->sync = true;
    job->deadline_ms = st_client_now_ms() + (timeout_ms < 0 ? DEFAULT_API_TIMEOUT_MS : timeout_ms);
    job_enqueue(c, job);
    int err = job_wait(c, job);
    pthread_mutex_unlock(&c->lock);
    copy_back(job, tps, count, true);
    cg_job_free(job);
    return err;
}
