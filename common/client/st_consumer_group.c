/* Consumer group membership, the I/O thread's half: Kafka's AbstractCoordinator +
 * ConsumerCoordinator requests for strand_consumer_t -- FindCoordinator, JoinGroup, the leader's
 * assignor, SyncGroup, held Heartbeats, LeaveGroup, the max.poll.interval.ms check, pattern and
 * partition-count changes seen in metadata -- and the shared transitions (coordinator lost,
 * generation reset, fatal errors). The member's states, the split between the I/O thread and the
 * application thread (st_consumer_app.c), the invariants and the connections are described in
 * st_consumer_group.h. Committed offsets live in st_consumer_offsets.c. */
#include "st_consumer_group.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_consumer_protocol.h"
#include "st_logger.h"

/* Kafka's JoinGroup request timeout: the rebalance timeout plus this (joinGroupTimeoutMs). */
#define JOIN_TIMEOUT_EXTRA_MS 5000

/* One member as the leader received it in JoinGroup. */
typedef struct cg_lead_member {
    char *member_id;
    char *instance_id;              /* NULL: dynamic */
    st_cp_subscription_t sub;       /* zeroed when its metadata did not decode */
} cg_lead_member_t;

struct cg_lead {
    st_assignor_t assignor;
    int32_t generation;
    cg_lead_member_t *m;
    size_t n;
    char **topics;                  /* union of the subscriptions, sorted, unique */
    size_t n_topics;
};

/* ---- small helpers ----------------------------------------------------------------------- */

int cg_tp_cmp(const void *a, const void *b)
{
    const st_tp_t *x = a, *y = b;
    int r = strcmp(x->topic, y->topic);
    return r ? r : (x->partition > y->partition) - (x->partition < y->partition);
}

int cg_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops duplicates (their topics freed). */
static void tp_list_normalize(st_tp_list_t *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(l->v[0]), cg_tp_cmp);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (cg_tp_cmp(&l->v[i], &l->v[w - 1]) == 0)
            free(l->v[i].topic);
        else
            l->v[w++] = l->v[i];
    }
    l->n = w;
}

static bool tp_list_contains(const st_tp_list_t *l, const char *topic, int32_t partition)
{
    st_tp_t key = { (char *)topic, partition };
    return l->n && bsearch(&key, l->v, l->n, sizeof(l->v[0]), cg_tp_cmp) != NULL;
}

int cg_tp_push(st_tp_list_t *l, const char *topic, int32_t partition)
{
    st_tp_t *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    l->v = grown;
    if (!(l->v[l->n].topic = strdup(topic)))
        return -ENOMEM;
    l->v[l->n++].partition = partition;
    return 0;
}

int cg_tp_copy(st_tp_list_t *dst, const st_tp_list_t *src)
{
    st_tp_list_t out = { 0 };
    for (size_t i = 0; i < src->n; i++) {
        if (cg_tp_push(&out, src->v[i].topic, src->v[i].partition) < 0) {
            st_tp_list_free(&out);
            return -ENOMEM;
        }
    }
    st_tp_list_free(dst);
    *dst = out;
    return 0;
}

/* a - b (both sorted) into *ret. */
int cg_tp_minus(const st_tp_list_t *a, const st_tp_list_t *b, st_tp_list_t *ret)
{
    st_tp_list_t out = { 0 };
    for (size_t i = 0; i < a->n; i++) {
        if (!tp_list_contains(b, a->v[i].topic, a->v[i].partition) &&
            cg_tp_push(&out, a->v[i].topic, a->v[i].partition) < 0) {
            st_tp_list_free(&out);
            return -ENOMEM;
        }
    }
    *ret = out;
    return 0;
}

bool cg_str_in(char *const *v, size_t n, const char *s)
{
    return n && bsearch(&s, v, n, sizeof(v[0]), cg_str_cmp) != NULL;
}

void cg_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cg_set_str(char **slot, const char *s)
{
    char *copy = strdup(s ? s : "");
    if (copy) {
        free(*slot);
        *slot = copy;
    }
}

uint64_t cg_next_seq(st_cgroup_t *g)
{
    return ++g->seq;
}

static void lead_free(struct cg_lead *lead)
{
    if (!lead)
        return;
    for (size_t i = 0; i < lead->n; i++) {
        free(lead->m[i].member_id);
        free(lead->m[i].instance_id);
        st_cp_subscription_free(&lead->m[i].sub);
    }
    free(lead->m);
    cg_strv_free(lead->topics, lead->n_topics);
    free(lead);
}

void cg_snap_free(st_cgroup_t *g)
{
    cg_strv_free(g->snap_topics, g->n_snap);
    free(g->snap_counts);
    g->snap_topics = NULL;
    g->snap_counts = NULL;
    g->n_snap = 0;
}

/* ---- invariants ---------------------------------------------------------------------------- */

bool cg_check(const st_cgroup_t *g)
{
    if ((g->state == CG_STABLE || g->state == CG_COMPLETING_REBALANCE) &&
        (!g->member_id[0] || g->generation < 0))
        return false;
    if (g->state == CG_UNJOINED && (g->join_req || g->sync_req || g->assign_pending))
        return false;
    if (g->state == CG_PREPARING_REBALANCE && (!g->join_req || g->sync_req))
        return false;
    if (g->state == CG_COMPLETING_REBALANCE && !g->sync_req && !g->assign_pending)
        return false;
    if (g->assign_pending && !g->lead)
        return false;
    for (size_t i = 1; i < g->owned.n; i++)
        if (cg_tp_cmp(&g->owned.v[i - 1], &g->owned.v[i]) >= 0)
            return false;
    return g->member_id != NULL;
}

/* ---- shared transitions (lock held) --------------------------------------------------------- */

void cg_wake(strand_consumer_t *c)
{
    pthread_cond_broadcast(&c->cond);
    st_client_wake(&c->cl);
}

void cg_drop_rebalance(st_cgroup_t *g)
{
    g->join_req = g->sync_req = 0;
    g->assign_pending = false;
    lead_free(g->lead);
    g->lead = NULL;
}

void cg_coordinator_lost(strand_consumer_t *c, const char *why)
{
    st_cgroup_t *g = c->grp;
    if (g->coord_id < 0)
        return;
    char key[64];
    snprintf(key, sizeof(key), "coordinator lost %d", g->coord_id);
    CG_LOG(c, STRAND_LOG_INFO, key, "Group coordinator %s:%d (id: %d rack: null) is unavailable or "
           "invalid due to cause: %s. Rediscovery will be attempted.", g->coord_host,
           g->coord_port, g->coord_id, why);
    g->coord_id = -1;
    g->find_retry_at = 0;
    g->hb_req = g->leave_req = 0;
    if (g->state == CG_PREPARING_REBALANCE || g->state == CG_COMPLETING_REBALANCE) {
        /* Kafka: a join or sync that failed on the coordinator starts the join again. */
        cg_drop_rebalance(g);
        g->state = CG_UNJOINED;
        g->rejoin_needed = true;
    }
    cg_offsets_coordinator_lost(c);
    assert(cg_check(g));
}

