/* Process-wide logging: timestamped, levelled lines, each emitted with one write(2). */
#include "st_logger.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
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

/* ---- repeated lines ------------------------------------------------------------------------ */

static pthread_mutex_t limiters_lock = PTHREAD_MUTEX_INITIALIZER;
static st_log_limit_t *limiters;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Writes kind's pending count on a line of its own (lim->lock held). */
static void write_count(st_log_limit_kind_t *k, int64_t now)
{
    if (k->repeats == 0)
        return;
    st_logger_write(k->level, "Same message repeated %" PRIu64 " times in the last %.1f s: %s",
                    k->repeats, (double)(now - k->written_ms) / 1000.0, k->text);
    k->repeats = 0;
    k->written_ms = now;
}

void st_logger_write_limited(st_log_limit_t *lim, st_level_t level, const char *key,
                             const char *fmt, ...)
{
    if (level < st_logger_level() || level >= ST_LEVEL_OFF)
        return;
    char msg[ST_LOG_LIMIT_TEXT * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *k = key ? key : msg;
    uint64_t h = hash_text(k);
    int64_t now = mono_ms();

    /* Lock order: limiters_lock before any lim->lock (st_logger_flush_limited holds the first
     * while it takes each limiter's), so a limiter registers before lim->lock is taken. `next`
     * is only touched under limiters_lock; `registered` is set under it once, and read without
     * it here so that a registered limiter never takes the global lock. */
    if (!atomic_load_explicit(&lim->registered, memory_order_acquire)) {
        pthread_mutex_lock(&limiters_lock);
        if (!atomic_load_explicit(&lim->registered, memory_order_relaxed)) {
            lim->next = limiters;
            limiters = lim;
            atomic_store_explicit(&lim->registered, true, memory_order_release);
        }
        pthread_mutex_unlock(&limiters_lock);
    }
    pthread_mutex_lock(&lim->lock);
    st_log_limit_kind_t *slot = NULL, *oldest = NULL;
    for (int i = 0; i < ST_LOG_LIMIT_KINDS; i++) {
        st_log_limit_kind_t *c = &lim->kinds[i];
        if (c->hash == h && strncmp(c->key, k, sizeof(c->key) - 1) == 0)
            slot = c;
        else if (c->hash && now - c->written_ms >= lim->interval_ms)
            write_count(c, now);   /* a kind gone quiet: its count now, not never */
        if (!oldest || (oldest->hash && (c->hash == 0 || c->last_use < oldest->last_use)))
            oldest = c;   /* a free slot, else the kind seen least recently */
    }
    lim->calls++;
    if (slot && now - slot->written_ms < lim->interval_ms) {
        slot->repeats++;
        slot->last_use = lim->calls;
        pthread_mutex_unlock(&lim->lock);
        return;
    }
    if (slot && slot->repeats > 0) {
        st_logger_write(level, "%s (same message repeated %" PRIu64 " times in the last %.1f s)",
                        msg, slot->repeats, (double)(now - slot->written_ms) / 1000.0);
    } else {
        if (!slot) {
            slot = oldest;
            write_count(slot, now);   /* pushed out: its count first */
            slot->hash = h;
            copy_text(slot->key, sizeof(slot->key), k);
        }
        st_logger_write(level, "%s", msg);
    }
    slot->repeats = 0;
    slot->written_ms = now;
    slot->last_use = lim->calls;
    slot->level = level;
    copy_text(slot->text, sizeof(slot->text), msg);
    pthread_mutex_unlock(&lim->lock);
}

void st_logger_flush_limited(st_log_limit_t *lim)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&limiters_lock);
    for (st_log_limit_t *l = lim ? lim : limiters; l; l = lim ? NULL : l->next) {
        pthread_mutex_lock(&l->lock);
        for (int i = 0; i < ST_LOG_LIMIT_KINDS; i++)
            write_count(&l->kinds[i], now);
        pthread_mutex_unlock(&l->lock);
    }
    pthread_mutex_unlock(&limiters_lock);
}
