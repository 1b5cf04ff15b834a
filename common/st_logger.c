/* Process-wide logging: timestamped, levelled lines, each emitted with one write(2). */
#include "st_logger.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = -1;   /* -1: not yet read from the environment */
static atomic_int log_fd = 2;

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR", "OFF" };

int st_logger_parse_level(const char *name, st_level_t *ret_level)
{
    static const char *const lower[] = { "debug", "info", "warn", "error", "off" };
    if (!name)
        return -EINVAL;
    for (int i = 0; i <= ST_LEVEL_OFF; i++) {
        if (strcasecmp(name, lower[i]) == 0) {
            *ret_level = (st_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *ret_level = ST_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

st_level_t st_logger_level(void)
{
    int level = atomic_load_explicit(&log_level, memory_order_relaxed);
    if (level < 0) {
        st_level_t parsed = ST_LEVEL_INFO;
        const char *env = getenv("STRAND_LOG_LEVEL");
        if (env && st_logger_parse_level(env, &parsed) < 0)
            parsed = ST_LEVEL_INFO;
        level = (int)parsed;
        atomic_store(&log_level, level);
    }
    return (st_level_t)level;
}

void st_logger_set_level(st_level_t level)
{
    atomic_store(&log_level, (int)level);
}

void st_logger_set_fd(int fd)
{
    atomic_store(&log_fd, fd >= 0 ? fd : 2);
}

void st_logger_write(st_level_t level, const char *fmt, ...)
{
    if (level < st_logger_level() || level >= ST_LEVEL_OFF)
        return;
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ",%03ld] %s ", (long)(tv.tv_usec / 1000),
                  level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;   /* truncated: keep the newline */
    line[len++] = '\n';
    int fd = atomic_load(&log_fd);
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        len -= (size_t)w;
    }
}
