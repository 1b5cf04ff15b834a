/* Helpers shared by the fault tests (see fault_util.h). */
#include "fault_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "broker_wire.h"
#include "st_error.h"
#include "st_znode.h"

bool fu_has(const int *ids, int n, int id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

void fu_create_topic(st_test_cluster_t *c, const char *topic, int partitions, int rf,
                     const char *const *configs)
{
    char np[16], nrf[16];
    snprintf(np, sizeof(np), "%d", partitions);
    snprintf(nrf, sizeof(nrf), "%d", rf);
    const char *argv[40] = { "strand-topics", "--create", "@ZK", "--topic", topic,
                             "--partitions", np, "--replication-factor", nrf };
    int k = 9;
    for (size_t i = 0; configs && configs[i] && k < 37; i++) {
        argv[k++] = "--config";
        argv[k++] = configs[i];
    }
    argv[k] = NULL;
    char *out = NULL, *err = NULL;
    int rc = st_test_cluster_tool(c, argv, &out, &err, 30000);
    cr_assert_eq(rc, 0, "create %s: %s%s", topic, out ? out : "", err ? err : "");
    free(out);
    free(err);
    for (int p = 0; p < partitions; p++)
        cr_assert_eq(fu_wait_isr_size(c, topic, p, rf, 30000), 0,
                     "%s-%d: no leader with %d ISR members after creation", topic, p, rf);
    /* ZooKeeper names the leader before its LeaderAndIsr has been applied: wait until the
     * leader itself serves the partition (ListOffsets answered without error), so that a test
     * producing right away does not meet UNKNOWN_TOPIC_OR_PARTITION. */
    for (int p = 0; p < partitions; p++) {
        int64_t deadline = st_test_now_ms() + 30000, off = -1;
        int code = -1;
        for (;;) {
            int leader = fu_leader(c, topic, p, NULL, NULL, NULL);
            code = leader > 0 ? fu_list_latest(st_test_cluster_broker(c, leader)->port, topic, p,
                                               false, &off)
                              : -1;
            if (code == 0 || st_test_now_ms() > deadline)
                break;
            st_test_sleep_ms(20);
        }
        cr_assert_eq(code, 0, "%s-%d: its leader does not serve it 30 s after creation (%d)",
                     topic, p, code);
    }
}

int fu_leader(st_test_cluster_t *c, const char *topic, int p, int *ret_epoch, int *ret_isr,
              int *ret_n_isr)
{
    int leader = -1, epoch = -1, isr[16], n = 16;
    if (st_test_cluster_partition(c, topic, p, &leader, &epoch, isr, &n) < 0)
        return -1;
    if (ret_epoch)
        *ret_epoch = epoch;
    if (ret_isr && ret_n_isr) {
        memcpy(ret_isr, isr, (size_t)n * sizeof(int));
        *ret_n_isr = n;
    }
    return leader;
}

int fu_wait_leader(st_test_cluster_t *c, const char *topic, int p, int not_id, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int leader = fu_leader(c, topic, p, NULL, NULL, NULL);
        if (leader > 0 && leader != not_id)
            return leader;
        st_test_sleep_ms(25);
    } while (st_test_now_ms() < deadline);
    return -1;
}

int fu_wait_isr_size(st_test_cluster_t *c, const char *topic, int p, int n, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int isr[16], ni = 0;
        int leader = fu_leader(c, topic, p, NULL, isr, &ni);
        if (leader > 0 && ni == n)
            return 0;
        st_test_sleep_ms(25);
    } while (st_test_now_ms() < deadline);
    return -ETIMEDOUT;
}

int fu_wait_isr_has(st_test_cluster_t *c, const char *topic, int p, int id, bool present,
                    int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int isr[16], ni = 0;
        fu_leader(c, topic, p, NULL, isr, &ni);
        if (ni > 0 && fu_has(isr, ni, id) == present)
            return 0;
        st_test_sleep_ms(25);
    } while (st_test_now_ms() < deadline);
    return -ETIMEDOUT;
}

strand_conf_t *fu_conf(st_test_cluster_t *c, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", c->bootstrap, err, sizeof(err)), 0,
                 "%s", err);
    for (size_t i = 0; kvs && kvs[i]; i++)
        cr_assert_eq(strand_conf_set_kv(conf, kvs[i], err, sizeof(err)), 0, "%s", err);
    return conf;
}

