/* The admin client's consumer-group calls (strand.h, "consumer groups"): list groups (ListGroups
 * to every broker, merged), describe groups (FindCoordinator + DescribeGroups, assignments
 * decoded with Kafka's consumer protocol), committed offsets (OffsetFetch), altering them outside
 * group membership (OffsetCommit with generation -1 and no member id, as Kafka's admin does),
 * deleting groups (DeleteGroups) and offsets (OffsetDelete).
 *
 * Every group request goes to the group's coordinator through one retry loop (coord_request):
 *
 *     (no coordinator) --FindCoordinator ok--> (coordinator known) --request--> answered
 *          ^   |                                   |
 *          |   +-- COORDINATOR_NOT_AVAILABLE,      +-- COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
 *          |       connection lost                 |   COORDINATOR_LOAD_IN_PROGRESS (in the
 *          +---------- back off, until the --------+   response or a partition of it),
 *                      deadline                        connection lost, broker unknown
 *
 * Invariants: a request is only sent to a coordinator FindCoordinator named in this call; after
 * a retriable error the coordinator is forgotten (looked up again), metadata is refreshed (the
 * coordinator may be a broker the client does not know yet) and the loop sleeps
 * retry.backoff.ms; when the next attempt could not start before the deadline the loop ends
 * with ST_ERR_TIMED_OUT naming the last error. Any other error ends it at once.
 *
 * Threads: application threads (the calls are synchronous; st_admin_call serialises them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "st_admin_int.h"
#include "st_consumer_protocol.h"

typedef ProtobufCMessage *unpack_fn(size_t len, const uint8_t *data);

/* The retry loop's state for one group. */
typedef struct gctx {
    strand_admin_t *a;
    const char *group;
    int64_t deadline_ms;         /* monotonic */
    int timeout_ms;              /* as given, for messages */
    bool have_coord;
    int32_t coord_id;
    char coord_host[256];
    int32_t coord_port;
    int last_err;                /* the last retriable error, for the timeout message */
    char last_why[512];
} gctx_t;

static bool coordinator_error(int err)
{
    return err == ST_ERR_COORDINATOR_NOT_AVAILABLE || err == ST_ERR_NOT_COORDINATOR ||
           err == ST_ERR_COORDINATOR_LOAD_IN_PROGRESS;
}

static int effective_timeout(const strand_admin_t *a, int timeout_ms)
{
    return timeout_ms < 0 ? a->cl.conf.request_timeout_ms : timeout_ms;
}

static void gctx_init(gctx_t *g, strand_admin_t *a, const char *group, int timeout_ms)
{
    memset(g, 0, sizeof(*g));
    g->a = a;
    g->group = group;
    g->timeout_ms = effective_timeout(a, timeout_ms);
    g->deadline_ms = st_client_now_ms() + g->timeout_ms;
    g->coord_id = -1;
}

