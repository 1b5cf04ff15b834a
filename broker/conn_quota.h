/* Connection quotas: max.connections (broker-wide) and max.connections.per.ip (with
 * max.connections.per.ip.overrides), counted the way Kafka's ConnectionQuotas counts them.
 *
 * Every accepted socket takes a slot (st_conn_quota_acquire, on the acceptor's thread) before it
 * becomes a connection, and gives it back exactly once when its fd is closed
 * (st_conn_quota_release, on whichever loop thread closes it). Counting covers every listener;
 * a connection on a protected listener (the inter-broker listener when the broker has more than
 * one listener: Kafka's rule) is counted but never refused by max.connections. The per-IP limit
 * applies on every listener, as in Kafka.
 *
 * Thread safety: one mutex guards the counts; acquire and release may run on any thread. */
#ifndef ST_CONN_QUOTA_H
#define ST_CONN_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "broker_config.h"

typedef struct st_conn_quota st_conn_quota_t;

/* A peer address as the quota keys it: IPv4 as IPv4-mapped IPv6 (16 bytes). */
typedef struct st_quota_addr {
    uint8_t bytes[16];
} st_quota_addr_t;

typedef enum st_quota_verdict {
    ST_QUOTA_OK = 0,
    ST_QUOTA_MAX_CONNECTIONS,         /* max.connections reached */
    ST_QUOTA_PER_IP,                  /* max.connections.per.ip (or its override) reached */
    ST_QUOTA_NO_MEMORY,               /* no memory to count it: refuse too */
} st_quota_verdict_t;

/* Reads max.connections, max.connections.per.ip and the parsed overrides from cfg (which must
 * outlive the quota). NULL on out of memory. */
st_conn_quota_t *st_conn_quota_new(const st_broker_config_t *cfg);
void st_conn_quota_free(st_conn_quota_t *q);

/* The key of a peer (AF_INET or AF_INET6; anything else keys as all zeroes). */
void st_quota_addr_from_sockaddr(const struct sockaddr *sa, st_quota_addr_t *ret);
/* Writes the address as text ("127.0.0.1", "::1"). */
void st_quota_addr_format(const st_quota_addr_t *addr, char *out, size_t len);

/* Takes a slot for a new connection from addr, unless a limit refuses it. On refusal nothing
 * is counted and *ret_limit / *ret_open (may be NULL) say which limit value was reached and how
 * many connections were open against it. */
st_quota_verdict_t st_conn_quota_acquire(st_conn_quota_t *q, const st_quota_addr_t *addr,
                                         bool protected_listener, int32_t *ret_limit,
                                         int64_t *ret_open);
/* Gives back a slot taken by st_conn_quota_acquire. */
void st_conn_quota_release(st_conn_quota_t *q, const st_quota_addr_t *addr);

/* True if max.connections.per.ip.overrides names addr (for messages). */
bool st_conn_quota_is_override(const st_conn_quota_t *q, const st_quota_addr_t *addr);

/* Open connections in total and from addr (addr may be NULL). */
int64_t st_conn_quota_open(st_conn_quota_t *q, const st_quota_addr_t *addr);

#endif
