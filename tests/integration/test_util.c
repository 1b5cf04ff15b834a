/* Small time, process, file and socket helpers of the integration tests (see test_util.h). */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
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

#define MAX_FREE_PORTS 64

int64_t st_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_test_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int st_test_free_ports(int *ports, int n)
{
    int fds[MAX_FREE_PORTS];
    int err = 0, i;
    if (n > MAX_FREE_PORTS)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0) {
            err = -errno;
            break;
        }
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t alen = sizeof(addr);
        if (bind(fds[i], (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
            getsockname(fds[i], (struct sockaddr *)&addr, &alen) < 0) {
            err = -errno;
            close(fds[i]);
            break;
        }
        ports[i] = ntohs(addr.sin_port);
    }
    while (i-- > 0)
        close(fds[i]);
    return err;
}

int st_test_send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int st_test_read_full(int fd, uint8_t *p, size_t len, int64_t deadline)
{
    while (len) {
        int64_t left = deadline - st_test_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

bool st_test_file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&line, &cap, f) >= 0)
        found = strstr(line, needle) != NULL;
    free(line);
    fclose(f);
    return found;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void st_test_remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

pid_t st_test_spawn_logged(const char *exe, const char *const *argv, const char *dir,
                           const char *log_path, const char *who)
{
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
        /* Dies with the test process; stays in its process group (meson kills the group). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        if (dir && chdir(dir) < 0)
            _exit(127);
        execvp(exe, (char *const *)argv);
        fprintf(stderr, "%s: exec %s: %s\n", who, exe, strerror(errno));
        _exit(127);
    }
    close(log_fd);
    return pid;
}

bool st_test_child_exited(pid_t pid, int *ret_status)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
        *ret_status = status;
        return true;
    }
    return false;
}

/* Whether every thread of pid is in the stopped state ('T' in /proc/<pid>/task/<tid>/stat). */
static bool all_threads_stopped(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool all = true;
    int seen = 0;
    struct dirent *e;
    while (all && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[400], buf[512];
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;   /* the thread exited */
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');   /* the state follows the command name */
        if (!rp || rp[1] != ' ' || (rp[2] != 'T' && rp[2] != 't'))
            all = false;
        seen++;
    }
    closedir(d);
    return all && seen > 0;
}

int st_test_pause(pid_t pid, int timeout_ms)
{
    if (kill(pid, SIGSTOP) != 0)
        return -1;
    int64_t deadline = st_test_now_ms() + timeout_ms;
    while (!all_threads_stopped(pid)) {
        if (st_test_now_ms() >= deadline)
            return -1;
        usleep(200);
    }
    return 0;
}

int st_test_stop_child(pid_t pid, int sig, bool resume, int timeout_ms, const char *who)
{
    kill(pid, sig);
    if (resume)
        kill(pid, SIGCONT);
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int status = 0;
    while (!st_test_child_exited(pid, &status)) {
        if (st_test_now_ms() > deadline) {
            fprintf(stderr, "%s pid %d ignored signal %d for %d ms, killing it\n", who, (int)pid,
                    sig, timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        st_test_sleep_ms(10);
    }
    return status;
}
