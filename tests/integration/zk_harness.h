/* Integration-test harness for real ZooKeeper: a standalone server or an n-node ensemble of
 * Debian's ZooKeeper 3.8 JVMs on free loopback ports, each with its own temporary directory,
 * stopped, killed, paused and restarted the way an operator (or a failure) would; plus small
 * synchronous znode helpers over libzookeeper_mt for checking what the brokers wrote.
 *
 * Java is `$JAVA` or `java` on the PATH; the class path is `$STRAND_ZK_CLASSPATH` or Debian's
 * /usr/share/java/zookeeper.jar (its manifest pulls in netty, jute, metrics, slf4j) plus the
 * slf4j-log4j12 and log4j-1.2 jars for the log. Every JVM gets PR_SET_PDEATHSIG(SIGKILL) and stays
 * in the test's process group: a test that crashes or times out never leaves a java process
 * behind. Call these functions from the test's main thread (PDEATHSIG fires when the thread
 * that forked exits). $STRAND_KEEP_TEST_DIRS keeps the temporary directories. */
#ifndef ST_TEST_ZK_HARNESS_H
#define ST_TEST_ZK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ST_TEST_ZK_MAX_NODES 5

/* One ZooKeeper server: standalone, or node myid of an ensemble. */
typedef struct st_test_zk {
    pid_t pid;                  /* 0 when not running */
    bool paused;                /* SIGSTOPped by st_test_zk_pause */
    int myid;                   /* 1..n in an ensemble, 0 standalone */
    int port;                   /* client port on 127.0.0.1 */
    int peer_port;              /* quorum and election ports (ensemble only) */
    int election_port;
    char dir[256];              /* holds zoo.cfg, log4j.properties, data/ and zookeeper.log */
    char cfg_path[300];
    char log_path[300];         /* the JVM's stdout and stderr (ZooKeeper's log) */
    char connect[64];           /* "127.0.0.1:<port>" */
} st_test_zk_t;

typedef struct st_test_zk_ensemble {
    int n;
    st_test_zk_t node[ST_TEST_ZK_MAX_NODES];   /* node[i] has myid i + 1 */
    char dir[200];              /* parent of the nodes' directories */
    char connect[256];          /* "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" */
} st_test_zk_ensemble_t;

/* Standalone server: free port, temp dir, tickTime=500 (session timeouts 1 s .. 60 s); waits
 * (up to 20 s) until it serves requests. 0 or -errno; on failure ZooKeeper's log is printed to
 * stderr and nothing is left running. */
int st_test_zk_start(st_test_zk_t *zk);

/* Sends sig (SIGTERM or SIGKILL; a paused server is resumed so that it can act on SIGTERM) and
 * waits for the exit (SIGKILL after 15 s). Returns the status as waitpid gives it, -ESRCH if it
 * was not running. */
int st_test_zk_stop(st_test_zk_t *zk, int sig);
/* Starts a stopped server again on the same ports and data and waits until it serves (for an
 * ensemble node: until it has rejoined a quorum, up to 30 s). 0 or -errno. */
int st_test_zk_restart(st_test_zk_t *zk);
/* The same without waiting, for restarting several ensemble nodes of a lost quorum; then
 * st_test_zk_wait_serving() or st_test_zk_ensemble_wait(). */
int st_test_zk_restart_nowait(st_test_zk_t *zk);
/* SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing, as in a long GC pause. */
int st_test_zk_pause(st_test_zk_t *zk);
int st_test_zk_resume(st_test_zk_t *zk);
/* Waits until this server answers `srvr` with a Mode (standalone, leader or follower). 0 or
 * -ETIMEDOUT, -ECHILD if the process exited (its log is printed then). */
int st_test_zk_wait_serving(st_test_zk_t *zk, int timeout_ms);
/* Kills it if running and removes its directory. Safe on a zeroed or already cleaned struct. */
void st_test_zk_cleanup(st_test_zk_t *zk);

/* n nodes (3 or 5; 1 .. ST_TEST_ZK_MAX_NODES) running QuorumPeerMain on free client, peer and
 * election ports, each in its own directory; waits (up to 30 s) until every node serves. 0 or
 * -errno; on failure the logs of the nodes are printed and nothing is left running. */
int st_test_zk_ensemble_start(st_test_zk_ensemble_t *e, int n);
/* Waits until at least `serving` running nodes answer with a Mode. 0 or -ETIMEDOUT. */
int st_test_zk_ensemble_wait(st_test_zk_ensemble_t *e, int serving, int timeout_ms);
/* Index (0-based) of the node that is leader now, or -1. */
int st_test_zk_ensemble_leader(st_test_zk_ensemble_t *e);
/* Kills every node and removes the directories. Safe on a zeroed or cleaned struct. */
void st_test_zk_ensemble_cleanup(st_test_zk_ensemble_t *e);

/* Sends a four-letter word ("srvr", "mntr", "cons", "ruok", ...) to 127.0.0.1:port and puts the
 * NUL-terminated answer in buf. Returns its length, or -errno (-ETIMEDOUT after timeout_ms). */
int st_test_zk_4lw(int port, const char *cmd, char *buf, size_t len, int timeout_ms);

/* Synchronous znode helpers. Each opens its own session on `connect` (waiting up to 10 s for it,
 * else ZOPERATIONTIMEOUT), makes one call and closes the session. They return ZooKeeper's codes:
 * ZOK (0) or a negative ZNONODE, ZNODEEXISTS, ZNOTEMPTY, ZCONNECTIONLOSS, ... */

/* Copies the data (at most len - 1 bytes, NUL-terminated) and returns the znode's full data
 * length (0 for empty or null data), or a negative ZooKeeper code. */
int st_test_zk_get(const char *connect, const char *path, char *buf, size_t len);
/* Sets the data of an existing znode (any version). data may be NULL (null data). */
int st_test_zk_set(const char *connect, const char *path, const char *data);
/* Creates a persistent znode (flags 0) or a persistent sequential one (ZOO_SEQUENCE); data may
 * be NULL. Ephemeral flags make no sense here: the session ends before the call returns. */
int st_test_zk_create(const char *connect, const char *path, const char *data, int flags);
/* Deletes a znode (any version); not recursive. */
int st_test_zk_delete(const char *connect, const char *path);
/* Puts the children's names, sorted and comma-separated ("1,2,3"; "" when none), in buf and
 * returns their number, or a negative ZooKeeper code (ZBADARGUMENTS if buf is too small). */
int st_test_zk_children(const char *connect, const char *path, char *buf, size_t len);

#endif
