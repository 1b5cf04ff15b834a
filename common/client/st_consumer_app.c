/* Consumer group membership, the application thread's half: applying an assignment (rebalance
 * callbacks, new partitions starting at their committed offsets, the cooperative revocation and
 * second join), handing partitions back before a join (commit, REVOKED or LOST), the step poll()
 * runs (st_cgroup_app_step), and the public calls that run on the application thread: subscribe,
 * subscribe_pattern, unsubscribe, close, assignment, group_info, fatal_error. The states, the
 * split between the threads and the invariants are in st_consumer_group.h; the I/O thread's half
 * (every request) is st_consumer_group.c. */
#include "st_consumer_group.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_logger.h"

/* ---- the application thread's half ---------------------------------------------------------- */

/* "t-0, t-1, ..." into buf (truncated with "..."). */
static const char *tp_text(const st_tp_list_t *list, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < list->n && used + 16 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s-%d", i ? ", " : "",
                                 list->v[i].topic, list->v[i].partition);
    if (used + 16 >= len && len > 4)
        snprintf(buf + len - 4, 4, "...");
    return buf;
}

/* App thread, no lock: runs the rebalance callback with the partitions of list. */
static void cg_callback(strand_consumer_t *c, strand_rebalance_event_t ev, const st_tp_list_t *list)
{
    char text[600], key[64];
    snprintf(key, sizeof(key), "callback %d %" PRId64, (int)ev, c->grp->rebalances);
    if (list->n || ev == STRAND_REBALANCE_ASSIGNED)
        CG_LOG(c, STRAND_LOG_INFO, key, "%s: %s",
               ev == STRAND_REBALANCE_ASSIGNED ? "Adding newly assigned partitions"
               : ev == STRAND_REBALANCE_REVOKED ? "Revoke previously assigned partitions"
               : "Lost previously assigned partitions", tp_text(list, text, sizeof(text)));
    if (!c->rebalance_cb)
        return;
    strand_topic_partition_t *tps = calloc(list->n + 1, sizeof(*tps));
    if (!tps)
        return;
    for (size_t i = 0; i < list->n; i++)
        tps[i] = (strand_topic_partition_t){ list->v[i].topic, list->v[i].partition,
                                             STRAND_OFFSET_INVALID, 0 };
    c->in_callback = true;
    c->rebalance_cb(c, ev, tps, list->n, c->rebalance_opaque);
    c->in_callback = false;
    free(tps);
}

/* Lock held: drops the partitions of list from the consumer and from owned. */
static void drop_owned(strand_consumer_t *c, const st_tp_list_t *list)
{
    st_cgroup_t *g = c->grp;
    for (size_t i = 0; i < list->n; i++) {
        st_cpart_t *part = st_consumer_part_find(c, list->v[i].topic, list->v[i].partition);
        if (part && part->state != CP_REMOVED)
            st_consumer_part_remove(c, part);
    }
    st_tp_list_t keep = { 0 };
    if (cg_tp_minus(&g->owned, list, &keep) == 0) {
        st_tp_list_free(&g->owned);
        g->owned = keep;
    }
}

/* App thread: a new assignment (generation gen). */
static void apply_assignment(strand_consumer_t *c, st_tp_list_t *assigned, int32_t gen)
{
    st_cgroup_t *g = c->grp;
    st_tp_list_t revoked = { 0 }, added = { 0 };
    pthread_mutex_lock(&c->lock);
    cg_tp_minus(&g->owned, assigned, &revoked);
    cg_tp_minus(assigned, &g->owned, &added);
    pthread_mutex_unlock(&c->lock);
    if (revoked.n) {
        /* Cooperative: give up what was taken away, committing first. */
        if (g->auto_commit)
            cg_commit_positions_sync(c, &revoked, c->cl.conf.request_timeout_ms);
        cg_callback(c, STRAND_REBALANCE_REVOKED, &revoked);
    }
    pthread_mutex_lock(&c->lock);
    drop_owned(c, &revoked);
    for (size_t i = 0; i < added.n; i++) {
        st_cpart_t *part = st_consumer_part_get(c, added.v[i].topic, added.v[i].partition);
        if (part)
            st_consumer_part_position(c, part, STRAND_OFFSET_INVALID);   /* committed offset */
    }
    st_tp_list_free(&g->owned);
    g->owned = *assigned;
    cg_tp_copy(&g->last, assigned);
    *assigned = (st_tp_list_t){ 0 };
    g->last_generation = gen;
    g->rebalances++;
    if (revoked.n && g->cooperative)
        g->rejoin_needed = true;   /* KIP-429: the revoked partitions move in a second round */
    if (g->joined_sub_version != g->sub_version)
        g->rejoin_needed = true;   /* the subscription changed while joining */
    assert(cg_check(g));
    char **topics = NULL;
    size_t n_topics = 0;
    for (size_t i = 0; i < added.n; i++) {
        if (n_topics && strcmp(topics[n_topics - 1], added.v[i].topic) == 0)
            continue;
        char **grown = realloc(topics, (n_topics + 1) * sizeof(*grown));
        if (grown) {
            topics = grown;
            topics[n_topics++] = added.v[i].topic;
        }
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n_topics; i++)
        st_client_md_want(&c->cl, topics[i]);
    free(topics);
    st_client_wake(&c->cl);
    cg_callback(c, STRAND_REBALANCE_ASSIGNED, &added);
    st_tp_list_free(&revoked);
    st_tp_list_free(&added);
}

