/* The fault suite's workload (producer and live consumer through the client library) and its
 * checker (read-back, live observations, replica bytes, leaders, metadata views); see
 * ft_work.h. */
#include "ft_work.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_wire.h"
#include "ft.h"

#define MAX_OUTSTANDING 4000
#define DELIVERY_TIMEOUT_MS 20000

/* ---- workload -------------------------------------------------------------------------------- */

int64_t ft_work_now(ft_work_t *w)
{
    return st_test_now_ms() - w->t0;
}

static void count_error(ft_work_t *w, int err)
{
    pthread_mutex_lock(&w->err_lock);
    for (int i = 0; i < FT_MAX_ERRS; i++) {
        if (w->err_count[i] == 0 || w->err_code[i] == err) {
            w->err_code[i] = err;
            w->err_count[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&w->err_lock);
}

/* Producer I/O thread. */
static void delivery_cb(const strand_delivery_report_t *rep, void *opaque)
{
    ft_work_t *w = opaque;
    long seq = (long)(intptr_t)rep->msg_opaque;
    if (seq < 0 || seq >= w->cap)
        return;
    ft_row_t *row = &w->rows[seq];
    row->t_done = ft_work_now(w);
    row->error = rep->error;
    row->offset = rep->error ? -1 : rep->offset;
    if (rep->error) {
        row->state = 3;
        atomic_fetch_add(&w->failed, 1);
        count_error(w, rep->error);
    } else {
        row->state = 2;
        atomic_fetch_add(&w->acked, 1);
    }
}

static strand_conf_t *client_conf(ft_work_t *w, const char *const *kvs)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    strand_conf_set(conf, "bootstrap.servers", w->c->bootstrap, err, sizeof(err));
    for (size_t i = 0; kvs && kvs[i]; i++)
        if (strand_conf_set_kv(conf, kvs[i], err, sizeof(err)) != 0)
            ft_log("client config %s: %s", kvs[i], err);
    return conf;
}

static void *producer_main(void *arg)
{
    ft_work_t *w = arg;
    long seq = 0;
    int64_t interval_us = 1000000 / (w->rate > 0 ? w->rate : 1);
    int64_t next_us = 0;
    while (!atomic_load(&w->stop) && seq < w->cap) {
        int64_t now_us = ft_work_now(w) * 1000;
        if (now_us < next_us) {
            int64_t d = (next_us - now_us) / 1000;
            st_test_sleep_ms(d > 0 ? (int)d : 1);
            continue;
        }
        if (strand_producer_outq_len(w->prod) > MAX_OUTSTANDING) {
            st_test_sleep_ms(10);
            continue;
        }
        int part = (int)(seq % w->n_part);
        char v[64];
        int n = snprintf(v, sizeof(v), "%s:%d:%ld", w->tag, part, seq);
        w->rows[seq].state = 1;
        int r = strand_produce(w->prod, w->topic, part, NULL, 0, v, (size_t)n, NULL, 0, 0,
                               (void *)(intptr_t)seq);
        if (r != 0) {
            /* not queued (no metadata or buffer full within max.block.ms): no report will come;
             * the same seq is tried again */
            w->rows[seq].state = 0;
            st_test_sleep_ms(20);
            continue;
        }
        seq++;
        atomic_store(&w->sent, seq);
        next_us += interval_us;
        if (next_us < now_us - 1000000)
            next_us = now_us;   /* do not burst to catch up after a long block */
    }
    return NULL;
}

static long parse_seq(const ft_work_t *w, const void *value, size_t len, int *ret_part)
{
    char v[80];
    if (!value || len == 0 || len >= sizeof(v))
        return -1;
    memcpy(v, value, len);
    v[len] = '\0';
    size_t tl = strlen(w->tag);
    if (strncmp(v, w->tag, tl) != 0 || v[tl] != ':')
        return -1;
    char *end;
    long part = strtol(v + tl + 1, &end, 10);
    if (*end != ':')
        return -1;
    long seq = strtol(end + 1, &end, 10);
    if (*end != '\0')
        return -1;
    *ret_part = (int)part;
    return seq;
}

static void *consumer_main(void *arg)
{
    ft_work_t *w = arg;
    char err[512];
    strand_conf_t *conf = client_conf(w, (const char *const[]){
        "auto.offset.reset=none", "request.timeout.ms=5000", "fetch.max.wait.ms=200",
        "metadata.max.age.ms=3000", "reconnect.backoff.max.ms=500", NULL });
    strand_consumer_t *cons = strand_consumer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    if (!cons) {
        ft_log("live consumer: %s", err);
        return NULL;
    }
    strand_topic_partition_t tps[FT_MAX_PART];
    for (int p = 0; p < w->n_part; p++)
        tps[p] = (strand_topic_partition_t){ w->topic, p, 0, 0 };
    if (strand_consumer_assign(cons, tps, (size_t)w->n_part) != 0)
        ft_log("live consumer: assign failed");
    while (!atomic_load(&w->stop)) {
        const strand_message_t *msgs;
        size_t got = 0;
        if (strand_consumer_poll(cons, 200, &msgs, &got) != 0)
            break;
        for (size_t i = 0; i < got; i++) {
            const strand_message_t *m = &msgs[i];
            if (m->error) {
                if (atomic_fetch_add(&w->consumer_errors, 1) == 0)
                    snprintf(w->consumer_first_error, sizeof(w->consumer_first_error),
                             "partition %d offset %lld: %s %s", (int)m->partition,
                             (long long)m->offset, strand_err_name(m->error), m->errstr);
                /* keep reading from where it was */
                if (m->partition >= 0 && m->partition < w->n_part) {
                    long k = w->n_seen[m->partition];
                    int64_t at = k ? w->seen[m->partition][k - 1].offset + 1 : 0;
                    strand_consumer_seek(cons, w->topic, m->partition, at);
                }
                st_test_sleep_ms(100);
                continue;
            }
            int p = m->partition;
            if (p < 0 || p >= w->n_part)
                continue;
            if (w->n_seen[p] == w->cap_seen[p]) {
                long nc = w->cap_seen[p] ? w->cap_seen[p] * 2 : 4096;
                ft_seen_t *ns = realloc(w->seen[p], (size_t)nc * sizeof(*ns));
                if (!ns)
                    continue;
                w->seen[p] = ns;
                w->cap_seen[p] = nc;
            }
            int vp = -1;
            long seq = parse_seq(w, m->value, m->value_len, &vp);
            w->seen[p][w->n_seen[p]++] = (ft_seen_t){ m->offset, seq };
        }
    }
    strand_consumer_destroy(cons);
    return NULL;
}

int ft_wait_topic(ft_cluster_t *c, const char *topic, int n_part, int isr, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        int ok = 0;
        for (int p = 0; p < n_part; p++) {
            ft_pstate_t s;
            if (ft_partition_state(c, topic, p, &s) == 0 && s.leader > 0 && s.n_isr >= isr)
                ok++;
        }
        if (ok == n_part)
            return 0;
        st_test_sleep_ms(100);
    } while (st_test_now_ms() < deadline);
    return -1;
}

