/* Client configuration: the declarative st_cfg_def_t table of the client library's properties
 * (Kafka's names: bootstrap.servers, acks, linger.ms, ...) and the struct it fills. Shared by
 * producer, consumer and admin; strand_conf_t (strand.h) wraps it together with callbacks.
 * Values are validated when set; st_client_conf_finish() derives the parsed forms (acks as a
 * number, the compression codec, the bootstrap list) once, when a client is created. */
#ifndef ST_CLIENT_CONF_H
#define ST_CLIENT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_config.h"
#include "strand.h"

typedef struct st_client_conf {
    /* common */
    char *bootstrap_servers;
    char *client_id;
    char *security_protocol;
    char *ssl_ca_location;
    char *ssl_certificate_location;
    char *ssl_key_location;
    char *ssl_key_password;
    char *ssl_endpoint_identification_algorithm;
    char *ssl_enabled_protocols;
    char *ssl_cipher_suites;
    int32_t socket_connection_setup_timeout_ms;
    int32_t reconnect_backoff_ms;
    int32_t reconnect_backoff_max_ms;
    int32_t request_timeout_ms;
    int64_t metadata_max_age_ms;
    int32_t retry_backoff_ms;
    /* producer */
    char *acks;
    int32_t linger_ms;
    int32_t batch_size;
    char *compression_type;
    int32_t retries;
    int32_t delivery_timeout_ms;
    int32_t max_in_flight;
    int32_t max_request_size;
    int64_t buffer_memory;
    int64_t max_block_ms;
    bool enable_idempotence;
    /* consumer */
    int32_t fetch_min_bytes;
    int32_t fetch_max_bytes;
    int32_t fetch_max_wait_ms;
    int32_t max_partition_fetch_bytes;
    int32_t max_poll_records;
    char *auto_offset_reset;
    bool check_crcs;
    /* consumer groups */
    char *group_id;
    char *group_instance_id;
    char *partition_assignment_strategy;
    int32_t session_timeout_ms;
    int32_t heartbeat_interval_ms;
    int32_t max_poll_interval_ms;
    bool enable_auto_commit;
    int32_t auto_commit_interval_ms;
    bool exclude_internal_topics;
} st_client_conf_t;

extern const st_cfg_def_t st_client_conf_table[];

/* The public configuration object: properties plus callbacks. */
struct strand_conf {
    st_client_conf_t props;
    strand_delivery_cb_t *delivery_cb;
    void *delivery_opaque;
    strand_rebalance_cb_t *rebalance_cb;
    void *rebalance_opaque;
    strand_log_cb_t *log_cb;
    void *log_opaque;
};

/* One bootstrap address. */
typedef struct st_hostport {
    char host[256];
    int port;
} st_hostport_t;

/* Parses "host:port,host:port" ("[v6addr]:port" accepted). 0, or -EINVAL with the bad entry
 * named in errstr. *ret_list is malloc'd. */
int st_client_parse_bootstrap(const char *servers, st_hostport_t **ret_list, size_t *ret_count,
                              char *errstr, size_t errstr_size);

/* acks text -> 0, 1 or -1. */
int st_client_conf_acks(const st_client_conf_t *conf);

/* Cross-key validation done when a client is created (bootstrap.servers present and parseable,
 * ...). 0 or ST_ERR_INVALID_CONFIG with errstr. */
int st_client_conf_check(const st_client_conf_t *conf, char *errstr, size_t errstr_size);

#endif
