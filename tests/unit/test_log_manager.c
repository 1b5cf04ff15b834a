/* Unit tests of the log manager (log_manager.c) and the checkpoint formats (checkpoint.c):
 * meta.properties written and checked (a broker.id mismatch is an error), partitions spread over
 * log dirs, checkpoints written at close and read back, the clean-shutdown marker, log start
 * offsets restored, deletion, maintenance, malformed checkpoint files. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log_internal.h"
#include "log_test_util.h"

static char *tmp, *d1, *d2;

static void setup(void)
{
    tu_quiet();
    tmp = tu_mkdtemp();
    d1 = tu_join(tmp, "data/a");   /* created by the manager, parents too */
    d2 = tu_join(tmp, "b");
}

static void teardown(void)
{
    tu_rm_rf(tmp);
    free(tmp);
    free(d1);
    free(d2);
}

TestSuite(log_manager, .init = setup, .fini = teardown);

static char *read_text(const char *dir, const char *name)
{
    char *p = tu_join(dir, name);
    FILE *f = fopen(p, "r");
    cr_assert(f, "%s missing", p);
    char *text = calloc(1, 4096);
    cr_assert_geq(fread(text, 1, 4095, f), 0);
    fclose(f);
    free(p);
    return text;
}

static st_log_manager_t *open_mgr(int32_t broker_id)
{
    const char *dirs[2] = { d1, d2 };
    st_log_config_t cfg = tu_config(4096);
    st_log_manager_t *mgr;
    int ret = st_log_manager_open(dirs, 2, broker_id, &cfg, &mgr);
    cr_assert_eq(ret, 0, "manager open: %s", strerror(-ret));
    return mgr;
}

Test(log_manager, create_spread_close_reopen)
{
    st_log_manager_t *mgr = open_mgr(1);
    char *meta = read_text(d1, "meta.properties");
    cr_assert(strstr(meta, "broker.id=1\n"), "%s", meta);
    cr_assert(strstr(meta, "version=0\n"));
    free(meta);

    st_log_t *log;
    cr_assert_eq(st_log_manager_create(mgr, "orders", 0, NULL, &log), 0);
    cr_assert_eq(st_log_manager_create(mgr, "orders", 1, NULL, NULL), 0);
    cr_assert_eq(st_log_manager_create(mgr, "my-topic.v2", 7, NULL, NULL), 0);
    cr_assert_eq(st_log_manager_create(mgr, "orders", 0, NULL, NULL), -EEXIST);
    cr_assert_eq(st_log_manager_create(mgr, "bad/name", 0, NULL, NULL), -EINVAL);
    cr_assert_eq(st_log_manager_create(mgr, "", 0, NULL, NULL), -EINVAL);
    cr_assert_eq(st_log_manager_create(mgr, "x", -1, NULL, NULL), -EINVAL);
    cr_assert(tu_exists(d1, "orders-0"));
    cr_assert(tu_exists(d2, "orders-1"), "the dir with fewest partitions");
    cr_assert(tu_exists(d1, "my-topic.v2-7"));
    cr_assert_eq(st_log_manager_get(mgr, "orders", 0), log);
    cr_assert_null(st_log_manager_get(mgr, "orders", 2));
    st_log_t *other = st_log_manager_get(mgr, "my-topic.v2", 7);
    cr_assert_not_null(other);
    cr_assert_str_eq(st_log_topic(other), "my-topic.v2");

    for (int i = 0; i < 30; i++)
        tu_append(log, 3, 1000 + i, 200);
    tu_append(other, 2, 1, 10);
    cr_assert_eq(st_log_advance_start(log, 40), 0);
    st_log_manager_close(mgr);

    cr_assert(tu_exists(d1, ".kafka_cleanshutdown"));
    cr_assert(tu_exists(d2, ".kafka_cleanshutdown"));
    char *rp = read_text(d1, "recovery-point-offset-checkpoint");
    cr_assert(strncmp(rp, "0\n2\n", 4) == 0, "%s", rp);
    cr_assert(strstr(rp, "orders 0 90\n"), "%s", rp);
    cr_assert(strstr(rp, "my-topic.v2 7 2\n"), "%s", rp);
    free(rp);
    char *ls = read_text(d1, "log-start-offset-checkpoint");
    cr_assert(strstr(ls, "orders 0 40\n"), "%s", ls);
    free(ls);
    rp = read_text(d2, "recovery-point-offset-checkpoint");
    cr_assert_str_eq(rp, "0\n1\norders 1 0\n");
    free(rp);

    mgr = open_mgr(1);
    cr_assert_not(tu_exists(d1, ".kafka_cleanshutdown"), "removed once loaded");
    log = st_log_manager_get(mgr, "orders", 0);
    cr_assert_not_null(log);
    cr_assert_eq(st_log_end_offset(log), 90);
    cr_assert_eq(st_log_start_offset(log), 40, "restored from log-start-offset-checkpoint");
    cr_assert_eq(st_log_recovery_point(log), 90);
    cr_assert_not_null(st_log_manager_get(mgr, "orders", 1));
    cr_assert_eq(st_log_manager_checkpoint(mgr), 0);
    st_log_manager_close(mgr);
}

