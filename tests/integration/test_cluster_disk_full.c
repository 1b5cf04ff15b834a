/* Full disks (issue 9, item 1): brokers whose log dirs sit on small tmpfs mounts made by the
 * test (skipped, saying so, where mount(2) is not permitted), filled to the last byte.
 *
 *   restart_on_full_disk: a broker SIGKILLed, its file system filled, restarted: it used to die
 *     of SIGBUS (exit 135, nothing logged) loading the preallocated index. Now it recovers its
 *     log, and the first write that needs space takes the log dir offline; with no log dir
 *     left it logs "Shutdown broker 1 because all log dirs in ... have failed" and exits 1.
 *     With the space back it serves every record it had.
 *   start_needs_space: the same, with the index deleted before the restart: rebuilding it needs
 *     space the disk does not have, so the broker refuses to start (exit 1) naming the log dir
 *     and the reason.
 *   leader_dir_fills: 3 brokers, an RF 3 topic led by broker 1 on its tmpfs log dir, a second
 *     log dir on the ordinary disk. The tmpfs is filled, a produce gets KAFKA_STORAGE_ERROR,
 *     the log dir goes offline, the controller moves the leadership (via
 *     /log_dir_event_notification and the LeaderAndIsr answer), every acks=all record
 *     acknowledged before is still readable, broker 1 stays up and keeps serving a partition on
 *     its second log dir. SIGTERM then says the dir was not closed cleanly (never "shut down
 *     cleanly"); restarted with space, broker 1 gets its replica back into the ISR.
 *   sigterm_on_full_disk: a SIGTERM while the disk is full (nothing failed yet): the shutdown
 *     cannot write the checkpoints, and it says so -- never also "shut down cleanly".
 *   follower_dir_fills: the same with a follower's log dir: its fetcher's append fails, the dir
 *     goes offline, the controller takes the replica out of the ISR (from the LeaderAndIsr
 *     answer, not the lag rule), acks=all goes on with the two others, the follower stays up. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_util.h"
#include "st_error.h"

#define MAX_MOUNTS 3

static st_test_cluster_t cluster;
static char base[64];
static char mounts[MAX_MOUNTS][128];
static int n_mounts;

static void teardown(void)
{
    st_test_cluster_cleanup(&cluster);
    for (int i = 0; i < n_mounts; i++)
        if (umount2(mounts[i], MNT_DETACH) < 0)
            fprintf(stderr, "disk_full: umount %s: %s\n", mounts[i], strerror(errno));
    n_mounts = 0;
    if (base[0] && !getenv("STRAND_KEEP_TEST_DIRS"))
        st_test_remove_tree(base);
    base[0] = '\0';
}

/* A per-test temp dir with `count` tmpfs mounts of `size` at <base>/t1..t<count>. Skips the
 * test (saying why) where mounting is not permitted. */
static void mount_tmpfs(int count, const char *size)
{
    snprintf(base, sizeof(base), "/tmp/strand-it-disk-XXXXXX");
    cr_assert_not_null(mkdtemp(base), "mkdtemp: %s", strerror(errno));
    char opts[64];
    snprintf(opts, sizeof(opts), "size=%s", size);
    /* a mount namespace of this test's process (its brokers inherit it): the mounts vanish
     * with the processes, even after a crash */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        int e = errno;
        teardown();
        cr_skip_test("cannot make a mount namespace for the full-disk test (%s): run as root, or "
                     "in a container allowed to mount", strerror(e));
    }
    for (int i = 0; i < count; i++) {
        snprintf(mounts[i], sizeof(mounts[i]), "%s/t%d", base, i + 1);
        cr_assert_eq(mkdir(mounts[i], 0755), 0);
        if (mount("tmpfs", mounts[i], "tmpfs", 0, opts) < 0) {
            int e = errno;
            teardown();
            cr_skip_test("cannot mount a tmpfs for the full-disk test (%s): run as root, or in a "
                         "container allowed to mount", strerror(e));
        }
        n_mounts++;
    }
}