static int remaining_ms(const gctx_t *g)
{
    int64_t left = g->deadline_ms - st_client_now_ms();
    return left < 1 ? 1 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* After a retriable error: forget the coordinator, refresh metadata, back off. False when the
 * deadline leaves no room for another attempt. */
static bool retry_later(gctx_t *g, int err, const char *why)
{
    g->last_err = err;
    snprintf(g->last_why, sizeof(g->last_why), "%s", why);
    g->have_coord = false;
    st_client_md_refresh(&g->a->cl);
    int backoff = g->a->cl.conf.retry_backoff_ms > 0 ? g->a->cl.conf.retry_backoff_ms : 100;
    if (st_client_now_ms() + backoff >= g->deadline_ms)
        return false;
    sleep_ms(backoff);
    return true;
}

static int timed_out(const gctx_t *g, char *errstr, size_t errstr_size)
{
    st_client_errstr(errstr, errstr_size, "group '%s': no answer from its coordinator within %d "
                     "ms (last error: %s: %s)", g->group, g->timeout_ms,
                     st_error_name(g->last_err), g->last_why);
    return ST_ERR_TIMED_OUT;
}

static ProtobufCMessage *unpack_find(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__find_coordinator_response__unpack(NULL, len, data);
}

/* One FindCoordinator (to any broker). 0 with the coordinator set; a retriable error (the
 * caller backs off) with why; or a fatal error. */
static int find_coordinator(gctx_t *g, char *why, size_t why_size)
{
    Strand__FindCoordinatorRequest req = STRAND__FIND_COORDINATOR_REQUEST__INIT;
    req.key = (char *)g->group;
    req.key_type = 0;
    ProtobufCMessage *msg = NULL;
    int err = st_admin_call(g->a, ST_BROKER_ANY, STRAND__API_KEY__FIND_COORDINATOR, &req.base,
                            remaining_ms(g), unpack_find, &msg, why, why_size);
    if (err)
        return err;
    Strand__FindCoordinatorResponse *r = (Strand__FindCoordinatorResponse *)msg;
    err = r->error_code;
    if (err) {
        snprintf(why, why_size, "FindCoordinator: %s",
                 r->error_message && *r->error_message ? r->error_message : st_error_desc(err));
    } else if (r->node_id < 0) {
        err = ST_ERR_COORDINATOR_NOT_AVAILABLE;
        snprintf(why, why_size, "FindCoordinator named no broker");
    } else {
        g->have_coord = true;
        g->coord_id = r->node_id;
        snprintf(g->coord_host, sizeof(g->coord_host), "%s", r->host ? r->host : "");
        g->coord_port = r->port;
    }
    strand__find_coordinator_response__free_unpacked(r, NULL);
    return err;
}

/* Returns the coordinator-class error a response carries (in its top level or any partition),
 * with the broker's message in *ret_msg (may stay NULL), or 0. */
typedef int coord_code_fn(const ProtobufCMessage *msg, const char *group, const char **ret_msg);

/* Sends body to the group's coordinator until the answer carries no coordinator-class error
 * (see the file comment). 0 with *ret_msg (the caller interprets every other error in it), or
 * an error with errstr. */
static int coord_request(gctx_t *g, int32_t api, const ProtobufCMessage *body, unpack_fn *unpack,
                         coord_code_fn *code_of, ProtobufCMessage **ret_msg, char *errstr,
                         size_t errstr_size)
{
    for (;;) {
        char why[512] = "";
        int err = 0;
        if (!g->have_coord) {
            err = find_coordinator(g, why, sizeof(why));
            if (err && err != ST_ERR_TRANSPORT && err != ST_ERR_TIMED_OUT &&
                !coordinator_error(err)) {
                st_client_errstr(errstr, errstr_size, "group '%s': %s: %s", g->group,
                                 st_error_name(err), why);
                return err;
            }
        }
        if (!err) {
            ProtobufCMessage *msg = NULL;
            err = st_admin_call(g->a, g->coord_id, api, body, remaining_ms(g), unpack, &msg, why,
                                sizeof(why));
            if (err && err != ST_ERR_TRANSPORT && err != ST_ERR_TIMED_OUT) {
                st_client_errstr(errstr, errstr_size, "group '%s': coordinator %d (%s:%d): %s",
                                 g->group, g->coord_id, g->coord_host, g->coord_port, why);
                return err;
            }
            if (!err) {
                const char *m = NULL;
                err = code_of(msg, g->group, &m);
                if (!err) {
                    *ret_msg = msg;
                    return 0;
                }
                snprintf(why, sizeof(why), "coordinator %d (%s:%d): %s", g->coord_id,
                         g->coord_host, g->coord_port, m && *m ? m : st_error_desc(err));
                protobuf_c_message_free_unpacked(msg, NULL);
            }
        }
        if (!retry_later(g, err, why))
            return timed_out(g, errstr, errstr_size);
    }
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* ---- ListGroups ---------------------------------------------------------------------------- */

static ProtobufCMessage *unpack_list(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__list_groups_response__unpack(NULL, len, data);
}

void strand_group_listings_free(strand_group_listing_t *groups, size_t count)
{
    if (!groups)
        return;
    for (size_t i = 0; i < count; i++) {
        free(groups[i].group_id);
        free(groups[i].protocol_type);
        free(groups[i].state);
    }
    free(groups);
}

static int cmp_listing(const void *x, const void *y)
{
    const strand_group_listing_t *a = x, *b = y;
    return strcmp(a->group_id, b->group_id);
}

/* ListGroups to one broker until it answers without COORDINATOR_LOAD_IN_PROGRESS. */
static int list_one(strand_admin_t *a, const strand_broker_info_t *b,
                    const Strand__ListGroupsRequest *req, int64_t deadline, int timeout_ms,
                    Strand__ListGroupsResponse **ret, char *errstr, size_t errstr_size)
{
    int backoff = a->cl.conf.retry_backoff_ms > 0 ? a->cl.conf.retry_backoff_ms : 100;
    for (;;) {
        char why[512] = "";
        int64_t left = deadline - st_client_now_ms();
        ProtobufCMessage *msg = NULL;
        int err = st_admin_call(a, b->node_id, STRAND__API_KEY__LIST_GROUPS, &req->base,
                                left < 1 ? 1 : (int)left, unpack_list, &msg, why, sizeof(why));
        if (!err) {
            Strand__ListGroupsResponse *r = (Strand__ListGroupsResponse *)msg;
            err = r->error_code;
            if (!err) {
                *ret = r;
                return 0;
            }
            snprintf(why, sizeof(why), "%s", st_error_desc(err));
            strand__list_groups_response__free_unpacked(r, NULL);
        }
        if (err != ST_ERR_COORDINATOR_LOAD_IN_PROGRESS && err != ST_ERR_TRANSPORT &&
            err != ST_ERR_TIMED_OUT) {
            st_client_errstr(errstr, errstr_size, "ListGroups to broker %d (%s:%d): %s: %s",
                             b->node_id, b->host, b->port, st_error_name(err), why);
            return err;
        }
        st_client_md_refresh(&a->cl);
        if (st_client_now_ms() + backoff >= deadline) {
            st_client_errstr(errstr, errstr_size, "ListGroups to broker %d (%s:%d): no complete "
                             "answer within %d ms (last error: %s: %s)", b->node_id, b->host,
                             b->port, timeout_ms, st_error_name(err), why);
            return ST_ERR_TIMED_OUT;
        }
        sleep_ms(backoff);
    }
}

int strand_admin_list_groups(strand_admin_t *a, const char *const *states, size_t n_states,
                             bool all_types, int timeout_ms, strand_group_listing_t **ret_groups,
                             size_t *ret_count, char *errstr, size_t errstr_size)
{
    if (!a || !ret_groups || !ret_count || (n_states && !states)) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    int tmo = effective_timeout(a, timeout_ms);
    int64_t deadline = st_client_now_ms() + tmo;
    strand_broker_info_t *brokers = NULL;
    size_t n_brokers = 0;
    int err = strand_admin_describe_cluster(a, tmo, &brokers, &n_brokers, NULL, NULL);
    if (err) {
        st_client_errstr(errstr, errstr_size, "cannot list the brokers: %s: %s",
                         st_error_name(err), st_error_desc(err));
        return err;
    }
    Strand__ListGroupsRequest req = STRAND__LIST_GROUPS_REQUEST__INIT;
    req.states_filter = (char **)states;
    req.n_states_filter = n_states;
    strand_group_listing_t *out = NULL;
    size_t n = 0, cap = 0;
    for (size_t b = 0; b < n_brokers && !err; b++) {
        Strand__ListGroupsResponse *r = NULL;
        err = list_one(a, &brokers[b], &req, deadline, tmo, &r, errstr, errstr_size);
        for (size_t i = 0; !err && i < r->n_groups; i++) {
            const Strand__ListedGroup *lg = r->groups[i];
            const char *type = lg->protocol_type ? lg->protocol_type : "";
            if (!lg->group_id || (!all_types && *type && strcmp(type, "consumer") != 0))
                continue;
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(out[k].group_id, lg->group_id) == 0;
            if (seen)
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                strand_group_listing_t *grown = realloc(out, ncap * sizeof(*grown));
                if (!grown) {
                    err = ST_ERR_INVALID_ARG;
                    break;
                }
                out = grown;
                cap = ncap;
            }
            strand_group_listing_t *x = &out[n++];
            x->group_id = strdup(lg->group_id);
            x->protocol_type = strdup(type);
            x->state = dup_or_empty(lg->group_state);
            x->coordinator_id = brokers[b].node_id;
            if (!x->group_id || !x->protocol_type || !x->state)
                err = ST_ERR_INVALID_ARG;
        }
        if (err == ST_ERR_INVALID_ARG)
            st_client_errstr(errstr, errstr_size, "out of memory");
        if (r)
            strand__list_groups_response__free_unpacked(r, NULL);
    }
    strand_broker_infos_free(brokers, n_brokers);
    if (err) {
        strand_group_listings_free(out, n);
        return err;
    }
    if (n)
        qsort(out, n, sizeof(*out), cmp_listing);
    *ret_groups = out;
    *ret_count = n;
    return 0;
}

/* ---- DescribeGroups ------------------------------------------------------------------------ */

static ProtobufCMessage *unpack_describe(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__describe_groups_response__unpack(NULL, len, data);
}

static const Strand__DescribedGroup *described(const Strand__DescribeGroupsResponse *r,
                                               const char *group)
{
    for (size_t i = 0; i < r->n_groups; i++)
        if (r->groups[i]->group_id && strcmp(r->groups[i]->group_id, group) == 0)
            return r->groups[i];
    return NULL;
}

static int describe_code(const ProtobufCMessage *msg, const char *group, const char **ret_msg)
{
    const Strand__DescribedGroup *d = described((const Strand__DescribeGroupsResponse *)msg, group);
    if (d && coordinator_error(d->error_code)) {
        *ret_msg = d->error_message;
        return d->error_code;
    }
    return 0;
}

static void member_free(strand_group_member_t *m)
{
    free(m->member_id);
    free(m->group_instance_id);
    free(m->client_id);
    free(m->host);
    for (size_t i = 0; i < m->assignment_count; i++)
        free((char *)m->assignment[i].topic);
    free(m->assignment);
    free(m->metadata);
    free(m->assignment_raw);
}

void strand_group_descriptions_free(strand_group_description_t *groups, size_t count)
{
    if (!groups)
        return;
    for (size_t i = 0; i < count; i++) {
        strand_group_description_t *d = &groups[i];
        free(d->group_id);
        free(d->errstr);
        free(d->state);
        free(d->protocol_type);
        free(d->protocol);
        free(d->coordinator.host);
        free(d->coordinator.rack);
        for (size_t k = 0; k < d->member_count; k++)
            member_free(&d->members[k]);
        free(d->members);
    }
    free(groups);
}

static uint8_t *dup_bytes(const ProtobufCBinaryData *b, size_t *ret_len)
{
    *ret_len = 0;
    if (!b->len)
        return NULL;
    uint8_t *p = malloc(b->len);
    if (p) {
        memcpy(p, b->data, b->len);
        *ret_len = b->len;
    }
    return p;
}

/* Fills one member; -ENOMEM. The assignment is decoded for consumer groups. */
static int fill_member(strand_group_member_t *m, const Strand__DescribedGroupMember *dm,
                       bool consumer)
{
    m->member_id = dup_or_empty(dm->member_id);
    m->group_instance_id = dup_or_empty(dm->group_instance_id);
    m->client_id = dup_or_empty(dm->client_id);
    m->host = dup_or_empty(dm->client_host);
    m->metadata = dup_bytes(&dm->member_metadata, &m->metadata_len);
    m->assignment_raw = dup_bytes(&dm->member_assignment, &m->assignment_raw_len);
    if (!m->member_id || !m->group_instance_id || !m->client_id || !m->host ||
        (dm->member_metadata.len && !m->metadata) ||
        (dm->member_assignment.len && !m->assignment_raw))
        return -ENOMEM;
    if (!consumer || !dm->member_assignment.len)
        return 0;
    st_cp_assignment_t asg;
    char why[256];
    int r = st_cp_assignment_decode(dm->member_assignment.data, dm->member_assignment.len, &asg,
                                    why, sizeof(why));
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        m->assignment_error = ST_ERR_CORRUPT_MESSAGE;
        return 0;
    }
    m->assignment = calloc(asg.partitions.n + 1, sizeof(*m->assignment));
    if (!m->assignment) {
        st_cp_assignment_free(&asg);
        return -ENOMEM;
    }
    for (size_t i = 0; i < asg.partitions.n; i++) {
        m->assignment[i].topic = asg.partitions.v[i].topic;      /* ownership moves */
        asg.partitions.v[i].topic = NULL;
        m->assignment[i].partition = asg.partitions.v[i].partition;
        m->assignment[i].offset = -1;
        m->assignment_count++;
    }
    st_cp_assignment_free(&asg);
    return 0;
}

