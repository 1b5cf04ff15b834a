/* Unit tests for the declarative configuration table (common/st_config.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_config.h"

typedef struct demo_cfg {
    int32_t id;
    int64_t bytes;
    int64_t unset_ms;
    bool flag;
    char *policy;
    char *dirs;
    char *password;
    double ratio;
} demo_cfg_t;

static const st_cfg_def_t demo_table[] = {
    { "broker.id", ST_CFG_INT, "0", -1, 2147483647, NULL, offsetof(demo_cfg_t, id), "id", false },
    { "log.segment.bytes", ST_CFG_LONG, "1073741824", 14, 2147483647, NULL, offsetof(demo_cfg_t, bytes), "seg", false },
    { "log.retention.ms", ST_CFG_LONG, NULL, -1, INT64_MAX, NULL, offsetof(demo_cfg_t, unset_ms), "ret", false },
    { "auto.create.topics.enable", ST_CFG_BOOL, "true", 0, 0, NULL, offsetof(demo_cfg_t, flag), "ac", false },
    { "cleanup.policy", ST_CFG_STRING, "delete", 0, 0, "delete,compact", offsetof(demo_cfg_t, policy), "cp", false },
    { "log.dirs", ST_CFG_LIST, "/tmp/a", 0, 0, NULL, offsetof(demo_cfg_t, dirs), "dirs", false },
    { "ssl.key.password", ST_CFG_STRING, NULL, 0, 0, NULL, offsetof(demo_cfg_t, password), "pw", true },
    { "ratio", ST_CFG_DOUBLE, "0.5", 0, 1, NULL, offsetof(demo_cfg_t, ratio), "r", false },
    ST_CFG_END,
};

Test(config, defaults_and_unset)
{
    demo_cfg_t cfg;
    st_cfg_init(demo_table, &cfg);
    cr_expect_eq(cfg.id, 0);
    cr_expect_eq(cfg.bytes, 1073741824);
    cr_expect_eq(cfg.unset_ms, ST_CFG_UNSET_LONG);
    cr_expect(cfg.flag);
    cr_expect_str_eq(cfg.policy, "delete");
    cr_expect_null(cfg.password);
    cr_expect_float_eq(cfg.ratio, 0.5, 1e-9);
    st_cfg_free(demo_table, &cfg);
}

Test(config, set_validates_range_and_names_key)
{
    demo_cfg_t cfg;
    st_cfg_error_t err;
    st_cfg_init(demo_table, &cfg);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "log.segment.bytes", "13", &err), -EINVAL);
    cr_expect(strstr(err.msg, "log.segment.bytes") != NULL, "%s", err.msg);
    cr_expect(strstr(err.msg, "[14, 2147483647]") != NULL, "%s", err.msg);
    cr_expect_eq(cfg.bytes, 1073741824, "a rejected value must not change the field");
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "log.segment.bytes", "12abc", &err), -EINVAL);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "log.segment.bytes", "", &err), -EINVAL);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "log.segment.bytes", "99999999999999999999999", &err), -EINVAL);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "log.segment.bytes", "4096", &err), 0);
    cr_expect_eq(cfg.bytes, 4096);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "auto.create.topics.enable", "yes", &err), -EINVAL);
    cr_expect(strstr(err.msg, "true or false") != NULL, "%s", err.msg);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "auto.create.topics.enable", "FALSE", &err), 0);
    cr_expect(!cfg.flag);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "cleanup.policy", "snapshot", &err), -EINVAL);
    cr_expect(strstr(err.msg, "delete,compact") != NULL, "%s", err.msg);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "cleanup.policy", "COMPACT", &err), 0);
    cr_expect_str_eq(cfg.policy, "compact");
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "ratio", "1.5", &err), -EINVAL);
    cr_expect_eq(st_cfg_set(demo_table, &cfg, "no.such.key", "1", &err), -ENOENT);
    cr_expect(strstr(err.msg, "no.such.key") != NULL, "%s", err.msg);
    st_cfg_free(demo_table, &cfg);
}

Test(config, set_kv_and_lists)
{
    demo_cfg_t cfg;
    st_cfg_error_t err;
    st_cfg_init(demo_table, &cfg);
    cr_expect_eq(st_cfg_set_kv(demo_table, &cfg, " log.dirs = /a , /b,, /c ", &err), 0);
    cr_expect_str_eq(cfg.dirs, "/a,/b,/c");
    cr_expect_eq(st_cfg_set_kv(demo_table, &cfg, "broker.id", &err), -EINVAL);
    cr_expect_eq(st_cfg_set_kv(demo_table, &cfg, "=3", &err), -EINVAL);
    cr_expect_eq(st_cfg_set_kv(demo_table, &cfg, "broker.id=7", &err), 0);
    cr_expect_eq(cfg.id, 7);
    st_cfg_free(demo_table, &cfg);
}

static int unknown_count;
static int unknown_line;
static void on_unknown(const char *path, int line, const char *key, void *arg)
{
    (void)path; (void)arg;
    cr_expect_str_eq(key, "mystery.key");
    unknown_count++;
    unknown_line = line;
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/st_cfg_test_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(config, load_file)
{
    char *path = write_temp("# comment\n! also a comment\n\nbroker.id = 3\n"
                            "log.segment.bytes: 1048576\nmystery.key=1\n  ssl.key.password=s3cret  \n");
    demo_cfg_t cfg;
    st_cfg_error_t err;
    st_cfg_init(demo_table, &cfg);
    unknown_count = 0;
    cr_assert_eq(st_cfg_load_file(demo_table, &cfg, path, on_unknown, NULL, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.id, 3);
    cr_expect_eq(cfg.bytes, 1048576);
    cr_expect_str_eq(cfg.password, "s3cret");
    cr_expect_eq(unknown_count, 1);
    cr_expect_eq(unknown_line, 6);

    char out[4096] = { 0 };
    FILE *mem = fmemopen(out, sizeof(out) - 1, "w");
    st_cfg_dump(demo_table, &cfg, mem);
    fclose(mem);
    cr_expect(strstr(out, "s3cret") == NULL, "secrets must not be printed");
    cr_expect(strstr(out, "[hidden]") != NULL);
    st_cfg_free(demo_table, &cfg);
    unlink(path);
    free(path);
}

Test(config, load_file_errors_name_file_and_line)
{
    char *path = write_temp("broker.id=1\nlog.segment.bytes=tiny\n");
    demo_cfg_t cfg;
    st_cfg_error_t err;
    st_cfg_init(demo_table, &cfg);
    cr_expect_eq(st_cfg_load_file(demo_table, &cfg, path, NULL, NULL, &err), -EINVAL);
    char want[300];
    snprintf(want, sizeof(want), "%s:2: log.segment.bytes=tiny", path);
    cr_expect(strstr(err.msg, want) != NULL, "%s", err.msg);
    unlink(path);
    free(path);

    path = write_temp("just some words\n");
    cr_expect_eq(st_cfg_load_file(demo_table, &cfg, path, NULL, NULL, &err), -EINVAL);
    cr_expect(strstr(err.msg, ":1: expected key=value") != NULL, "%s", err.msg);
    unlink(path);
    free(path);

    cr_expect_eq(st_cfg_load_file(demo_table, &cfg, "/nonexistent/server.properties", NULL, NULL, &err), -ENOENT);
    cr_expect(strstr(err.msg, "/nonexistent/server.properties") != NULL, "%s", err.msg);
    st_cfg_free(demo_table, &cfg);
}

Test(config, help_lists_every_key)
{
    char out[8192] = { 0 };
    FILE *mem = fmemopen(out, sizeof(out) - 1, "w");
    st_cfg_print_help(demo_table, mem);
    fclose(mem);
    for (const st_cfg_def_t *def = demo_table; def->name; def++)
        cr_expect(strstr(out, def->name) != NULL, "missing %s", def->name);
    cr_expect(strstr(out, "one of [delete,compact]") != NULL);
}

/* ENUM (index into valid) and SET (bitmask of valid words): parse case-insensitively, format
 * back canonically, refuse unknown words naming the key and value. */