/* Fills the file system holding dir until write(2) says ENOSPC. Returns the bytes written. */
static long fill(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    static char buf[64 * 1024];
    long total = 0;
    for (size_t chunk = sizeof(buf); chunk > 0;) {
        ssize_t w = write(fd, buf, chunk);
        if (w > 0) {
            total += w;
            continue;
        }
        cr_assert(w < 0 && errno == ENOSPC, "filling %s: %s", path, strerror(errno));
        chunk /= 2;   /* down to the last byte */
    }
    close(fd);
    return total;
}

static void unfill(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/filler", dir);
    cr_assert_eq(unlink(path), 0, "%s: %s", path, strerror(errno));
}

/* Waits for broker b's process to exit; returns its waitpid status, or -1 after timeout_ms. */
static int wait_exit(st_test_broker_t *b, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    while (st_test_now_ms() < deadline) {
        int status;
        pid_t r = waitpid(b->pid, &status, WNOHANG);
        if (r == b->pid) {
            b->pid = 0;
            return status;
        }
        st_test_sleep_ms(50);
    }
    return -1;
}

static bool alive(const st_test_broker_t *b)
{
    int status;
    return b->pid > 0 && waitpid(b->pid, &status, WNOHANG) == 0;
}

static void create_assigned(const char *topic, const char *assignment)
{
    const char *argv[] = { "strand-topics", "--create", "@ZK", "--topic", topic,
                           "--replica-assignment", assignment, NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, argv, &out, &err, 30000);
    cr_assert_eq(rc, 0, "create %s: %s%s", topic, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/* Produces batches of 10 records (acks) until `records` are in, asserting each succeeds (a
 * broker that has not applied the controller's LeaderAndIsr yet is waited for, 10 s at most). */
static int64_t produce_ok(int port, const char *topic, int acks, int records)
{
    int64_t base_offset = -1, first = -1;
    for (int done = 0; done < records; done += 10) {
        int code;
        int64_t deadline = st_test_now_ms() + 10000;
        while ((code = fu_produce(port, topic, 0, acks, 10, 10000, &base_offset)) ==
                   ST_ERR_UNKNOWN_TOPIC_OR_PARTITION ||
               code == ST_ERR_NOT_LEADER_OR_FOLLOWER) {
            if (st_test_now_ms() > deadline)
                break;
            st_test_sleep_ms(50);
        }
        cr_assert_eq(code, 0, "produce to %s-0 on port %d: %d (%s)", topic, port, code,
                     strand_err_name(code));
        if (first < 0)
            first = base_offset;
    }
    return first;
}

Test(cluster_disk_full, restart_on_full_disk, .fini = teardown, .timeout = 240)
{
    mount_tmpfs(1, "8m");
    char dirs[256];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s/logs", mounts[0]);
    const char *ov[] = { dirs, NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 1, false, ov), 0);
    fu_create_topic(&cluster, "t", 1, 1, NULL);
    st_test_broker_t *b = st_test_cluster_broker(&cluster, 1);
    produce_ok(b->port, "t", -1, 200);

    st_test_broker_stop(b, SIGKILL);
    long filled = fill(mounts[0]);
    printf("disk_full: broker SIGKILLed with 200 records, %ld bytes of filler make its tmpfs "
           "full\n", filled);
    long mark = fu_file_size(b->log_path);
    int r = st_test_broker_restart(b);
    cr_assert_eq(r, 0, "the broker did not start on the full disk (before the fix: SIGBUS, exit "
                 "135, in st_offset_index_load)");
    /* the first write that needs space (the high-watermark checkpoint every 5 s, or a produce)
     * takes the only log dir offline: the broker shuts down, exit 1, saying why (what the
     * produce gets depends on whether the controller's LeaderAndIsr came first: it is only
     * printed) */
    int code = fu_produce(b->port, "t", 0, 1, 1, 5000, NULL);
    int status = wait_exit(b, 30000);
    char *line = fu_find_line(b->log_path, "Shutdown broker 1 because all log dirs", mark);
    char *why = fu_find_line(b->log_path, "No space left on device", mark);
    printf("disk_full: produce after the restart: %d (%s); broker exit status 0x%x\n  %s\n  %s\n",
           code, strand_err_name(code), status, line ? line : "(no shutdown line)",
           why ? why : "(no ENOSPC line)");
    cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
              "the broker should exit 1 when its only log dir fails (status 0x%x)", status);
    cr_assert_not_null(line);
    cr_assert_not_null(why, "the reason (ENOSPC) is logged");
    cr_assert(strstr(why, mounts[0]) != NULL, "the ENOSPC line names the log dir: %s", why);
    cr_assert_eq(fu_count_in_file(b->log_path, "shut down cleanly", mark), 0);
    free(line);
    free(why);

    /* space back: the log is recovered and every acknowledged record is there */
    unfill(mounts[0]);
    mark = fu_file_size(b->log_path);
    cr_assert_eq(st_test_broker_restart(b), 0);
    cr_assert_eq(fu_wait_leader(&cluster, "t", 0, -1, 30000), 1);
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "t", 0, 30000, &recs);
    printf("disk_full: restarted with space: %zu records read back\n", n);
    cr_assert_geq(n, 200);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(recs[i].offset, (int64_t)i);
    fu_recs_free(recs, n);
    cr_assert(fu_count_in_file(b->log_path, "Attempting recovery for all logs in", mark) == 1,
              "one line says recovery runs");
}