int ft_work_start(ft_work_t *w, ft_cluster_t *c, const char *topic, int n_part, int rate,
                  const int32_t *assignment)
{
    memset(w, 0, sizeof(*w));
    w->c = c;
    snprintf(w->topic, sizeof(w->topic), "%s", topic);
    uint64_t tag = ft_hash((uint64_t)getpid(), topic) & 0xffffffffULL;
    snprintf(w->tag, sizeof(w->tag), "%08llx", (unsigned long long)tag);
    w->n_part = n_part > FT_MAX_PART ? FT_MAX_PART : n_part;
    w->rate = rate;
    w->cap = 2000000;
    w->rows = calloc((size_t)w->cap, sizeof(ft_row_t));
    pthread_mutex_init(&w->err_lock, NULL);
    if (!w->rows)
        return -1;
    char err[512];
    strand_conf_t *conf = client_conf(w, (const char *const[]){ "request.timeout.ms=10000", NULL });
    strand_admin_t *admin = strand_admin_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    if (!admin) {
        ft_log("admin client: %s", err);
        return -1;
    }
    const char *keys[] = { "min.insync.replicas" }, *vals[] = { "2" };
    strand_new_topic_t nt = { .name = topic, .num_partitions = w->n_part,
                              .replication_factor = 3, .config_keys = keys,
                              .config_values = vals, .config_count = 1,
                              .replica_assignment = assignment };
    int r = -1;
    for (int attempt = 0; attempt < 5 && r != 0; attempt++) {
        r = strand_admin_create_topic(admin, &nt, 15000, err, sizeof(err));
        if (r != 0) {
            ft_log("create topic %s: %s (%s)", topic, strand_err_name(r), err);
            if (r == ST_ERR_TOPIC_ALREADY_EXISTS)
                break;
            st_test_sleep_ms(1000);
        }
    }
    strand_admin_destroy(admin);
    if (r != 0)
        return -1;
    if (ft_wait_topic(c, topic, w->n_part, 3, 30000) < 0) {
        ft_log("topic %s: partitions without a leader and a full ISR after 30 s", topic);
        return -1;
    }
    conf = client_conf(w, (const char *const[]){
        "acks=all", "max.in.flight.requests.per.connection=1", "linger.ms=5",
        "request.timeout.ms=5000", "retry.backoff.ms=100", "max.block.ms=500",
        "metadata.max.age.ms=3000", "reconnect.backoff.max.ms=500",
        "socket.connection.setup.timeout.ms=3000",
        /* small batches against the memory pool: a partition that cannot be written (its
         * records retried until delivery.timeout.ms) must not starve the others of buffer */
        "batch.size=16384", "buffer.memory=134217728", NULL });
    char dt[64];
    snprintf(dt, sizeof(dt), "delivery.timeout.ms=%d", DELIVERY_TIMEOUT_MS);
    strand_conf_set_kv(conf, dt, err, sizeof(err));
    strand_conf_set_delivery_cb(conf, delivery_cb, w);
    w->prod = strand_producer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    if (!w->prod) {
        ft_log("producer: %s", err);
        return -1;
    }
    w->t0 = st_test_now_ms();
    if (pthread_create(&w->prod_thread, NULL, producer_main, w) != 0)
        return -1;
    if (pthread_create(&w->cons_thread, NULL, consumer_main, w) != 0) {
        atomic_store(&w->stop, true);
        pthread_join(w->prod_thread, NULL);
        return -1;
    }
    w->threads = true;
    ft_log("workload on %s: %d partitions, %d records/s, acks=all, min.insync.replicas=2",
           topic, w->n_part, rate);
    return 0;
}