/* ---- raw protocol ---------------------------------------------------------------------------- */

int fu_produce_send(int fd, const char *topic, int p, int acks, int n, int timeout_ms)
{
    uint8_t *batch = NULL;
    size_t len = 0;
    cr_assert_eq(tw_make_batch(n, 20, 1700000000000LL, &batch, &len), 0);
    int r = tw_send_produce(fd, 71, topic, p, acks, timeout_ms, batch, len);
    free(batch);
    return r;
}

int fu_produce_recv(int fd, int64_t *ret_base)
{
    if (ret_base)
        *ret_base = -1;
    int code = -1;
    Strand__ProduceResponse *r = (Strand__ProduceResponse *)tw_recv_response(
        fd, 71, &strand__produce_response__descriptor, NULL, NULL);
    if (r && r->n_responses == 1 && r->responses[0]->n_partitions == 1) {
        code = r->responses[0]->partitions[0]->error_code;
        if (ret_base && code == 0)
            *ret_base = r->responses[0]->partitions[0]->base_offset;
    }
    if (r)
        strand__produce_response__free_unpacked(r, NULL);
    return code;
}

int fu_produce(int port, const char *topic, int p, int acks, int n, int timeout_ms,
               int64_t *ret_base)
{
    if (ret_base)
        *ret_base = -1;
    int fd = st_test_connect(port);
    if (fd < 0)
        return -1;
    int code = -1;
    if (fu_produce_send(fd, topic, p, acks, n, timeout_ms) == 0)
        code = fu_produce_recv(fd, ret_base);
    close(fd);
    return code;
}

int fu_fetch(int port, const char *topic, int p, int64_t offset, int64_t *ret_hw)
{
    if (ret_hw)
        *ret_hw = -1;
    int fd = st_test_connect(port);
    if (fd < 0)
        return -1000;
    uint8_t *tail = NULL;
    size_t tail_len = 0;
    Strand__FetchResponse *r = tw_fetch(fd, 75, topic, p, offset, 500, 1, 1 << 20, 1 << 20, &tail,
                                        &tail_len);
    close(fd);
    int ret = -1000;
    if (r && r->n_responses == 1 && r->responses[0]->n_partitions == 1) {
        const Strand__FetchPartitionResponse *pr = r->responses[0]->partitions[0];
        if (ret_hw)
            *ret_hw = pr->high_watermark;
        if (pr->error_code)
            ret = -pr->error_code;
        else
            ret = tw_count_records(tail, tail_len, NULL, NULL);
    }
    if (r)
        strand__fetch_response__free_unpacked(r, NULL);
    free(tail);
    return ret;
}

int fu_list_latest(int port, const char *topic, int p, bool replica, int64_t *ret_offset)
{
    *ret_offset = -1;
    int fd = st_test_connect(port);
    if (fd < 0)
        return -1;
    Strand__ListOffsetsPartition lp = STRAND__LIST_OFFSETS_PARTITION__INIT;
    Strand__ListOffsetsPartition *lps[1] = { &lp };
    Strand__ListOffsetsTopic lt = STRAND__LIST_OFFSETS_TOPIC__INIT;
    Strand__ListOffsetsTopic *lts[1] = { &lt };
    lp.partition = p;
    lp.current_leader_epoch = -1;
    lp.timestamp = -1;
    lt.name = (char *)topic;
    lt.partitions = lps;
    lt.n_partitions = 1;
    Strand__ListOffsetsRequest req = STRAND__LIST_OFFSETS_REQUEST__INIT;
    /* Any replica id asks for the log end offset (the broker does not check who asks). */
    req.replica_id = replica ? 999 : -1;
    req.topics = lts;
    req.n_topics = 1;
    int code = -1;
    if (tw_send(fd, STRAND__API_KEY__LIST_OFFSETS, 0, 72, &req.base, NULL, 0) == 0) {
        Strand__ListOffsetsResponse *r = (Strand__ListOffsetsResponse *)tw_recv_response(
            fd, 72, &strand__list_offsets_response__descriptor, NULL, NULL);
        if (r && r->n_topics == 1 && r->topics[0]->n_partitions == 1) {
            code = r->topics[0]->partitions[0]->error_code;
            *ret_offset = r->topics[0]->partitions[0]->offset;
        }
        if (r)
            strand__list_offsets_response__free_unpacked(r, NULL);
    }
    close(fd);
    return code;
}