void cg_reset_generation(strand_consumer_t *c, bool reset_member, const char *why)
{
    st_cgroup_t *g = c->grp;
    char key[64];
    snprintf(key, sizeof(key), "reset %d %d", g->generation, reset_member);
    CG_LOG(c, STRAND_LOG_INFO, key, "Member %s leaves generation %d (%s)%s; rejoining",
           g->member_id, g->generation, why, reset_member ? " and resets its member id" : "");
    g->generation = -1;
    if (reset_member)
        cg_set_str(&g->member_id, "");
    free(g->protocol);
    free(g->leader_id);
    g->protocol = g->leader_id = NULL;
    cg_drop_rebalance(g);
    g->state = CG_UNJOINED;
    g->rejoin_needed = true;
    assert(cg_check(g));
    cg_wake(c);
}

void cg_fatal(strand_consumer_t *c, int err, const char *fmt, ...)
{
    st_cgroup_t *g = c->grp;
    if (g->fatal)
        return;
    g->fatal = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->fatal_msg, sizeof(g->fatal_msg), fmt, ap);
    va_end(ap);
    ST_DEBUG("consumer group %s: fatal error %s: %s", g->group_id, st_error_name(err),
             g->fatal_msg);
    cg_drop_rebalance(g);
    g->state = CG_UNJOINED;
    g->rejoin_needed = false;
    g->hb_req = 0;
    cg_fail_jobs(c, err, g->fatal_msg);
    assert(cg_check(g));
    cg_wake(c);
}

static bool is_coordinator_error(int err)
{
    return err == ST_ERR_NOT_COORDINATOR || err == ST_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == ST_ERR_TRANSPORT || err == ST_ERR_REQUEST_TIMED_OUT ||
           err == ST_ERR_NETWORK_EXCEPTION || err == ST_ERR_TIMED_OUT;
}

static bool is_fatal_join_error(int err)
{
    return err == ST_ERR_INCONSISTENT_GROUP_PROTOCOL || err == ST_ERR_INVALID_SESSION_TIMEOUT ||
           err == ST_ERR_INVALID_GROUP_ID || err == ST_ERR_GROUP_AUTHORIZATION_FAILED ||
           err == ST_ERR_GROUP_MAX_SIZE_REACHED || err == ST_ERR_UNSUPPORTED_VERSION;
}

/* A member that is not static leaves with LeaveGroup; then it has no identity (lock held). */
void cg_queue_leave(strand_consumer_t *c, const char *why, int64_t deadline)
{
    st_cgroup_t *g = c->grp;
    if (!g->instance_id && g->member_id[0] && !g->leave_member) {
        g->leave_member = strdup(g->member_id);
        g->leave_reason = why;
        g->leave_deadline = deadline;
    }
}

/* Lock held: the owned partitions that must be handed back before the next JoinGroup. */
bool cg_needs_app_prepare(const strand_consumer_t *c)
{
    const st_cgroup_t *g = c->grp;
    if (!g->owned.n)
        return false;
    if (g->generation < 0 || !g->cooperative)
        return true;   /* LOST, or eager: revoke everything */
    for (size_t i = 0; i < g->owned.n; i++)
        if (!cg_str_in(g->sub_topics, g->n_sub_topics, g->owned.v[i].topic))
            return true;   /* cooperative: a topic left the subscription */
    return false;
}

/* Lock held: the application thread's next piece of work. */
int cg_app_work(const strand_consumer_t *c, int64_t now)
{
    const st_cgroup_t *g = c->grp;
    if (g->fatal)
        return CG_WORK_FATAL;
    if (g->done_head)
        return CG_WORK_CALLBACKS;
    if (g->assignment_ready)
        return CG_WORK_ASSIGNMENT;
    if (c->mode == CM_SUBSCRIBED && g->rejoin_needed && !g->join_req && !g->sync_req &&
        !g->assign_pending && cg_needs_app_prepare(c))
        return CG_WORK_PREPARE;
    if (g->auto_commit && c->mode != CM_NONE && now >= g->next_auto_commit_ms)
        return CG_WORK_AUTO_COMMIT;
    return CG_WORK_NONE;
}

/* ---- creation -------------------------------------------------------------------------------- */

/* Kafka's JoinGroupRequest.validateGroupInstanceId: [a-zA-Z0-9._-]{1,249}. */
static bool valid_instance_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int st_cgroup_create(strand_consumer_t *c, const st_client_conf_t *conf, char *errstr,
                     size_t errstr_size)
{
    c->grp = NULL;
    if (!conf->group_id || !*conf->group_id)
        return 0;
    if (conf->group_instance_id && !valid_instance_id(conf->group_instance_id)) {
        st_client_errstr(errstr, errstr_size, "group.instance.id: '%s' is not valid (1 to 249 "
                         "characters of [a-zA-Z0-9._-]; unset it for a dynamic member)",
                         conf->group_instance_id);
        return ST_ERR_INVALID_CONFIG;
    }
    if (conf->heartbeat_interval_ms >= conf->session_timeout_ms) {
        st_client_errstr(errstr, errstr_size, "heartbeat.interval.ms (%d) must be lower than "
                         "session.timeout.ms (%d)", conf->heartbeat_interval_ms,
                         conf->session_timeout_ms);
        return ST_ERR_INVALID_CONFIG;
    }
    st_cgroup_t *g = calloc(1, sizeof(*g));
    if (!g || !(g->group_id = strdup(conf->group_id)) || !(g->member_id = strdup("")) ||
        (conf->group_instance_id && !(g->instance_id = strdup(conf->group_instance_id)))) {
        if (g) {
            free(g->group_id);
            free(g->member_id);
            free(g);
        }
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    char why[400] = "";
    if (st_assignor_parse_list(conf->partition_assignment_strategy, g->assignors, &g->n_assignors,
                               why, sizeof(why)) < 0) {
        st_client_errstr(errstr, errstr_size, "%s", why);
        free(g->group_id);
        free(g->member_id);
        free(g->instance_id);
        free(g);
        return ST_ERR_INVALID_CONFIG;
    }
    g->cooperative = true;
    for (size_t i = 0; i < g->n_assignors; i++)
        g->cooperative = g->cooperative && st_assignor_is_cooperative(g->assignors[i]);
    g->session_timeout_ms = conf->session_timeout_ms;
    g->heartbeat_interval_ms = conf->heartbeat_interval_ms;
    g->rebalance_timeout_ms = conf->max_poll_interval_ms;
    g->auto_commit = conf->enable_auto_commit;
    g->auto_commit_interval_ms = conf->auto_commit_interval_ms;
    g->exclude_internal = conf->exclude_internal_topics;
    g->coord_id = -1;
    g->generation = -1;
    g->last_generation = -1;
    g->state = CG_UNJOINED;
    int64_t now = st_client_now_ms();
    g->last_poll_ms = now;
    g->next_auto_commit_ms = now + g->auto_commit_interval_ms;
    c->grp = g;
    assert(cg_check(g));
    return 0;
}

void st_cgroup_free(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    if (!g)
        return;
    cg_fail_jobs(c, ST_ERR_DESTROYED, "consumer destroyed");
    while (g->done_head) {
        st_cg_job_t *job = g->done_head;
        g->done_head = job->next;
        cg_job_free(job);
    }
    lead_free(g->lead);
    cg_snap_free(g);
    cg_strv_free(g->sub_topics, g->n_sub_topics);
    if (g->sub_re_live)
        regfree(&g->sub_re);
    st_tp_list_free(&g->pending);
    st_tp_list_free(&g->owned);
    st_tp_list_free(&g->last);
    free(g->group_id);
    free(g->instance_id);
    free(g->member_id);
    free(g->protocol);
    free(g->leader_id);
    free(g->leave_member);
    free(g);
    c->grp = NULL;
}

/* ---- FindCoordinator ---------------------------------------------------------------------- */

typedef struct cg_ctx {
    strand_consumer_t *c;
    uint64_t seq;
    int32_t generation;             /* JoinGroup: -; SyncGroup / Heartbeat: the generation sent */
    uint64_t sub_version;           /* JoinGroup: the subscription it carried */
    int64_t sent_ms;
    int32_t max_wait_ms;            /* Heartbeat: held for up to this long */
} cg_ctx_t;

static cg_ctx_t *ctx_new(strand_consumer_t *c, uint64_t seq)
{
    cg_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx) {
        ctx->c = c;
        ctx->seq = seq;
        ctx->sent_ms = st_client_now_ms();
    }
    return ctx;
}

