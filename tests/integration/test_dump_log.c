/* Tests of strand-dump-log ($STRAND_DUMP_LOG): Kafka-style output of a good segment and its
 * indexes, records with --print-data-log, index verification, a corrupt or torn file reported
 * with its byte position and exit status 1 (a batch failing its CRC printed "isvalid: false"
 * and the dump going on, as Kafka's DumpLogSegments does), a missing file named as missing,
 * and usage errors as one line with exit status 1. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_buf.h"
#include "st_log.h"
#include "st_logger.h"

static char *tmp, *dir, *out, *err;
static size_t blen;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char *text = calloc(1, 1 << 20);
    cr_assert_geq(fread(text, 1, (1 << 20) - 1, f), 0);
    fclose(f);
    return text;
}

/* Runs the tool; *ret_out / *ret_err get its output. Returns the exit status. */
static int run(const char *args, char **ret_out, char **ret_err)
{
    const char *tool = getenv("STRAND_DUMP_LOG");
    cr_assert_not_null(tool, "$STRAND_DUMP_LOG must name strand-dump-log");
    char *cmd;
    cr_assert(asprintf(&cmd, "cd '%s' && '%s' %s >'%s' 2>'%s'", dir, tool, args, out, err) > 0);
    int status = system(cmd);
    free(cmd);
    cr_assert(WIFEXITED(status));
    *ret_out = slurp(out);
    *ret_err = slurp(err);
    return WEXITSTATUS(status);
}

static void append_kv(st_log_t *log, st_compression_t codec, int n, int64_t ts)
{
    st_batch_writer_t *w = st_batch_writer_new(codec);
    for (int i = 0; i < n; i++) {
        char k[16], v[300];
        int kl = snprintf(k, sizeof(k), "k%d", i);
        int vl = snprintf(v, sizeof(v), "value-%d-%0200d", i, i);
        cr_assert_eq(st_batch_writer_add(w, ts, k, kl, v, vl, NULL, 0), 0);
    }
    const void *b;
    size_t len;
    cr_assert_eq(st_batch_writer_finish(w, &b, &len), 0);
    if (codec == ST_COMPRESSION_NONE)
        blen = len;
    cr_assert_eq(st_log_append(log, (void *)(uintptr_t)b, len, 4, NULL), 0);
    st_batch_writer_free(w);
}

static void setup(void)
{
    st_logger_set_level(ST_LEVEL_ERROR);
    tmp = strdup("/tmp/strand-dumplog-XXXXXX");
    cr_assert(mkdtemp(tmp));
    cr_assert(asprintf(&dir, "%s/t-0", tmp) > 0);
    cr_assert(asprintf(&out, "%s/out", tmp) > 0);
    cr_assert(asprintf(&err, "%s/err", tmp) > 0);
    st_log_config_t cfg;
    st_log_config_defaults(&cfg);
    cfg.index_interval_bytes = 1000;
    cfg.index_max_bytes = 4096;
    st_log_t *log;
    cr_assert_eq(st_log_open(dir, &cfg, 0, true, &log), 0);
    for (int i = 0; i < 10; i++)
        append_kv(log, ST_COMPRESSION_NONE, 3, 1000 + i);   /* batch i: offsets 3i..3i+2 */
    append_kv(log, ST_COMPRESSION_LZ4, 2, 5000);
    st_log_close(log);
}

static void teardown(void)
{
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
    free(dir);
    free(out);
    free(err);
}

TestSuite(dump_log, .init = setup, .fini = teardown);

#define LOG0 "00000000000000000000.log"

Test(dump_log, batches_in_kafka_style)
{
    char *o, *e;
    cr_assert_eq(run("--files " LOG0, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "Dumping " LOG0 "\n"), "%s", o);
    cr_assert(strstr(o, "Log starting offset: 0\n"));
    char want[256];
    snprintf(want, sizeof(want), "baseOffset: 3 lastOffset: 5 count: 3 baseSequence: -1 "
             "lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 4 "
             "isTransactional: false isControl: false position: %zu CreateTime: 1001 size: %zu "
             "magic: 2 compresscodec: none crc: ", blen, blen);
    cr_assert(strstr(o, want), "missing \"%s\" in:\n%s", want, o);
    cr_assert(strstr(o, "baseOffset: 30 lastOffset: 31 count: 2"));
    cr_assert(strstr(o, "compresscodec: lz4"));
    int lines = 0;
    for (char *p = o; (p = strstr(p, "isvalid: true")); p++)
        lines++;
    cr_assert_eq(lines, 11);
    cr_assert_null(strstr(o, "| offset"), "no records without --print-data-log");
    free(o);
    free(e);
}

Test(dump_log, records_with_print_data_log)
{
    char *o, *e;
    cr_assert_eq(run("--files " LOG0 " --print-data-log", &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "| offset: 4 CreateTime: 1001 keySize: 2 valueSize: 208 sequence: -1 "
                        "headerKeys: [] key: k1 payload: value-1-000"), "%s", o);
    cr_assert(strstr(o, "| offset: 31 CreateTime: 5000 keySize: 2"), "LZ4 records decompressed");
    free(o);
    free(e);
}