Test(cluster_disk_full, start_needs_space, .fini = teardown, .timeout = 180)
{
    mount_tmpfs(1, "8m");
    char dirs[256];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s/logs", mounts[0]);
    const char *ov[] = { dirs, "log.index.interval.bytes=100", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 1, false, ov), 0);
    fu_create_topic(&cluster, "t", 1, 1, NULL);
    st_test_broker_t *b = st_test_cluster_broker(&cluster, 1);
    produce_ok(b->port, "t", -1, 2000);   /* 200 batches: index entries on more than a page */
    st_test_broker_stop(b, SIGKILL);
    char index[300];
    snprintf(index, sizeof(index), "%s/logs/t-0/00000000000000000000.index", mounts[0]);
    cr_assert_eq(unlink(index), 0, "%s: %s", index, strerror(errno));
    fill(mounts[0]);
    long mark = fu_file_size(b->log_path);
    int r = st_test_broker_restart(b);
    char *line = fu_find_line(b->log_path, "Cannot load log dir", mark);
    printf("disk_full: restart with the index to rebuild on a full disk: %s\n  %s\n",
           r == 0 ? "started" : strerror(-r), line ? line : "(no 'Cannot load log dir' line)");
    cr_assert_eq(r, -ECHILD, "the broker should refuse to start (exit 1)");
    cr_assert_not_null(line, "the broker names the log dir it cannot load (before the fix it "
                       "died of SIGBUS with nothing logged)");
    cr_assert(strstr(line, mounts[0]) && strstr(line, "No space left on device"), "%s", line);
    free(line);
    cr_assert_gt(fu_count_in_file(b->log_path, "Exiting: a log dir cannot be opened", mark), 0);

    unfill(mounts[0]);
    cr_assert_eq(st_test_broker_restart(b), 0);
    cr_assert_eq(fu_wait_leader(&cluster, "t", 0, -1, 30000), 1);
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "t", 0, 30000, &recs);
    cr_assert_eq(n, 2000, "the index was rebuilt and every record is served");
    fu_recs_free(recs, n);
}

static bool isr_without_1(void *arg, int leader, const int *isr, int n_isr)
{
    (void)arg;
    return leader > 1 && !fu_has(isr, n_isr, 1);
}