/* Unpacks a response or turns the failure into (err, errstr). */
#define UNPACK(type, fn, resp, err, errstr)                                                      \
    ((err) ? NULL : (type *)fn(NULL, (resp)->view.body_len, (resp)->view.body))

static void find_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    cg_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__FindCoordinatorResponse *fr =
        UNPACK(Strand__FindCoordinatorResponse, strand__find_coordinator_response__unpack, resp,
               err, errstr);
    if (!err && !fr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable FindCoordinator response";
    }
    if (!err && fr->error_code) {
        err = fr->error_code;
        errstr = fr->error_message && *fr->error_message ? fr->error_message : st_error_desc(err);
    }
    if (!err && (fr->node_id < 0 || !fr->host || !*fr->host || fr->port <= 0 || fr->port > 65535)) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "FindCoordinator named no usable coordinator";
    }
    int64_t now = st_client_now_ms();
    pthread_mutex_lock(&c->lock);
    if (ctx->seq == g->find_req && !g->fatal && err != ST_ERR_DESTROYED) {
        g->find_req = 0;
        if (err == ST_ERR_GROUP_AUTHORIZATION_FAILED || err == ST_ERR_INVALID_GROUP_ID) {
            cg_fatal(c, err, "FindCoordinator for group %s: %s", g->group_id, errstr);
        } else if (err) {
            char key[64];
            snprintf(key, sizeof(key), "find coordinator %d", err);
            CG_LOG(c, STRAND_LOG_WARN, key, "FindCoordinator for group %s failed: %s (%s); "
                   "retrying", g->group_id, st_error_name(err), errstr);
            g->find_retry_at = now + c->cl.conf.retry_backoff_ms;
        } else {
            g->coord_id = fr->node_id;
            snprintf(g->coord_host, sizeof(g->coord_host), "%s", fr->host);
            g->coord_port = fr->port;
            g->coord_retry_at = 0;
            g->next_hb_at = now;
            char key[64];
            snprintf(key, sizeof(key), "coordinator %d", g->coord_id);
            CG_LOG(c, STRAND_LOG_INFO, key, "Discovered group coordinator %s:%d (id: %d rack: null)",
                   g->coord_host, g->coord_port, g->coord_id);
            cg_wake(c);
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (fr)
        strand__find_coordinator_response__free_unpacked(fr, NULL);
    free(ctx);
}

static st_req_t *find_request(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    cg_ctx_t *ctx = ctx_new(c, cg_next_seq(g));
    if (!ctx)
        return NULL;
    Strand__FindCoordinatorRequest fr = STRAND__FIND_COORDINATOR_REQUEST__INIT;
    fr.key = g->group_id;
    fr.key_type = 0;
    st_req_t *req = st_req_new(&c->cl, STRAND__API_KEY__FIND_COORDINATOR, &fr.base, 0,
                               ST_BROKER_ANY, -1, find_cb, ctx);
    if (!req) {
        free(ctx);
        return NULL;
    }
    g->find_req = ctx->seq;
    return req;
}

/* ---- JoinGroup ------------------------------------------------------------------------------ */

static void sync_send_later(strand_consumer_t *c, st_req_t **reqs);

/* Lock held: the JoinGroupRequestProtocol metadata (a ConsumerProtocolSubscription v1) for one
 * assignor. */
static int subscription_bytes(const st_cgroup_t *g, st_assignor_t assignor, st_buf_t *out)
{
    st_buf_t ud = { 0 };
    bool ud_null = true;
    char why[256];
    int r = st_assignor_user_data(assignor, g->last_generation >= 0 ? &g->last : NULL,
                                  g->last_generation, &ud, &ud_null, why, sizeof(why));
    if (r < 0) {
        st_buf_free(&ud);
        return r;
    }
    st_cp_subscription_t sub = {
        .topics = g->sub_topics,
        .topic_cnt = g->n_sub_topics,
        .user_data = ud_null ? ST_CP_BYTES_NULL : (st_cp_bytes_t){ ud.data, (int32_t)ud.len },
        /* Eager members hold nothing when they join; cooperative ones say what they keep. */
        .owned = g->cooperative ? g->owned : (st_tp_list_t){ 0 },
        .generation_id = ST_CP_DEFAULT_GENERATION,
    };
    r = st_cp_subscription_encode(&sub, 1, out, why, sizeof(why));
    st_buf_free(&ud);
    if (r < 0)
        ST_DEBUG("consumer group %s: cannot encode the subscription: %s", g->group_id, why);
    return r;
}

static void join_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    cg_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__JoinGroupResponse *jr =
        UNPACK(Strand__JoinGroupResponse, strand__join_group_response__unpack, resp, err, errstr);
    if (!err && !jr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable JoinGroup response";
    }
    if (!err && jr->error_code) {
        err = jr->error_code;
        errstr = jr->error_message && *jr->error_message ? jr->error_message : st_error_desc(err);
    }
    int64_t now = st_client_now_ms();
    st_req_t *reqs = NULL;
    char **want = NULL;
    size_t n_want = 0;
    pthread_mutex_lock(&c->lock);
    if (ctx->seq != g->join_req || g->fatal || err == ST_ERR_DESTROYED)
        goto out;   /* an answer nobody waits for any more */
    g->join_req = 0;
    g->state = CG_UNJOINED;
    switch (err) {
    case ST_ERR_NONE: {
        st_assignor_t assignor;
        if (!jr->protocol_name || st_assignor_parse(jr->protocol_name, &assignor) < 0) {
            cg_fatal(c, ST_ERR_INCONSISTENT_GROUP_PROTOCOL, "the coordinator chose assignor '%s', "
                     "which this consumer did not offer", jr->protocol_name ? jr->protocol_name : "");
            break;
        }
        cg_set_str(&g->member_id, jr->member_id);
        g->generation = jr->generation_id;
        cg_set_str(&g->protocol, jr->protocol_name);
        cg_set_str(&g->leader_id, jr->leader);
        g->state = CG_COMPLETING_REBALANCE;
        g->joined_sub_version = ctx->sub_version;
        g->next_hb_at = now;
        char key[64];
        snprintf(key, sizeof(key), "joined %d", g->generation);
        CG_LOG(c, STRAND_LOG_INFO, key, "Successfully joined group with generation "
               "Generation{generationId=%d, memberId='%s', protocol='%s'}%s", g->generation,
               g->member_id, g->protocol,
               strcmp(g->member_id, g->leader_id) == 0 ? " as the leader" : "");
        if (strcmp(g->member_id, g->leader_id) == 0 && jr->n_members > 0) {
            /* The leader: decode every subscription; the assignor runs in st_cgroup_tick once
             * the metadata of every subscribed topic is there. */
            struct cg_lead *lead = calloc(1, sizeof(*lead));
            if (lead)
                lead->m = calloc(jr->n_members, sizeof(*lead->m));
            if (!lead || !lead->m) {
                lead_free(lead);
                g->state = CG_UNJOINED;
                g->rejoin_needed = true;
                g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
                break;
            }
            lead->assignor = assignor;
            lead->generation = jr->generation_id;
            for (size_t i = 0; i < jr->n_members; i++) {
                const Strand__JoinGroupResponseMember *jm = jr->members[i];
                cg_lead_member_t *m = &lead->m[lead->n++];
                m->member_id = strdup(jm->member_id ? jm->member_id : "");
                m->instance_id = jm->group_instance_id && *jm->group_instance_id
                                     ? strdup(jm->group_instance_id) : NULL;
                char why[256];
                if (st_cp_subscription_decode(jm->metadata.data, jm->metadata.len, &m->sub, why,
                                              sizeof(why)) < 0) {
                    memset(&m->sub, 0, sizeof(m->sub));
                    ST_DEBUG("consumer group %s: member %s sent an undecodable subscription "
                             "(%s): it gets no partitions", g->group_id, m->member_id, why);
                }
                for (size_t t = 0; t < m->sub.topic_cnt; t++) {
                    char **grown = realloc(lead->topics, (lead->n_topics + 1) * sizeof(*grown));
                    if (grown) {
                        lead->topics = grown;
                        if ((lead->topics[lead->n_topics] = strdup(m->sub.topics[t])))
                            lead->n_topics++;
                    }
                }
            }
            if (lead->n_topics) {
                qsort(lead->topics, lead->n_topics, sizeof(char *), cg_str_cmp);
                size_t w = 1;
                for (size_t i = 1; i < lead->n_topics; i++) {
                    if (strcmp(lead->topics[i], lead->topics[w - 1]) == 0)
                        free(lead->topics[i]);
                    else
                        lead->topics[w++] = lead->topics[i];
                }
                lead->n_topics = w;
            }
            /* Topics missing from the metadata cache are asked for (after unlocking). */
            pthread_mutex_lock(&cl->lock);
            g->assign_md_version = cl->md_version;
            for (size_t i = 0; i < lead->n_topics; i++) {
                const st_md_topic_t *t = st_client_md_topic_locked(cl, lead->topics[i]);
                if (!t || t->error || !t->n_parts) {
                    char **grown = realloc(want, (n_want + 1) * sizeof(*grown));
                    if (grown) {
                        want = grown;
                        want[n_want++] = lead->topics[i];
                    }
                }
            }
            pthread_mutex_unlock(&cl->lock);
            g->lead = lead;
            g->assign_pending = true;
            g->assign_deadline = now + c->cl.conf.request_timeout_ms;
        } else {
            sync_send_later(c, &reqs);
        }
        break;
    }
    case ST_ERR_MEMBER_ID_REQUIRED:
        /* KIP-394: join again at once with the member id the coordinator gave. */
        cg_set_str(&g->member_id, jr->member_id);
        g->rejoin_needed = true;
        break;
    case ST_ERR_UNKNOWN_MEMBER_ID:
        cg_reset_generation(c, true, "JoinGroup: UNKNOWN_MEMBER_ID");
        break;
    case ST_ERR_ILLEGAL_GENERATION:
        cg_reset_generation(c, false, "JoinGroup: ILLEGAL_GENERATION");
        break;
    case ST_ERR_FENCED_INSTANCE_ID:
        cg_fatal(c, err, "JoinGroup: group.instance.id %s was fenced: another consumer with the "
                 "same group.instance.id joined the group %s", g->instance_id ? g->instance_id : "",
                 g->group_id);
        break;
    case ST_ERR_REBALANCE_IN_PROGRESS:
        g->rejoin_needed = true;
        break;
    case ST_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        g->rejoin_needed = true;
        g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
        break;
    default:
        if (is_fatal_join_error(err)) {
            cg_fatal(c, err, "JoinGroup for group %s: %s: %s", g->group_id, st_error_name(err),
                     errstr);
        } else {
            g->rejoin_needed = true;
            g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
            if (is_coordinator_error(err))
                cg_coordinator_lost(c, errstr);
            char key[64];
            snprintf(key, sizeof(key), "join failed %d", err);
            CG_LOG(c, STRAND_LOG_WARN, key, "JoinGroup failed: %s (%s); retrying",
                   st_error_name(err), errstr);
        }
        break;
    }
    assert(cg_check(g));
out:
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n_want; i++)
        st_client_md_want(cl, want[i]);
    free(want);
    while (reqs) {
        st_req_t *r = reqs;
        reqs = r->next;
        r->next = NULL;
        st_client_send(cl, r);
    }
    if (jr)
        strand__join_group_response__free_unpacked(jr, NULL);
    free(ctx);
}