static int describe_one(strand_admin_t *a, const char *group, int timeout_ms,
                        strand_group_description_t *d)
{
    d->group_id = strdup(group);
    d->coordinator.node_id = -1;
    d->coordinator.rack = strdup("");
    if (!d->group_id || !d->coordinator.rack)
        return -ENOMEM;
    gctx_t g;
    gctx_init(&g, a, group, timeout_ms);
    char *names[1] = { (char *)group };
    Strand__DescribeGroupsRequest req = STRAND__DESCRIBE_GROUPS_REQUEST__INIT;
    req.groups = names;
    req.n_groups = 1;
    char why[1024] = "";
    ProtobufCMessage *msg = NULL;
    int err = coord_request(&g, STRAND__API_KEY__DESCRIBE_GROUPS, &req.base, unpack_describe,
                            describe_code, &msg, why, sizeof(why));
    const Strand__DescribedGroup *dg = NULL;
    if (!err) {
        dg = described((Strand__DescribeGroupsResponse *)msg, group);
        if (!dg) {
            err = ST_ERR_BAD_RESPONSE;
            snprintf(why, sizeof(why), "group '%s': missing from the DescribeGroups response",
                     group);
        } else if (dg->error_code) {
            err = dg->error_code;
            snprintf(why, sizeof(why), "group '%s': %s: %s", group, st_error_name(err),
                     dg->error_message && *dg->error_message ? dg->error_message
                                                             : st_error_desc(err));
        }
    }
    d->error = err;
    d->errstr = strdup(err ? why : "");
    d->coordinator.node_id = g.have_coord ? g.coord_id : -1;
    d->coordinator.host = strdup(g.have_coord ? g.coord_host : "");
    d->coordinator.port = g.have_coord ? g.coord_port : -1;
    int r = d->errstr && d->coordinator.host ? 0 : -ENOMEM;
    if (!err && !r) {
        d->state = dup_or_empty(dg->group_state);
        d->protocol_type = dup_or_empty(dg->protocol_type);
        d->protocol = dup_or_empty(dg->protocol_data);
        d->members = calloc(dg->n_members + 1, sizeof(*d->members));
        if (!d->state || !d->protocol_type || !d->protocol || !d->members)
            r = -ENOMEM;
        bool consumer = d->protocol_type && strcmp(d->protocol_type, "consumer") == 0;
        for (size_t i = 0; !r && i < dg->n_members; i++) {
            r = fill_member(&d->members[i], dg->members[i], consumer);
            d->member_count++;
        }
    } else if (!r) {
        d->state = strdup("");
        d->protocol_type = strdup("");
        d->protocol = strdup("");
        if (!d->state || !d->protocol_type || !d->protocol)
            r = -ENOMEM;
    }
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return r;
}

