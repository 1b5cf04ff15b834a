/* Integration-test harness: real strand-broker processes on loopback ports, each with its own
 * temporary log dir and its own ZooKeeper chroot, started and killed the way an operator would.
 * Used by every tests/integration/test_*.c that runs brokers. The broker binary's path comes
 * from $STRAND_BROKER (set by meson); tool paths from $STRAND_TOOLS_DIR.
 *
 * ZooKeeper (every broker needs one): $STRAND_TEST_ZK=127.0.0.1:port when the environment
 * provides a server (tests/run.sh starts one for the whole run); otherwise the criterion runner
 * of the test binary starts one standalone server before its tests (a report hook in harness.c)
 * and hands it to them the same way; failing that, each test process starts its own on first
 * use (zk_harness.c, dies with the process). A broker started without a `zookeeper.connect=`
 * override gets `<server>/strand-it-<unique>`: a chroot of its own, so tests running in
 * parallel never share cluster state, and broker.id needs to be unique only within it. */
#ifndef ST_TEST_HARNESS_H
#define ST_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "test_util.h"   /* st_test_now_ms, st_test_sleep_ms, ... */

/* What starting (and restarting) a broker waits for. */
typedef enum st_test_ready {
    /* Registered and serving: Metadata on the harness port lists this broker, a controller and
     * every topic ZooKeeper has, and every partition it names this broker the leader of answers
     * ListOffsets without error (the controller's LeaderAndIsr arrived). The default. */
    ST_TEST_READY_SERVING = 0,
    /* Answering requests (ApiVersions) only -- the broker registers in ZooKeeper before its
     * network loops start, so it is registered too: for tests that play the controller
     * themselves, where nobody else will ever send this broker UpdateMetadata. */
    ST_TEST_READY_LISTENING,
} st_test_ready_t;

typedef struct st_test_broker {
    pid_t pid;                  /* 0 when not running */
    int port;                   /* PLAINTEXT port on 127.0.0.1 */
    int port2;                  /* a second free port, for "{port2}" in overrides (an extra listener) */
    int broker_id;              /* from a broker.id= override; 0 by default */
    char dir[256];              /* temp dir holding server.properties, logs/ and broker.log */
    char config_path[300];
    char log_path[300];         /* the broker's stderr */
    char bootstrap[64];         /* "127.0.0.1:<port>" */
    char zk_connect[200];       /* its zookeeper.connect (the harness's chroot or the override) */
    st_test_ready_t ready;
    char *overrides[32];        /* extra key=value lines written into server.properties */
    int n_overrides;
} st_test_broker_t;

/* Picks a free port, makes a temp dir, writes server.properties (the harness's defaults:
 * broker.id, listeners, log.dirs, zookeeper.connect with a fresh chroot and a short
 * zookeeper.session.timeout.ms; then the NULL-terminated key=value overrides, which may be NULL
 * and win over the defaults; "{port}" in one is replaced by the picked port and "{port2}" by a
 * second free port, for an extra listener, "{id}" by the broker id), starts the broker
 * and waits (up to 20 s) until it is registered and serving (ST_TEST_READY_SERVING). 0 or
 * -errno; on failure the broker log is printed to stderr. */
int st_test_broker_start(st_test_broker_t *b, const char *const *overrides);
/* The same, waiting for `ready`. */
int st_test_broker_start_ready(st_test_broker_t *b, const char *const *overrides,
                               st_test_ready_t ready);
/* Sends sig (SIGTERM or SIGKILL) and waits for exit; returns the exit status as waitpid gives it. */
int st_test_broker_stop(st_test_broker_t *b, int sig);
/* Starts it again on the same port, dir and chroot and waits for `ready` as at the start. (After
 * a SIGKILL the broker replaces its own registration left by the dead session -- same endpoints
 * -- but a lone broker that was the controller waits for the old /controller to expire,
 * zookeeper.session.timeout.ms, before it leads its partitions again.) */
int st_test_broker_restart(st_test_broker_t *b);
/* Stops it (SIGKILL if running) and removes the temp dir. */
void st_test_broker_cleanup(st_test_broker_t *b);
/* Waits until the running broker is ready as b->ready says. 0, -ETIMEDOUT or -ECHILD. */
int st_test_broker_wait_ready(st_test_broker_t *b, int timeout_ms);

/* The ZooKeeper server the brokers use ("127.0.0.1:port"), started if need be (see the file
 * comment); NULL if none could be started (the reason is on stderr). */
const char *st_test_zk_server(void);
/* A fresh, unique chroot on that server as a zookeeper.connect value: "<server>/strand-it-<id>"
 * (nothing is created: the broker creates its chroot). 0 or -errno. */
int st_test_zk_chroot(char *buf, size_t len);

/* For tests that play the controller themselves: creates the chroot of `chroot` (a
 * st_test_zk_chroot value) with a persistent /controller naming broker `controller_id` (the id
 * the test's controller requests carry), before any broker starts there. The brokers then see
 * that controller in ZooKeeper and never elect one of their own (they wait for /controller to
 * go, which it never does): the test is the only controller. Start those brokers with
 * ST_TEST_READY_LISTENING and controlled.shutdown.enable=false. 0 or a negative ZooKeeper code. */
int st_test_zk_fake_controller(const char *chroot, int controller_id);

/* Runs a tool from $STRAND_TOOLS_DIR with argv (NULL-terminated, argv[0] = tool name), feeding
 * stdin_data (may be NULL) and capturing stdout and stderr into malloc'd strings (may be NULL
 * to discard). Returns the exit code, or -1 if it could not run / was killed / exceeded
 * timeout_ms. */
int st_test_run_tool(const char *const *argv, const char *stdin_data, char **ret_stdout,
                     char **ret_stderr, int timeout_ms);

/* Connects a blocking TCP socket to 127.0.0.1:port (for raw-protocol tests); -errno on failure. */
int st_test_connect(int port);

#endif