/* App thread: hands back what must go before the next JoinGroup (see cg_needs_app_prepare). */
static void prepare_join(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    st_tp_list_t give = { 0 };
    pthread_mutex_lock(&c->lock);
    bool lost = g->generation < 0;
    for (size_t i = 0; i < g->owned.n; i++)
        if (lost || !g->cooperative ||
            !cg_str_in(g->sub_topics, g->n_sub_topics, g->owned.v[i].topic))
            cg_tp_push(&give, g->owned.v[i].topic, g->owned.v[i].partition);
    pthread_mutex_unlock(&c->lock);
    if (lost) {
        cg_callback(c, STRAND_REBALANCE_LOST, &give);
    } else {
        if (g->auto_commit && give.n) {
            int timeout = g->rebalance_timeout_ms < 60000 ? g->rebalance_timeout_ms : 60000;
            cg_commit_positions_sync(c, &give, timeout);
        }
        cg_callback(c, STRAND_REBALANCE_REVOKED, &give);
    }
    pthread_mutex_lock(&c->lock);
    drop_owned(c, &give);
    assert(cg_check(g));
    pthread_mutex_unlock(&c->lock);
    st_tp_list_free(&give);
}

void st_cgroup_polled_locked(strand_consumer_t *c, int64_t now)
{
    st_cgroup_t *g = c->grp;
    g->last_poll_ms = now;
    if (g->poll_expired) {
        g->poll_expired = false;
        st_client_wake(&c->cl);
    }
}

bool st_cgroup_app_pending_locked(const strand_consumer_t *c, int64_t now)
{
    /* Auto commits wait for the next poll: positions do not move while poll waits. */
    int work = cg_app_work(c, now);
    return work != CG_WORK_NONE && work != CG_WORK_AUTO_COMMIT;
}

int st_cgroup_app_step(strand_consumer_t *c)
{
    st_cgroup_t *g = c->grp;
    for (;;) {
        int64_t now = st_client_now_ms();
        pthread_mutex_lock(&c->lock);
        st_cgroup_polled_locked(c, now);
        int work = cg_app_work(c, now);
        switch (work) {
        case CG_WORK_NONE:
            pthread_mutex_unlock(&c->lock);
            return 0;
        case CG_WORK_FATAL: {
            int err = g->fatal;
            if (g->owned.n) {
                /* Nothing can be consumed or committed any more. */
                st_tp_list_t all = { 0 };
                cg_tp_copy(&all, &g->owned);
                drop_owned(c, &all);
                st_tp_list_free(&all);
            }
            pthread_mutex_unlock(&c->lock);
            return err;
        }
        case CG_WORK_CALLBACKS:
            pthread_mutex_unlock(&c->lock);
            if (c->in_callback)
                return 0;   /* inside a callback already: delivered after it */
            cg_deliver_commit_callbacks(c);
            break;
        case CG_WORK_ASSIGNMENT: {
            st_tp_list_t assigned = g->pending;
            int32_t gen = g->pending_generation;
            g->pending = (st_tp_list_t){ 0 };
            g->assignment_ready = false;
            g->app_busy = true;
            pthread_mutex_unlock(&c->lock);
            apply_assignment(c, &assigned, gen);
            st_tp_list_free(&assigned);
            pthread_mutex_lock(&c->lock);
            g->app_busy = false;
            cg_wake(c);
            pthread_mutex_unlock(&c->lock);
            break;
        }
        case CG_WORK_PREPARE:
            g->app_busy = true;
            pthread_mutex_unlock(&c->lock);
            prepare_join(c);
            pthread_mutex_lock(&c->lock);
            g->app_busy = false;
            cg_wake(c);
            pthread_mutex_unlock(&c->lock);
            break;
        case CG_WORK_AUTO_COMMIT:
            cg_auto_commit_locked(c, now, false);
            pthread_mutex_unlock(&c->lock);
            return 0;
        }
    }
}