/* Lock held: a JoinGroup now (see st_consumer_group.h for when). */
static st_req_t *join_request(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    Strand__JoinGroupRequestProtocol protos[ST_ASSIGNOR_COUNT];
    Strand__JoinGroupRequestProtocol *pp[ST_ASSIGNOR_COUNT];
    st_buf_t md[ST_ASSIGNOR_COUNT];
    memset(md, 0, sizeof(md));
    st_req_t *req = NULL;
    cg_ctx_t *ctx = ctx_new(c, cg_next_seq(g));
    bool ok = ctx != NULL;
    for (size_t i = 0; ok && i < g->n_assignors; i++) {
        strand__join_group_request_protocol__init(&protos[i]);
        protos[i].name = (char *)st_assignor_name(g->assignors[i]);
        ok = subscription_bytes(g, g->assignors[i], &md[i]) == 0;
        protos[i].metadata.data = md[i].data;
        protos[i].metadata.len = md[i].len;
        pp[i] = &protos[i];
    }
    if (ok) {
        Strand__JoinGroupRequest jr = STRAND__JOIN_GROUP_REQUEST__INIT;
        jr.group_id = g->group_id;
        jr.session_timeout_ms = g->session_timeout_ms;
        jr.rebalance_timeout_ms = g->rebalance_timeout_ms;
        jr.member_id = g->member_id;
        jr.group_instance_id = g->instance_id ? g->instance_id : "";
        jr.protocol_type = ST_CP_PROTOCOL_TYPE;
        jr.n_protocols = g->n_assignors;
        jr.protocols = pp;
        jr.reason = g->generation < 0 ? "joining the group" : "rebalance";
        int64_t timeout = (int64_t)g->rebalance_timeout_ms + JOIN_TIMEOUT_EXTRA_MS;
        if (timeout < c->cl.conf.request_timeout_ms)
            timeout = c->cl.conf.request_timeout_ms;
        if (timeout > INT32_MAX)
            timeout = INT32_MAX;
        ctx->sub_version = g->sub_version;
        req = st_req_new(&c->cl, STRAND__API_KEY__JOIN_GROUP, &jr.base, 0,
                         CG_NODE_JOIN(g->coord_id), (int)timeout, join_cb, ctx);
    }
    for (size_t i = 0; i < g->n_assignors; i++)
        st_buf_free(&md[i]);
    if (!req) {
        free(ctx);
        g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
        return NULL;
    }
    g->join_req = ctx->seq;
    g->state = CG_PREPARING_REBALANCE;
    g->rejoin_needed = false;
    assert(cg_check(g));
    return req;
}

