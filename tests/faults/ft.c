/* The fault suite's run log, fault schedule, shell runner and random generator (see ft.h). */
#include "ft.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SH_TIMEOUT_MS 60000
#define SCHED_MAX (64 * 1024)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static int64_t origin_ms;

static char sched_buf[SCHED_MAX];
static size_t sched_len;
static int64_t sched_origin;

int64_t ft_elapsed_ms(void)
{
    return st_test_now_ms() - origin_ms;
}

void ft_log_open(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/run.log", dir);
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    log_file = fopen(path, "a");
    if (log_file)
        setvbuf(log_file, NULL, _IOLBF, 0);
    if (!origin_ms)
        origin_ms = st_test_now_ms();
    pthread_mutex_unlock(&log_lock);
}

void ft_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_lock);
}

static void vlog(bool to_stdout, const char *fmt, va_list ap)
{
    char line[4096];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (!origin_ms)
        origin_ms = st_test_now_ms();
    int64_t t = ft_elapsed_ms();
    pthread_mutex_lock(&log_lock);
    if (to_stdout) {
        printf("[%4lld.%03lld] %s\n", (long long)(t / 1000), (long long)(t % 1000), line);
        fflush(stdout);
    }
    if (log_file)
        fprintf(log_file, "[%4lld.%03lld] %s\n", (long long)(t / 1000), (long long)(t % 1000),
                line);
    pthread_mutex_unlock(&log_lock);
}

void ft_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(true, fmt, ap);
    va_end(ap);
}

void ft_logf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(false, fmt, ap);
    va_end(ap);
}

/* ---- schedule -------------------------------------------------------------------------------- */

void ft_sched_begin(const char *scenario, uint64_t seed)
{
    pthread_mutex_lock(&log_lock);
    sched_origin = st_test_now_ms();
    sched_len = (size_t)snprintf(sched_buf, sizeof(sched_buf),
                                 "fault schedule of %s (seed %llu):\n", scenario,
                                 (unsigned long long)seed);
    pthread_mutex_unlock(&log_lock);
}

void ft_sched(const char *fmt, ...)
{
    char ev[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev, sizeof(ev), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    int64_t t = st_test_now_ms() - sched_origin;
    if (sched_len < sizeof(sched_buf))
        sched_len += (size_t)snprintf(sched_buf + sched_len, sizeof(sched_buf) - sched_len,
                                      "  +%lld.%03llds  %s\n", (long long)(t / 1000),
                                      (long long)(t % 1000), ev);
    if (sched_len > sizeof(sched_buf))
        sched_len = sizeof(sched_buf);
    pthread_mutex_unlock(&log_lock);
    ft_log("FAULT %s", ev);
}

void ft_sched_print(void)
{
    pthread_mutex_lock(&log_lock);
    fwrite(sched_buf, 1, strnlen(sched_buf, sizeof(sched_buf)), stdout);
    fflush(stdout);
    pthread_mutex_unlock(&log_lock);
}

/* ---- shell ----------------------------------------------------------------------------------- */

static int run_sh(char *out, size_t out_len, const char *cmd)
{
    int pipefd[2] = { -1, -1 };
    if (out && pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    ft_logf("$ %s", cmd);
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fflush(log_file);
    int log_fd = log_file ? fileno(log_file) : -1;
    pthread_mutex_unlock(&log_lock);
    pid_t pid = fork();
    if (pid < 0) {
        if (out) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        int errfd = log_fd >= 0 ? log_fd : devnull;
        dup2(out ? pipefd[1] : errfd, 1);
        dup2(errfd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    size_t got = 0;
    if (out) {
        close(pipefd[1]);
        fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        out[0] = '\0';
    }
    int64_t deadline = st_test_now_ms() + SH_TIMEOUT_MS;
    int status = 0;
    for (;;) {
        if (out) {
            char tmp[4096];
            ssize_t r;
            while ((r = read(pipefd[0], tmp, sizeof(tmp))) > 0) {
                size_t n = (size_t)r;
                if (got + n > out_len - 1)
                    n = out_len - 1 - got;
                memcpy(out + got, tmp, n);
                got += n;
                out[got] = '\0';
            }
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (st_test_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ft_log("command timed out after %d ms: %s", SH_TIMEOUT_MS, cmd);
            status = -1;
            break;
        }
        st_test_sleep_ms(5);
    }
    if (out) {
        char tmp[4096];
        ssize_t r;
        while ((r = read(pipefd[0], tmp, sizeof(tmp))) > 0) {
            size_t n = (size_t)r;
            if (got + n > out_len - 1)
                n = out_len - 1 - got;
            memcpy(out + got, tmp, n);
            got += n;
            out[got] = '\0';
        }
        close(pipefd[0]);
    }
    if (status == -1)
        return -1;
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) != 0)
            ft_logf("  -> exit %d", WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    return -1;
}

int ft_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return run_sh(NULL, 0, cmd);
}

int ft_sh_out(char *out, size_t len, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return run_sh(out, len, cmd);
}

/* ---- random ---------------------------------------------------------------------------------- */

void ft_rng_seed(ft_rng_t *r, uint64_t seed)
{
    r->s = seed ^ 0x5DEECE66DULL;
}

uint64_t ft_rand(ft_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int ft_rand_range(ft_rng_t *r, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int)(ft_rand(r) % (uint64_t)(hi - lo + 1));
}

uint64_t ft_hash(uint64_t seed, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    ft_rng_t r;
    ft_rng_seed(&r, h);
    return ft_rand(&r);
}
