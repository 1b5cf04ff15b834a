/* Process-wide logging: one line per event, "[2026-11-21 14:00:00,123] INFO message", written
 * with a single write(2) so lines from different threads never interleave. Library code in
 * common/ logs at DEBUG at most; callers that handle an error log it once, with context. */
#ifndef ST_LOGGER_H
#define ST_LOGGER_H

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

#define ST_DEBUG(...) do { if (st_logger_level() <= ST_LEVEL_DEBUG) st_logger_write(ST_LEVEL_DEBUG, __VA_ARGS__); } while (0)
#define ST_INFO(...)  st_logger_write(ST_LEVEL_INFO, __VA_ARGS__)
#define ST_WARN(...)  st_logger_write(ST_LEVEL_WARN, __VA_ARGS__)
#define ST_ERROR(...) st_logger_write(ST_LEVEL_ERROR, __VA_ARGS__)

#endif
