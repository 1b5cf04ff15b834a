/* Helpers for the consumer-group client tests (test_groups_client*.c): group_member processes
 * (tests/integration/group_member.c: one consumer per process, so that a test can SIGKILL one)
 * started with their output in a log file and read back line by line, producing numbered
 * records ("v<i>") and counting which a group consumed. */
#ifndef ST_TEST_GROUP_UTIL_H
#define ST_TEST_GROUP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strand.h"

typedef struct gm {
    pid_t pid;                  /* 0 when not running */
    char name[32];
    char log[300];              /* its stdout and stderr */
} gm_t;

/* A fresh temp dir for member logs (removed by gm_dir_cleanup unless $STRAND_TEST_KEEP_LOGS is
 * set: then its path is printed). */
void gm_dir_init(char *dir, size_t len);
void gm_dir_cleanup(const char *dir);

/* Starts group_member ($STRAND_GROUP_MEMBER) with --bootstrap, --group and the NULL-terminated
 * extra arguments (--topic T, --property k=v, ...); its log is <dir>/<name>.log (appended: a
 * restarted member adds to its old log). Waits until it printed READY. */
void gm_start(gm_t *m, const char *dir, const char *name, const char *bootstrap,
              const char *group, const char *const *args);
/* Sends sig and waits for the exit (SIGKILL: at once; others up to 30 s); returns the status. */
int gm_stop(gm_t *m, int sig);
/* Waits up to timeout_ms for the member to exit on its own; the status, or -1. */
int gm_wait_exit(gm_t *m, int timeout_ms);

/* The whole log (malloc'd, free it). */
char *gm_read(const gm_t *m);
/* Lines starting with prefix (e.g. "R ", "ASSIGNED "). */
int gm_count(const gm_t *m, const char *prefix);
/* Waits until gm_count(m, prefix) >= n; false on timeout. */
bool gm_wait_count(const gm_t *m, const char *prefix, int n, int timeout_ms);
/* The partitions the member holds according to its callbacks (ASSIGNED adds, REVOKED and LOST
 * remove), as "t-p" strings sorted, joined by ' ' into buf. Returns how many. */
int gm_owned(const gm_t *m, char *buf, size_t len);
/* Adds the member's records (R lines with value "v<i>", i < n) to counts[i]. Returns the number
 * of R lines. */
long gm_tally(const gm_t *m, int *counts, size_t n);
/* The wall-clock ms of the first R line at or after since_ms (-1 if none). */
long long gm_first_record_after(const gm_t *m, long long since_ms);

/* Creates topic (partitions, replication factor rf) through the admin client. */
void gp_create_topic(const char *bootstrap, const char *topic, int partitions, int rf);
/* Produces records "v<from>" .. "v<to - 1>" (keys "k<i>", spread over the partitions by the
 * default partitioner), acks=all, and waits for every delivery report. */
void gp_produce(const char *bootstrap, const char *topic, long from, long to);
/* Raises topic's partition count to total (admin client). */
void gp_add_partitions(const char *bootstrap, const char *topic, int total);
/* Wall clock ms. */
long long gp_wall_ms(void);

/* Waits until the running members in m[0..n) own, according to their callbacks, every partition
 * of topic (0..parts-1) exactly once, each member between min_each and max_each partitions.
 * Returns true when it held, false on timeout (the ownership is then in why). */
bool gm_wait_owned(gm_t *m, int n, const char *topic, int parts, int min_each, int max_each,
                   int timeout_ms, char *why, size_t why_len);
/* The last GEN line's fields (generation, coordinator, leader flag); false if none. */
bool gm_last_gen(const gm_t *m, int *ret_generation, int *ret_coordinator, int *ret_leader);
/* Lines starting with prefix after the first `skip` of them, joined into buf (for messages). */
void gm_lines(const gm_t *m, const char *prefix, char *buf, size_t len);

#endif
