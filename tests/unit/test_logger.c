/* Unit tests of the logger's repeated-line limiter (st_logger_write_limited): the same message
 * within the interval is counted, not written; the count is written with the next occurrence
 * after the interval, when the kind is pushed out or goes quiet, and at a flush. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "st_logger.h"

static char path[64];
static int fd = -1;

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/strand-logger-test-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    st_logger_set_fd(fd);
    st_logger_set_level(ST_LEVEL_INFO);
}

static void teardown(void)
{
    st_logger_set_fd(2);
    close(fd);
    unlink(path);
}

TestSuite(logger, .init = setup, .fini = teardown, .timeout = 30);

/* The whole log written so far (malloc'd). */
static char *contents(void)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static int count(const char *text, const char *needle)
{
    int c = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

Test(logger, same_message_is_counted_and_the_count_written_after_the_interval)
{
    static st_log_limit_t lim = ST_LOG_LIMIT_INIT(200);
    for (int i = 0; i < 100; i++)
        st_logger_write_limited(&lim, ST_LEVEL_ERROR, NULL, "writing %s: %s", "/d/x.log",
                                "No space left on device");
    char *text = contents();
    cr_expect_eq(count(text, "writing /d/x.log: No space left on device"), 1, "%s", text);
    free(text);
    sleep_ms(250);
    st_logger_write_limited(&lim, ST_LEVEL_ERROR, NULL, "writing %s: %s", "/d/x.log",
                            "No space left on device");
    text = contents();
    cr_expect_eq(count(text, "writing /d/x.log: No space left on device"), 2, "%s", text);
    cr_expect(strstr(text, "No space left on device (same message repeated 99 times in the last"),
              "%s", text);
    cr_expect(strstr(text, "ERROR writing"), "the level is kept: %s", text);
    free(text);
}

Test(logger, a_key_groups_messages_that_differ_in_a_request_id)
{
    static st_log_limit_t lim = ST_LOG_LIMIT_INIT(10000);
    for (int i = 0; i < 50; i++)
        st_logger_write_limited(&lim, ST_LEVEL_WARN, "produce|t-0|56",
                                "Produce (correlation id %d): KAFKA_STORAGE_ERROR", i);
    st_logger_flush_limited(&lim);
    char *text = contents();
    cr_expect_eq(count(text, "KAFKA_STORAGE_ERROR"), 2, "%s", text);
    cr_expect(strstr(text, "(correlation id 0)"), "%s", text);
    cr_expect(strstr(text, "Same message repeated 49 times in the last"), "%s", text);
    free(text);
}

Test(logger, different_messages_are_all_written)
{
    static st_log_limit_t lim = ST_LOG_LIMIT_INIT(10000);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++)
            st_logger_write_limited(&lim, ST_LEVEL_WARN, NULL, "partition t-%d failed", i);
    char *text = contents();
    for (int i = 0; i < 4; i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "partition t-%d failed", i);
        cr_expect_eq(count(text, needle), 1, "%s", text);
    }
    free(text);
    /* more kinds than the limiter holds: the one pushed out gets its count written first */
    for (int i = 4; i < 4 + ST_LOG_LIMIT_KINDS; i++)
        st_logger_write_limited(&lim, ST_LEVEL_WARN, NULL, "partition t-%d failed", i);
    text = contents();
    cr_expect(strstr(text, "Same message repeated 2 times in the last"), "%s", text);
    free(text);
}

Test(logger, a_kind_gone_quiet_has_its_count_written_by_the_next_call_or_a_flush)
{
    static st_log_limit_t lim = ST_LOG_LIMIT_INIT(100);
    for (int i = 0; i < 5; i++)
        st_logger_write_limited(&lim, ST_LEVEL_INFO, NULL, "AlterIsr failed; retrying");
    sleep_ms(150);
    st_logger_write_limited(&lim, ST_LEVEL_INFO, NULL, "something else");
    char *text = contents();
    cr_expect(strstr(text, "Same message repeated 4 times in the last"), "%s", text);
    cr_expect(strstr(text, ": AlterIsr failed; retrying"), "%s", text);
    free(text);
    st_logger_flush_limited(NULL);   /* nothing pending: writes nothing */
    text = contents();
    cr_expect_eq(count(text, "Same message repeated"), 1, "%s", text);
    free(text);
}

Test(logger, below_the_level_nothing_is_written_or_counted)
{
    static st_log_limit_t lim = ST_LOG_LIMIT_INIT(10000);
    st_logger_set_level(ST_LEVEL_ERROR);
    for (int i = 0; i < 3; i++)
        st_logger_write_limited(&lim, ST_LEVEL_WARN, NULL, "quiet");
    st_logger_flush_limited(&lim);
    char *text = contents();
    cr_expect_eq(count(text, "quiet"), 0, "%s", text);
    free(text);
}