/* ---- SyncGroup ------------------------------------------------------------------------------ */

static void sync_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    cg_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__SyncGroupResponse *sr =
        UNPACK(Strand__SyncGroupResponse, strand__sync_group_response__unpack, resp, err, errstr);
    if (!err && !sr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable SyncGroup response";
    }
    if (!err && sr->error_code) {
        err = sr->error_code;
        errstr = sr->error_message && *sr->error_message ? sr->error_message : st_error_desc(err);
    }
    int64_t now = st_client_now_ms();
    pthread_mutex_lock(&c->lock);
    if (ctx->seq != g->sync_req || g->fatal || err == ST_ERR_DESTROYED)
        goto out;
    g->sync_req = 0;
    g->state = CG_UNJOINED;
    switch (err) {
    case ST_ERR_NONE: {
        st_cp_assignment_t asg = { 0 };
        char why[256];
        if (sr->assignment.len > 0 &&
            st_cp_assignment_decode(sr->assignment.data, sr->assignment.len, &asg, why,
                                    sizeof(why)) < 0) {
            ST_DEBUG("consumer group %s: undecodable assignment (%s): rejoining", g->group_id, why);
            g->rejoin_needed = true;
            g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
            break;
        }
        st_tp_list_free(&g->pending);
        g->pending = asg.partitions;
        asg.partitions = (st_tp_list_t){ 0 };
        st_cp_assignment_free(&asg);
        tp_list_normalize(&g->pending);
        g->pending_generation = ctx->generation;
        g->assignment_ready = true;
        g->state = CG_STABLE;
        g->next_hb_at = now;
        char key[64];
        snprintf(key, sizeof(key), "synced %d", g->generation);
        CG_LOG(c, STRAND_LOG_INFO, key, "Successfully synced group in generation "
               "Generation{generationId=%d, memberId='%s', protocol='%s'}: %zu partition(s)",
               g->generation, g->member_id, g->protocol ? g->protocol : "", g->pending.n);
        cg_wake(c);
        break;
    }
    case ST_ERR_REBALANCE_IN_PROGRESS:
        g->rejoin_needed = true;
        break;
    case ST_ERR_UNKNOWN_MEMBER_ID:
        cg_reset_generation(c, true, "SyncGroup: UNKNOWN_MEMBER_ID");
        break;
    case ST_ERR_ILLEGAL_GENERATION:
        cg_reset_generation(c, false, "SyncGroup: ILLEGAL_GENERATION");
        break;
    case ST_ERR_FENCED_INSTANCE_ID:
        cg_fatal(c, err, "SyncGroup: group.instance.id %s was fenced: another consumer with the "
                 "same group.instance.id joined the group %s", g->instance_id ? g->instance_id : "",
                 g->group_id);
        break;
    default:
        if (err == ST_ERR_INCONSISTENT_GROUP_PROTOCOL || err == ST_ERR_GROUP_AUTHORIZATION_FAILED) {
            cg_fatal(c, err, "SyncGroup for group %s: %s: %s", g->group_id, st_error_name(err),
                     errstr);
            break;
        }
        g->rejoin_needed = true;
        g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
        if (is_coordinator_error(err))
            cg_coordinator_lost(c, errstr);
        char key[64];
        snprintf(key, sizeof(key), "sync failed %d", err);
        CG_LOG(c, STRAND_LOG_WARN, key, "SyncGroup failed: %s (%s); rejoining",
               st_error_name(err), errstr);
        break;
    }
    assert(cg_check(g));
out:
    pthread_mutex_unlock(&c->lock);
    if (sr)
        strand__sync_group_response__free_unpacked(sr, NULL);
    free(ctx);
}

/* Lock held: a SyncGroup with these assignments (the leader's) or none. */
static st_req_t *sync_request(strand_consumer_t *c, Strand__SyncGroupRequestAssignment **asg,
                              size_t n)
{
    st_cgroup_t *g = c->grp;
    cg_ctx_t *ctx = ctx_new(c, cg_next_seq(g));
    if (!ctx)
        return NULL;
    ctx->generation = g->generation;
    Strand__SyncGroupRequest sr = STRAND__SYNC_GROUP_REQUEST__INIT;
    sr.group_id = g->group_id;
    sr.generation_id = g->generation;
    sr.member_id = g->member_id;
    sr.group_instance_id = g->instance_id ? g->instance_id : "";
    sr.protocol_type = ST_CP_PROTOCOL_TYPE;
    sr.protocol_name = g->protocol ? g->protocol : "";
    sr.n_assignments = n;
    sr.assignments = asg;
    int64_t timeout = (int64_t)g->rebalance_timeout_ms + JOIN_TIMEOUT_EXTRA_MS;
    if (timeout < c->cl.conf.request_timeout_ms)
        timeout = c->cl.conf.request_timeout_ms;
    if (timeout > INT32_MAX)
        timeout = INT32_MAX;
    st_req_t *req = st_req_new(&c->cl, STRAND__API_KEY__SYNC_GROUP, &sr.base, 0,
                               CG_NODE_JOIN(g->coord_id), (int)timeout, sync_cb, ctx);
    if (!req) {
        free(ctx);
        return NULL;
    }
    g->sync_req = ctx->seq;
    return req;
}

