/* The broker's configuration: one declarative st_cfg_def_t table with Kafka's key names
 * (server.properties + --override key=value), plus the values derived from it after loading
 * (parsed listener lists, log dirs, the effective retention and roll times). */
#ifndef ST_BROKER_CONFIG_H
#define ST_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_config.h"
#include "st_log.h"

typedef enum st_security_protocol {
    ST_PROTO_PLAINTEXT = 0,
    ST_PROTO_SSL = 1,
} st_security_protocol_t;

/* One entry of `listeners` / `advertised.listeners`: NAME://host:port. The name maps to its
 * security protocol through listener.security.protocol.map (as in Kafka), or is itself one
 * (PLAINTEXT, SSL); names are kept upper-case. host "" = every interface (bind) / this
 * machine's host name (advertised). */
typedef struct st_listener_cfg {
    char name[32];
    st_security_protocol_t protocol;
    char host[256];
    int port;
} st_listener_cfg_t;

/* One entry of max.connections.per.ip.overrides: an address (IPv4 as IPv4-mapped IPv6, so
 * both families compare as 16 bytes) and its own limit. A host name expands to one entry per
 * address it resolves to at start-up. */
typedef struct st_ip_limit {
    uint8_t addr[16];
    int32_t max;
} st_ip_limit_t;

typedef struct st_broker_config {
    /* ---- fields set by the table ---- */
    int32_t broker_id;
    char *broker_rack;
    char *listeners;
    char *advertised_listeners;
    char *log_dir;
    char *log_dirs;
    int32_t num_partitions;
    int32_t default_replication_factor;
    int32_t min_insync_replicas;
    int32_t log_retention_hours;
    int32_t log_retention_minutes;
    int64_t log_retention_ms;
    int64_t log_retention_bytes;
    int32_t log_segment_bytes;
    int64_t log_segment_delete_delay_ms;
    int32_t log_roll_hours;
    int64_t log_roll_ms;
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    int64_t log_flush_offset_checkpoint_interval_ms;
    int64_t log_retention_check_interval_ms;
    char *log_cleanup_policy;
    int64_t log_cleaner_delete_retention_ms;
    /* defaults of topic keys (st_topic_config.h), some accepted without effect there */
    char *compression_type;
    char *log_message_timestamp_type;
    int64_t log_message_timestamp_difference_max_ms;
    int64_t log_cleaner_min_compaction_lag_ms;
    int64_t log_cleaner_max_compaction_lag_ms;
    double log_cleaner_min_cleanable_ratio;
    bool log_preallocate;
    int64_t log_roll_jitter_ms;
    int32_t log_roll_jitter_hours;
    bool log_message_downconversion_enable;
    int32_t message_max_bytes;
    int32_t socket_request_max_bytes;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int32_t num_network_threads;
    int64_t connections_max_idle_ms;
    int32_t max_connections;
    int32_t max_connections_per_ip;
    char *max_connections_per_ip_overrides;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    char *zookeeper_connect;
    int32_t zookeeper_session_timeout_ms;
    int32_t zookeeper_connection_timeout_ms;
    bool unclean_leader_election_enable;
    bool auto_leader_rebalance_enable;
    int32_t leader_imbalance_per_broker_percentage;
    int32_t leader_imbalance_check_interval_seconds;
    bool controlled_shutdown_enable;
    int32_t controlled_shutdown_max_retries;
    int32_t controlled_shutdown_retry_backoff_ms;
    bool broker_id_generation_enable;
    int32_t reserved_broker_max_id;
    int64_t replica_lag_time_max_ms;
    int32_t num_replica_fetchers;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_backoff_ms;
    int32_t replica_socket_timeout_ms;
    int64_t replica_high_watermark_checkpoint_interval_ms;
    char *inter_broker_listener_name;
    char *super_users;
    char *ssl_certificate_location;
    char *ssl_key_location;
    char *ssl_key_password;
    char *ssl_ca_location;
    char *ssl_client_auth;
    char *ssl_enabled_protocols;
    char *ssl_cipher_suites;
    char *security_inter_broker_protocol;
    char *listener_security_protocol_map;
    /* Consumer groups (broker/group/): Kafka's group coordinator keys. */
    int32_t offsets_topic_num_partitions;
    int32_t offsets_topic_replication_factor;
    int32_t offsets_topic_segment_bytes;
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    int32_t offsets_commit_timeout_ms;
    int32_t offset_metadata_max_bytes;
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;

    /* ---- derived by st_broker_config_finish ---- */
    st_listener_cfg_t *listener_list;
    size_t n_listeners;
    st_listener_cfg_t *advertised_list;   /* same order and names as listener_list */
    char **dirs;
    size_t n_dirs;
    int64_t retention_ms;                 /* ms > minutes > hours; -1 unlimited */
    int64_t roll_ms;                      /* ms > hours */
    bool cleanup_delete, cleanup_compact;
    int inter_broker_listener;            /* index into listener_list */
    st_ip_limit_t *ip_limits;             /* max.connections.per.ip.overrides, parsed */
    size_t n_ip_limits;
} st_broker_config_t;

extern const st_cfg_def_t st_broker_config_table[];

/* Sets every field to its default. */
void st_broker_config_init(st_broker_config_t *cfg);
/* Validates cross-key rules and fills the derived fields. -EINVAL with a message naming the key
 * in err. */
int st_broker_config_finish(st_broker_config_t *cfg, st_cfg_error_t *err);
void st_broker_config_free(st_broker_config_t *cfg);

/* The log config every partition starts from (topic overrides are applied on top). */
void st_broker_config_log_defaults(const st_broker_config_t *cfg, st_log_config_t *ret);

/* Parses a listener list ("PLAINTEXT://h:1,SSL://:2"); key names the config key for messages. */
int st_broker_parse_listeners(const char *key, const char *value, st_listener_cfg_t **ret_list,
                              size_t *ret_n, st_cfg_error_t *err);

/* Writes "key=value, key=value" for every key whose value differs from its default (secrets
 * masked) into out (truncated to len). */
void st_broker_config_describe_non_default(const st_broker_config_t *cfg, char *out, size_t len);

#endif
