/* Dynamic configuration changes on the node thread: every broker watches /config/changes (the
 * sequential notifications AdminZkClient writes after changing /config/topics/<t> or
 * /config/brokers/<id|<default>>), handles each notification once, in sequence order, and purges
 * those older than 15 minutes, as Kafka's ZkNodeChangeNotificationListener does. The active
 * controller refreshes its cached topic overrides here (it sends them in LeaderAndIsr and reads
 * unclean.leader.election.enable from them); the broker's part goes to on_config_change.
 *
 * State: n->config_seq, the sequence number of the last notification handled (-1 before the
 * first listing). Node thread only. A notification or config znode that does not decode is
 * logged with its path and skipped; nothing here can stop the node. */
#include "st_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_logger.h"

#define CHANGE_EXPIRATION_MS (15LL * 60 * 1000)   /* Kafka's changeExpirationMs */

/* The active controller's copy of a topic's overrides, re-read from /config/topics/<t>. */
static void refresh_topic(st_node_t *n, const char *topic)
{
    ctl_topic_t *t = ctl_topic(n, topic);
    if (!t)
        return;
    char path[320], err[512];
    if (st_zpath_topic_config(path, sizeof(path), topic) < 0)
        return;
    char *data = NULL;
    int len = 0;
    int r = st_zk_get(n->zk, path, false, &data, &len, NULL);
    st_topic_overrides_t cfg = { 0 };
    if (r == -ENOENT) {
        /* no overrides (the topic is being deleted, or someone removed the znode) */
    } else if (r < 0) {
        ST_ERROR("Controller: cannot read %s after a config change: %s (keeping the previous "
                 "overrides)", path, st_zk_strerror(r));
        return;
    } else if (st_znode_topic_config_decode(path, data, data ? (size_t)len : 0, &cfg, err,
                                            sizeof(err)) < 0) {
        ST_ERROR("Controller: invalid topic config %s (keeping the previous overrides)", err);
        free(data);
        return;
    }
    free(data);
    st_topic_overrides_free(&t->cfg);
    t->cfg = cfg;
}

void ctl_config_changes(st_node_t *n, bool initial)
{
    char **names = NULL;
    size_t cnt = 0;
    int r = st_zk_children(n->zk, ST_ZPATH_CONFIG_CHANGES, true, &names, &cnt);
    if (r < 0) {
        if (r == -ENOENT)   /* someone removed it: recreate it and watch again */
            r = st_zk_ensure_path(n->zk, ST_ZPATH_CONFIG_CHANGES) == 0
                    ? st_zk_children(n->zk, ST_ZPATH_CONFIG_CHANGES, true, &names, &cnt)
                    : r;
        if (r < 0) {
            ST_WARN("Cannot list %s: %s (dynamic config changes wait for the next event)",
                    ST_ZPATH_CONFIG_CHANGES, st_zk_strerror(r));
            return;
        }
    }
    /* names are sorted and the sequence numbers are zero-padded: sorted by sequence too */
    size_t first = cnt;
    int64_t top = n->config_seq;
    for (size_t i = 0; i < cnt; i++) {
        int64_t seq = st_config_change_seq(names[i]);
        if (seq > top)
            top = seq;
        if (seq > n->config_seq && first == cnt)
            first = i;
    }
    st_zk_read_t *reads = calloc(cnt ? cnt : 1, sizeof(*reads));
    char (*paths)[320] = calloc(cnt ? cnt : 1, sizeof(*paths));
    if (!reads || !paths) {
        free(reads);
        free(paths);
        st_zk_free_strings(names, cnt);
        return;
    }
    /* Every notification is read: those past config_seq to be handled, all of them for their
     * age (the purge). One pipelined round trip. */
    for (size_t i = 0; i < cnt; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", ST_ZPATH_CONFIG_CHANGES, names[i]);
        reads[i] = (st_zk_read_t){ .path = paths[i] };
    }
    st_zk_get_many(n->zk, reads, cnt);
    int64_t now = ctl_wall_ms();
    for (size_t i = 0; i < cnt; i++) {
        int64_t seq = st_config_change_seq(names[i]);
        if (!initial && i >= first && seq > n->config_seq && reads[i].rc == 0) {
            char *type = NULL, *name = NULL, err[512];
            if (st_znode_config_change_decode(paths[i], reads[i].data,
                                              reads[i].data ? (size_t)reads[i].len : 0, &type,
                                              &name, err, sizeof(err)) < 0) {
                ST_ERROR("Ignoring config change notification: %s", err);
            } else {
                ST_INFO("Processing config change notification %s: %s/%s", paths[i], type, name);
                if (strcmp(type, "topics") == 0 && atomic_load(&n->active))
                    refresh_topic(n, name);
                if (n->cfg.on_config_change)
                    n->cfg.on_config_change(n->cfg.cb_arg, type, name);
            }
            free(type);
            free(name);
        }
        if (reads[i].rc == 0 && reads[i].stat.ctime + CHANGE_EXPIRATION_MS < now) {
            int d = st_zk_delete(n->zk, paths[i], -1);
            if (d < 0 && d != -ENOENT)   /* another broker purged it first: fine */
                ST_WARN("Cannot purge %s: %s", paths[i], st_zk_strerror(d));
        }
    }
    if (top > n->config_seq)
        n->config_seq = top;
    st_zk_reads_free(reads, cnt);
    free(reads);
    free(paths);
    st_zk_free_strings(names, cnt);
}
