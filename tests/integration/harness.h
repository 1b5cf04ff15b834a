/* Integration-test harness: real strand-broker processes on loopback ports, each with its own
 * temporary log dir, started and killed the way an operator would. Used by every
 * tests/integration/test_*.c. The broker binary's path comes from $STRAND_BROKER (set by
 * meson); tool paths from $STRAND_TOOLS_DIR. */
#ifndef ST_TEST_HARNESS_H
#define ST_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct st_test_broker {
    pid_t pid;                  /* 0 when not running */
    int port;                   /* PLAINTEXT port on 127.0.0.1 */
    int broker_id;
    char dir[256];              /* temp dir holding server.properties, logs/ and broker.log */
    char config_path[300];
    char log_path[300];         /* the broker's stderr */
    char bootstrap[64];         /* "127.0.0.1:<port>" */
    char *overrides[32];        /* extra key=value lines written into server.properties */
    int n_overrides;
} st_test_broker_t;

/* Picks a free port, makes a temp dir, writes server.properties (plus the NULL-terminated
 * key=value overrides, may be NULL; "{port}" in one is replaced by the picked port), starts the broker and waits (up to 10 s) until it accepts
 * connections. 0 or -errno; on failure the broker log is printed to stderr. */
int st_test_broker_start(st_test_broker_t *b, const char *const *overrides);
/* Sends sig (SIGTERM or SIGKILL) and waits for exit; returns the exit status as waitpid gives it. */
int st_test_broker_stop(st_test_broker_t *b, int sig);
/* Starts it again on the same port and dir. */
int st_test_broker_restart(st_test_broker_t *b);
/* Stops it (SIGKILL if running) and removes the temp dir. */
void st_test_broker_cleanup(st_test_broker_t *b);

/* Runs a tool from $STRAND_TOOLS_DIR with argv (NULL-terminated, argv[0] = tool name), feeding
 * stdin_data (may be NULL) and capturing stdout and stderr into malloc'd strings (may be NULL
 * to discard). Returns the exit code, or -1 if it could not run / was killed / exceeded
 * timeout_ms. */
int st_test_run_tool(const char *const *argv, const char *stdin_data, char **ret_stdout,
                     char **ret_stderr, int timeout_ms);

/* Connects a blocking TCP socket to 127.0.0.1:port (for raw-protocol tests); -errno on failure. */
int st_test_connect(int port);

#endif