/* Lock held: a follower's SyncGroup onto *reqs (or a retry of the join if it cannot be built). */
static void sync_send_later(strand_consumer_t *c, st_req_t **reqs)
{
    st_cgroup_t *g = c->grp;
    st_req_t *req = sync_request(c, NULL, 0);
    if (!req) {
        g->state = CG_UNJOINED;
        g->rejoin_needed = true;
        g->join_retry_at = st_client_now_ms() + c->cl.conf.retry_backoff_ms;
        return;
    }
    req->next = *reqs;
    *reqs = req;
}

/* Lock held (and cl->lock taken inside): the leader runs the assignor once metadata allows, and
 * returns the SyncGroup carrying every member's assignment (NULL: not yet, or failed). */
static st_req_t *run_assignment(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    struct cg_lead *lead = g->lead;
    st_client_t *cl = &c->cl;
    st_assign_topic_t *topics = calloc(lead->n_topics + 1, sizeof(*topics));
    if (!topics)
        return NULL;
    bool ready = true;
    pthread_mutex_lock(&cl->lock);
    for (size_t i = 0; i < lead->n_topics; i++) {
        const st_md_topic_t *t = st_client_md_topic_locked(cl, lead->topics[i]);
        bool known = t && t->error == 0 && t->n_parts > 0;
        if (!known && !(t && t->version > g->assign_md_version))
            ready = false;
        topics[i].name = lead->topics[i];
        topics[i].partitions = known ? (int32_t)t->n_parts : 0;
    }
    pthread_mutex_unlock(&cl->lock);
    if (!ready && now < g->assign_deadline) {
        free(topics);
        return NULL;
    }
    size_t n_members = lead->n;   /* lead is freed on success, before the clean-up below */
    st_assign_member_t *members = calloc(lead->n + 1, sizeof(*members));
    st_assign_result_t res = { 0 };
    char why[400] = "";
    int r = members ? 0 : -ENOMEM;
    for (size_t i = 0; i < lead->n && r == 0; i++) {
        cg_lead_member_t *m = &lead->m[i];
        members[i].member_id = m->member_id;
        members[i].group_instance_id = m->instance_id;
        members[i].topics = (const char *const *)m->sub.topics;
        members[i].topic_cnt = m->sub.topic_cnt;
        r = st_assignor_member_data(lead->assignor, &m->sub, &members[i].owned,
                                    &members[i].generation);
    }
    if (r == 0)
        r = st_assign(lead->assignor, members, lead->n, topics, lead->n_topics, &res, why,
                      sizeof(why));
    if (r == 0 && st_assignor_is_cooperative(lead->assignor) &&
        st_assign_check_cooperative(members, lead->n, &res, why, sizeof(why)) < 0)
        ST_DEBUG("consumer group %s: assignment breaks the cooperative rule: %s", g->group_id, why);
    st_req_t *req = NULL;
    Strand__SyncGroupRequestAssignment *sa = calloc(lead->n + 1, sizeof(*sa));
    Strand__SyncGroupRequestAssignment **sap = calloc(lead->n + 1, sizeof(*sap));
    st_buf_t *bufs = calloc(lead->n + 1, sizeof(*bufs));
    if (r == 0 && sa && sap && bufs) {
        for (size_t i = 0; i < lead->n && r == 0; i++) {
            st_cp_assignment_t asg = { .partitions = res.assigned[i],
                                       .user_data = ST_CP_BYTES_NULL };
            r = st_cp_assignment_encode(&asg, 1, &bufs[i], why, sizeof(why));
            strand__sync_group_request_assignment__init(&sa[i]);
            sa[i].member_id = lead->m[i].member_id;
            sa[i].assignment.data = bufs[i].data;
            sa[i].assignment.len = bufs[i].len;
            sap[i] = &sa[i];
        }
        if (r == 0)
            req = sync_request(c, sap, lead->n);
    }
    if (r != 0) {
        /* Only invalid member data gets here (duplicate ids from a broken coordinator): it
         * cannot get better by retrying. */
        cg_fatal(c, ST_ERR_INCONSISTENT_GROUP_PROTOCOL, "the %s assignor failed for group %s: %s",
                 st_assignor_name(lead->assignor), g->group_id, why[0] ? why : strerror(-r));
    } else if (req) {
        ST_DEBUG("consumer group %s: leader assigned %zu topic(s) to %zu member(s) with %s",
                 g->group_id, lead->n_topics, lead->n, st_assignor_name(lead->assignor));
        /* What this assignment was computed from: a change makes the leader rebalance. */
        cg_snap_free(g);
        g->snap_topics = calloc(lead->n_topics + 1, sizeof(char *));
        g->snap_counts = calloc(lead->n_topics + 1, sizeof(int32_t));
        if (g->snap_topics && g->snap_counts) {
            for (size_t i = 0; i < lead->n_topics; i++) {
                g->snap_topics[i] = lead->topics[i];
                lead->topics[i] = NULL;
                g->snap_counts[i] = topics[i].partitions;
            }
            g->n_snap = lead->n_topics;
        }
        g->assign_pending = false;
        lead_free(g->lead);
        g->lead = NULL;
    } else {
        /* Out of memory: the join starts over. */
        cg_drop_rebalance(g);
        g->state = CG_UNJOINED;
        g->rejoin_needed = true;
        g->join_retry_at = now + c->cl.conf.retry_backoff_ms;
    }
    for (size_t i = 0; members && i < n_members; i++)
        st_tp_list_free(&members[i].owned);
    for (size_t i = 0; bufs && i < n_members; i++)
        st_buf_free(&bufs[i]);
    st_assign_result_free(&res);
    free(bufs);
    free(sa);
    free(sap);
    free(members);
    free(topics);
    assert(cg_check(g));
    return req;
}

/* ---- Heartbeat ------------------------------------------------------------------------------ */