int fu_leader_and_isr(int port, int controller_id, int controller_epoch, int64_t broker_epoch,
                      const char *topic, int p, int leader, int leader_epoch, const int *isr,
                      int n_isr, const int *replicas, int n_replicas, int leader_port)
{
    int32_t isr32[16], rep32[16];
    for (int i = 0; i < n_isr && i < 16; i++)
        isr32[i] = isr[i];
    for (int i = 0; i < n_replicas && i < 16; i++)
        rep32[i] = replicas[i];
    tw_lai_t a = { .controller_id = controller_id, .controller_epoch = controller_epoch,
                   .broker_epoch = broker_epoch, .topic = topic, .partition = p, .leader = leader,
                   .leader_epoch = leader_epoch, .isr = isr32, .n_isr = (size_t)n_isr,
                   .replicas = rep32, .n_replicas = (size_t)n_replicas, .leader_port = leader_port };
    int fd = st_test_connect(port);
    if (fd < 0)
        return -1;
    int code = -1;
    Strand__LeaderAndIsrResponse *r = tw_leader_and_isr(fd, 73, &a);
    if (r) {
        code = r->error_code;
        if (code == 0 && r->n_partition_errors == 1)
            code = r->partition_errors[0]->error_code;
        strand__leader_and_isr_response__free_unpacked(r, NULL);
    }
    close(fd);
    return code;
}

int fu_broker_view(int port, const char *topic, int p, int *ret_leader, int *ret_epoch,
                   int *ret_isr, int *ret_n_isr)
{
    int fd = st_test_connect(port);
    if (fd < 0)
        return -1;
    Strand__MetadataResponse *r = tw_metadata(fd, 74, topic, false);
    close(fd);
    int rc = -1;
    for (size_t t = 0; r && t < r->n_topics; t++) {
        const Strand__TopicMetadata *tm = r->topics[t];
        if (!tm->name || strcmp(tm->name, topic) != 0)
            continue;
        for (size_t i = 0; i < tm->n_partitions; i++) {
            const Strand__PartitionMetadata *pm = tm->partitions[i];
            if (pm->partition != p || pm->error_code == ST_ERR_UNKNOWN_TOPIC_OR_PARTITION)
                continue;
            if (ret_leader)
                *ret_leader = pm->leader;
            if (ret_epoch)
                *ret_epoch = pm->leader_epoch;
            if (ret_isr && ret_n_isr) {
                int n = (int)pm->n_isr < 16 ? (int)pm->n_isr : 16;
                for (int k = 0; k < n; k++)
                    ret_isr[k] = pm->isr[k];
                *ret_n_isr = n;
            }
            rc = 0;
        }
    }
    if (r)
        strand__metadata_response__free_unpacked(r, NULL);
    return rc;
}

int fu_wait_broker_view_isr(int port, const char *topic, int p, int n, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int isr[16], ni = -1;
        if (fu_broker_view(port, topic, p, NULL, NULL, isr, &ni) == 0 && ni == n)
            return 0;
        st_test_sleep_ms(50);
    } while (st_test_now_ms() < deadline);
    return -ETIMEDOUT;
}

/* ---- ZooKeeper --------------------------------------------------------------------------------- */

static void quiet_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)type; (void)state; (void)path; (void)ctx;
}

int fu_zk_stat(const char *connect, const char *path, char *buf, size_t len, int64_t *ret_czxid,
               int *ret_version)
{
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(connect, quiet_watcher, 10000, NULL, NULL, 0);
    if (!zh)
        return ZSYSTEMERROR;
    int64_t deadline = st_test_now_ms() + 10000;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE && st_test_now_ms() < deadline)
        st_test_sleep_ms(10);
    char local[16];
    char *b = buf && len ? buf : local;
    int blen = (int)(buf && len ? len : sizeof(local)) - 1;
    struct Stat st;
    int rc = zoo_state(zh) == ZOO_CONNECTED_STATE ? zoo_get(zh, path, 0, b, &blen, &st)
                                                   : ZOPERATIONTIMEOUT;
    zookeeper_close(zh);
    if (rc != ZOK)
        return rc;
    b[blen > 0 ? blen : 0] = '\0';
    if (ret_czxid)
        *ret_czxid = st.czxid;
    if (ret_version)
        *ret_version = st.version;
    return ZOK;
}

