/* Integration-test harness (see harness.h): starts real strand-broker processes on loopback
 * ports with their own temporary directories, stops them with SIGTERM or SIGKILL, restarts them
 * on the same port and directory, runs command-line tools with a timeout, and opens raw TCP
 * connections for protocol-level tests.
 *
 * Children get PR_SET_PDEATHSIG(SIGKILL) so that a test process that crashes (criterion runs
 * each test in its own process) never leaves a broker or a tool running behind it. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  15000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Asks the kernel for a free loopback port. Another process could take it before the broker
 * binds it; the broker then fails to start and the start-up wait reports it. */
static int pick_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    close(fd);
    return ntohs(addr.sin_port);
}

int st_test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void print_file(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    fprintf(out, "---- %s ----\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, out);
    fprintf(out, "---- end of %s ----\n", path);
    fclose(f);
}

static int write_config(const st_test_broker_t *b)
{
    FILE *f = fopen(b->config_path, "w");
    if (!f)
        return -errno;
    fprintf(f, "# written by the integration-test harness\n");
    fprintf(f, "broker.id=%d\n", b->broker_id);
    fprintf(f, "listeners=PLAINTEXT://127.0.0.1:%d\n", b->port);
    fprintf(f, "log.dirs=%s/logs\n", b->dir);
    fprintf(f, "num.network.threads=2\n");
    for (int i = 0; i < b->n_overrides; i++) {
        /* "{port}" in an override stands for the picked PLAINTEXT port (extra listeners). */
        const char *o = b->overrides[i], *at = strstr(o, "{port}");
        if (at)
            fprintf(f, "%.*s%d%s\n", (int)(at - o), o, b->port, at + 6);
        else
            fprintf(f, "%s\n", o);
    }
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

/* Returns true and reaps the child if it has exited; fills *ret_status. */
static bool child_exited(pid_t pid, int *ret_status)
{
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
        *ret_status = status;
        return true;
    }
    return false;
}

static int spawn_broker(st_test_broker_t *b)
{
    const char *exe = getenv("STRAND_BROKER");
    if (!exe || !*exe) {
        fprintf(stderr, "harness: $STRAND_BROKER is not set (run the tests through meson)\n");
        return -ENOENT;
    }
    int log_fd = open(b->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(log_fd);
        return err;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execl(exe, exe, b->config_path, (char *)NULL);
        fprintf(stderr, "harness: exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(log_fd);
    b->pid = pid;

    int64_t deadline = now_ms() + START_TIMEOUT_MS;
    for (;;) {
        int status;
        if (child_exited(pid, &status)) {
            b->pid = 0;
            fprintf(stderr, "harness: broker on port %d exited during start-up (status 0x%x)\n",
                    b->port, status);
            print_file(b->log_path, stderr);
            return -ECHILD;
        }
        int fd = st_test_connect(b->port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "harness: broker on port %d did not accept connections within %d ms\n",
                    b->port, START_TIMEOUT_MS);
            print_file(b->log_path, stderr);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            b->pid = 0;
            return -ETIMEDOUT;
        }
        sleep_ms(20);
    }
}

int st_test_broker_start(st_test_broker_t *b, const char *const *overrides)
{
    memset(b, 0, sizeof(*b));
    for (size_t i = 0; overrides && overrides[i]; i++) {
        if ((size_t)b->n_overrides >= sizeof(b->overrides) / sizeof(b->overrides[0]))
            return -E2BIG;
        if (strncmp(overrides[i], "broker.id=", 10) == 0)
            b->broker_id = atoi(overrides[i] + 10);
        b->overrides[b->n_overrides] = strdup(overrides[i]);
        if (!b->overrides[b->n_overrides])
            return -ENOMEM;
        b->n_overrides++;
    }
    int port = pick_free_port();
    if (port < 0)
        return port;
    b->port = port;
    snprintf(b->dir, sizeof(b->dir), "/tmp/strand-it-XXXXXX");
    if (!mkdtemp(b->dir)) {
        b->dir[0] = '\0';
        return -errno;
    }
    snprintf(b->config_path, sizeof(b->config_path), "%s/server.properties", b->dir);
    snprintf(b->log_path, sizeof(b->log_path), "%s/broker.log", b->dir);
    snprintf(b->bootstrap, sizeof(b->bootstrap), "127.0.0.1:%d", b->port);
    int r = write_config(b);
    if (r < 0)
        return r;
    return spawn_broker(b);
}

int st_test_broker_stop(st_test_broker_t *b, int sig)
{
    if (b->pid <= 0)
        return -ESRCH;
    kill(b->pid, sig);
    int64_t deadline = now_ms() + STOP_TIMEOUT_MS;
    int status = 0;
    while (!child_exited(b->pid, &status)) {
        if (now_ms() > deadline) {
            fprintf(stderr, "harness: broker pid %d ignored signal %d for %d ms, killing it\n",
                    (int)b->pid, sig, STOP_TIMEOUT_MS);
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &status, 0);
            break;
        }
        sleep_ms(10);
    }
    b->pid = 0;
    return status;
}

int st_test_broker_restart(st_test_broker_t *b)
{
    if (b->pid > 0)
        return -EBUSY;
    if (!b->dir[0])
        return -EINVAL;
    return spawn_broker(b);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void st_test_broker_cleanup(st_test_broker_t *b)
{
    /* $STRAND_TEST_GRACEFUL_CLEANUP: SIGTERM first, so that sanitizer builds run their leak
     * check at exit (keep the dirs with $STRAND_KEEP_TEST_DIRS to read the reports). */
    if (b->pid > 0 && getenv("STRAND_TEST_GRACEFUL_CLEANUP"))
        st_test_broker_stop(b, SIGTERM);
    if (b->pid > 0)
        st_test_broker_stop(b, SIGKILL);
    if (b->dir[0] && getenv("STRAND_KEEP_TEST_DIRS") == NULL)
        nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    b->dir[0] = '\0';
    for (int i = 0; i < b->n_overrides; i++)
        free(b->overrides[i]);
    b->n_overrides = 0;
}

/* ---- tools --------------------------------------------------------------------------------- */

struct capture {
    char *data;
    size_t len, cap;
};

static int capture_read(int fd, struct capture *c)
{
    if (c->cap - c->len < 4096) {
        size_t ncap = c->cap ? c->cap * 2 : 8192;
        char *n = realloc(c->data, ncap);
        if (!n)
            return -ENOMEM;
        c->data = n;
        c->cap = ncap;
    }
    ssize_t r = read(fd, c->data + c->len, c->cap - c->len - 1);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : -errno;
    c->len += (size_t)r;
    c->data[c->len] = '\0';
    return r > 0 ? 1 : 0;
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int st_test_run_tool(const char *const *argv, const char *stdin_data, char **ret_stdout,
                     char **ret_stderr, int timeout_ms)
{
    const char *dir = getenv("STRAND_TOOLS_DIR");
    if (!dir || !argv || !argv[0]) {
        fprintf(stderr, "harness: $STRAND_TOOLS_DIR is not set or no tool given\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, argv[0]);

    int in_p[2], out_p[2], err_p[2];
    if (pipe2(in_p, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out_p, O_CLOEXEC) < 0) {
        close(in_p[0]); close(in_p[1]);
        return -1;
    }
    if (pipe2(err_p, O_CLOEXEC) < 0) {
        close(in_p[0]); close(in_p[1]); close(out_p[0]); close(out_p[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(in_p[0]); close(in_p[1]); close(out_p[0]); close(out_p[1]);
        close(err_p[0]); close(err_p[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(in_p[0], STDIN_FILENO);
        dup2(out_p[1], STDOUT_FILENO);
        dup2(err_p[1], STDERR_FILENO);
        execv(path, (char *const *)argv);
        fprintf(stderr, "harness: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in_p[0]);
    close(out_p[1]);
    close(err_p[1]);
    set_nonblock(in_p[1]);
    set_nonblock(out_p[0]);
    set_nonblock(err_p[0]);

    /* A tool that exits early closes its stdin: ignore SIGPIPE while feeding it. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);

    struct capture out = { 0 }, err = { 0 };
    size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_pos = 0;
    int in_fd = in_p[1];
    if (in_len == 0) {
        close(in_fd);
        in_fd = -1;
    }
    int out_fd = out_p[0], err_fd = err_p[0];
    int64_t deadline = now_ms() + timeout_ms;
    bool timed_out = false;
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd pfd[3];
        int n = 0, i_in = -1, i_out = -1, i_err = -1;
        if (in_fd >= 0) { i_in = n; pfd[n++] = (struct pollfd){ in_fd, POLLOUT, 0 }; }
        if (out_fd >= 0) { i_out = n; pfd[n++] = (struct pollfd){ out_fd, POLLIN, 0 }; }
        if (err_fd >= 0) { i_err = n; pfd[n++] = (struct pollfd){ err_fd, POLLIN, 0 }; }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pfd, (nfds_t)n, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (i_in >= 0 && pfd[i_in].revents) {
            ssize_t w = write(in_fd, stdin_data + in_pos, in_len - in_pos);
            if (w > 0)
                in_pos += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_pos == in_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
        if (i_out >= 0 && pfd[i_out].revents && capture_read(out_fd, &out) <= 0) {
            close(out_fd);
            out_fd = -1;
        }
        if (i_err >= 0 && pfd[i_err].revents && capture_read(err_fd, &err) <= 0) {
            close(err_fd);
            err_fd = -1;
        }
    }
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    sigaction(SIGPIPE, &old_pipe, NULL);

    int status = 0;
    if (timed_out) {
        fprintf(stderr, "harness: %s exceeded %d ms, killing it\n", argv[0], timeout_ms);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    } else {
        /* Output closed: the tool is exiting (or closed its stdio and keeps running). */
        while (!child_exited(pid, &status)) {
            if (now_ms() > deadline) {
                timed_out = true;
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            sleep_ms(5);
        }
    }
    if (ret_stdout)
        *ret_stdout = out.data ? out.data : strdup("");
    else
        free(out.data);
    if (ret_stderr)
        *ret_stderr = err.data ? err.data : strdup("");
    else
        free(err.data);
    if (timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