static void hb_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    cg_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__HeartbeatResponse *hr =
        UNPACK(Strand__HeartbeatResponse, strand__heartbeat_response__unpack, resp, err, errstr);
    if (!err && !hr) {
        err = ST_ERR_BAD_RESPONSE;
        errstr = "undecodable Heartbeat response";
    }
    if (!err && hr->error_code) {
        err = hr->error_code;
        errstr = hr->error_message && *hr->error_message ? hr->error_message : st_error_desc(err);
    }
    int64_t now = st_client_now_ms();
    pthread_mutex_lock(&c->lock);
    if (ctx->seq != g->hb_req || g->fatal || err == ST_ERR_DESTROYED)
        goto out;
    g->hb_req = 0;
    /* Held heartbeats go back at once; an immediate answer waits heartbeat.interval.ms. */
    g->next_hb_at = ctx->sent_ms + g->heartbeat_interval_ms;
    if (ctx->generation != g->generation && err != ST_ERR_FENCED_INSTANCE_ID)
        goto out;   /* about a generation this member has already left */
    switch (err) {
    case ST_ERR_NONE:
        break;
    case ST_ERR_REBALANCE_IN_PROGRESS:
        if (g->state == CG_STABLE && !g->rejoin_needed) {
            char key[64];
            snprintf(key, sizeof(key), "hb rebalance %d", g->generation);
            CG_LOG(c, STRAND_LOG_INFO, key, "Attempt to heartbeat failed since group is "
                   "rebalancing");
            g->rejoin_needed = true;
            cg_wake(c);
        }
        g->next_hb_at = now + g->heartbeat_interval_ms;
        break;
    case ST_ERR_ILLEGAL_GENERATION:
        cg_reset_generation(c, false, "Heartbeat: ILLEGAL_GENERATION");
        break;
    case ST_ERR_UNKNOWN_MEMBER_ID:
        cg_reset_generation(c, true, "Heartbeat: UNKNOWN_MEMBER_ID");
        break;
    case ST_ERR_FENCED_INSTANCE_ID:
        cg_fatal(c, err, "Heartbeat: group.instance.id %s was fenced: another consumer with the "
                 "same group.instance.id joined the group %s", g->instance_id ? g->instance_id : "",
                 g->group_id);
        break;
    case ST_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        g->next_hb_at = now + c->cl.conf.retry_backoff_ms;
        break;
    default:
        if (is_coordinator_error(err))
            cg_coordinator_lost(c, errstr);
        else
            ST_DEBUG("consumer group %s: Heartbeat failed: %s (%s)", g->group_id,
                     st_error_name(err), errstr);
        g->next_hb_at = now + c->cl.conf.retry_backoff_ms;
        break;
    }
    assert(cg_check(g));
out:
    pthread_mutex_unlock(&c->lock);
    if (hr)
        strand__heartbeat_response__free_unpacked(hr, NULL);
    free(ctx);
}

static st_req_t *hb_request(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    cg_ctx_t *ctx = ctx_new(c, cg_next_seq(g));
    if (!ctx)
        return NULL;
    ctx->generation = g->generation;
    /* Held (a Strand extension): the coordinator answers the moment a rebalance starts. Not
     * while a rejoin is already known to be needed: the answer would be immediate anyway. */
    ctx->max_wait_ms = g->rejoin_needed ? 0 : g->heartbeat_interval_ms;
    Strand__HeartbeatRequest hr = STRAND__HEARTBEAT_REQUEST__INIT;
    hr.group_id = g->group_id;
    hr.generation_id = g->generation;
    hr.member_id = g->member_id;
    hr.group_instance_id = g->instance_id ? g->instance_id : "";
    hr.max_wait_ms = ctx->max_wait_ms;
    st_req_t *req = st_req_new(&c->cl, STRAND__API_KEY__HEARTBEAT, &hr.base, 0,
                               CG_NODE_HB(g->coord_id),
                               ctx->max_wait_ms + c->cl.conf.request_timeout_ms, hb_cb, ctx);
    if (!req) {
        free(ctx);
        return NULL;
    }
    g->hb_req = ctx->seq;
    return req;
}

/* ---- LeaveGroup ----------------------------------------------------------------------------- */

