/* The broker's membership of the cluster (see membership.h): node start-up from the broker's
 * configuration, the cluster-id check in meta.properties, broker-epoch updates, the start-up
 * check of logs on disk against the assignments in ZooKeeper (stray logs), controlled shutdown
 * over the inter-broker listener, and the node's stop. */
#include "membership.h"

#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "config_manager.h"
#include "fencing.h"
#include "metadata_cache.h"
#include "net.h"
#include "partition.h"
#include "st_checkpoint.h"
#include "st_controller.h"
#include "st_error.h"
#include "st_logger.h"
#include "st_znode.h"

#define META_FILE "meta.properties"

/* Node thread: a new registration (session re-created) means a new broker epoch (the node
 * logs the registration itself). */
static void on_broker_epoch(void *arg, int64_t epoch)
{
    st_broker_t *b = arg;
    st_broker_epoch_set(b, epoch);
}

/* broker.id=-1: the id a previous start generated, from the first meta.properties that has one.
 * -1 when none has. */
static int32_t stored_broker_id(const st_broker_t *b)
{
    for (size_t i = 0; i < b->cfg.n_dirs; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", b->cfg.dirs[i], META_FILE);
        int32_t id = -1;
        if (st_meta_properties_read(path, &id, NULL) == 0 && id >= 0)
            return id;
    }
    return -1;
}

/* Every log dir's meta.properties must name this cluster (or none yet: then it is recorded). */
static int check_cluster_id(const st_broker_t *b, const char *cluster_id)
{
    for (size_t i = 0; i < b->cfg.n_dirs; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", b->cfg.dirs[i], META_FILE);
        int32_t id = -1;
        char *stored = NULL;
        int r = st_meta_properties_read(path, &id, &stored);
        if (r == 0 && stored && strcmp(stored, cluster_id) != 0) {
            ST_ERROR("The Cluster ID %s doesn't match stored clusterId %s in %s. The broker is "
                     "trying to join the wrong cluster. Configured zookeeper.connect may be wrong "
                     "(%s).", cluster_id, stored, path, b->cfg.zookeeper_connect);
            free(stored);
            return -EINVAL;
        }
        if (r == 0 && id != b->cfg.broker_id) {
            ST_ERROR("%s: broker.id %" PRId32 " does not match this broker's id %" PRId32
                     " (this log dir belongs to another broker)", path, id, b->cfg.broker_id);
            free(stored);
            return -EINVAL;
        }
        bool write = r == -ENOENT || (r == 0 && !stored);
        free(stored);
        if (r < 0 && r != -ENOENT) {
            ST_ERROR("%s: unreadable (%s)", path, strerror(-r));
            return r;
        }
        if (write && (r = st_meta_properties_write(path, b->cfg.broker_id, cluster_id)) < 0) {
            ST_ERROR("%s: cannot write: %s", path, strerror(-r));
            return r;
        }
    }
    return 0;
}