void ft_work_stop(ft_work_t *w)
{
    if (!w->threads)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->prod_thread, NULL);
    if (strand_producer_flush(w->prod, DELIVERY_TIMEOUT_MS + 10000) != 0)
        ft_log("producer flush timed out: %zu records without a report",
               strand_producer_outq_len(w->prod));
    strand_producer_destroy(w->prod);
    w->prod = NULL;
    pthread_join(w->cons_thread, NULL);
    w->threads = false;
}

void ft_work_free(ft_work_t *w)
{
    ft_work_stop(w);
    if (w->prod)
        strand_producer_destroy(w->prod);
    free(w->rows);
    for (int p = 0; p < FT_MAX_PART; p++)
        free(w->seen[p]);
    pthread_mutex_destroy(&w->err_lock);
    memset(w, 0, sizeof(*w));
}

long ft_work_acks_between(ft_work_t *w, int64_t from_ms, int64_t to_ms)
{
    long n = 0, sent = atomic_load(&w->sent);
    for (long s = 0; s < sent; s++)
        if (w->rows[s].state == 2 && w->rows[s].t_done >= from_ms && w->rows[s].t_done < to_ms)
            n++;
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t ft_work_longest_gap(ft_work_t *w, int64_t from_ms, int64_t to_ms)
{
    long sent = atomic_load(&w->sent), n = 0;
    int64_t *t = malloc((size_t)(sent + 2) * sizeof(int64_t));
    if (!t)
        return -1;
    t[n++] = from_ms;
    for (long s = 0; s < sent; s++)
        if (w->rows[s].state == 2 && w->rows[s].t_done >= from_ms && w->rows[s].t_done < to_ms)
            t[n++] = w->rows[s].t_done;
    t[n++] = to_ms;
    qsort(t, (size_t)n, sizeof(int64_t), cmp_i64);
    int64_t gap = 0;
    for (long i = 1; i < n; i++)
        if (t[i] - t[i - 1] > gap)
            gap = t[i] - t[i - 1];
    free(t);
    return gap;
}

/* ---- checker: reading back ------------------------------------------------------------------- */

typedef struct logrec {
    int64_t offset;
    long seq;           /* -1: not ours */
    int part;           /* the partition in the value */
} logrec_t;

/* Reads partition p from 0 to its high watermark with a fresh consumer. Returns the number of
 * records (*ret malloc'd) or -1 (why says). */
static long read_partition(ft_work_t *w, int p, int timeout_ms, logrec_t **ret, int64_t *ret_hw,
                           char *why, size_t why_len)
{
    char err[512];
    strand_conf_t *conf = client_conf(w, (const char *const[]){
        "auto.offset.reset=none", "max.poll.records=5000", "request.timeout.ms=5000",
        "fetch.max.wait.ms=100", NULL });
    strand_consumer_t *cons = strand_consumer_new(conf, err, sizeof(err));
    strand_conf_destroy(conf);
    if (!cons) {
        snprintf(why, why_len, "consumer: %.400s", err);
        return -1;
    }
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int64_t hw = -1;
    while (st_test_now_ms() < deadline) {
        strand_topic_partition_t tp = { w->topic, p, STRAND_OFFSET_END, 0 };
        if (strand_consumer_list_offsets(cons, &tp, 1, 5000) == 0 && tp.error == 0) {
            hw = tp.offset;
            break;
        }
        st_test_sleep_ms(200);
    }
    if (hw < 0) {
        strand_consumer_destroy(cons);
        snprintf(why, why_len, "partition %d: no high watermark from ListOffsets", p);
        return -1;
    }
    strand_topic_partition_t as = { w->topic, p, 0, 0 };
    strand_consumer_assign(cons, &as, 1);
    long n = 0, cap = 4096;
    logrec_t *recs = malloc((size_t)cap * sizeof(*recs));
    int64_t next = 0;
    while (next < hw && st_test_now_ms() < deadline && recs) {
        const strand_message_t *msgs;
        size_t got = 0;
        if (strand_consumer_poll(cons, 200, &msgs, &got) != 0)
            break;
        for (size_t i = 0; i < got; i++) {
            const strand_message_t *m = &msgs[i];
            if (m->error) {
                ft_logf("read-back of partition %d: %s", p, m->errstr);
                st_test_sleep_ms(100);
                continue;
            }
            if (m->offset >= hw)
                continue;
            if (n == cap) {
                cap *= 2;
                logrec_t *nr = realloc(recs, (size_t)cap * sizeof(*recs));
                if (!nr)
                    break;
                recs = nr;
            }
            int vp = -1;
            long seq = parse_seq(w, m->value, m->value_len, &vp);
            recs[n++] = (logrec_t){ m->offset, seq, vp };
            next = m->offset + 1;
        }
    }
    strand_consumer_destroy(cons);
    if (next < hw) {
        snprintf(why, why_len, "partition %d: read only up to offset %lld of high watermark "
                 "%lld", p, (long long)next, (long long)hw);
        free(recs);
        return -1;
    }
    *ret = recs;
    *ret_hw = hw;
    return n;
}

/* ---- checker: replica bytes ------------------------------------------------------------------ */

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

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The bytes of the batches below offset upto in broker b's segment files of topic-p, in order.
 * 0, 1 (the files do not reach upto yet), -1 (a batch straddles upto or the files are
 * unreadable). */
static int segment_bytes(const ft_proc_t *b, const char *topic, int p, int64_t upto,
                         uint8_t **ret, size_t *ret_len)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/logs/%s-%d", b->mnt, topic, p);
    DIR *d = opendir(dir);
    if (!d)
        return upto == 0 ? 0 : 1;
    char *names[512];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nn < 512) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".log") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof(char *), cmp_names);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r = 1;
    int64_t reached = 0;
    for (size_t i = 0; i < nn && r == 1; i++) {
        char path[1000];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            r = -1;
            break;
        }
        struct stat st;
        fstat(fd, &st);
        uint8_t *data = malloc((size_t)st.st_size + 1);
        ssize_t got = data ? pread(fd, data, (size_t)st.st_size, 0) : -1;
        close(fd);
        if (got < 0) {
            free(data);
            r = -1;
            break;
        }
        size_t pos = 0;
        while (pos + 61 <= (size_t)got) {
            int64_t base = (int64_t)be64(data + pos);
            int32_t blen = (int32_t)be32(data + pos + 8);
            if (blen <= 0 || pos + 12 + (size_t)blen > (size_t)got)
                break;
            int64_t last = base + (int32_t)be32(data + pos + 23);
            if (base >= upto) {
                r = 0;
                break;
            }
            if (last >= upto) {
                r = -1;
                break;
            }
            uint8_t *no = realloc(out, out_len + 12 + (size_t)blen);
            if (!no) {
                r = -1;
                break;
            }
            out = no;
            memcpy(out + out_len, data + pos, 12 + (size_t)blen);
            out_len += 12 + (size_t)blen;
            reached = last + 1;
            pos += 12 + (size_t)blen;
        }
        free(data);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    if (r == 1 && reached >= upto)
        r = 0;
    if (r != 0) {
        free(out);
        return r;
    }
    *ret = out;
    *ret_len = out_len;
    return 0;
}

