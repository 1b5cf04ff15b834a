/* Process-wide logging: one line per event, "[2026-11-21 14:00:00,123] INFO message", written
 * with a single write(2) so lines from different threads never interleave. Library code in
 * common/ logs at DEBUG at most; callers that handle an error log it once, with context. */
#ifndef ST_LOGGER_H
#define ST_LOGGER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum st_level {
    ST_LEVEL_DEBUG = 0,
    ST_LEVEL_INFO = 1,
    ST_LEVEL_WARN = 2,
    ST_LEVEL_ERROR = 3,
    ST_LEVEL_OFF = 4,
} st_level_t;

/* Default INFO, or $STRAND_LOG_LEVEL (debug|info|warn|error|off) at first use. */
void st_logger_set_level(st_level_t level);
st_level_t st_logger_level(void);
/* Parses "debug", "info", "warn", "error", "off"; -EINVAL otherwise. */
int st_logger_parse_level(const char *name, st_level_t *ret_level);
/* Writes to stderr by default; fd >= 0 redirects. */
void st_logger_set_fd(int fd);

void st_logger_write(st_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- repeated lines ---------------------------------------------------------------------------
 * A limiter for a call site whose message can repeat for as long as a condition lasts (an
 * error met on every retry: ENOSPC per append, a controller that does not answer): the first
 * line of a kind is written; the same kind again within interval_ms is only counted; the next
 * line of that kind written after the interval carries the count:
 *     ... No space left on device (same message repeated 41 times in the last 10.0 s)
 * A kind is its key: the text that must match (NULL: the whole formatted message; give a key
 * when the message holds something that changes every time, such as a correlation id). A
 * limiter remembers ST_LOG_LIMIT_KINDS kinds; a kind pushed out, or one not seen again for an
 * interval, gets its count written on its own line ("Same message repeated 3 times in the last
 * 10.0 s: <message>") at the limiter's next call, or at st_logger_flush_limited.
 *
 * Declare one per call site, statically:
 *     static st_log_limit_t lim = ST_LOG_LIMIT_INIT(10000);
 *     st_logger_write_limited(&lim, ST_LEVEL_ERROR, NULL, "%s: %s", path, strerror(e));
 * Any thread (a mutex per limiter; the line itself is still one write(2)). */
#define ST_LOG_LIMIT_KINDS 8
#define ST_LOG_LIMIT_TEXT 400

typedef struct st_log_limit_kind {
    uint64_t hash;             /* of the key; 0: free slot */
    char key[ST_LOG_LIMIT_TEXT];
    char text[ST_LOG_LIMIT_TEXT];   /* the message last written (for the count line) */
    st_level_t level;
    int64_t written_ms;        /* when it was last written (monotonic) */
    uint64_t last_use;         /* the limiter's call count when last seen (least recent goes) */
    uint64_t repeats;          /* counted, not written, since then */
} st_log_limit_kind_t;

typedef struct st_log_limit {
    pthread_mutex_t lock;
    int interval_ms;
    struct st_log_limit *next; /* every limiter used so far (st_logger_flush_limited); next */
    atomic_bool registered;    /* and registered change under the file's limiters_lock, the
                                * rest under lock */
    uint64_t calls;
    st_log_limit_kind_t kinds[ST_LOG_LIMIT_KINDS];
} st_log_limit_t;

#define ST_LOG_LIMIT_INIT(ms) { PTHREAD_MUTEX_INITIALIZER, (ms), NULL, false, 0, { { 0 } } }

void st_logger_write_limited(st_log_limit_t *lim, st_level_t level, const char *key,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Writes the pending counts of lim (NULL: of every limiter used so far), e.g. at shutdown. */
void st_logger_flush_limited(st_log_limit_t *lim);

#define ST_DEBUG(...) do { if (st_logger_level() <= ST_LEVEL_DEBUG) st_logger_write(ST_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define ST_INFO(...)  st_logger_write(ST_LEVEL_INFO, __VA_ARGS__)
#define ST_WARN(...)  st_logger_write(ST_LEVEL_WARN, __VA_ARGS__)
#define ST_ERROR(...) st_logger_write(ST_LEVEL_ERROR, __VA_ARGS__)

#endif
