/* zk_server: one standalone ZooKeeper server (zk_harness.c: Debian's 3.8 JVM, free loopback
 * port, temporary directory, tickTime 500) for a whole test run, so that the integration tests
 * share it through $STRAND_TEST_ZK instead of each starting their own. tests/run.sh starts it:
 *
 *   zk_server <address-file>
 *
 * writes "127.0.0.1:<port>" (one line) to <address-file> once the server serves, then runs until
 * SIGTERM, SIGINT or SIGHUP, or until its parent exits (PR_SET_PDEATHSIG), and stops the server
 * and removes its directory before exiting 0. The JVM itself dies with this process whatever
 * happens (zk_harness.c gives it PR_SET_PDEATHSIG), so a run never leaves a java process behind.
 * Exit 1 if the server cannot be started (ZooKeeper's log is printed). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zk_harness.h"

static int write_address(const char *path, const char *connect)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%s\n", connect);
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return -errno;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: zk_server <address-file>\n");
        return 2;
    }
    /* Follow the parent (tests/run.sh): if it dies, so does the server. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        return 1;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);

    /* A signal during the start kills this process, and the JVM with it. */
    st_test_zk_t zk;
    int r = st_test_zk_start(&zk);
    if (r < 0) {
        fprintf(stderr, "zk_server: ZooKeeper did not start: %s\n", strerror(-r));
        st_test_zk_cleanup(&zk);
        return 1;
    }
    sigprocmask(SIG_BLOCK, &sigs, NULL);   /* from now on taken by sigtimedwait below */
    r = write_address(argv[1], zk.connect);
    if (r < 0) {
        fprintf(stderr, "zk_server: cannot write %s: %s\n", argv[1], strerror(-r));
        st_test_zk_cleanup(&zk);
        return 1;
    }
    fprintf(stderr, "zk_server: ZooKeeper serves on %s (pid %d, data in %s)\n", zk.connect,
            (int)zk.pid, zk.dir);
    int code = 0;
    for (;;) {
        struct timespec tick = { 1, 0 };
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig > 0)
            break;
        int status;
        if (waitpid(zk.pid, &status, WNOHANG) == zk.pid) {
            fprintf(stderr, "zk_server: ZooKeeper (pid %d) exited (status 0x%x)\n", (int)zk.pid,
                    status);
            zk.pid = 0;
            code = 1;
            break;
        }
    }
    st_test_zk_cleanup(&zk);
    return code;
}