int st_membership_start(st_broker_t *b)
{
    const st_broker_config_t *cfg = &b->cfg;
    int32_t id = cfg->broker_id;
    if (id == -1)
        id = stored_broker_id(b);

    size_t n = cfg->n_listeners;
    st_node_listener_t *ls = calloc(n ? n : 1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const st_listener_cfg_t *a = &cfg->advertised_list[i];
        ls[i].name = a->name;
        ls[i].security_protocol = a->protocol == ST_PROTO_SSL ? "SSL" : "PLAINTEXT";
        ls[i].host = a->host;
        ls[i].port = a->port ? a->port : b->net->listeners[i].port;
    }
    /* The controller channel: the other brokers' inter-broker listener, with the client core's
     * TLS keys when that listener is SSL. */
    const st_listener_cfg_t *ib = &cfg->listener_list[cfg->inter_broker_listener];
    char kv[6][4200];
    const char *channel_conf[7];
    size_t k = 0;
    if (ib->protocol == ST_PROTO_SSL) {
        snprintf(kv[k], sizeof(kv[k]), "security.protocol=SSL");
        channel_conf[k] = kv[k];
        k++;
        const struct { const char *key, *value; } ssl[] = {
            { "ssl.ca.location", cfg->ssl_ca_location },
            { "ssl.certificate.location", cfg->ssl_certificate_location },
            { "ssl.key.location", cfg->ssl_key_location },
            { "ssl.key.password", cfg->ssl_key_password },
        };
        for (size_t i = 0; i < sizeof(ssl) / sizeof(ssl[0]); i++) {
            if (!ssl[i].value || !*ssl[i].value)
                continue;
            snprintf(kv[k], sizeof(kv[k]), "%s=%s", ssl[i].key, ssl[i].value);
            channel_conf[k] = kv[k];
            k++;
        }
    }
    channel_conf[k] = NULL;

    st_node_config_t nc;
    st_node_config_init(&nc);
    nc.broker_id = id;
    nc.id_generation = id == -1;
    nc.zk_connect = cfg->zookeeper_connect;
    nc.zk_session_timeout_ms = cfg->zookeeper_session_timeout_ms;
    nc.zk_connection_timeout_ms = cfg->zookeeper_connection_timeout_ms > 0
                                      ? cfg->zookeeper_connection_timeout_ms
                                      : cfg->zookeeper_session_timeout_ms;
    nc.listeners = ls;
    nc.n_listeners = n;
    nc.rack = cfg->broker_rack && *cfg->broker_rack ? cfg->broker_rack : NULL;
    nc.inter_broker_listener = ib->name;
    nc.channel_conf = channel_conf;
    nc.unclean_leader_election_enable = cfg->unclean_leader_election_enable;
    nc.auto_leader_rebalance_enable = cfg->auto_leader_rebalance_enable;
    nc.leader_imbalance_per_broker_percentage = cfg->leader_imbalance_per_broker_percentage;
    nc.leader_imbalance_check_interval_seconds = cfg->leader_imbalance_check_interval_seconds;
    nc.on_broker_epoch = on_broker_epoch;
    nc.on_config_change = st_config_manager_on_change;
    nc.cb_arg = b;

    char err[1024] = "";
    st_node_t *node = NULL;
    int r = st_node_start(&nc, &node, err, sizeof(err));
    free(ls);
    if (r < 0) {
        ST_ERROR("Cannot join the cluster at zookeeper.connect=%s: %s", cfg->zookeeper_connect,
                 err);
        return r;
    }
    b->node = node;
    b->cfg.broker_id = st_node_broker_id(node);
    st_broker_epoch_set(b, st_node_broker_epoch(node));
    r = check_cluster_id(b, st_node_cluster_id(node));
    if (r < 0)
        return r;
    st_metadata_cache_set_cluster_id(b->meta, st_node_cluster_id(node));
    return 0;
}

/* ---- stray logs --------------------------------------------------------------------------- */

typedef struct disk_log {
    char *topic;
    int32_t partition;
} disk_log_t;

typedef struct disk_logs {
    disk_log_t *v;
    size_t n, cap;
    bool oom;
} disk_logs_t;

static void collect_log(st_log_t *log, void *arg)
{
    disk_logs_t *d = arg;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 32;
        disk_log_t *nv = realloc(d->v, ncap * sizeof(*nv));
        if (!nv) {
            d->oom = true;
            return;
        }
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n].topic = strdup(st_log_topic(log));
    d->v[d->n].partition = st_log_partition(log);
    if (d->v[d->n].topic)
        d->n++;
    else
        d->oom = true;
}