static void leave_cb(st_client_t *cl, st_req_t *req, int err, const char *errstr, st_rframe_t *resp)
{
    (void)cl;
    cg_ctx_t *ctx = req->arg;
    strand_consumer_t *c = ctx->c;
    st_cgroup_t *g = c->grp;
    Strand__LeaveGroupResponse *lr =
        UNPACK(Strand__LeaveGroupResponse, strand__leave_group_response__unpack, resp, err, errstr);
    if (!err && !lr)
        err = ST_ERR_BAD_RESPONSE;
    if (!err && lr->error_code)
        err = lr->error_code;
    pthread_mutex_lock(&c->lock);
    if (ctx->seq == g->leave_req) {
        g->leave_req = 0;
        if (is_coordinator_error(err) || err == ST_ERR_COORDINATOR_LOAD_IN_PROGRESS) {
            if (err != ST_ERR_COORDINATOR_LOAD_IN_PROGRESS)
                cg_coordinator_lost(c, errstr ? errstr : st_error_desc(err));
            g->leave_retry_at = st_client_now_ms() + c->cl.conf.retry_backoff_ms;
        } else {
            ST_DEBUG("consumer group %s: member %s left (%s): %s", g->group_id, g->leave_member,
                     g->leave_reason, err ? st_error_name(err) : "ok");
            free(g->leave_member);
            g->leave_member = NULL;
            pthread_cond_broadcast(&c->cond);
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (lr)
        strand__leave_group_response__free_unpacked(lr, NULL);
    free(ctx);
}

static st_req_t *leave_request(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    cg_ctx_t *ctx = ctx_new(c, cg_next_seq(g));
    if (!ctx)
        return NULL;
    Strand__MemberIdentity mi = STRAND__MEMBER_IDENTITY__INIT;
    mi.member_id = g->leave_member;
    mi.group_instance_id = "";
    mi.reason = (char *)g->leave_reason;
    Strand__MemberIdentity *mip = &mi;
    Strand__LeaveGroupRequest lr = STRAND__LEAVE_GROUP_REQUEST__INIT;
    lr.group_id = g->group_id;
    lr.n_members = 1;
    lr.members = &mip;
    st_req_t *req = st_req_new(&c->cl, STRAND__API_KEY__LEAVE_GROUP, &lr.base, 0,
                               CG_NODE_AUX(g->coord_id), -1, leave_cb, ctx);
    if (!req) {
        free(ctx);
        return NULL;
    }
    g->leave_req = ctx->seq;
    return req;
}

/* ---- the I/O thread's tick ------------------------------------------------------------------ */

/* Lock held: max.poll.interval.ms passed without a poll: leave the group (Kafka's heartbeat
 * thread does the same); the next poll reports the partitions LOST and rejoins. */
static void poll_expired(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    CG_LOG(c, STRAND_LOG_WARN, "poll timeout", "consumer poll timeout has expired. This means the "
           "time between subsequent calls to poll() was longer than the configured "
           "max.poll.interval.ms (%d; %" PRId64 " ms passed), which typically implies that the "
           "poll loop is spending too much time processing messages. You can address this either "
           "by increasing max.poll.interval.ms or by reducing the maximum size of batches returned "
           "in poll() with max.poll.records. Member %s leaves the group.", g->rebalance_timeout_ms,
           now - g->last_poll_ms, g->member_id);
    cg_queue_leave(c, "consumer poll timeout has expired", now + CG_LEAVE_TIMEOUT_MS);
    g->poll_expired = true;
    cg_reset_generation(c, true, "max.poll.interval.ms expired");
}

static bool need_coordinator(const strand_consumer_t *c)
{
    const st_cgroup_t *g = c->grp;
    return (c->mode == CM_SUBSCRIBED && (g->rejoin_needed || g->state != CG_UNJOINED)) ||
           g->leave_member || cg_offsets_need_coordinator(c);
}

void st_cgroup_tick(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    st_req_t *reqs = NULL;
    int32_t coord = -1;
    char host[256];
    int port = 0;
    pthread_mutex_lock(&c->lock);
    if (g->fatal) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (c->mode == CM_SUBSCRIBED && !g->poll_expired && g->member_id[0] &&
        now - g->last_poll_ms > g->rebalance_timeout_ms)
        poll_expired(c, now);
    if (g->leave_member && now >= g->leave_deadline) {
        free(g->leave_member);   /* give up: the session timeout removes it */
        g->leave_member = NULL;
        pthread_cond_broadcast(&c->cond);
    }
    if (g->coord_id < 0 && need_coordinator(c) && !g->find_req && now >= g->find_retry_at) {
        st_req_t *req = find_request(c);
        if (req) {
            req->next = reqs;
            reqs = req;
        }
    }
    if (g->coord_id >= 0) {
        coord = g->coord_id;
        snprintf(host, sizeof(host), "%s", g->coord_host);
        port = g->coord_port;
        st_req_t *req = NULL;
        if (g->leave_member && !g->leave_req && now >= g->leave_retry_at)
            req = leave_request(c);
        if (!req && g->assign_pending)
            req = run_assignment(c, now);
        if (!req && c->mode == CM_SUBSCRIBED && g->rejoin_needed && !g->join_req &&
            !g->sync_req && !g->assign_pending && !g->assignment_ready && !g->app_busy &&
            !g->poll_expired && !g->leave_member && now >= g->join_retry_at &&
            !cg_needs_app_prepare(c))
            req = join_request(c, now);
        if (req) {
            req->next = reqs;
            reqs = req;
        }
        if ((g->state == CG_STABLE || g->state == CG_COMPLETING_REBALANCE) && !g->hb_req &&
            now >= g->next_hb_at && (req = hb_request(c))) {
            req->next = reqs;
            reqs = req;
        }
        cg_offsets_tick(c, now, &reqs);
    }
    pthread_mutex_unlock(&c->lock);
    if (coord >= 0) {
        st_client_broker_dedicated(&c->cl, CG_NODE_JOIN(coord), host, port);
        st_client_broker_dedicated(&c->cl, CG_NODE_HB(coord), host, port);
        st_client_broker_dedicated(&c->cl, CG_NODE_AUX(coord), host, port);
    }
    /* Sent without c->lock: a send may fail (and call back) synchronously. */
    while (reqs) {
        st_req_t *req = reqs;
        reqs = req->next;
        req->next = NULL;
        st_client_send(&c->cl, req);
    }
}

int64_t st_cgroup_next_wakeup(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    int64_t next = INT64_MAX;
#define AT(t) do { int64_t t_ = (t); if (t_ > now && t_ < next) next = t_; } while (0)
    pthread_mutex_lock(&c->lock);
    if (!g->fatal) {
        if (g->coord_id < 0 && !g->find_req)
            AT(g->find_retry_at);
        if (g->rejoin_needed)
            AT(g->join_retry_at);
        if ((g->state == CG_STABLE || g->state == CG_COMPLETING_REBALANCE) && !g->hb_req)
            AT(g->next_hb_at);
        if (g->assign_pending)
            AT(g->assign_deadline);
        if (c->mode == CM_SUBSCRIBED && g->member_id[0])
            AT(g->last_poll_ms + g->rebalance_timeout_ms + 1);
        if (g->leave_member)
            AT(g->leave_retry_at);
        AT(cg_offsets_next_wakeup(c, now));
    }
    pthread_mutex_unlock(&c->lock);
#undef AT
    return next;
}

/* ---- metadata: pattern subscriptions and the leader's snapshot ------------------------------ */

/* Lock held, cl->lock held: the topics of the latest metadata matching the pattern, sorted. */
int cg_match_pattern(strand_consumer_t *c, char ***ret, size_t *ret_n)
{
    st_cgroup_t *g = c->grp;
    st_client_t *cl = &c->cl;
    char **v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < cl->n_topics; i++) {
        const st_md_topic_t *t = &cl->topics[i];
        if (t->version != cl->md_version || t->error == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            continue;
        if (g->exclude_internal && (t->internal || strcmp(t->name, "__consumer_offsets") == 0))
            continue;
        if (regexec(&g->sub_re, t->name, 0, NULL, 0) != 0)
            continue;
        char **grown = realloc(v, (n + 1) * sizeof(*grown));
        if (!grown) {
            cg_strv_free(v, n);
            return -ENOMEM;
        }
        v = grown;
        if (!(v[n] = strdup(t->name))) {
            cg_strv_free(v, n);
            return -ENOMEM;
        }
        n++;
    }
    if (n)
        qsort(v, n, sizeof(char *), cg_str_cmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

bool cg_strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

void st_cgroup_on_metadata(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    st_client_t *cl = &c->cl;
    pthread_mutex_lock(&c->lock);
    pthread_mutex_lock(&cl->lock);
    if (c->mode == CM_SUBSCRIBED && g->sub_mode == CG_SUB_PATTERN && g->sub_re_live) {
        char **v = NULL;
        size_t n = 0;
        if (cg_match_pattern(c, &v, &n) == 0) {
            if (!cg_strv_equal(v, n, g->sub_topics, g->n_sub_topics)) {
                ST_DEBUG("consumer group %s: the pattern now matches %zu topic(s)", g->group_id, n);
                cg_strv_free(g->sub_topics, g->n_sub_topics);
                g->sub_topics = v;
                g->n_sub_topics = n;
                g->sub_version++;
                g->rejoin_needed = true;
                cg_wake(c);
            } else {
                cg_strv_free(v, n);
            }
        }
    }
    /* The leader rebalances when a subscribed topic's partition count changed (Kafka's
     * metadataSnapshot check): added partitions, a topic created or deleted. */
    bool is_leader = g->leader_id && strcmp(g->leader_id, g->member_id) == 0;
    if (c->mode == CM_SUBSCRIBED && is_leader && g->state == CG_STABLE && !g->rejoin_needed) {
        for (size_t i = 0; i < g->n_snap; i++) {
            const st_md_topic_t *t = st_client_md_topic_locked(cl, g->snap_topics[i]);
            if (!t || (t->error && t->error != ST_ERR_UNKNOWN_TOPIC_OR_PARTITION))
                continue;   /* unknown or in transition: wait for a clean answer */
            int32_t now_count = t->error ? 0 : (int32_t)t->n_parts;
            if (now_count != g->snap_counts[i]) {
                ST_DEBUG("consumer group %s: topic %s has %d partition(s), the assignment used %d: "
                         "rebalancing", g->group_id, g->snap_topics[i], now_count,
                         g->snap_counts[i]);
                g->rejoin_needed = true;
                cg_wake(c);
                break;
            }
        }
    }
    pthread_mutex_unlock(&cl->lock);
    pthread_mutex_unlock(&c->lock);
}