Test(dump_log, index_entries_and_verification)
{
    char *o, *e;
    cr_assert_eq(run("--files 00000000000000000000.index,00000000000000000000.timeindex", &o, &e),
                 0, "%s", e);
    cr_assert(strstr(o, "Dumping 00000000000000000000.index\n"));
    char want[64];
    snprintf(want, sizeof(want), "offset: 8 position: %zu\n", 2 * blen);
    cr_assert(strstr(o, want), "missing %s in:\n%s", want, o);
    cr_assert(strstr(o, "timestamp: 1002 offset: 8\n"), "%s", o);
    free(o);
    free(e);
    cr_assert_eq(run("--verify-index-only --files " LOG0, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "entries verified"));
    free(o);
    free(e);

    /* an entry pointing into the middle of a batch */
    char *ipath;
    cr_assert(asprintf(&ipath, "%s/00000000000000000000.index", dir) > 0);
    int fd = open(ipath, O_RDWR);
    uint8_t pos[4];
    st_put_be32(pos, (uint32_t)(2 * blen + 10));
    cr_assert_eq(pwrite(fd, pos, 4, 4), 4);
    close(fd);
    cr_assert_eq(run("--verify-index-only --files 00000000000000000000.index", &o, &e), 1);
    cr_assert(strstr(o, "Mismatch in 00000000000000000000.index: entry 0"), "%s", o);
    cr_assert(strstr(e, "corrupt at position 0"), "%s", e);
    free(o);
    free(e);
    free(ipath);
}

Test(dump_log, corrupt_file_reports_the_position)
{
    char *path;
    cr_assert(asprintf(&path, "%s/" LOG0, dir) > 0);
    int fd = open(path, O_RDWR);
    uint8_t b;
    off_t at = (off_t)(4 * blen + 100);   /* inside the 5th batch's records */
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 1;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
    char *o, *e;
    cr_assert_eq(run("--files " LOG0, &o, &e), 1);
    char want[64];
    snprintf(want, sizeof(want), "corrupt at position %zu: CRC-32C mismatch", 4 * blen);
    cr_assert(strstr(e, want), "missing \"%s\" in:\n%s", want, e);
    cr_assert(strstr(o, "isvalid: false"));
    cr_assert(strstr(o, "baseOffset: 9 lastOffset: 11"), "good batches still printed");
    free(o);
    free(e);
    /* As Kafka's DumpLogSegments: the bad batch is printed (isvalid: false) and the dump goes
     * on to the batches after it, with and without the records. */
    cr_assert_eq(run("--files " LOG0, &o, &e), 1);
    snprintf(want, sizeof(want), "baseOffset: 12 lastOffset: 14 count: 3");
    char *bad = strstr(o, want);
    cr_assert(bad && strstr(bad, "isvalid: false\n"), "%s", o);
    cr_assert(strstr(o, "baseOffset: 15 lastOffset: 17 count: 3"), "dump stopped at the bad batch:\n%s", o);
    cr_assert(strstr(o, "baseOffset: 30 lastOffset: 31 count: 2"), "%s", o);
    int valid = 0;
    for (char *p = o; (p = strstr(p, "isvalid: true")); p++)
        valid++;
    cr_expect_eq(valid, 10);
    free(o);
    free(e);
    cr_assert_eq(run("--print-data-log --files " LOG0, &o, &e), 1);
    cr_assert(strstr(o, "| offset: 16 CreateTime: 1005"), "records after the bad batch:\n%s", o);
    cr_assert(strstr(o, "| offset: 31 CreateTime: 5000"), "%s", o);
    cr_expect_null(strstr(o, "| offset: 13 "), "records of the bad batch are not shown");
    free(o);
    free(e);

    /* a torn tail */
    fd = open(path, O_RDWR);
    cr_assert_eq(ftruncate(fd, (off_t)(3 * blen + 20)), 0);
    close(fd);
    cr_assert_eq(run("--files " LOG0, &o, &e), 1);
    cr_assert(strstr(o, "Found 20 invalid bytes at the end of " LOG0), "%s", o);
    snprintf(want, sizeof(want), "corrupt at position %zu", 3 * blen);
    cr_assert(strstr(e, want), "%s", e);
    free(o);
    free(e);
    free(path);

}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(dump_log, missing_files_and_usage_errors)
{
    char *o, *e;
    /* A missing file is named as missing, whatever the mode; the other files are still read. */
    cr_assert_eq(run("--files 00000000000000000099.log", &o, &e), 1);
    cr_expect_str_eq(e, "strand-dump-log: 00000000000000000099.log: no such file\n");
    free(o);
    free(e);
    cr_assert_eq(run("--verify-index-only --files 00000000000000000099.log", &o, &e), 1);
    cr_expect(strstr(e, "00000000000000000099.log: no such file"), "%s", e);
    free(o);
    free(e);
    cr_assert_eq(run("--files nothing.txt," LOG0, &o, &e), 1);
    cr_expect(strstr(e, "nothing.txt: no such file"), "%s", e);
    cr_expect(strstr(o, "Dumping " LOG0), "the next file is still dumped:\n%s", o);
    free(o);
    free(e);
    /* A file of an unknown kind (Kafka: "Ignoring unknown file"). */
    cr_assert_eq(run("--files ../out", &o, &e), 1);
    cr_expect(strstr(e, "Ignoring unknown file ../out"), "%s", e);
    free(o);
    free(e);
    /* Usage errors: one line naming the flag, exit 1. */
    static const char *const bad[] = { "", "--files", "--files " LOG0 " --bogus",
                                       "--print-data-log --files", "--files " LOG0 " stray" };
    static const char *const says[] = { "--files", "--files", "--bogus", "--files", "stray" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(run(bad[i], &o, &e), 1, "'%s'", bad[i]);
        cr_expect_eq(count_lines(e), 1, "'%s': %s", bad[i], e);
        cr_expect(strncmp(e, "strand-dump-log: ", 17) == 0 && strstr(e, says[i]) &&
                  strstr(e, "try --help"), "'%s': %s", bad[i], e);
        free(o);
        free(e);
    }
    cr_assert_eq(run("--help", &o, &e), 0);
    cr_expect(strstr(o, "--print-data-log") && !strstr(o, "--help-config"), "%s", o);
    free(o);
    free(e);
}
