/* Small time, process, file and socket helpers shared by the integration-test harnesses
 * (harness.c, zk_harness.c, cluster_harness.c, fault_util.c, broker_wire.c) and the tests.
 * Depends on libc only, so it links with any of them (meson.build adds test_util.c to every
 * source list that holds zk_harness.c). harness.h includes this header. */
#ifndef ST_TEST_UTIL_H
#define ST_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t st_test_now_ms(void);
/* Sleeps ms milliseconds (resumed after a signal). */
void st_test_sleep_ms(int ms);

/* Binds n (at most 64) loopback sockets to port 0 at once, so the n ports differ, fills ports[]
 * and closes them. Another process may take a port before the caller binds it. 0 or -errno. */
int st_test_free_ports(int *ports, int n);

/* Writes all len bytes to the socket fd (MSG_NOSIGNAL). 0 or -errno. */
int st_test_send_all(int fd, const void *data, size_t len);
/* Reads exactly len bytes before the monotonic deadline (ms). 0, -ETIMEDOUT, -EPIPE (closed or
 * reset) or -errno. */
int st_test_read_full(int fd, uint8_t *p, size_t len, int64_t deadline);

/* True if a line of the file contains needle (false if it cannot be read). */
bool st_test_file_contains(const char *path, const char *needle);
/* Removes the directory tree (best effort). */
void st_test_remove_tree(const char *dir);

/* Starts exe with argv (NULL-terminated; exe is looked up in $PATH unless it holds a '/') in dir
 * (NULL: the current one), stdout and stderr appended to log_path, stdin /dev/null. The child
 * gets PR_SET_PDEATHSIG(SIGKILL): it dies with the test process (it stays in its process group,
 * which meson kills). An exec failure is written to the log as "<who>: exec <exe>: <error>" and
 * the child exits 127. The child's pid, or -errno. */
pid_t st_test_spawn_logged(const char *exe, const char *const *argv, const char *dir,
                           const char *log_path, const char *who);
/* Returns true and reaps the child if it has exited; fills *ret_status. */
bool st_test_child_exited(pid_t pid, int *ret_status);
/* Sends sig to the child (then SIGCONT if resume: a stopped child) and waits up to timeout_ms
 * for it to exit; then says on stderr
 * "<who> pid <pid> ignored signal <sig> for <timeout_ms> ms, killing it" and SIGKILLs it.
 * Returns the exit status as waitpid gives it. */
int st_test_stop_child(pid_t pid, int sig, bool resume, int timeout_ms, const char *who);
/* Sends SIGSTOP to pid and waits (up to timeout_ms) until every one of its threads is stopped:
 * kill() returns before the signal takes effect, and a thread busy in a system call (a follower
 * mid-fetch) runs on until it returns to user space. 0, or -1 when it did not stop in time. */
int st_test_pause(pid_t pid, int timeout_ms);

#endif