Test(cluster_disk_full, leader_dir_fills, .fini = teardown, .timeout = 300)
{
    mount_tmpfs(3, "8m");
    char dirs[256];
    /* the first log dir on the broker's own tmpfs, the second on the ordinary disk */
    snprintf(dirs, sizeof(dirs), "log.dirs=%s/t{id}/logs,%s/disk{id}/logs", base, base);
    const char *ov[] = { dirs, "auto.leader.rebalance.enable=false", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    /* "full" lands in each broker's first log dir (the emptiest, first on a tie); "other",
     * created next on broker 1 only, in broker 1's second one */
    create_assigned("full", "1:2:3");
    cr_assert_eq(fu_wait_isr_size(&cluster, "full", 0, 3, 30000), 0);
    create_assigned("other", "1");
    cr_assert_eq(fu_wait_leader(&cluster, "other", 0, -1, 30000), 1);
    st_test_broker_t *b1 = st_test_cluster_broker(&cluster, 1);
    char other_dir[300];
    snprintf(other_dir, sizeof(other_dir), "%s/disk1/logs/other-0", base);
    struct stat st;
    cr_assert_eq(stat(other_dir, &st), 0, "other-0 is in broker 1's second log dir");

    int64_t first = produce_ok(b1->port, "full", -1, 300);
    int acked = 300;
    produce_ok(b1->port, "other", 1, 50);
    cr_assert_eq(first, 0);

    long mark[4];
    for (int id = 1; id <= 3; id++)
        mark[id] = fu_file_size(st_test_cluster_broker(&cluster, id)->log_path);
    long filled = fill(mounts[0]);
    /* appends go on while they fit the pages the segment and its index have already; the first
     * one that needs a new page fails */
    int code = 0, more = 0;
    for (; more < 2000 && code == 0; more++) {
        int64_t b0 = -1;
        code = fu_produce(b1->port, "full", 0, -1, 10, 10000, &b0);
        if (code == 0) {
            cr_assert_eq(b0, acked, "acknowledged at the log end");
            acked += 10;
        }
    }
    printf("disk_full: broker 1's log dir filled (%ld bytes of filler); %d more acks=all "
           "produces fitted its allocated pages, then: %d (%s)\n", filled, more - 1, code,
           strand_err_name(code));
    cr_assert_eq(code, ST_ERR_KAFKA_STORAGE_ERROR);

    int64_t t0 = st_test_now_ms();
    cr_assert_eq(st_test_cluster_wait_partition(&cluster, "full", 0, isr_without_1, NULL, 30000), 0,
                 "the leadership never left broker 1 / broker 1 stayed in the ISR");
    int leader = fu_leader(&cluster, "full", 0, NULL, NULL, NULL);
    printf("disk_full: leader of full-0 moved 1 -> %d, broker 1 out of the ISR, %lld ms after "
           "the failed produce\n", leader, (long long)(st_test_now_ms() - t0));
    cr_assert(alive(b1), "broker 1 must stay up: one of its two log dirs is fine");

    /* the offline dir is said once, naming the dir; the controller marks the replica offline */
    char *line = fu_find_line(b1->log_path, "is offline (No space left on device", mark[1]);
    cr_assert_not_null(line, "broker 1 logs its log dir going offline");
    cr_assert(strstr(line, mounts[0]) != NULL, "%s", line);
    free(line);
    bool marked = false;
    for (int id = 1; id <= 3; id++)
        marked |= fu_count_in_file(st_test_cluster_broker(&cluster, id)->log_path,
                                   "Mark replicas full-0 on broker 1 as offline", mark[id]) > 0;
    cr_assert(marked, "the controller learnt the offline replica from the LeaderAndIsr answer");

    /* everything acknowledged before is readable from the new leader, in order */
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "full", 0, 30000, &recs);
    printf("disk_full: %zu records of full-0 read back (%d acknowledged with acks=all before)\n",
           n, acked);
    cr_assert_geq(n, (size_t)acked);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(recs[i].offset, (int64_t)i);
    fu_recs_free(recs, n);
    /* the new leader takes writes */
    st_test_broker_t *lb = st_test_cluster_broker(&cluster, leader);
    produce_ok(lb->port, "full", -1, 20);
    /* broker 1 still serves its partition on the other log dir, and answers for the failed one */
    produce_ok(b1->port, "other", 1, 20);
    int64_t hw = -1;
    int got = fu_fetch(b1->port, "other", 0, 0, &hw);
    printf("disk_full: broker 1 still serves other-0 (second log dir): fetch gave %d records, "
           "high watermark %lld\n", got, (long long)hw);
    cr_assert_gt(got, 0);
    cr_assert_eq(hw, 70);
    int fcode = fu_fetch(b1->port, "full", 0, 0, NULL);
    cr_assert(fcode == -ST_ERR_KAFKA_STORAGE_ERROR || fcode == -ST_ERR_NOT_LEADER_OR_FOLLOWER,
              "a fetch of the offline partition from broker 1: %d", fcode);
    cr_assert(alive(b1));

    /* SIGTERM: one true sentence about the shutdown */
    long m = fu_file_size(b1->log_path);
    int status = st_test_broker_stop(b1, SIGTERM);
    cr_assert(WIFEXITED(status), "status 0x%x", status);
    cr_assert_eq(fu_count_in_file(b1->log_path, "shut down cleanly", m), 0,
                 "a broker with an offline log dir must not say it shut down cleanly");
    cr_assert_gt(fu_count_in_file(b1->log_path, "was not closed cleanly (it was offline)", m), 0);
    cr_assert_gt(fu_count_in_file(b1->log_path, "shut down, but not cleanly", m), 0);

    /* space back, restart: the replica is recovered and catches up into the ISR */
    unfill(mounts[0]);
    cr_assert_eq(st_test_broker_restart(b1), 0);
    cr_assert_eq(fu_wait_isr_has(&cluster, "full", 0, 1, true, 60000), 0,
                 "broker 1's replica never came back into the ISR after the restart with space");
    /* and it holds every record: led by it again (preferred election), it serves them all */
    const char *elect[] = { "strand-leader-election", "@BOOTSTRAP", "--election-type", "preferred",
                            "--topic", "full", "--partition", "0", NULL };
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(&cluster, elect, &out, &err, 30000);
    cr_assert_eq(rc, 0, "preferred election: %s%s", out ? out : "", err ? err : "");
    free(out);
    free(err);
    cr_assert_eq(fu_wait_leader(&cluster, "full", 0, 2 == leader ? 2 : 3, 30000), 1);
    recs = NULL;
    n = fu_consume_all(&cluster, "full", 0, 30000, &recs);
    printf("disk_full: broker 1 restarted with space, back in the ISR and leader again: %zu "
           "records read back from it\n", n);
    cr_assert_geq(n, (size_t)acked + 20);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(recs[i].offset, (int64_t)i);
    fu_recs_free(recs, n);
}