int fu_controller_epoch(st_test_cluster_t *c)
{
    char buf[64];
    if (st_test_zk_get(c->zk_connect, "/controller_epoch", buf, sizeof(buf)) < 0)
        return -1;
    return atoi(buf);
}

int fu_state_controller_epoch(st_test_cluster_t *c, const char *topic, int p)
{
    char path[512], buf[1024], err[256];
    snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, p);
    if (st_test_zk_get(c->zk_connect, path, buf, sizeof(buf)) < 0)
        return -1;
    st_lisr_t lisr;
    memset(&lisr, 0, sizeof(lisr));
    if (st_znode_lisr_decode(path, buf, strlen(buf), &lisr, err, sizeof(err)) < 0)
        return -1;
    int e = lisr.controller_epoch;
    st_lisr_free(&lisr);
    return e;
}

/* ---- broker logs ---------------------------------------------------------------------------------- */

long fu_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static char *read_from(const char *path, long from)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (from > size)
        from = size;
    fseek(f, from, SEEK_SET);
    char *data = malloc((size_t)(size - from) + 1);
    size_t n = data ? fread(data, 1, (size_t)(size - from), f) : 0;
    fclose(f);
    if (data)
        data[n] = '\0';
    return data;
}

int fu_count_in_file(const char *path, const char *needle, long from)
{
    char *data = read_from(path, from);
    int n = 0;
    for (const char *p = data; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(data);
    return n;
}

bool fu_wait_in_file(const char *path, const char *needle, long from, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        if (fu_count_in_file(path, needle, from) > 0)
            return true;
        st_test_sleep_ms(50);
    } while (st_test_now_ms() < deadline);
    return false;
}

char *fu_find_line(const char *path, const char *needle, long from)
{
    char *data = read_from(path, from);
    char *hit = data ? strstr(data, needle) : NULL;
    char *line = NULL;
    if (hit) {
        char *start = hit;
        while (start > data && start[-1] != '\n')
            start--;
        char *end = strchr(hit, '\n');
        size_t n = end ? (size_t)(end - start) : strlen(start);
        line = strndup(start, n);
    }
    free(data);
    return line;
}

/* ---- reading partitions back --------------------------------------------------------------------- */

size_t fu_consume_all(st_test_cluster_t *c, const char *topic, int p, int timeout_ms,
                      fu_rec_t **ret)
{
    strand_conf_t *conf = fu_conf(c, (const char *const[]){ "max.poll.records=2000", NULL });
    char err[512];
    strand_consumer_t *cons = strand_consumer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    cr_assert_not_null(cons, "%s", err);
    int64_t deadline = st_test_now_ms() + timeout_ms;
    strand_topic_partition_t tp = { topic, p, STRAND_OFFSET_END, 0 };
    int64_t hw = -1;
    while (st_test_now_ms() < deadline) {
        tp.offset = STRAND_OFFSET_END;
        tp.error = 0;
        if (strand_consumer_list_offsets(cons, &tp, 1, 10000) == 0 && tp.error == 0) {
            hw = tp.offset;
            break;
        }
        st_test_sleep_ms(200);
    }
    cr_assert_geq(hw, 0, "%s-%d: no high watermark from ListOffsets", topic, p);
    strand_topic_partition_t as = { topic, p, STRAND_OFFSET_BEGINNING, 0 };
    cr_assert_eq(strand_consumer_assign(cons, &as, 1), 0);
    size_t cap = 1024, n = 0;
    fu_rec_t *recs = calloc(cap, sizeof(*recs));
    int64_t next = 0;
    int errors = 0;
    while (next < hw && st_test_now_ms() < deadline) {
        const strand_message_t *msgs;
        size_t got = 0;
        cr_assert_eq(strand_consumer_poll(cons, 200, &msgs, &got), 0);
        for (size_t i = 0; i < got; i++) {
            const strand_message_t *m = &msgs[i];
            if (m->error) {
                if (errors++ < 5)
                    fprintf(stderr, "consume %s-%d: %s\n", topic, p, m->errstr);
                continue;
            }
            if (n == cap) {
                cap *= 2;
                recs = realloc(recs, cap * sizeof(*recs));
                cr_assert_not_null(recs);
            }
            recs[n].offset = m->offset;
            recs[n].value = m->value ? strndup(m->value, m->value_len) : NULL;
            n++;
            next = m->offset + 1;
        }
    }
    strand_consumer_destroy(cons);
    cr_assert_geq(next, hw, "%s-%d: consumed up to offset %lld of high watermark %lld", topic, p,
                  (long long)next, (long long)hw);
    *ret = recs;
    return n;
}