Test(log_manager, broker_id_mismatch_is_an_error)
{
    st_log_manager_t *mgr = open_mgr(5);
    st_log_manager_close(mgr);
    const char *dirs[2] = { d1, d2 };
    st_log_config_t cfg = tu_config(4096);
    cr_assert_eq(st_log_manager_open(dirs, 2, 6, &cfg, &mgr), -EINVAL);
    /* a meta.properties without broker.id is an error too */
    char *p = tu_join(d2, "meta.properties");
    FILE *f = fopen(p, "w");
    fputs("version=0\n", f);
    fclose(f);
    cr_assert_eq(st_log_manager_open(dirs + 1, 1, 5, &cfg, &mgr), -EBADMSG);
    free(p);
}

Test(log_manager, unclean_restart_recovers)
{
    st_log_manager_t *mgr = open_mgr(1);
    st_log_t *log;
    cr_assert_eq(st_log_manager_create(mgr, "t", 0, NULL, &log), 0);
    for (int i = 0; i < 30; i++)
        tu_append(log, 3, 1000 + i, 200);
    st_log_manager_close(mgr);
    /* as if killed: no marker, and a torn tail */
    char *marker = tu_join(d1, ".kafka_cleanshutdown");
    unlink(marker);
    free(marker);
    char *part = tu_join(d1, "t-0");
    char *seg = NULL;
    off_t size = 0;
    for (int64_t base = 200; base >= 0 && !seg; base--) {   /* the last segment */
        char name[32];
        snprintf(name, sizeof(name), "%020" PRId64 ".log", base);
        if (tu_exists(part, name)) {
            seg = tu_join(part, name);
            size = tu_file_size(part, name);
        }
    }
    cr_assert_not_null(seg);
    int fd = open(seg, O_WRONLY | O_APPEND);
    cr_assert_eq(write(fd, "garbage!garbage!garbage!", 24), 24);
    close(fd);
    mgr = open_mgr(1);
    log = st_log_manager_get(mgr, "t", 0);
    cr_assert_eq(st_log_end_offset(log), 90);
    struct stat st;
    cr_assert_eq(stat(seg, &st), 0);
    cr_assert_eq(st.st_size, size);
    st_log_manager_close(mgr);
    free(seg);
    free(part);
}

Test(log_manager, delete_and_leftover_delete_dirs)
{
    st_log_manager_t *mgr = open_mgr(1);
    cr_assert_eq(st_log_manager_create(mgr, "gone", 0, NULL, NULL), 0);
    cr_assert_eq(st_log_manager_create(mgr, "kept", 0, NULL, NULL), 0);
    cr_assert_eq(st_log_manager_delete(mgr, "gone", 0), 0);
    cr_assert_eq(st_log_manager_delete(mgr, "gone", 0), -ENOENT);
    cr_assert_null(st_log_manager_get(mgr, "gone", 0));
    cr_assert_not(tu_exists(d1, "gone-0"));
    cr_assert_not_null(st_log_manager_get(mgr, "kept", 0));
    st_log_manager_close(mgr);
    char *p = tu_join(d2, "old-3.abcdef-delete");
    cr_assert_eq(mkdir(p, 0755), 0);
    char *f = tu_join(p, "00000000000000000000.log");
    fclose(fopen(f, "w"));
    mgr = open_mgr(1);
    cr_assert_not(tu_exists(d2, "old-3.abcdef-delete"));
    cr_assert_not_null(st_log_manager_get(mgr, "kept", 0));
    st_log_manager_close(mgr);
    free(f);
    free(p);
}