Test(cluster_disk_full, follower_dir_fills, .fini = teardown, .timeout = 300)
{
    mount_tmpfs(3, "8m");
    char dirs[256];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s/t{id}/logs,%s/disk{id}/logs", base, base);
    /* a lag limit far above the test: only the log dir failure can take broker 3 out */
    const char *ov[] = { dirs, "auto.leader.rebalance.enable=false",
                         "replica.lag.time.max.ms=120000", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 3, false, ov), 0);
    create_assigned("full", "1:2:3");
    cr_assert_eq(fu_wait_isr_size(&cluster, "full", 0, 3, 30000), 0);
    st_test_broker_t *b1 = st_test_cluster_broker(&cluster, 1);
    st_test_broker_t *b3 = st_test_cluster_broker(&cluster, 3);
    produce_ok(b1->port, "full", -1, 100);
    long mark[4];
    for (int id = 1; id <= 3; id++)
        mark[id] = fu_file_size(st_test_cluster_broker(&cluster, id)->log_path);
    fill(mounts[2]);   /* broker 3, a follower */
    /* acks=1 appends on the leader; broker 3's fetcher fails to append them once its pages are
     * used up */
    int64_t t0 = st_test_now_ms();
    int rounds = 0;
    while (fu_wait_isr_has(&cluster, "full", 0, 3, false, 200) != 0 && rounds < 500) {
        produce_ok(b1->port, "full", 1, 50);
        rounds++;
    }
    printf("disk_full: follower 3's log dir filled; out of the ISR after %d produce round(s), "
           "%lld ms\n", rounds, (long long)(st_test_now_ms() - t0));
    cr_assert_eq(fu_wait_isr_has(&cluster, "full", 0, 3, false, 30000), 0,
                 "broker 3 never left the ISR");
    cr_assert_gt(fu_count_in_file(b3->log_path, "is offline (No space left on device", mark[3]), 0);
    bool marked = false;
    for (int id = 1; id <= 3; id++)
        marked |= fu_count_in_file(st_test_cluster_broker(&cluster, id)->log_path,
                                   "Mark replicas full-0 on broker 3 as offline", mark[id]) > 0;
    cr_assert(marked, "the controller took broker 3 out because of its log dir");
    cr_assert_eq(fu_leader(&cluster, "full", 0, NULL, NULL, NULL), 1, "the leader stays");
    cr_assert(alive(b3), "broker 3 stays up (its second log dir is fine)");
    int code = fu_produce(b1->port, "full", 0, -1, 10, 10000, NULL);
    cr_assert_eq(code, 0, "acks=all with ISR [1,2]: %s", strand_err_name(code));
}