int strand_admin_describe_groups(strand_admin_t *a, const char *const *groups, size_t count,
                                 int timeout_ms, strand_group_description_t **ret_groups,
                                 size_t *ret_count)
{
    if (!a || !ret_groups || !ret_count || (count && !groups))
        return ST_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++)
        if (!groups[i])
            return ST_ERR_INVALID_ARG;
    strand_group_description_t *out = calloc(count + 1, sizeof(*out));
    if (!out)
        return ST_ERR_INVALID_ARG;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        n++;
        if (describe_one(a, groups[i], timeout_ms, &out[i]) < 0) {
            strand_group_descriptions_free(out, n);
            return ST_ERR_INVALID_ARG;
        }
    }
    *ret_groups = out;
    *ret_count = n;
    return 0;
}

/* ---- OffsetFetch --------------------------------------------------------------------------- */

static ProtobufCMessage *unpack_fetch(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__offset_fetch_response__unpack(NULL, len, data);
}

static int fetch_code(const ProtobufCMessage *msg, const char *group, const char **ret_msg)
{
    (void)group;
    const Strand__OffsetFetchResponse *r = (const Strand__OffsetFetchResponse *)msg;
    if (coordinator_error(r->error_code)) {
        *ret_msg = r->error_message;
        return r->error_code;
    }
    for (size_t t = 0; t < r->n_topics; t++)
        for (size_t p = 0; p < r->topics[t]->n_partitions; p++)
            if (coordinator_error(r->topics[t]->partitions[p]->error_code))
                return r->topics[t]->partitions[p]->error_code;
    return 0;
}