void fu_recs_free(fu_rec_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(recs[i].value);
    free(recs);
}

/* ---- segment files ------------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int fu_segment_bytes(const st_test_broker_t *b, const char *topic, int p, int64_t upto,
                     uint8_t **ret, size_t *ret_len)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/logs/%s-%d", b->dir, topic, p);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nn < 256) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".log") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof(char *), cmp_names);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r = -EAGAIN;
    int64_t reached = -1;
    for (size_t i = 0; i < nn && r == -EAGAIN; i++) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            r = -errno;
            break;
        }
        struct stat st;
        fstat(fd, &st);
        uint8_t *data = malloc((size_t)st.st_size + 1);
        ssize_t got = data ? pread(fd, data, (size_t)st.st_size, 0) : -1;
        close(fd);
        if (got < 0) {
            free(data);
            r = -EIO;
            break;
        }
        size_t pos = 0;
        while (pos + 61 <= (size_t)got) {
            int64_t base = (int64_t)be64(data + pos);
            int32_t blen = (int32_t)be32(data + pos + 8);
            if (blen <= 0 || pos + 12 + (size_t)blen > (size_t)got)
                break;                            /* the end (or a torn tail) */
            int64_t last = base + (int32_t)be32(data + pos + 23);
            if (base >= upto) {
                r = 0;
                break;
            }
            if (last >= upto) {
                r = -EBADMSG;
                break;
            }
            out = realloc(out, out_len + 12 + (size_t)blen);
            memcpy(out + out_len, data + pos, 12 + (size_t)blen);
            out_len += 12 + (size_t)blen;
            reached = last + 1;
            pos += 12 + (size_t)blen;
        }
        free(data);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    if (r == -EAGAIN && reached >= upto)
        r = 0;
    if (r == -EAGAIN && upto == 0)
        r = 0;
    if (r < 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_len = out_len;
    return 0;
}

long fu_segment_total(const st_test_broker_t *b, const char *topic, int p)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/logs/%s-%d", b->dir, topic, p);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".log") != 0)
            continue;
        char path[900];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0)
            total += (long)st.st_size;
    }
    closedir(d);
    return total;
}

int fu_wait_replicas_identical(st_test_cluster_t *c, const char *topic, int p, int64_t upto,
                               int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    char last_why[512] = "";
    do {
        uint8_t *ref = NULL;
        size_t ref_len = 0;
        int ref_id = -1, compared = 0;
        bool ok = true;
        for (int i = 0; i < c->n && ok; i++) {
            char dir[600];
            struct stat st;
            snprintf(dir, sizeof(dir), "%s/logs/%s-%d", c->broker[i].dir, topic, p);
            if (stat(dir, &st) != 0)
                continue;                         /* not a replica */
            uint8_t *bytes = NULL;
            size_t len = 0;
            int r = fu_segment_bytes(&c->broker[i], topic, p, upto, &bytes, &len);
            if (r < 0) {
                snprintf(last_why, sizeof(last_why), "broker %d: %s", i + 1,
                         r == -EAGAIN ? "does not reach the offset yet" : strerror(-r));
                ok = false;
                break;
            }
            compared++;
            if (!ref) {
                ref = bytes;
                ref_len = len;
                ref_id = i + 1;
                continue;
            }
            if (len != ref_len || memcmp(bytes, ref, len) != 0) {
                size_t at = 0;
                while (at < len && at < ref_len && bytes[at] == ref[at])
                    at++;
                snprintf(last_why, sizeof(last_why), "broker %d (%zu bytes) differs from broker %d "
                         "(%zu bytes) at byte %zu", i + 1, len, ref_id, ref_len, at);
                ok = false;
            }
            free(bytes);
        }
        free(ref);
        if (ok && compared > 0) {
            printf("%s-%d: %d replicas byte-identical up to offset %lld (%zu bytes)\n", topic, p,
                   compared, (long long)upto, ref_len);
            return compared;
        }
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    fprintf(stderr, "%s-%d: replicas never agreed up to offset %lld: %s\n", topic, p,
            (long long)upto, last_why);
    return -1;
}