Test(cluster_disk_full, sigterm_on_full_disk, .fini = teardown, .timeout = 180)
{
    mount_tmpfs(1, "8m");
    char dirs[256];
    snprintf(dirs, sizeof(dirs), "log.dirs=%s/logs", mounts[0]);
    /* no periodic checkpoint before the SIGTERM: the shutdown is the first write that fails */
    const char *ov[] = { dirs, "replica.high.watermark.checkpoint.interval.ms=3600000", NULL };
    cr_assert_eq(st_test_cluster_start(&cluster, 1, false, ov), 0);
    fu_create_topic(&cluster, "t", 1, 1, NULL);
    st_test_broker_t *b = st_test_cluster_broker(&cluster, 1);
    produce_ok(b->port, "t", -1, 20);
    fill(mounts[0]);
    long mark = fu_file_size(b->log_path);
    int status = st_test_broker_stop(b, SIGTERM);
    char *why = fu_find_line(b->log_path, "was not closed cleanly", mark);
    char *last = fu_find_line(b->log_path, "shut down", mark);
    printf("disk_full: SIGTERM on a full disk: status 0x%x\n  %s\n  %s\n", status,
           why ? why : "(no 'not closed cleanly' line)", last ? last : "(no 'shut down' line)");
    cr_assert(WIFEXITED(status), "status 0x%x", status);
    cr_assert_eq(fu_count_in_file(b->log_path, "shut down cleanly", mark), 0,
                 "it must not say it shut down cleanly (before the fix it said both)");
    cr_assert_not_null(why);
    cr_assert(strstr(why, mounts[0]), "%s", why);
    cr_assert_gt(fu_count_in_file(b->log_path, "shut down, but not cleanly", mark), 0);
    free(why);
    free(last);
    /* the next start recovers the log, with every acknowledged record */
    unfill(mounts[0]);
    mark = fu_file_size(b->log_path);
    cr_assert_eq(st_test_broker_restart(b), 0);
    cr_assert_eq(fu_wait_leader(&cluster, "t", 0, -1, 30000), 1);
    fu_rec_t *recs = NULL;
    size_t n = fu_consume_all(&cluster, "t", 0, 30000, &recs);
    cr_assert_eq(n, 20);
    fu_recs_free(recs, n);
    cr_assert_eq(fu_count_in_file(b->log_path, "Attempting recovery for all logs in", mark), 1);
}
