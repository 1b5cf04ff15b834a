/* The storage engine's log lines say true things (issue 9, item 13): a log just created is
 * "Created", never "Loaded ... (clean shutdown)"; offsets read "log start offset 0 and log end
 * offset 5" (the end is exclusive: "0..5" read as six records); one line per log dir says
 * whether recovery runs; a recovered log says it was recovered. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_test_util.h"

static char *dir;
static char logpath[64];
static int fd = -1;

static void setup(void)
{
    dir = tu_mkdtemp();
    snprintf(logpath, sizeof(logpath), "/tmp/strand-logmsg-test-XXXXXX");
    fd = mkstemp(logpath);
    cr_assert_geq(fd, 0);
    st_logger_set_fd(fd);
    st_logger_set_level(ST_LEVEL_INFO);
}

static void teardown(void)
{
    st_logger_set_fd(2);
    close(fd);
    unlink(logpath);
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(log_messages, .init = setup, .fini = teardown, .timeout = 30);

/* What was logged since the last call (malloc'd). */
static char *logged(void)
{
    static long from;
    FILE *f = fopen(logpath, "r");
    cr_assert_not_null(f);
    fseek(f, from, SEEK_SET);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    from += (long)n;
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

Test(log_messages, created_loaded_and_recovered_logs_say_which)
{
    const char *dirs[1] = { dir };
    st_log_config_t cfg = tu_config(1 << 20);
    st_log_manager_t *mgr;
    cr_assert_eq(st_log_manager_open(dirs, 1, 1, &cfg, &mgr), 0);
    st_log_t *log;
    cr_assert_eq(st_log_manager_create(mgr, "t", 0, NULL, &log), 0);
    tu_append(log, 5, 1000, 10);
    char *text = logged();
    cr_expect_eq(count(text, "Created log"), 1, "%s", text);
    cr_expect_eq(count(text, "Loaded log"), 0, "a new log is not 'loaded': %s", text);
    cr_expect_eq(count(text, "clean shutdown"), 0, "%s", text);
    cr_expect_eq(count(text, "recovery for all logs"), 0,
                 "a first start with no logs says nothing about recovery: %s", text);
    free(text);
    cr_expect(st_log_manager_close(mgr));

    /* clean restart */
    cr_assert_eq(st_log_manager_open(dirs, 1, 1, &cfg, &mgr), 0);
    text = logged();
    cr_expect_eq(count(text, "Skipping recovery for all logs in"), 1, "%s", text);
    cr_expect(strstr(text, "1 segment(s), log start offset 0 and log end offset 5, recovery point "
                           "5 (clean shutdown)"), "%s", text);
    cr_expect_eq(count(text, "Attempting recovery"), 0, "%s", text);
    free(text);
    log = st_log_manager_get(mgr, "t", 0);
    tu_append(log, 3, 1000, 10);

    /* a crash: no clean-shutdown marker (the manager removed it at open; the process dies
     * without closing, which a test cannot do, so the marker is removed after a close) */
    cr_expect(st_log_manager_close(mgr));
    char *marker = tu_join(dir, ".kafka_cleanshutdown");
    cr_assert_eq(unlink(marker), 0);
    free(marker);
    logged();
    cr_assert_eq(st_log_manager_open(dirs, 1, 1, &cfg, &mgr), 0);
    text = logged();
    cr_expect_eq(count(text, "Attempting recovery for all logs in"), 1,
                 "one line when recovery runs: %s", text);
    cr_expect(strstr(text, dir), "it names the log dir: %s", text);
    cr_expect(strstr(text, "log start offset 0 and log end offset 8"), "%s", text);
    cr_expect_eq(count(text, "clean shutdown)"), 0, "%s", text);
    free(text);
    cr_expect(st_log_manager_close(mgr));
}
