/* ZooKeeper znode paths and JSON payload codecs, as Kafka's ZooKeeper mode lays them out
 * (reference kafka-zk-mode.md §1; Kafka's ZkData.scala). Pure code: no ZooKeeper calls, no
 * threads, no logging -- used by the controller, broker registration and topic admin alike.
 *
 * Decoders take the znode's path (for messages only) and its bytes (not NUL-terminated, may be
 * NULL/0 for null data). They are order-independent, ignore unknown keys, never crash on a
 * hand-edited znode, and on failure return -EINVAL with errbuf naming the path and what is wrong
 * ("/brokers/topics/t1: partition \"x\" is not a number"); outputs are untouched on failure.
 * Whatever a decoder fills is malloc'd: free it with the matching *_free (NULL-safe, idempotent
 * on zeroed structs).
 *
 * Encoders return a malloc'd NUL-terminated compact JSON string (NULL when out of memory or when
 * the input is invalid, e.g. an endpoint with no listener name).
 *
 * Threads: any; nothing is shared. */
#ifndef ST_ZNODE_H
#define ST_ZNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_cluster.h"   /* shared types: st_int_list_t, st_tp_t, st_endpoint_t, st_lisr_t */

/* ---- paths ----------------------------------------------------------------------------- */
#define ST_ZPATH_BROKERS_IDS        "/brokers/ids"
#define ST_ZPATH_BROKERS_TOPICS     "/brokers/topics"
#define ST_ZPATH_BROKERS_SEQID      "/brokers/seqid"
#define ST_ZPATH_CONTROLLER         "/controller"
#define ST_ZPATH_CONTROLLER_EPOCH   "/controller_epoch"
#define ST_ZPATH_DELETE_TOPICS      "/admin/delete_topics"
#define ST_ZPATH_PREFERRED_ELECTION "/admin/preferred_replica_election"
#define ST_ZPATH_REASSIGN           "/admin/reassign_partitions"
#define ST_ZPATH_CONFIG_TOPICS      "/config/topics"
#define ST_ZPATH_CONFIG_BROKERS     "/config/brokers"
#define ST_ZPATH_CONFIG_CHANGES     "/config/changes"
#define ST_CONFIG_CHANGE_PREFIX     "config_change_"     /* + 10-digit sequence */
#define ST_CONFIG_ENTITY_DEFAULT    "<default>"          /* /config/brokers/<default> */
#define ST_ZPATH_CLUSTER_ID         "/cluster/id"
#define ST_ZPATH_ISR_CHANGE         "/isr_change_notification"
#define ST_ZPATH_LOG_DIR_EVENT      "/log_dir_event_notification"
/* a persistent sequential child of ST_ZPATH_LOG_DIR_EVENT: "log_dir_event_0000000007" */
#define ST_ZPATH_LOG_DIR_EVENT_PREFIX ST_ZPATH_LOG_DIR_EVENT "/log_dir_event_"

/* The persistent paths every broker ensures at startup (ZkData.PersistentZkPaths), NULL-ended. */
extern const char *const st_znode_persistent_paths[];

/* snprintf helpers for per-entity paths; return -ENAMETOOLONG when buf is too small. */
int st_zpath_broker(char *buf, size_t size, int32_t id);                       /* /brokers/ids/<id> */
int st_zpath_topic(char *buf, size_t size, const char *topic);              /* /brokers/topics/<t> */
int st_zpath_partition_state(char *buf, size_t size, const char *topic, int32_t partition);
int st_zpath_topic_config(char *buf, size_t size, const char *topic);        /* /config/topics/<t> */
int st_zpath_delete_topic(char *buf, size_t size, const char *topic);  /* /admin/delete_topics/<t> */
/* /config/<entity_type>/<name>: entity_type "topics" or "brokers" (name a topic, a broker id or
 * "<default>"). */
int st_zpath_entity_config(char *buf, size_t size, const char *entity_type, const char *name);

/* ---- /brokers/ids/<id> ------------------------------------------------------------------- */
typedef struct st_broker_reg {
    int32_t id;                /* not in the JSON: from the path (decode) */
    int version;               /* 4 or 5 (encode writes 5) */
    st_endpoint_t *endpoints;
    size_t n_endpoints;
    char *rack;                /* NULL: none */
    int64_t timestamp_ms;
    int32_t jmx_port;          /* -1 */
    char *host;                /* legacy host/port of the first PLAINTEXT endpoint (decode) */
    int32_t port;
} st_broker_reg_t;

char *st_znode_broker_encode(const st_broker_reg_t *reg);
/* id is taken from the last path component (must be a number). */
int st_znode_broker_decode(const char *path, const char *data, size_t len, st_broker_reg_t *ret,
                           char *errbuf, size_t errlen);
void st_broker_reg_free(st_broker_reg_t *reg);
/* The endpoint with that listener name, NULL if none. */
const st_endpoint_t *st_broker_reg_endpoint(const st_broker_reg_t *reg, const char *listener);
int st_broker_reg_copy(st_broker_reg_t *dst, const st_broker_reg_t *src);   /* 0 or -ENOMEM */
/* "PLAINTEXT://host:port,SSL://host:port" into buf (for messages). */
void st_broker_reg_describe(const st_broker_reg_t *reg, char *buf, size_t size);