/* Waits until every replica of topic-p holds the same bytes up to hw. 0, or -1 with why. */
static int replicas_identical(ft_work_t *w, int p, int64_t hw, int timeout_ms, char *why,
                              size_t why_len)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    do {
        uint8_t *ref = NULL;
        size_t ref_len = 0;
        int ref_id = 0;
        bool ok = true;
        for (int i = 0; i < FT_BR_N && ok; i++) {
            uint8_t *bytes = NULL;
            size_t len = 0;
            int r = segment_bytes(&w->c->br[i], w->topic, p, hw, &bytes, &len);
            if (r != 0) {
                snprintf(why, why_len, "partition %d: broker %d %s offset %lld", p, i + 1,
                         r > 0 ? "does not reach" : "has a batch straddling or unreadable at",
                         (long long)hw);
                ok = false;
                break;
            }
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
                snprintf(why, why_len, "partition %d: broker %d (%zu bytes) differs from broker "
                         "%d (%zu bytes) at byte %zu (high watermark %lld)", p, i + 1, len,
                         ref_id, ref_len, at, (long long)hw);
                ok = false;
            }
            free(bytes);
        }
        free(ref);
        if (ok)
            return 0;
        st_test_sleep_ms(250);
    } while (st_test_now_ms() < deadline);
    return -1;
}

