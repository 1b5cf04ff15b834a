/* Persistence of the single-broker cluster state across restarts: the cluster id and every
 * topic's partition count and config overrides, in <first log dir>/strand-topics.json. In
 * cluster mode ZooKeeper holds this (/cluster/id, /brokers/topics, /config/topics) instead.
 *
 * The file is rewritten whole (write to a temporary file, fsync, rename, fsync the directory),
 * so a crash leaves either the old or the new version. */
#ifndef ST_TOPIC_STORE_H
#define ST_TOPIC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_stored_topic {
    char *name;
    int32_t partitions;
    size_t n_configs;
    char **config_names;
    char **config_values;
    bool deleting;            /* deletion started, not finished: finish it at start-up */
} st_stored_topic_t;

#define ST_TOPIC_STORE_FILE "strand-topics.json"

/* Reads the store of dir. A missing file gives no topics and *ret_cluster_id NULL. -EBADMSG
 * (logged with the path) when the file does not parse. */
int st_topic_store_load(const char *dir, char **ret_cluster_id, st_stored_topic_t **ret_topics,
                        size_t *ret_n);
int st_topic_store_save(const char *dir, const char *cluster_id, const st_stored_topic_t *topics,
                        size_t n);
void st_stored_topics_free(st_stored_topic_t *topics, size_t n);
/* st_cluster_id_generate (a new random cluster id, Kafka's 22-character form) lives with the
 * znode codecs (controller/st_znode.h). */
#include "st_znode.h"

#endif