void strand_group_offsets_free(strand_group_offset_t *offsets, size_t count)
{
    if (!offsets)
        return;
    for (size_t i = 0; i < count; i++) {
        free(offsets[i].topic);
        free(offsets[i].metadata);
    }
    free(offsets);
}

static int cmp_offset(const void *x, const void *y)
{
    const strand_group_offset_t *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

int strand_admin_list_group_offsets(strand_admin_t *a, const char *group, int timeout_ms,
                                    strand_group_offset_t **ret_offsets, size_t *ret_count,
                                    char *errstr, size_t errstr_size)
{
    if (!a || !group || !ret_offsets || !ret_count) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    gctx_t g;
    gctx_init(&g, a, group, timeout_ms);
    Strand__OffsetFetchRequest req = STRAND__OFFSET_FETCH_REQUEST__INIT;
    req.group_id = (char *)group;
    req.all_topics = true;
    ProtobufCMessage *msg = NULL;
    int err = coord_request(&g, STRAND__API_KEY__OFFSET_FETCH, &req.base, unpack_fetch,
                            fetch_code, &msg, errstr, errstr_size);
    if (err)
        return err;
    Strand__OffsetFetchResponse *r = (Strand__OffsetFetchResponse *)msg;
    if (r->error_code) {
        err = r->error_code;
        st_client_errstr(errstr, errstr_size, "group '%s': OffsetFetch: %s: %s", group,
                         st_error_name(err), r->error_message && *r->error_message
                                                 ? r->error_message : st_error_desc(err));
        strand__offset_fetch_response__free_unpacked(r, NULL);
        return err;
    }
    size_t total = 0;
    for (size_t t = 0; t < r->n_topics; t++)
        total += r->topics[t]->n_partitions;
    strand_group_offset_t *out = calloc(total + 1, sizeof(*out));
    size_t n = 0;
    for (size_t t = 0; out && t < r->n_topics; t++) {
        const Strand__OffsetFetchResponseTopic *rt = r->topics[t];
        for (size_t p = 0; p < rt->n_partitions; p++) {
            const Strand__OffsetFetchResponsePartition *rp = rt->partitions[p];
            /* As Kafka's admin: a partition with an error or without a committed offset (-1)
             * is left out. */
            if (rp->error_code || rp->committed_offset < 0 || !rt->name)
                continue;
            strand_group_offset_t *o = &out[n++];
            o->topic = strdup(rt->name);
            o->partition = rp->partition_index;
            o->offset = rp->committed_offset;
            o->leader_epoch = rp->committed_leader_epoch;
            o->metadata = dup_or_empty(rp->metadata);
            if (!o->topic || !o->metadata) {
                strand_group_offsets_free(out, n);
                out = NULL;
                break;
            }
        }
    }
    strand__offset_fetch_response__free_unpacked(r, NULL);
    if (!out) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    if (n)
        qsort(out, n, sizeof(*out), cmp_offset);
    *ret_offsets = out;
    *ret_count = n;
    return 0;
}

/* ---- requests with partitions grouped by topic --------------------------------------------- */

/* The distinct topics of tps in first-seen order: topic_of[i] is the index of tps[i]'s topic.
 * -ENOMEM. */
static int distinct_topics(const strand_topic_partition_t *tps, size_t count,
                           const char ***ret_topics, size_t *ret_n, size_t **ret_topic_of)
{
    const char **topics = calloc(count + 1, sizeof(*topics));
    size_t *topic_of = calloc(count + 1, sizeof(*topic_of));
    if (!topics || !topic_of) {
        free(topics);
        free(topic_of);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t k = 0;
        while (k < n && strcmp(topics[k], tps[i].topic) != 0)
            k++;
        if (k == n)
            topics[n++] = tps[i].topic;
        topic_of[i] = k;
    }
    *ret_topics = topics;
    *ret_n = n;
    *ret_topic_of = topic_of;
    return 0;
}

static int check_tps(const strand_topic_partition_t *tps, size_t count, char *errstr,
                     size_t errstr_size)
{
    for (size_t i = 0; i < count; i++)
        if (!tps[i].topic || !*tps[i].topic || tps[i].partition < 0) {
            st_client_errstr(errstr, errstr_size, "invalid partition at index %zu", i);
            return ST_ERR_INVALID_ARG;
        }
    return 0;
}

/* ---- OffsetCommit (alter offsets) ---------------------------------------------------------- */

static ProtobufCMessage *unpack_commit(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__offset_commit_response__unpack(NULL, len, data);
}

static int commit_code(const ProtobufCMessage *msg, const char *group, const char **ret_msg)
{
    (void)group;
    (void)ret_msg;
    const Strand__OffsetCommitResponse *r = (const Strand__OffsetCommitResponse *)msg;
    for (size_t t = 0; t < r->n_topics; t++)
        for (size_t p = 0; p < r->topics[t]->n_partitions; p++)
            if (coordinator_error(r->topics[t]->partitions[p]->error_code))
                return r->topics[t]->partitions[p]->error_code;
    return 0;
}

int strand_admin_alter_group_offsets(strand_admin_t *a, const char *group,
                                     strand_topic_partition_t *offsets, size_t count,
                                     int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!a || !group || (count && !offsets)) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    int err = check_tps(offsets, count, errstr, errstr_size);
    if (err)
        return err;
    for (size_t i = 0; i < count; i++)
        if (offsets[i].offset < 0) {
            st_client_errstr(errstr, errstr_size, "%s-%d: offset %lld is negative",
                             offsets[i].topic, offsets[i].partition,
                             (long long)offsets[i].offset);
            return ST_ERR_INVALID_ARG;
        }
    if (!count)
        return 0;
    const char **topics = NULL;
    size_t nt = 0, *topic_of = NULL;
    if (distinct_topics(offsets, count, &topics, &nt, &topic_of) < 0) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    Strand__OffsetCommitRequestTopic *ts = calloc(nt, sizeof(*ts));
    Strand__OffsetCommitRequestTopic **tsp = calloc(nt, sizeof(*tsp));
    Strand__OffsetCommitRequestPartition *ps = calloc(count, sizeof(*ps));
    Strand__OffsetCommitRequestPartition **psp = calloc(count, sizeof(*psp));
    if (!ts || !tsp || !ps || !psp) {
        err = ST_ERR_INVALID_ARG;
        st_client_errstr(errstr, errstr_size, "out of memory");
        goto out;
    }
    /* Partition pointers of topic k are contiguous in psp. */
    size_t at = 0;
    for (size_t k = 0; k < nt; k++) {
        strand__offset_commit_request_topic__init(&ts[k]);
        ts[k].name = (char *)topics[k];
        ts[k].partitions = &psp[at];
        for (size_t i = 0; i < count; i++) {
            if (topic_of[i] != k)
                continue;
            strand__offset_commit_request_partition__init(&ps[i]);
            ps[i].partition_index = offsets[i].partition;
            ps[i].committed_offset = offsets[i].offset;
            ps[i].committed_leader_epoch = -1;
            ps[i].committed_metadata = "";
            psp[at++] = &ps[i];
            ts[k].n_partitions++;
        }
        tsp[k] = &ts[k];
    }
    Strand__OffsetCommitRequest req = STRAND__OFFSET_COMMIT_REQUEST__INIT;
    req.group_id = (char *)group;
    req.generation_id = -1;
    req.member_id = "";
    req.group_instance_id = "";
    req.topics = tsp;
    req.n_topics = nt;
    gctx_t g;
    gctx_init(&g, a, group, timeout_ms);
    ProtobufCMessage *msg = NULL;
    err = coord_request(&g, STRAND__API_KEY__OFFSET_COMMIT, &req.base, unpack_commit,
                        commit_code, &msg, errstr, errstr_size);
    if (err)
        goto out;
    Strand__OffsetCommitResponse *r = (Strand__OffsetCommitResponse *)msg;
    for (size_t i = 0; i < count; i++) {
        int code = ST_ERR_BAD_RESPONSE;
        for (size_t t = 0; t < r->n_topics; t++) {
            if (!r->topics[t]->name || strcmp(r->topics[t]->name, offsets[i].topic) != 0)
                continue;
            for (size_t p = 0; p < r->topics[t]->n_partitions; p++)
                if (r->topics[t]->partitions[p]->partition_index == offsets[i].partition)
                    code = r->topics[t]->partitions[p]->error_code;
        }
        offsets[i].error = code;
        if (code && !err) {
            err = code;
            if (code == ST_ERR_BAD_RESPONSE)
                st_client_errstr(errstr, errstr_size, "group '%s': %s-%d missing from the "
                                 "OffsetCommit response", group, offsets[i].topic,
                                 offsets[i].partition);
            else
                st_client_errstr(errstr, errstr_size, "group '%s': committing %s-%d: %s: %s",
                                 group, offsets[i].topic, offsets[i].partition,
                                 st_error_name(code), st_error_desc(code));
        }
    }
    strand__offset_commit_response__free_unpacked(r, NULL);
out:
    free(ts);
    free(tsp);
    free(ps);
    free(psp);
    free(topics);
    free(topic_of);
    return err;
}