/* ---- subscribe / unsubscribe / close -------------------------------------------------------- */

static int need_group(strand_consumer_t *c)
{
    if (!c)
        return ST_ERR_INVALID_ARG;
    if (!c->grp)
        return ST_ERR_INVALID_CONFIG;
    if (c->in_callback || c->closed)
        return ST_ERR_ILLEGAL_STATE;
    return 0;
}

/* Lock held: the new subscription takes effect (the list is owned by it now). */
static void set_subscription(strand_consumer_t *c, int mode, char **topics, size_t n)
{
    st_cgroup_t *g = c->grp;
    bool same = g->sub_mode == mode && mode == CG_SUB_TOPICS &&
                cg_strv_equal(topics, n, g->sub_topics, g->n_sub_topics);
    cg_strv_free(g->sub_topics, g->n_sub_topics);
    g->sub_topics = topics;
    g->n_sub_topics = n;
    g->sub_mode = mode;
    if (!same || c->mode != CM_SUBSCRIBED) {
        g->sub_version++;
        g->rejoin_needed = true;
    }
    if (c->mode != CM_SUBSCRIBED)
        g->last_poll_ms = st_client_now_ms();
    c->mode = CM_SUBSCRIBED;
    cg_wake(c);
}

int strand_consumer_subscribe(strand_consumer_t *c, const char *const *topics, size_t count)
{
    int err = need_group(c);
    if (err)
        return err;
    if (count == 0)
        return strand_consumer_unsubscribe(c);
    if (!topics)
        return ST_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++)
        if (!topics[i] || !*topics[i])
            return ST_ERR_INVALID_ARG;
    char **v = calloc(count, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; v && i < count; i++) {
        if (!(v[n] = strdup(topics[i]))) {
            cg_strv_free(v, n);
            v = NULL;
            break;
        }
        n++;
    }
    if (!v)
        return ST_ERR_INVALID_ARG;
    qsort(v, n, sizeof(char *), cg_str_cmp);
    size_t w = 1;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i], v[w - 1]) == 0)
            free(v[i]);
        else
            v[w++] = v[i];
    }
    n = w;
    st_cgroup_t *g = c->grp;
    pthread_mutex_lock(&c->lock);
    if (c->mode == CM_ASSIGNED) {
        pthread_mutex_unlock(&c->lock);
        cg_strv_free(v, n);
        return ST_ERR_ILLEGAL_STATE;
    }
    if (g->sub_re_live) {
        regfree(&g->sub_re);
        g->sub_re_live = false;
    }
    set_subscription(c, CG_SUB_TOPICS, v, n);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->cl.lock);
    c->cl.md_all_topics = false;
    pthread_mutex_unlock(&c->cl.lock);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < g->n_sub_topics; i++)
        st_client_md_want(&c->cl, g->sub_topics[i]);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int strand_consumer_subscribe_pattern(strand_consumer_t *c, const char *regex, char *errstr,
                                      size_t errstr_size)
{
    int err = need_group(c);
    if (err)
        return err;
    if (!regex || !*regex)
        return ST_ERR_INVALID_ARG;
    /* Java's matches(): the whole name. */
    size_t len = strlen(regex) + 8;
    char *anchored = malloc(len);
    if (!anchored)
        return ST_ERR_INVALID_ARG;
    snprintf(anchored, len, "^(%s)$", regex);
    regex_t re;
    int r = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (r != 0) {
        char msg[256];
        regerror(r, &re, msg, sizeof(msg));
        st_client_errstr(errstr, errstr_size, "invalid topic pattern '%s': %s", regex, msg);
        return ST_ERR_INVALID_ARG;
    }
    st_cgroup_t *g = c->grp;
    pthread_mutex_lock(&c->lock);
    if (c->mode == CM_ASSIGNED) {
        pthread_mutex_unlock(&c->lock);
        regfree(&re);
        return ST_ERR_ILLEGAL_STATE;
    }
    if (g->sub_re_live)
        regfree(&g->sub_re);
    g->sub_re = re;
    g->sub_re_live = true;
    char **v = NULL;
    size_t n = 0;
    pthread_mutex_lock(&c->cl.lock);
    c->cl.md_all_topics = true;
    cg_match_pattern(c, &v, &n);
    pthread_mutex_unlock(&c->cl.lock);
    set_subscription(c, CG_SUB_PATTERN, v, n);
    g->sub_version++;   /* a new pattern always rejoins */
    pthread_mutex_unlock(&c->lock);
    st_client_md_refresh(&c->cl);
    return 0;
}

