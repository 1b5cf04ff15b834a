/* Unit tests of the config table's user-facing help (common/st_config.c): "did you mean" for a
 * mistyped key (edit distance against the table), and the start-up summary that lists exactly
 * the keys the user set -- checked on the broker's own table (broker/broker_config.c), whose
 * finish step derives values (num.network.threads from the cores, advertised listeners) that
 * the old summary listed as if the user had set them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_config.h"
#include "st_config.h"

Test(config_suggest, edit_distance)
{
    cr_expect_eq(st_cfg_edit_distance("abc", "abc"), 0);
    cr_expect_eq(st_cfg_edit_distance("abc", "abd"), 1);
    cr_expect_eq(st_cfg_edit_distance("abc", "ab"), 1);
    cr_expect_eq(st_cfg_edit_distance("abc", "abcd"), 1);
    cr_expect_eq(st_cfg_edit_distance("abc", "acb"), 1, "a swap of neighbours is one edit");
    cr_expect_eq(st_cfg_edit_distance("", "abc"), 3);
    cr_expect_eq(st_cfg_edit_distance("LOG_DIRS", "log.dirs"), 0, "case, '_' and '.' fold");
    cr_expect_eq(st_cfg_edit_distance("kitten", "sitting"), 3);
}

Test(config_suggest, broker_keys)
{
    static const struct { const char *typo, *want; } cases[] = {
        { "log.retention.hour", "log.retention.hours" },
        { "zookeeper.conect", "zookeeper.connect" },
        { "num.partition", "num.partitions" },
        { "brokr.id", "broker.id" },
        { "broekr.id", "broker.id" },
        { "log_dirs", "log.dirs" },
        { "LOG.SEGMENT.BYTES", "log.segment.bytes" },
        { "listener", "listeners" },
        { "min.insync.replica", "min.insync.replicas" },
        { "unclean.leader.election.enabled", "unclean.leader.election.enable" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = st_cfg_suggest(st_broker_config_table, cases[i].typo);
        cr_expect(got && strcmp(got, cases[i].want) == 0, "%s: got %s, want %s", cases[i].typo,
                  got ? got : "(none)", cases[i].want);
    }
    cr_expect_null(st_cfg_suggest(st_broker_config_table, "completely.unrelated.setting"));
    cr_expect_null(st_cfg_suggest(st_broker_config_table, "x"));
}

Test(config_suggest, unknown_key_error_names_the_closest_key)
{
    st_broker_config_t cfg;
    st_broker_config_init(&cfg);
    st_cfg_error_t err;
    cr_expect_eq(st_cfg_set_kv(st_broker_config_table, &cfg, "num.partition=3", &err), -ENOENT);
    cr_expect(strstr(err.msg, "unknown configuration key 'num.partition' (did you mean "
                              "'num.partitions'?)"), "%s", err.msg);
    cr_expect_eq(st_cfg_set_kv(st_broker_config_table, &cfg, "no.such.thing.at.all=3", &err),
                 -ENOENT);
    cr_expect_null(strstr(err.msg, "did you mean"), "%s", err.msg);
    st_broker_config_free(&cfg);
}

/* A struct table of someone else's (the topic configs, say): the generic form. */
typedef struct other_def {
    int kind;
    const char *name;
    const char *doc;
} other_def_t;

Test(config_suggest, any_table_of_structs)
{
    static const other_def_t table[] = {
        { 1, "cleanup.policy", "" }, { 2, "retention.ms", "" }, { 3, "segment.bytes", "" },
        { 0, NULL, NULL },
    };
    const char *got = st_cfg_closest_name("retention.mss", &table[0].name, 3, sizeof(table[0]));
    cr_expect(got && strcmp(got, "retention.ms") == 0, "%s", got ? got : "(none)");
    static const char *const names[] = { "acks", "linger.ms", "batch.size" };
    got = st_cfg_closest_name("ack", names, 3, sizeof(names[0]));
    cr_expect(got && strcmp(got, "acks") == 0);
    cr_expect_null(st_cfg_closest_name("zzz", names, 3, sizeof(names[0])));
}

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/strand-config-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void ignore_unknown(const char *path, int line, const char *key, void *arg)
{
    (void)path;
    (void)line;
    (void)key;
    (void)arg;
}

Test(config_suggest, summary_lists_only_what_the_user_set)
{
    char *path = write_file("broker.id=3\n"
                            "zookeeper.connect=127.0.0.1:2181\n"
                            "log.dirs=/var/lib/strand\n"
                            "num.partitions=1\n"
                            "ssl.key.password=hunter2\n"
                            "log.retention.hour=5\n");
    st_broker_config_t cfg;
    st_broker_config_init(&cfg);
    size_t n = st_cfg_count(st_broker_config_table);
    bool *given = calloc(n, sizeof(bool));
    st_cfg_error_t err;
    cr_assert_eq(st_cfg_load_file_given(st_broker_config_table, &cfg, path, ignore_unknown, NULL,
                                        &err, given), 0, "%s", err.msg);
    cr_assert_eq(st_cfg_set_kv_given(st_broker_config_table, &cfg, "log.segment.bytes=1048576",
                                     &err, given), 0);
    cr_assert_eq(st_broker_config_finish(&cfg, &err), 0, "%s", err.msg);
    char out[4096];
    st_cfg_describe_given(st_broker_config_table, &cfg, given, out, sizeof(out));
    cr_expect(strstr(out, "broker.id=3"), "%s", out);
    cr_expect(strstr(out, "log.dirs=/var/lib/strand"), "%s", out);
    cr_expect(strstr(out, "log.segment.bytes=1048576"), "the --override is listed: %s", out);
    cr_expect(strstr(out, "num.partitions=1 (the default)"), "%s", out);
    cr_expect(strstr(out, "ssl.key.password=[hidden]"), "%s", out);
    cr_expect_null(strstr(out, "hunter2"));
    /* derived by finish, never set by the user: not listed */
    cr_expect_null(strstr(out, "num.network.threads"), "%s", out);
    cr_expect_null(strstr(out, "advertised.listeners"), "%s", out);
    cr_expect_null(strstr(out, "listeners="), "%s", out);
    cr_expect_null(strstr(out, "log.retention"), "%s", out);
    unlink(path);
    free(path);
    free(given);
    st_broker_config_free(&cfg);
}
