/* Helpers shared by the fault tests (test_cluster_<fault>.c): topics made with the tools, waits
 * on partition state in ZooKeeper, raw Produce / ListOffsets / LeaderAndIsr to one broker,
 * ZooKeeper stats (czxid = broker epoch), broker-log searches, reading a partition back through
 * the client library, and the bytes of a replica's segment files up to an offset (to compare
 * replicas byte for byte). Every wait is bounded; nothing asserts on how long something took.
 * Call them from the test's main thread (the harness's PDEATHSIG rule). */
#ifndef ST_TEST_FAULT_UTIL_H
#define ST_TEST_FAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_harness.h"
#include "strand.h"

/* strand-topics --create --zookeeper (asserts exit 0), then waits until every partition has a
 * leader and `rf` ISR members. configs: NULL-terminated "k=v" (may be NULL). */
void fu_create_topic(st_test_cluster_t *c, const char *topic, int partitions, int rf,
                     const char *const *configs);
/* Leader from ZooKeeper (-1 none or no state); *ret_epoch / the ISR when not NULL. */
int fu_leader(st_test_cluster_t *c, const char *topic, int p, int *ret_epoch, int *ret_isr,
              int *ret_n_isr);
/* Waits until the partition has a live leader other than not_id (-1: any leader). Returns it,
 * or -1 after timeout_ms. */
int fu_wait_leader(st_test_cluster_t *c, const char *topic, int p, int not_id, int timeout_ms);
/* Waits until the ISR has exactly n members and a leader. 0 or -ETIMEDOUT. */
int fu_wait_isr_size(st_test_cluster_t *c, const char *topic, int p, int n, int timeout_ms);
/* Waits until the ISR contains / does not contain broker id. 0 or -ETIMEDOUT. */
int fu_wait_isr_has(st_test_cluster_t *c, const char *topic, int p, int id, bool present,
                    int timeout_ms);
bool fu_has(const int *ids, int n, int id);

/* A client configuration bootstrapping from every broker of the cluster plus "k=v" kvs. */
strand_conf_t *fu_conf(st_test_cluster_t *c, const char *const *kvs);

/* ---- raw protocol to one broker ------------------------------------------------------------ */
/* Produce n records (acks, timeout_ms) to topic-p on the broker at port: the partition's error
 * code, -1 when no answer came (connection failed / closed / timed out). *ret_base gets the base
 * offset (-1 on error). */
int fu_produce(int port, const char *topic, int p, int acks, int n, int timeout_ms,
               int64_t *ret_base);
/* The same in two halves over a connection the caller opened (e.g. to a stopped broker, whose
 * kernel still accepts connections): send, then read the answer (within about 10 s). */
int fu_produce_send(int fd, const char *topic, int p, int acks, int n, int timeout_ms);
int fu_produce_recv(int fd, int64_t *ret_base);
/* Fetch as a consumer from `offset` (up to 1 MB, max wait 500 ms): the number of records
 * returned, or -(error code) / -1000 when no answer came; *ret_hw the high watermark. */
int fu_fetch(int port, const char *topic, int p, int64_t offset, int64_t *ret_hw);
/* ListOffsets latest on the broker at port: replica true asks as a replica (the log end offset),
 * false as a consumer (the high watermark). The partition's error code or -1 (no answer). */
int fu_list_latest(int port, const char *topic, int p, bool replica, int64_t *ret_offset);
/* A raw LeaderAndIsr for topic-p from "controller" controller_id at controller_epoch with
 * broker_epoch (-1 none), leader / leader_epoch / isr / replicas as given, and the leader's
 * endpoint 127.0.0.1:leader_port. Returns the top-level error code, or the partition's when the
 * top level is NONE; -1 when no answer came. */
int fu_leader_and_isr(int port, int controller_id, int controller_epoch, int64_t broker_epoch,
                      const char *topic, int p, int leader, int leader_epoch, const int *isr,
                      int n_isr, const int *replicas, int n_replicas, int leader_port);

/* The partition as the broker at port tells it in Metadata (its metadata cache, which the
 * controller updates after the LeaderAndIsr for the same change): 0, or -1 when no answer or the
 * partition is missing. Any out-parameter may be NULL. */
int fu_broker_view(int port, const char *topic, int p, int *ret_leader, int *ret_epoch,
                   int *ret_isr, int *ret_n_isr);
/* Waits until that view shows exactly n ISR members. 0 or -ETIMEDOUT. */
int fu_wait_broker_view_isr(int port, const char *topic, int p, int n, int timeout_ms);

/* ---- ZooKeeper -------------------------------------------------------------------------------- */
/* Data (NUL-terminated, may be NULL), czxid and data version of a znode. 0 or a ZooKeeper code. */
int fu_zk_stat(const char *connect, const char *path, char *buf, size_t len, int64_t *ret_czxid,
               int *ret_version);
/* /controller_epoch as an integer, -1 if unreadable. */
int fu_controller_epoch(st_test_cluster_t *c);
/* The controller_epoch field of a partition's state znode, -1 if unreadable. */
int fu_state_controller_epoch(st_test_cluster_t *c, const char *topic, int p);

/* ---- broker logs ------------------------------------------------------------------------------ */
long fu_file_size(const char *path);
/* Occurrences of needle in the file from byte `from` on. */
int fu_count_in_file(const char *path, const char *needle, long from);
/* Polls until the file holds needle after byte `from`; true if it did within timeout_ms. */
bool fu_wait_in_file(const char *path, const char *needle, long from, int timeout_ms);
/* The first line holding needle after byte `from` (malloc'd, no newline), NULL if none. */
char *fu_find_line(const char *path, const char *needle, long from);

/* ---- reading partitions back ------------------------------------------------------------------ */
typedef struct fu_rec {
    int64_t offset;
    char *value;            /* NUL-terminated copy, NULL for a null value */
} fu_rec_t;
/* Consumes topic-p from the beginning up to its high watermark (ListOffsets through the client),
 * within timeout_ms. Returns the number of records (*ret malloc'd; fu_recs_free) and asserts
 * that the high watermark was reached. */
size_t fu_consume_all(st_test_cluster_t *c, const char *topic, int p, int timeout_ms,
                      fu_rec_t **ret);
void fu_recs_free(fu_rec_t *recs, size_t n);

/* The bytes of the record batches with offsets below `upto` in broker b's segment files of
 * topic-p (read from the .log files of <dir>/logs/<topic>-<p>, in order). 0, -EAGAIN when the files do not
 * reach `upto` yet, -EBADMSG when a batch straddles `upto` or is malformed, -errno. */
int fu_segment_bytes(const st_test_broker_t *b, const char *topic, int p, int64_t upto,
                     uint8_t **ret, size_t *ret_len);
/* Total bytes of broker b's .log files of topic-p (-1 if the directory is missing). */
long fu_segment_total(const st_test_broker_t *b, const char *topic, int p);
/* Waits (bounded) until every running broker hosting topic-p holds the same bytes up to `upto`;
 * returns the number of replicas compared, or -1 (with a message) if they never agreed. */
int fu_wait_replicas_identical(st_test_cluster_t *c, const char *topic, int p, int64_t upto,
                               int timeout_ms);

#endif