/* App thread: leaves the group (unsubscribe, close): commit, REVOKED / LOST, LeaveGroup, and no
 * subscription any more. Waits for the LeaveGroup answer up to deadline. */
static int leave_group(strand_consumer_t *c, const char *why, int64_t deadline)
{
    st_cgroup_t *g = c->grp;
    int ret = 0;
    pthread_mutex_lock(&c->lock);
    if (c->mode != CM_SUBSCRIBED) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    g->app_busy = true;
    bool lost = g->generation < 0 || g->fatal;
    st_tp_list_t owned = { 0 };
    cg_tp_copy(&owned, &g->owned);
    pthread_mutex_unlock(&c->lock);
    if (owned.n) {
        if (!lost && g->auto_commit) {
            int64_t left = deadline - st_client_now_ms();
            ret = cg_commit_positions_sync(c, &owned, left > 0 ? (int)left : 1);
        }
        cg_callback(c, lost ? STRAND_REBALANCE_LOST : STRAND_REBALANCE_REVOKED, &owned);
    }
    pthread_mutex_lock(&c->lock);
    drop_owned(c, &owned);
    st_tp_list_free(&owned);
    int64_t now = st_client_now_ms();
    cg_queue_leave(c, why, deadline < now + CG_LEAVE_TIMEOUT_MS ? deadline : now + CG_LEAVE_TIMEOUT_MS);
    g->generation = -1;
    cg_set_str(&g->member_id, "");
    free(g->protocol);
    free(g->leader_id);
    g->protocol = g->leader_id = NULL;
    cg_drop_rebalance(g);
    g->state = CG_UNJOINED;
    g->rejoin_needed = false;
    g->assignment_ready = false;
    st_tp_list_free(&g->pending);
    g->hb_req = 0;
    cg_strv_free(g->sub_topics, g->n_sub_topics);
    g->sub_topics = NULL;
    g->n_sub_topics = 0;
    g->sub_mode = CG_SUB_NONE;
    g->sub_version++;
    if (g->sub_re_live) {
        regfree(&g->sub_re);
        g->sub_re_live = false;
    }
    cg_snap_free(g);
    c->mode = CM_NONE;
    g->app_busy = false;
    assert(cg_check(g));
    cg_wake(c);
    while (g->leave_member) {
        now = st_client_now_ms();
        if (now >= deadline)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = deadline - now > 200 ? 200 : deadline - now;
        ts.tv_nsec += wait * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->cl.lock);
    c->cl.md_all_topics = false;
    pthread_mutex_unlock(&c->cl.lock);
    return ret;
}

int strand_consumer_unsubscribe(strand_consumer_t *c)
{
    if (!c)
        return ST_ERR_INVALID_ARG;
    if (c->in_callback || c->closed)
        return ST_ERR_ILLEGAL_STATE;
    if (!c->grp)
        return c->mode == CM_ASSIGNED ? strand_consumer_assign(c, NULL, 0) : 0;
    pthread_mutex_lock(&c->lock);
    int mode = c->mode;
    pthread_mutex_unlock(&c->lock);
    if (mode == CM_ASSIGNED)
        return strand_consumer_assign(c, NULL, 0);
    cg_deliver_commit_callbacks(c);
    return leave_group(c, "the consumer unsubscribed from all topics",
                       st_client_now_ms() + c->cl.conf.request_timeout_ms);
}