static void count_logs(st_log_t *log, void *arg)
{
    (void)log;
    (*(int *)arg)++;
}

Test(log_manager, maintain_and_foreach)
{
    st_log_manager_t *mgr = open_mgr(1);
    st_log_config_t cfg = tu_config(2048);
    cfg.retention_ms = 1000;
    st_log_t *log;
    cr_assert_eq(st_log_manager_create(mgr, "short", 0, &cfg, &log), 0);
    cr_assert_eq(st_log_manager_create(mgr, "other", 0, NULL, NULL), 0);
    int64_t now = st_log_now_ms();
    for (int i = 0; i < 20; i++)
        tu_append(log, 2, now - 5000, 200);
    size_t segs = st_log_segment_count(log);
    cr_assert_gt(segs, 2);
    st_log_manager_maintain(mgr, now, NULL, NULL);
    cr_assert_eq(st_log_segment_count(log), 1);
    cr_assert_gt(st_log_recovery_point(log), 0, "the rolls owed a flush, paid by maintain");
    /* a compacted topic is cleaned by the same pass */
    st_log_config_t ccfg = tu_config(1 << 20);
    ccfg.cleanup_compact = true;
    ccfg.cleanup_delete = false;
    st_log_t *clog;
    cr_assert_eq(st_log_manager_create(mgr, "table", 0, &ccfg, &clog), 0);
    size_t len;
    for (int i = 0; i < 5; i++) {
        uint8_t *b = tu_batch(4, now, true, 30, &len);   /* keys k0..k3 again and again */
        cr_assert_eq(st_log_append(clog, b, len, 0, NULL), 0);
        free(b);
    }
    cr_assert_eq(st_log_roll(clog), 0);
    cr_assert_eq(tu_read_all(clog, 0, 1 << 20, NULL, NULL), 20);
    st_log_manager_maintain(mgr, now, NULL, NULL);
    cr_assert_eq(tu_read_all(clog, 0, 1 << 20, NULL, NULL), 4);
    int n = 0;
    st_log_manager_foreach(mgr, count_logs, &n);
    cr_assert_eq(n, 3);
    st_log_manager_close(mgr);
}

Test(log_manager, checkpoint_formats)
{
    char *p = tu_join(tmp, "cp");
    st_offset_checkpoint_entry_t in[2] = { { "a", 0, 5 }, { "b-c", 12, 123456789012LL } };
    cr_assert_eq(st_offset_checkpoint_write(p, in, 2), 0);
    st_offset_checkpoint_entry_t *out;
    size_t n;
    cr_assert_eq(st_offset_checkpoint_read(p, &out, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out[1].topic, "b-c");
    cr_assert_eq(out[1].partition, 12);
    cr_assert_eq(out[1].offset, 123456789012LL);
    st_offset_checkpoint_free(out, n);
    cr_assert_not(tu_exists(tmp, "cp.tmp"));

    const char *bad[] = { "1\n0\n", "0\n2\na 0 1\n", "0\n1\na x 1\n", "0\n1\na 0 1\nb 0 2\n",
                          "", "0\n-1\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *f = fopen(p, "w");
        fputs(bad[i], f);
        fclose(f);
        cr_assert_eq(st_offset_checkpoint_read(p, &out, &n), -EBADMSG, "case %zu", i);
    }
    unlink(p);
    cr_assert_eq(st_offset_checkpoint_read(p, &out, &n), -ENOENT);

    st_epoch_entry_t e[2] = { { 1, 0 }, { 4, 100 } };
    cr_assert_eq(st_epoch_checkpoint_write(p, e, 2), 0);
    st_epoch_entry_t *eo;
    cr_assert_eq(st_epoch_checkpoint_read(p, &eo, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(eo[1].epoch, 4);
    cr_assert_eq(eo[1].start_offset, 100);
    free(eo);

    cr_assert_eq(st_meta_properties_write(p, 9, "abc-cluster"), 0);
    int32_t id;
    char *cluster;
    cr_assert_eq(st_meta_properties_read(p, &id, &cluster), 0);
    cr_assert_eq(id, 9);
    cr_assert_str_eq(cluster, "abc-cluster");
    free(cluster);
    free(p);
}