static int cmp_disk_log(const void *a, const void *b)
{
    const disk_log_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Whether the topic's assignment in ZooKeeper (ta; NULL: no such topic) makes broker id a
 * replica of the partition. */
static bool assigned(const st_topic_assignment_t *ta, int32_t partition, int32_t id)
{
    return ta && partition < ta->n_partitions && st_int_list_contains(&ta->replicas[partition], id);
}

void st_membership_check_stray_logs(st_broker_t *b)
{
    disk_logs_t d = { 0 };
    st_log_manager_foreach(b->mgr, collect_log, &d);
    if (d.oom)
        ST_WARN("Out of memory listing the logs on disk: stray logs are not reported");
    if (d.n)
        qsort(d.v, d.n, sizeof(*d.v), cmp_disk_log);
    st_zk_t *zk = st_node_zk(b->node);
    int32_t self = b->cfg.broker_id;
    for (size_t i = 0; i < d.n;) {
        size_t end = i;
        while (end < d.n && strcmp(d.v[end].topic, d.v[i].topic) == 0)
            end++;
        const char *topic = d.v[i].topic;
        char path[512], err[256];
        st_zpath_topic(path, sizeof(path), topic);
        char *data = NULL;
        int len = 0;
        st_topic_assignment_t ta;
        memset(&ta, 0, sizeof(ta));
        bool have = false;
        int r = st_zk_get(zk, path, false, &data, &len, NULL);
        if (r == 0)
            have = st_znode_topic_decode(path, data, data ? (size_t)len : 0, &ta, err,
                                         sizeof(err)) == 0;
        free(data);
        if (r < 0 && r != -ENOENT) {
            ST_WARN("Cannot read %s (%s): the logs of topic %s are not checked against their "
                    "assignment", path, st_zk_strerror(r), topic);
            i = end;
            continue;
        }
        if (r == 0 && !have) {
            ST_WARN("%s: %s; the logs of topic %s are not checked against it", path, err, topic);
            i = end;
            continue;
        }
        /* The stray partitions of this topic, as one list for one WARN line. */
        char list[1024] = "";
        size_t used = 0, n_stray = 0;
        for (size_t k = i; k < end; k++) {
            /* Nothing is done to a stray log: not hosted, it is not served, and maintenance
             * leaves logs of partitions not hosted alone (maintenance.c). */
            if (assigned(have ? &ta : NULL, d.v[k].partition, self))
                continue;
            n_stray++;
            if (used < sizeof(list))
                used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%" PRId32,
                                         n_stray > 1 ? "," : "", d.v[k].partition);
        }
        if (n_stray)
            ST_WARN("Found stray log(s) of topic %s on disk (partition(s) %s): %s; they are kept "
                    "untouched and not served (Kafka deletes stray logs later; move or delete "
                    "them by hand)", topic, list,
                    have ? "ZooKeeper does not assign them to this broker"
                         : "the topic does not exist in ZooKeeper");
        if (have)
            st_topic_assignment_free(&ta);
        i = end;
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.v[i].topic);
    free(d.v);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* One ControlledShutdown round trip to the controller. 0 with *ret_remaining set, or -errno /
 * an st_error_t code (> 0) with why. */
static int shutdown_once(st_broker_t *b, size_t *ret_remaining, char *why, size_t why_len)
{
    const st_broker_config_t *cfg = &b->cfg;
    int32_t controller = st_node_controller_id(b->node);
    if (controller < 0)
        controller = st_metadata_cache_controller(b->meta);
    const char *listener = cfg->listener_list[cfg->inter_broker_listener].name;
    char host[256];
    int port = 0;
    if (controller < 0 ||
        st_metadata_cache_broker_endpoint(b->meta, controller, listener, host, sizeof(host),
                                          &port) < 0) {
        snprintf(why, why_len, "no controller known (controller id %" PRId32 ")", controller);
        return -ENOTCONN;
    }
    st_channel_conf_t cc;
    st_channel_conf_inter_broker(cfg, "controlled-shutdown", &cc);
    st_channel_t *ch = NULL;
    char err[256] = "";
    int r = st_channel_open(&cc, host, port, cfg->replica_socket_timeout_ms, &ch, err, sizeof(err));
    if (r < 0) {
        snprintf(why, why_len, "cannot reach controller %" PRId32 " at %s:%d: %s", controller,
                 host, port, err);
        return r;
    }
    Strand__ControlledShutdownRequest req = STRAND__CONTROLLED_SHUTDOWN_REQUEST__INIT;
    req.broker_id = cfg->broker_id;
    req.broker_epoch = st_broker_epoch_get(b);
    st_buf_t frame;
    memset(&frame, 0, sizeof(frame));
    st_frame_view_t view;
    r = st_channel_call(ch, STRAND__API_KEY__CONTROLLED_SHUTDOWN, 0, &req.base,
                        cfg->replica_socket_timeout_ms, &frame, &view);
    st_channel_close(ch);
    if (r < 0) {
        st_buf_free(&frame);
        snprintf(why, why_len, "controller %" PRId32 " did not answer: %s", controller,
                 strerror(-r));
        return r;
    }
    Strand__ControlledShutdownResponse *resp =
        strand__controlled_shutdown_response__unpack(NULL, view.body_len, view.body);
    st_buf_free(&frame);
    if (!resp) {
        snprintf(why, why_len, "undecodable answer from controller %" PRId32, controller);
        return -EBADMSG;
    }
    int code = resp->error_code;
    *ret_remaining = resp->n_remaining_partitions;
    if (code != 0) {
        snprintf(why, why_len, "controller %" PRId32 " answered %s%s%s", controller,
                 st_error_name(code), resp->error_message && *resp->error_message ? ": " : "",
                 resp->error_message ? resp->error_message : "");
    } else if (resp->n_remaining_partitions) {
        size_t used = (size_t)snprintf(why, why_len, "Remaining partitions to move: ");
        for (size_t i = 0; i < resp->n_remaining_partitions && used < why_len; i++)
            used += (size_t)snprintf(why + used, why_len - used, "%s%s-%" PRId32, i ? "," : "",
                                     resp->remaining_partitions[i]->topic,
                                     resp->remaining_partitions[i]->partition);
    }
    strand__controlled_shutdown_response__free_unpacked(resp, NULL);
    return code;
}

#define HANDOVER_WAIT_MS 5000

/* Partitions (with other replicas) this broker still leads; the first one's name in first. */
static size_t count_led(st_broker_t *b, char *first, size_t first_len)
{
    st_partition_t **parts = NULL;
    size_t n = st_registry_snapshot(b->reg, &parts), led = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t replicas[ST_MAX_REPLICAS], isr[ST_MAX_REPLICAS];
        size_t n_rep = ST_MAX_REPLICAS, n_isr = ST_MAX_REPLICAS;
        if (st_partition_role(parts[i]) == ST_ROLE_LEADER &&
            (st_partition_leader(parts[i], replicas, &n_rep, isr, &n_isr), n_rep > 1)) {
            if (led++ == 0)
                snprintf(first, first_len, "%s-%" PRId32, st_partition_topic(parts[i]),
                         st_partition_id(parts[i]));
        }
        st_partition_unref(parts[i]);
    }
    free(parts);
    return led;
}