/* ---- checker: metadata views ----------------------------------------------------------------- */

/* Defined for broker_wire.c (its tw_broker_serves, unused here, connects to loopback). */
int st_test_connect(int port);
int st_test_connect(int port)
{
    (void)port;
    return -ENOTSUP;
}

static int connect_addr(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { 3, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int ft_broker_view(ft_cluster_t *c, ft_proc_t *b, const char *topic, int p, int *ret_leader,
                   int *ret_epoch)
{
    int fd = connect_addr(c->net.node[b->net].addr, FT_BROKER_PORT);
    if (fd < 0)
        return -1;
    Strand__MetadataResponse *md = tw_metadata(fd, 9002, topic, false);
    close(fd);
    int rc = -1;
    for (size_t t = 0; md && t < md->n_topics; t++) {
        if (!md->topics[t]->name || strcmp(md->topics[t]->name, topic) != 0)
            continue;
        for (size_t i = 0; i < md->topics[t]->n_partitions; i++) {
            const Strand__PartitionMetadata *pm = md->topics[t]->partitions[i];
            if (pm->partition == p) {
                *ret_leader = pm->leader;
                *ret_epoch = pm->leader_epoch;
                rc = 0;
            }
        }
    }
    if (md)
        strand__metadata_response__free_unpacked(md, NULL);
    return rc;
}

/* Whether broker b's Metadata shows the ZooKeeper leader and leader epoch for every partition. */
static bool view_agrees(ft_work_t *w, ft_proc_t *b, char *why, size_t why_len)
{
    int fd = connect_addr(w->c->net.node[b->net].addr, FT_BROKER_PORT);
    if (fd < 0) {
        snprintf(why, why_len, "%s: cannot connect", b->name);
        return false;
    }
    Strand__MetadataResponse *md = tw_metadata(fd, 9001, w->topic, false);
    close(fd);
    if (!md) {
        snprintf(why, why_len, "%s: no Metadata answer", b->name);
        return false;
    }
    bool ok = true;
    for (int p = 0; p < w->n_part && ok; p++) {
        ft_pstate_t s;
        if (ft_partition_state(w->c, w->topic, p, &s) < 0) {
            snprintf(why, why_len, "partition %d: no state in ZooKeeper", p);
            ok = false;
            break;
        }
        bool found = false;
        for (size_t t = 0; t < md->n_topics && ok; t++) {
            if (!md->topics[t]->name || strcmp(md->topics[t]->name, w->topic) != 0)
                continue;
            for (size_t i = 0; i < md->topics[t]->n_partitions; i++) {
                const Strand__PartitionMetadata *pm = md->topics[t]->partitions[i];
                if (pm->partition != p)
                    continue;
                found = true;
                if (pm->leader != s.leader || pm->leader_epoch != s.leader_epoch) {
                    snprintf(why, why_len, "%s: partition %d leader %d epoch %d, ZooKeeper says "
                             "leader %d epoch %d", b->name, p, pm->leader, pm->leader_epoch,
                             s.leader, s.leader_epoch);
                    ok = false;
                }
            }
        }
        if (ok && !found) {
            snprintf(why, why_len, "%s: partition %d missing from Metadata", b->name, p);
            ok = false;
        }
    }
    strand__metadata_response__free_unpacked(md, NULL);
    return ok;
}

/* ---- the checks ------------------------------------------------------------------------------ */

static void add_why(ft_result_t *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_why(ft_result_t *res, const char *fmt, ...)
{
    size_t used = strlen(res->why);
    if (used + 2 >= sizeof(res->why))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why + used, sizeof(res->why) - used, fmt, ap);
    va_end(ap);
    used = strlen(res->why);
    if (used + 1 < sizeof(res->why)) {
        res->why[used] = '\n';
        res->why[used + 1] = '\0';
    }
}

bool ft_work_check(ft_work_t *w, int64_t heal_ms, int bound_ms, ft_result_t *res)
{
    memset(res, 0, sizeof(*res));
    long sent = atomic_load(&w->sent);
    res->sent = sent;
    for (long s = 0; s < sent; s++) {
        if (w->rows[s].state == 2)
            res->acked++;
        else if (w->rows[s].state == 3)
            res->failed++;
        else if (w->rows[s].state == 1)
            res->unknown++;
    }
    int64_t deadline = heal_ms + bound_ms;
    /* leaders */
    res->leaders_ok = true;
    for (int p = 0; p < w->n_part; p++) {
        ft_pstate_t s = { .leader = -1 };
        for (;;) {
            if (ft_partition_state(w->c, w->topic, p, &s) == 0 && s.leader > 0)
                break;
            if (st_test_now_ms() > deadline) {
                add_why(res, "partition %d has no leader %d ms after the heal", p, bound_ms);
                res->leaders_ok = false;
                break;
            }
            st_test_sleep_ms(100);
        }
    }
    /* metadata views of the running brokers */
    res->views_ok = true;
    char why[512] = "";
    for (int i = 0; i < FT_BR_N; i++) {
        ft_proc_t *b = &w->c->br[i];
        if (!ft_proc_alive(b) || b->paused)
            continue;
        while (!view_agrees(w, b, why, sizeof(why))) {
            if (st_test_now_ms() > deadline) {
                add_why(res, "metadata: %s", why);
                res->views_ok = false;
                break;
            }
            st_test_sleep_ms(200);
        }
    }
    /* read back */
    bool ok = res->leaders_ok && res->views_ok;
    char *seen_count = calloc((size_t)(sent + 1), 1);
    for (int p = 0; p < w->n_part; p++) {
        logrec_t *recs = NULL;
        int64_t hw = -1;
        int left = (int)(deadline - st_test_now_ms());
        long n = read_partition(w, p, left > 10000 ? left : 10000, &recs, &hw, why, sizeof(why));
        if (n < 0) {
            add_why(res, "read-back: %s", why);
            ok = false;
            continue;
        }
        int64_t expect = 0;
        long last_acked_seq = -1;
        int64_t last_acked_off = -1;
        for (long i = 0; i < n; i++) {
            const logrec_t *r = &recs[i];
            if (r->offset != expect) {
                if (res->gaps++ < 3)
                    add_why(res, "partition %d: offset %lld follows %lld (gap)", p,
                            (long long)r->offset, (long long)expect - 1);
            }
            expect = r->offset + 1;
            if (r->seq < 0 || r->seq >= sent || r->part != p || r->seq % w->n_part != p) {
                if (res->phantom++ < 3)
                    add_why(res, "PHANTOM: partition %d offset %lld holds a record never sent "
                            "(seq %ld)", p, (long long)r->offset, r->seq);
                continue;
            }
            if (seen_count[r->seq] < 100)
                seen_count[r->seq]++;
            if (seen_count[r->seq] == 2)
                res->duplicated++;
            const ft_row_t *row = &w->rows[r->seq];
            if (row->state == 3 && seen_count[r->seq] == 1)
                res->failed_present++;
            if (row->state == 2 && row->offset == r->offset) {
                if (r->seq < last_acked_seq || r->offset < last_acked_off) {
                    if (res->reordered++ < 3)
                        add_why(res, "REORDERED: partition %d: acked seq %ld at offset %lld "
                                "after acked seq %ld at %lld", p, r->seq, (long long)r->offset,
                                last_acked_seq, (long long)last_acked_off);
                }
                last_acked_seq = r->seq;
                last_acked_off = r->offset;
            }
        }
        /* every acked record of p at its offset */
        for (long s = p; s < sent; s += w->n_part) {
            const ft_row_t *row = &w->rows[s];
            if (row->state != 2)
                continue;
            /* binary search the offset (offsets are increasing) */
            long lo = 0, hi = n - 1, at = -1;
            while (lo <= hi) {
                long mid = (lo + hi) / 2;
                if (recs[mid].offset == row->offset) {
                    at = mid;
                    break;
                }
                if (recs[mid].offset < row->offset)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
            if (at < 0 || recs[at].seq != s) {
                if (res->lost++ < 5)
                    add_why(res, "LOST: seq %ld acked at partition %d offset %lld (acked at "
                            "+%lld ms), log has %s", s, p, (long long)row->offset,
                            (long long)row->t_done, at < 0 ? "no such offset" : "another record");
            }
        }
        /* what the live consumer saw */
        for (long i = 0; i < w->n_seen[p]; i++) {
            const ft_seen_t *sv = &w->seen[p][i];
            res->consumer_seen++;
            long lo = 0, hi = n - 1, at = -1;
            while (lo <= hi) {
                long mid = (lo + hi) / 2;
                if (recs[mid].offset == sv->offset) {
                    at = mid;
                    break;
                }
                if (recs[mid].offset < sv->offset)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
            if (at < 0 || recs[at].seq != sv->seq) {
                if (res->changed_seen++ < 3)
                    add_why(res, "CHANGED: the live consumer read seq %ld at partition %d offset "
                            "%lld, the log now has %s there", sv->seq, p, (long long)sv->offset,
                            at < 0 ? "nothing" : "another record");
            }
        }
        /* replicas */
        int left2 = (int)(deadline - st_test_now_ms());
        if (replicas_identical(w, p, hw, left2 > 15000 ? left2 : 15000, why, sizeof(why)) < 0) {
            res->diverged++;
            add_why(res, "DIVERGED: %s", why);
        }
        free(recs);
    }
    free(seen_count);
    res->recover_ms = st_test_now_ms() - heal_ms;
    if (w->consumer_errors)
        ft_log("live consumer errors: %ld (first: %s)", (long)w->consumer_errors,
               w->consumer_first_error);
    ok = ok && res->lost == 0 && res->phantom == 0 && res->reordered == 0 && res->gaps == 0 &&
         res->changed_seen == 0 && res->diverged == 0;
    return ok;
}

void ft_result_print(const ft_work_t *w, const ft_result_t *res)
{
    char errs[512] = "";
    size_t u = 0;
    for (int i = 0; i < FT_MAX_ERRS && w->err_count[i]; i++)
        u += (size_t)snprintf(errs + u, u < sizeof(errs) ? sizeof(errs) - u : 0, "%s%s x%ld",
                              i ? ", " : "", strand_err_name(w->err_code[i]), w->err_count[i]);
    ft_log("figures: sent %ld, acked %ld, failed %ld, unknown %ld | lost %ld, phantom %ld, "
           "reordered %ld, duplicated %ld, failed-but-written %ld, consumer-read %ld "
           "(changed %ld), diverged partitions %d | recovered in %lld ms%s%s%s",
           res->sent, res->acked, res->failed, res->unknown, res->lost, res->phantom,
           res->reordered, res->duplicated, res->failed_present, res->consumer_seen,
           res->changed_seen, res->diverged, (long long)res->recover_ms,
           errs[0] ? " | errors: " : "", errs, "");
}
