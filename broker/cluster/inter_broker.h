/* Who may send inter-broker requests: the one authorization check of the controller APIs
 * (UpdateMetadata, LeaderAndIsr, StopReplica), AlterIsr and follower Fetch.
 *
 * A request is accepted when
 *   1. it arrived on the inter-broker listener: `inter.broker.listener.name`, or when that is
 *      unset the listener named after `security.inter.broker.protocol` (Kafka's rule), or
 *      failing that the first listener with that security protocol; and
 *   2. that listener is PLAINTEXT (no authentication exists there, so Kafka without an
 *      authorizer accepts; Strand does the same), or it is SSL and the connection's principal
 *      (User:<subject DN> of its client certificate) is listed in `super.users`.
 * With the single-listener default (one PLAINTEXT listener serving clients and brokers alike)
 * every connection passes: as in Kafka without an authorizer, separating client and broker
 * traffic needs two listeners (e.g. CLIENT and INTERNAL with inter.broker.listener.name=INTERNAL),
 * and an SSL inter-broker listener needs super.users listing the brokers' certificates.
 *
 * A refused request gets CLUSTER_AUTHORIZATION_FAILED (through st_reply_error) and changes
 * nothing; the caller answers it.
 *
 * Threads: any (reads the immutable configuration and the connection's listener). */
#ifndef ST_CLUSTER_INTER_BROKER_H
#define ST_CLUSTER_INTER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_config.h"

typedef struct st_request st_request_t;

/* The inter-broker listener of this configuration (rule 1), NULL if none matches. */
const st_listener_cfg_t *st_inter_broker_listener(const st_broker_config_t *cfg);

/* True if `principal` (e.g. "User:CN=broker1,O=acme") is one of super.users
 * ("User:CN=broker1,O=acme;User:CN=broker2"; entries trimmed, compared exactly). */
bool st_super_user(const st_broker_config_t *cfg, const char *principal);

/* Rules 1 and 2 for this request. On false, why (may be NULL) says which rule failed. */
bool st_request_is_inter_broker(const st_request_t *req, char *why, size_t why_len);


#endif
