/* log_writer: the victim of test_crash_recovery. Opens a log dir with the log manager (so every
 * start after a SIGKILL is an unclean one, recovered from the checkpointed recovery point),
 * then appends numbered batches to partition "crash-0" forever, printing "<batch> <last offset>"
 * on stdout (one write(2) per line) after each append returns: that line is the
 * acknowledgement. Every few batches it flushes and writes the checkpoints, so kills also land
 * in the middle of fsyncs, checkpoint writes and rolls.
 *
 *   log_writer <log dir> <first batch number> <segment bytes>
 *
 * Batch n holds n % 4 + 1 records with key "key-<n % 10>" and value
 * "batch=<n> rec=<i> " followed by (n * 7) % 300 'x' bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_batch.h"
#include "st_log.h"
#include "st_logger.h"

static void die(const char *what, int err)
{
    fprintf(stderr, "log_writer: %s: %s\n", what, strerror(err));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: log_writer <log dir> <first batch> <segment bytes>\n");
        return 2;
    }
    st_logger_set_level(ST_LEVEL_ERROR);
    const char *dirs[1] = { argv[1] };
    int64_t n = strtoll(argv[2], NULL, 10);
    st_log_config_t cfg;
    st_log_config_defaults(&cfg);
    cfg.segment_bytes = strtoll(argv[3], NULL, 10);
    cfg.index_max_bytes = 64 * 1024;
    cfg.file_delete_delay_ms = 0;

    st_log_manager_t *mgr;
    int ret = st_log_manager_open(dirs, 1, 0, &cfg, &mgr);
    if (ret < 0)
        die("opening the log manager", -ret);
    st_log_t *log = st_log_manager_get(mgr, "crash", 0);
    if (!log && (ret = st_log_manager_create(mgr, "crash", 0, NULL, &log)) < 0)
        die("creating crash-0", -ret);

    st_batch_writer_t *w = st_batch_writer_new(ST_COMPRESSION_NONE);
    char value[512], key[32];
    for (;; n++) {
        st_batch_writer_reset(w);
        int nrec = (int)(n % 4) + 1;
        int klen = snprintf(key, sizeof(key), "key-%" PRId64, n % 10);
        for (int i = 0; i < nrec; i++) {
            int len = snprintf(value, sizeof(value), "batch=%" PRId64 " rec=%d ", n, i);
            int pad = (int)((n * 7) % 300);
            memset(value + len, 'x', (size_t)pad);
            if ((ret = st_batch_writer_add(w, n, key, klen, value, len + pad, NULL, 0)) < 0)
                die("building a batch", -ret);
        }
        const void *buf;
        size_t len;
        if ((ret = st_batch_writer_finish(w, &buf, &len)) < 0)
            die("finishing a batch", -ret);
        st_log_append_info_t info;
        if ((ret = st_log_append(log, (void *)(uintptr_t)buf, len, 1, &info)) < 0)
            die("appending", -ret);
        char ack[64];
        int alen = snprintf(ack, sizeof(ack), "%" PRId64 " %" PRId64 "\n", n, info.last_offset);
        if (write(1, ack, (size_t)alen) != alen)
            die("acknowledging", errno);
        if (n % 37 == 0)
            st_log_flush(log);
        if (n % 23 == 0)
            st_log_manager_checkpoint(mgr);
    }
}