/* ---- /brokers/topics/<t> ----------------------------------------------------------------- */
typedef struct st_topic_assignment {
    int version;               /* 1..3 read; encode writes 2, or 3 with topic_id */
    int32_t n_partitions;      /* partitions are 0..n-1 (a gap is an error) */
    st_int_list_t *replicas;   /* [n_partitions]; replicas[p].v[0] is the preferred leader */
    st_int_list_t *adding;     /* [n_partitions], empty lists when none */
    st_int_list_t *removing;   /* [n_partitions] */
    char *topic_id;            /* NULL: none */
} st_topic_assignment_t;

char *st_znode_topic_encode(const st_topic_assignment_t *ta);
int st_znode_topic_decode(const char *path, const char *data, size_t len,
                          st_topic_assignment_t *ret, char *errbuf, size_t errlen);
void st_topic_assignment_free(st_topic_assignment_t *ta);

/* ---- /brokers/topics/<t>/partitions/<p>/state -------------------------------------------- */
/* st_lisr_t (st_cluster.h); zk_version is set by the caller from the znode's stat. */
char *st_znode_lisr_encode(const st_lisr_t *lisr);
int st_znode_lisr_decode(const char *path, const char *data, size_t len, st_lisr_t *ret,
                         char *errbuf, size_t errlen);

/* ---- /controller and /controller_epoch ---------------------------------------------------- */
char *st_znode_controller_encode(int32_t broker_id, int64_t timestamp_ms);
int st_znode_controller_decode(const char *path, const char *data, size_t len,
                               int32_t *ret_broker_id, char *errbuf, size_t errlen);
/* Plain ASCII integer ("1"), not JSON. */
char *st_znode_controller_epoch_encode(int32_t epoch);
int st_znode_controller_epoch_decode(const char *path, const char *data, size_t len,
                                     int32_t *ret_epoch, char *errbuf, size_t errlen);

/* ---- /admin/preferred_replica_election and /isr_change_notification/isr_change_N ---------- */
/* {"version":1,"partitions":[{"topic":"foo","partition":1},...]} */
char *st_znode_tp_list_encode(const st_tp_list_t *tps);
int st_znode_tp_list_decode(const char *path, const char *data, size_t len, st_tp_list_t *ret,
                            char *errbuf, size_t errlen);

/* ---- /admin/reassign_partitions (decode only) -------------------------------------------- */
typedef struct st_reassignment {
    char *topic;
    int32_t partition;
    st_int_list_t replicas;
} st_reassignment_t;
typedef struct st_reassignment_list {
    st_reassignment_t *v;
    size_t n;
} st_reassignment_list_t;
int st_znode_reassign_decode(const char *path, const char *data, size_t len,
                             st_reassignment_list_t *ret, char *errbuf, size_t errlen);
void st_reassignment_list_free(st_reassignment_list_t *l);

/* ---- /config/topics/<t> ------------------------------------------------------------------ */
typedef struct st_topic_overrides {
    char **keys;
    char **values;             /* strings, as Kafka writes them */
    size_t n;
} st_topic_overrides_t;
char *st_znode_topic_config_encode(const st_topic_overrides_t *cfg);
int st_znode_topic_config_decode(const char *path, const char *data, size_t len,
                                 st_topic_overrides_t *ret, char *errbuf, size_t errlen);
void st_topic_overrides_free(st_topic_overrides_t *cfg);
/* The value of key, NULL if unset. */
const char *st_topic_overrides_get(const st_topic_overrides_t *cfg, const char *key);

/* ---- /log_dir_event_notification/log_dir_event_N ----------------------------------------- */
/* {"version":1,"broker":3,"event":1}: broker 3 has a failed log dir (Kafka's LogDirEventNotification;
 * event 1 = LogDirFailure, the only kind). */
#define ST_LOG_DIR_EVENT_FAILURE 1
char *st_znode_log_dir_event_encode(int32_t broker_id, int32_t event);
int st_znode_log_dir_event_decode(const char *path, const char *data, size_t len,
                                  int32_t *ret_broker_id, int32_t *ret_event, char *errbuf,
                                  size_t errlen);

/* The same payload for /config/brokers/<id> and /config/brokers/<default> (Kafka writes every
 * entity's config as {"version":1,"config":{...}}): st_znode_topic_config_encode / _decode. */

/* ---- /config/changes/config_change_<n> ---------------------------------------------------- */
/* {"version":2,"entity_path":"topics/<t>"} (AdminZkClient.changeEntityConfig). The decoder
 * also takes Kafka's version 1, {"version":1,"entity_type":"topics","entity_name":"t"}.
 * *ret_type and *ret_name are malloc'd; the entity path must be "<type>/<name>" with a
 * non-empty type and name and no further '/'. */
char *st_znode_config_change_encode(const char *entity_type, const char *name);
int st_znode_config_change_decode(const char *path, const char *data, size_t len,
                                  char **ret_type, char **ret_name, char *errbuf, size_t errlen);
/* The sequence number of a notification's name ("config_change_0000000012" -> 12), -1 if the
 * name is not one. */
int64_t st_config_change_seq(const char *name);

/* ---- /cluster/id ------------------------------------------------------------------------- */
/* {"version":"1","id":"..."} (version is a string here, as Kafka writes it). */
char *st_znode_cluster_id_encode(const char *id);
/* ret_id: malloc'd. */
int st_znode_cluster_id_decode(const char *path, const char *data, size_t len, char **ret_id,
                               char *errbuf, size_t errlen);
/* A fresh cluster id: a random (v4) UUID in URL-safe base64 without padding (22 chars) written
 * into buf (size >= 23). 0 or -errno (no randomness available). */
int st_cluster_id_generate(char *buf, size_t size);

#endif