typedef struct enum_cfg {
    int32_t ts_type;
    uint32_t policy;
} enum_cfg_t;

static const st_cfg_def_t enum_table[] = {
    { "message.timestamp.type", ST_CFG_ENUM, "CreateTime", 0, 0, "CreateTime,LogAppendTime",
      offsetof(enum_cfg_t, ts_type), "ts", false },
    { "cleanup.policy", ST_CFG_SET, "delete", 0, 0, "compact,delete",
      offsetof(enum_cfg_t, policy), "cp", false },
    ST_CFG_END,
};

Test(config, enum_and_set)
{
    enum_cfg_t cfg;
    st_cfg_error_t err;
    char out[64];
    st_cfg_init(enum_table, &cfg);
    cr_expect_eq(cfg.ts_type, 0);
    cr_expect_eq(cfg.policy, 2u);
    cr_expect_eq(st_cfg_set(enum_table, &cfg, "message.timestamp.type", "logappendTIME", &err), 0);
    cr_expect_eq(cfg.ts_type, 1);
    st_cfg_format_one(&enum_table[0], &cfg, out, sizeof(out));
    cr_expect_str_eq(out, "LogAppendTime");
    cr_expect_eq(st_cfg_set(enum_table, &cfg, "message.timestamp.type", "Now", &err), -EINVAL);
    cr_expect_str_eq(err.msg, "message.timestamp.type=Now: expected one of [CreateTime,LogAppendTime]");
    cr_expect_eq(cfg.ts_type, 1);
    cr_expect_eq(st_cfg_set(enum_table, &cfg, "cleanup.policy", "delete, compact", &err), 0);
    cr_expect_eq(cfg.policy, 3u);
    st_cfg_format_one(&enum_table[1], &cfg, out, sizeof(out));
    cr_expect_str_eq(out, "compact,delete");
    cr_expect_eq(st_cfg_set(enum_table, &cfg, "cleanup.policy", "compact,x", &err), -EINVAL);
    cr_expect(strstr(err.msg, "cleanup.policy=compact,x"), "%s", err.msg);
    cr_expect_eq(st_cfg_set(enum_table, &cfg, "cleanup.policy", " , ", &err), -EINVAL);
    cr_expect_eq(cfg.policy, 3u);
}