/* ---- DeleteGroups -------------------------------------------------------------------------- */

static ProtobufCMessage *unpack_delete_groups(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__delete_groups_response__unpack(NULL, len, data);
}

static const Strand__DeletableGroupResult *deleted(const Strand__DeleteGroupsResponse *r,
                                                   const char *group)
{
    for (size_t i = 0; i < r->n_results; i++)
        if (r->results[i]->group_id && strcmp(r->results[i]->group_id, group) == 0)
            return r->results[i];
    return NULL;
}

static int delete_code(const ProtobufCMessage *msg, const char *group, const char **ret_msg)
{
    const Strand__DeletableGroupResult *d =
        deleted((const Strand__DeleteGroupsResponse *)msg, group);
    if (d && coordinator_error(d->error_code)) {
        *ret_msg = d->error_message;
        return d->error_code;
    }
    return 0;
}

void strand_group_results_free(strand_group_result_t *results, size_t count)
{
    if (!results)
        return;
    for (size_t i = 0; i < count; i++) {
        free(results[i].group_id);
        free(results[i].errstr);
    }
    free(results);
}

int strand_admin_delete_groups(strand_admin_t *a, const char *const *groups, size_t count,
                               int timeout_ms, strand_group_result_t **ret_results)
{
    if (!a || !ret_results || (count && !groups))
        return ST_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++)
        if (!groups[i])
            return ST_ERR_INVALID_ARG;
    strand_group_result_t *out = calloc(count + 1, sizeof(*out));
    if (!out)
        return ST_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++) {
        gctx_t g;
        gctx_init(&g, a, groups[i], timeout_ms);
        char *names[1] = { (char *)groups[i] };
        Strand__DeleteGroupsRequest req = STRAND__DELETE_GROUPS_REQUEST__INIT;
        req.groups_names = names;
        req.n_groups_names = 1;
        char why[1024] = "";
        ProtobufCMessage *msg = NULL;
        int err = coord_request(&g, STRAND__API_KEY__DELETE_GROUPS, &req.base,
                                unpack_delete_groups, delete_code, &msg, why, sizeof(why));
        if (!err) {
            const Strand__DeletableGroupResult *d =
                deleted((Strand__DeleteGroupsResponse *)msg, groups[i]);
            if (!d) {
                err = ST_ERR_BAD_RESPONSE;
                snprintf(why, sizeof(why), "group '%s': missing from the DeleteGroups response",
                         groups[i]);
            } else if (d->error_code) {
                err = d->error_code;
                snprintf(why, sizeof(why), "group '%s': %s: %s", groups[i], st_error_name(err),
                         st_error_desc(err));
            }
            protobuf_c_message_free_unpacked(msg, NULL);
        }
        out[i].group_id = strdup(groups[i]);
        out[i].error = err;
        out[i].errstr = strdup(err ? why : "");
        if (!out[i].group_id || !out[i].errstr) {
            strand_group_results_free(out, i + 1);
            return ST_ERR_INVALID_ARG;
        }
    }
    *ret_results = out;
    return 0;
}