int strand_consumer_close(strand_consumer_t *c, int timeout_ms)
{
    if (!c)
        return ST_ERR_INVALID_ARG;
    if (c->closed)
        return 0;
    if (c->in_callback)
        return ST_ERR_ILLEGAL_STATE;
    int64_t deadline = st_client_now_ms() + (timeout_ms < 0 ? 30000 : timeout_ms);
    int ret = 0;
    st_cgroup_t *g = c->grp;
    if (g) {
        cg_deliver_commit_callbacks(c);
        pthread_mutex_lock(&c->lock);
        int mode = c->mode;
        bool fatal = g->fatal != 0;
        pthread_mutex_unlock(&c->lock);
        if (mode == CM_SUBSCRIBED) {
            ret = leave_group(c, "the consumer is being closed", deadline);
        } else if (mode == CM_ASSIGNED && g->auto_commit && !fatal) {
            int64_t left = deadline - st_client_now_ms();
            ret = cg_commit_positions_sync(c, NULL, left > 0 ? (int)left : 1);
        }
        cg_wait_jobs(c, deadline);
        pthread_mutex_lock(&c->lock);
        cg_fail_jobs(c, ST_ERR_DESTROYED, "the consumer was closed");
        pthread_mutex_unlock(&c->lock);
        cg_deliver_commit_callbacks(c);
    }
    c->closed = true;
    return ret == ST_ERR_DESTROYED ? 0 : ret;
}

/* ---- small public calls ----------------------------------------------------------------------- */

void strand_consumer_set_rebalance_cb(strand_consumer_t *c, strand_rebalance_cb_t *cb, void *opaque)
{
    if (!c)
        return;
    c->rebalance_cb = cb;
    c->rebalance_opaque = opaque;
}

static int tps_cmp(const void *a, const void *b)
{
    const strand_topic_partition_t *x = a, *y = b;
    int r = strcmp(x->topic, y->topic);
    return r ? r : (x->partition > y->partition) - (x->partition < y->partition);
}

int strand_consumer_assignment(strand_consumer_t *c, strand_topic_partition_t **ret_tps,
                               size_t *ret_count)
{
    if (!c || !ret_tps || !ret_count)
        return ST_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    st_consumer_apply_resets_locked(c);
    strand_topic_partition_t *tps = calloc(c->n_parts + 1, sizeof(*tps));
    size_t n = 0;
    for (size_t i = 0; tps && i < c->n_parts; i++) {
        const st_cpart_t *part = c->parts[i];
        if (part->state == CP_REMOVED)
            continue;
        bool resolving = part->state == CP_RESET || part->state == CP_RESETTING ||
                         part->state == CP_COMMITTED || part->state == CP_COMMITTED_FETCHING;
        tps[n++] = (strand_topic_partition_t){ part->topic, part->partition,
                                               resolving ? STRAND_OFFSET_INVALID : part->position,
                                               0 };
    }
    pthread_mutex_unlock(&c->lock);
    if (!tps)
        return ST_ERR_INVALID_ARG;
    qsort(tps, n, sizeof(*tps), tps_cmp);
    *ret_tps = tps;
    *ret_count = n;
    return 0;
}

int strand_consumer_group_info(strand_consumer_t *c, strand_group_info_t *ret)
{
    if (!c || !ret)
        return ST_ERR_INVALID_ARG;
    st_cgroup_t *g = c->grp;
    if (!g)
        return ST_ERR_INVALID_CONFIG;
    memset(ret, 0, sizeof(*ret));
    pthread_mutex_lock(&c->lock);
    ret->generation = g->state == CG_STABLE ? g->generation : -1;
    snprintf(ret->member_id, sizeof(ret->member_id), "%s", g->member_id);
    snprintf(ret->protocol, sizeof(ret->protocol), "%s", g->protocol ? g->protocol : "");
    ret->is_leader = g->leader_id && g->state == CG_STABLE && strcmp(g->leader_id, g->member_id) == 0;
    ret->coordinator = g->coord_id;
    ret->rebalances = g->rebalances;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int strand_consumer_fatal_error(strand_consumer_t *c, char *errstr, size_t errstr_size)
{
    if (!c || !c->grp)
        return 0;
    pthread_mutex_lock(&c->lock);
    int err = c->grp->fatal;
    if (err)
        st_client_errstr(errstr, errstr_size, "%s", c->grp->fatal_msg);
    pthread_mutex_unlock(&c->lock);
    return err;
}