/* The controller answers ControlledShutdown once it has moved this broker's leaderships in
 * ZooKeeper; the LeaderAndIsr that makes this broker a follower is sent in the same batch but
 * may arrive after the answer. Stopping the network before it is applied would leave this
 * broker leading (taking acks=1 writes that no one replicates) until it exits, so wait for it,
 * bounded. */
static void wait_for_handover(st_broker_t *b)
{
    if (!b->reg)
        return;
    int64_t deadline = st_now_ms() + HANDOVER_WAIT_MS;
    char first[300] = "";
    size_t led;
    while ((led = count_led(b, first, sizeof(first))) > 0 && st_now_ms() < deadline)
        sleep_ms(20);
    if (led)
        ST_WARN("Controlled shutdown: still leading %zu partition(s) (%s, ...) after %d ms: no "
                "LeaderAndIsr moved them", led, first, HANDOVER_WAIT_MS);
}

bool st_membership_controlled_shutdown(st_broker_t *b, const atomic_bool *give_up)
{
    if (!b->node || !b->cfg.controlled_shutdown_enable)
        return false;
    ST_INFO("Starting controlled shutdown");
    int attempts = b->cfg.controlled_shutdown_max_retries;
    for (int i = 0; i <= attempts && !atomic_load(give_up); i++) {
        size_t remaining = 0;
        char why[2048] = "";
        int r = shutdown_once(b, &remaining, why, sizeof(why));
        if (r == 0 && remaining == 0) {
            wait_for_handover(b);
            ST_INFO("Controlled shutdown succeeded");
            return true;
        }
        ST_WARN("Controlled shutdown attempt %d of %d failed: %s", i + 1, attempts + 1, why);
        /* the backoff in short steps, so that a second signal ends it at once */
        for (int waited = 0; i < attempts && waited < b->cfg.controlled_shutdown_retry_backoff_ms &&
                             !atomic_load(give_up); waited += 50)
            sleep_ms(50);
    }
    ST_WARN("Proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    return false;
}

void st_membership_stop(st_broker_t *b)
{
    if (!b->node)
        return;
    st_node_stop(b->node);
    b->node = NULL;
}