/* ---- OffsetDelete -------------------------------------------------------------------------- */

static ProtobufCMessage *unpack_offset_delete(size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)strand__offset_delete_response__unpack(NULL, len, data);
}

static int offset_delete_code(const ProtobufCMessage *msg, const char *group, const char **ret_msg)
{
    (void)group;
    const Strand__OffsetDeleteResponse *r = (const Strand__OffsetDeleteResponse *)msg;
    if (coordinator_error(r->error_code)) {
        *ret_msg = r->error_message;
        return r->error_code;
    }
    for (size_t t = 0; t < r->n_topics; t++)
        for (size_t p = 0; p < r->topics[t]->n_partitions; p++)
            if (coordinator_error(r->topics[t]->partitions[p]->error_code))
                return r->topics[t]->partitions[p]->error_code;
    return 0;
}

int strand_admin_delete_group_offsets(strand_admin_t *a, const char *group,
                                      strand_topic_partition_t *partitions, size_t count,
                                      int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!a || !group || (count && !partitions)) {
        st_client_errstr(errstr, errstr_size, "invalid argument");
        return ST_ERR_INVALID_ARG;
    }
    int err = check_tps(partitions, count, errstr, errstr_size);
    if (err)
        return err;
    const char **topics = NULL;
    size_t nt = 0, *topic_of = NULL;
    if (distinct_topics(partitions, count, &topics, &nt, &topic_of) < 0) {
        st_client_errstr(errstr, errstr_size, "out of memory");
        return ST_ERR_INVALID_ARG;
    }
    Strand__OffsetDeleteRequestTopic *ts = calloc(nt + 1, sizeof(*ts));
    Strand__OffsetDeleteRequestTopic **tsp = calloc(nt + 1, sizeof(*tsp));
    Strand__OffsetDeleteRequestPartition *ps = calloc(count + 1, sizeof(*ps));
    Strand__OffsetDeleteRequestPartition **psp = calloc(count + 1, sizeof(*psp));
    if (!ts || !tsp || !ps || !psp) {
        err = ST_ERR_INVALID_ARG;
        st_client_errstr(errstr, errstr_size, "out of memory");
        goto out;
    }
    size_t at = 0;
    for (size_t k = 0; k < nt; k++) {
        strand__offset_delete_request_topic__init(&ts[k]);
        ts[k].name = (char *)topics[k];
        ts[k].partitions = &psp[at];
        for (size_t i = 0; i < count; i++) {
            if (topic_of[i] != k)
                continue;
            strand__offset_delete_request_partition__init(&ps[i]);
            ps[i].partition_index = partitions[i].partition;
            psp[at++] = &ps[i];
            ts[k].n_partitions++;
        }
        tsp[k] = &ts[k];
    }
    Strand__OffsetDeleteRequest req = STRAND__OFFSET_DELETE_REQUEST__INIT;
    req.group_id = (char *)group;
    req.topics = tsp;
    req.n_topics = nt;
    gctx_t g;
    gctx_init(&g, a, group, timeout_ms);
    ProtobufCMessage *msg = NULL;
    err = coord_request(&g, STRAND__API_KEY__OFFSET_DELETE, &req.base, unpack_offset_delete,
                        offset_delete_code, &msg, errstr, errstr_size);
    if (err)
        goto out;
    Strand__OffsetDeleteResponse *r = (Strand__OffsetDeleteResponse *)msg;
    if (r->error_code) {
        err = r->error_code;
        st_client_errstr(errstr, errstr_size, "group '%s': %s: %s", group, st_error_name(err),
                         r->error_message && *r->error_message ? r->error_message
                                                               : st_error_desc(err));
        for (size_t i = 0; i < count; i++)
            partitions[i].error = err;
    } else {
        for (size_t i = 0; i < count; i++) {
            int code = ST_ERR_BAD_RESPONSE;
            for (size_t t = 0; t < r->n_topics; t++) {
                if (!r->topics[t]->name || strcmp(r->topics[t]->name, partitions[i].topic) != 0)
                    continue;
                for (size_t p = 0; p < r->topics[t]->n_partitions; p++)
                    if (r->topics[t]->partitions[p]->partition_index == partitions[i].partition)
                        code = r->topics[t]->partitions[p]->error_code;
            }
            partitions[i].error = code;
        }
    }
    strand__offset_delete_response__free_unpacked(r, NULL);
out:
    free(ts);
    free(tsp);
    free(ps);
    free(psp);
    free(topics);
    free(topic_of);
    return err;
}
