/* Raw consumer-group membership for integration tests that need a group with a live member
 * without the client library's group code: FindCoordinator, JoinGroup (the MEMBER_ID_REQUIRED
 * round trip included), SyncGroup with a Kafka ConsumerProtocolAssignment the test chooses,
 * Heartbeat from a background thread on a connection of its own, LeaveGroup, and OffsetCommit
 * as a member or outside membership (generation -1). Built on broker_wire.c's framing.
 *
 * Threads: a gw_member_t is used by the test's thread, except its heartbeat thread, which owns
 * hb_fd and only writes the atomics. Functions return 0 or a Kafka error code (ST_ERR_*), or
 * -errno for a transport failure; none of them asserts. */
#ifndef ST_TEST_GROUP_WIRE_H
#define ST_TEST_GROUP_WIRE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_member {
    char group[200];
    char member_id[300];         /* "broker-it-<uuid>" (broker_wire's client id) */
    char instance_id[100];       /* group.instance.id, "" for a dynamic member */
    int32_t generation;
    int32_t coord_node;
    int coord_port;
    int fd;                      /* JoinGroup, SyncGroup, LeaveGroup, commits */
    int hb_fd;                   /* the heartbeat thread's */
    int hb_interval_ms;
    pthread_t hb_thread;
    bool hb_started;
    atomic_bool hb_stop;
    atomic_int hb_error;         /* the last heartbeat's error code (0 fine) */
    atomic_int hb_count;         /* heartbeats answered */
} gw_member_t;

/* Asks the broker on any_port for the group's coordinator until one is named (the offsets topic
 * is created on first use) or timeout_ms passes. 0 with the node id and port, or the last
 * error. */
int gw_find_coordinator(int any_port, const char *group, int timeout_ms, int32_t *ret_node,
                        int *ret_port);

/* Joins `group` as a consumer member subscribed to topic (protocol "range", the session timeout
 * given; a static member when instance is not NULL), waits for the rebalance, and -- being the
 * leader -- syncs assigning itself `partitions` of topic (n may be 0: an empty assignment);
 * then starts heartbeating every session_ms / 4. Retries while the coordinator loads. For a
 * group with no other members. */
int gw_join_alone(gw_member_t *m, int any_port, const char *group, const char *instance,
                  const char *topic, const int32_t *partitions, size_t n, int session_ms);

/* Starts joining a group that has members: gets a member id (MEMBER_ID_REQUIRED) and sends the
 * JoinGroup that starts a rebalance, without waiting for its answer (the coordinator holds it
 * until the others rejoin). gw_leave(m, false) drops it. */
int gw_join_begin(gw_member_t *m, int any_port, const char *group, const char *topic,
                  int session_ms);

/* Commits offsets of topic's partitions as this member (its generation). */
int gw_commit(gw_member_t *m, const char *topic, const int32_t *partitions,
              const int64_t *offsets, size_t n);

/* Commits outside group membership (generation -1, no member id), to the coordinator found
 * through any_port, retrying while it loads or moves. */
int gw_commit_offsets(int any_port, const char *group, const char *topic,
                      const int32_t *partitions, const int64_t *offsets, size_t n);

/* Stops heartbeating, sends LeaveGroup (when leave is true) and closes the connections. */
int gw_leave(gw_member_t *m, bool leave);

#endif
