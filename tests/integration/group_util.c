/* Helpers for the consumer-group client tests: see group_util.h. */
#include "group_util.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

long long gp_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gm_dir_init(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/strand-it-gc-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp");
}

void gm_dir_cleanup(const char *dir)
{
    if (dir && dir[0] && getenv("STRAND_TEST_KEEP_LOGS")) {
        fprintf(stderr, "member logs kept in %s\n", dir);
        return;
    }
    if (dir && dir[0])
        st_test_remove_tree(dir);
}

void gm_start(gm_t *m, const char *dir, const char *name, const char *bootstrap,
              const char *group, const char *const *args)
{
    const char *exe = getenv("STRAND_GROUP_MEMBER");
    cr_assert_not_null(exe, "$STRAND_GROUP_MEMBER is not set");
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->log, sizeof(m->log), "%s/%s.log", dir, name);
    const char *argv[64];
    int k = 0;
    argv[k++] = "group_member";
    argv[k++] = "--bootstrap";
    argv[k++] = bootstrap;
    argv[k++] = "--group";
    argv[k++] = group;
    for (size_t i = 0; args && args[i] && k < 63; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    int ready_before = gm_count(m, "READY");
    m->pid = st_test_spawn_logged(exe, argv, NULL, m->log, name);
    cr_assert_gt(m->pid, 0, "spawn %s", name);
    if (!gm_wait_count(m, "READY", ready_before + 1, 20000)) {
        char *log = gm_read(m);
        cr_assert_fail("member %s did not start:\n%s", name, log ? log : "");
    }
}

int gm_stop(gm_t *m, int sig)
{
    if (m->pid <= 0)
        return -1;
    int status = st_test_stop_child(m->pid, sig, false, sig == SIGKILL ? 5000 : 30000, m->name);
    m->pid = 0;
    return status;
}

int gm_wait_exit(gm_t *m, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    int status;
    while (st_test_now_ms() < deadline) {
        if (st_test_child_exited(m->pid, &status)) {
            m->pid = 0;
            return status;
        }
        st_test_sleep_ms(20);
    }
    return -1;
}

char *gm_read(const gm_t *m)
{
    FILE *f = fopen(m->log, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Calls fn(arg, line) for every complete line of the log (the line NUL-terminated in place). */
static void each_line(const gm_t *m, void (*fn)(void *arg, char *line), void *arg)
{
    char *buf = gm_read(m);
    if (!buf)
        return;
    char *p = buf;
    for (;;) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        fn(arg, p);
        p = nl + 1;
    }
    free(buf);
}

typedef struct count_arg {
    const char *prefix;
    size_t len;
    int n;
} count_arg_t;

static void count_line(void *arg, char *line)
{
    count_arg_t *a = arg;
    if (strncmp(line, a->prefix, a->len) == 0)
        a->n++;
}

int gm_count(const gm_t *m, const char *prefix)
{
    count_arg_t a = { prefix, strlen(prefix), 0 };
    each_line(m, count_line, &a);
    return a.n;
}

bool gm_wait_count(const gm_t *m, const char *prefix, int n, int timeout_ms)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    while (gm_count(m, prefix) < n) {
        if (st_test_now_ms() >= deadline)
            return false;
        st_test_sleep_ms(50);
    }
    return true;
}

typedef struct owned_arg {
    char *v[256];
    int n;
} owned_arg_t;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void owned_line(void *arg, char *line)
{
    owned_arg_t *a = arg;
    bool add = strncmp(line, "ASSIGNED ", 9) == 0;
    bool del = strncmp(line, "REVOKED ", 8) == 0 || strncmp(line, "LOST ", 5) == 0;
    if (!add && !del)
        return;
    char *save = NULL;
    strtok_r(line, " ", &save);           /* the event */
    strtok_r(NULL, " ", &save);           /* its time */
    for (char *tp = strtok_r(NULL, " ", &save); tp; tp = strtok_r(NULL, " ", &save)) {
        int found = -1;
        for (int i = 0; i < a->n; i++)
            if (strcmp(a->v[i], tp) == 0)
                found = i;
        if (add && found < 0 && a->n < 256)
            a->v[a->n++] = strdup(tp);
        if (del && found >= 0) {
            free(a->v[found]);
            a->v[found] = a->v[--a->n];
        }
    }
}

int gm_owned(const gm_t *m, char *buf, size_t len)
{
    owned_arg_t a = { .n = 0 };
    each_line(m, owned_line, &a);
    qsort(a.v, (size_t)a.n, sizeof(char *), cmp_str);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < a.n; i++) {
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", a.v[i]);
        free(a.v[i]);
    }
    return a.n;
}

typedef struct tally_arg {
    int *counts;
    size_t n;
    long lines;
} tally_arg_t;

static void tally_line(void *arg, char *line)
{
    tally_arg_t *a = arg;
    if (strncmp(line, "R ", 2) != 0)
        return;
    a->lines++;
    char *v = strrchr(line, ' ');
    if (!v || v[1] != 'v')
        return;
    long i = strtol(v + 2, NULL, 10);
    if (i >= 0 && (size_t)i < a->n)
        a->counts[i]++;
}

long gm_tally(const gm_t *m, int *counts, size_t n)
{
    tally_arg_t a = { counts, n, 0 };
    each_line(m, tally_line, &a);
    return a.lines;
}

typedef struct first_arg {
    long long since;
    long long first;
} first_arg_t;

static void first_line(void *arg, char *line)
{
    first_arg_t *a = arg;
    if (strncmp(line, "R ", 2) != 0 || a->first >= 0)
        return;
    char topic[256];
    int part;
    long long off, ms;
    if (sscanf(line, "R %255s %d %lld %lld", topic, &part, &off, &ms) == 4 && ms >= a->since)
        a->first = ms;
}

long long gm_first_record_after(const gm_t *m, long long since_ms)
{
    first_arg_t a = { since_ms, -1 };
    each_line(m, first_line, &a);
    return a.first;
}

bool gm_wait_owned(gm_t *m, int n, const char *topic, int parts, int min_each, int max_each,
                   int timeout_ms, char *why, size_t why_len)
{
    int64_t deadline = st_test_now_ms() + timeout_ms;
    for (;;) {
        int seen[1024] = { 0 };
        bool ok = parts <= 1024;
        size_t used = 0;
        why[0] = '\0';
        for (int i = 0; i < n; i++) {
            char owned[4096];
            int cnt = gm_owned(&m[i], owned, sizeof(owned));
            if (used < why_len)
                used += (size_t)snprintf(why + used, why_len - used, "%s%s: [%s]", i ? "; " : "",
                                         m[i].name, owned);
            if (cnt < min_each || cnt > max_each)
                ok = false;
            char *save = NULL;
            for (char *tp = strtok_r(owned, " ", &save); tp; tp = strtok_r(NULL, " ", &save)) {
                char *dash = strrchr(tp, '-');
                int p = dash ? atoi(dash + 1) : -1;
                if (!dash || (size_t)(dash - tp) != strlen(topic) || strncmp(tp, topic, strlen(topic)) ||
                    p < 0 || p >= parts)
                    ok = false;
                else
                    seen[p]++;
            }
        }
        for (int p = 0; p < parts && ok; p++)
            ok = seen[p] == 1;
        if (ok)
            return true;
        if (st_test_now_ms() >= deadline)
            return false;
        st_test_sleep_ms(50);
    }
}

typedef struct gen_arg {
    int gen, coord, leader;
    bool found;
} gen_arg_t;

static void gen_line(void *arg, char *line)
{
    gen_arg_t *a = arg;
    int g, c, l;
    if (sscanf(line, "GEN %d %d %d", &g, &c, &l) == 3) {
        a->gen = g;
        a->coord = c;
        a->leader = l;
        a->found = true;
    }
}

bool gm_last_gen(const gm_t *m, int *ret_generation, int *ret_coordinator, int *ret_leader)
{
    gen_arg_t a = { .found = false };
    each_line(m, gen_line, &a);
    if (a.found) {
        if (ret_generation)
            *ret_generation = a.gen;
        if (ret_coordinator)
            *ret_coordinator = a.coord;
        if (ret_leader)
            *ret_leader = a.leader;
    }
    return a.found;
}

typedef struct lines_arg {
    const char *prefix;
    char *buf;
    size_t len, used;
} lines_arg_t;

static void lines_line(void *arg, char *line)
{
    lines_arg_t *a = arg;
    if (strncmp(line, a->prefix, strlen(a->prefix)) == 0 && a->used < a->len)
        a->used += (size_t)snprintf(a->buf + a->used, a->len - a->used, "%s\n", line);
}

void gm_lines(const gm_t *m, const char *prefix, char *buf, size_t len)
{
    lines_arg_t a = { prefix, buf, len, 0 };
    buf[0] = '\0';
    each_line(m, lines_line, &a);
}

/* ---- producing -------------------------------------------------------------------------------- */

void gp_create_topic(const char *bootstrap, const char *topic, int partitions, int rf)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)), 0, "%s",
                 err);
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    strand_new_topic_t nt = { .name = topic, .num_partitions = partitions,
                              .replication_factor = rf };
    cr_assert_eq(strand_admin_create_topic(a, &nt, 30000, err, sizeof(err)), 0, "%s", err);
    strand_admin_destroy(a);
    strand_conf_destroy(conf);
}

void gp_add_partitions(const char *bootstrap, const char *topic, int total)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)), 0, "%s",
                 err);
    strand_admin_t *a = strand_admin_new(conf, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    cr_assert_eq(strand_admin_create_partitions(a, topic, total, NULL, 0, 0, 30000, err,
                                                sizeof(err)), 0, "%s", err);
    strand_admin_destroy(a);
    strand_conf_destroy(conf);
}

typedef struct dr_count {
    atomic_long ok;
    atomic_long failed;
} dr_count_t;

static void dr_cb(const strand_delivery_report_t *rep, void *opaque)
{
    dr_count_t *d = opaque;
    if (rep->error)
        atomic_fetch_add(&d->failed, 1);
    else
        atomic_fetch_add(&d->ok, 1);
}

void gp_produce(const char *bootstrap, const char *topic, long from, long to)
{
    strand_conf_t *conf = strand_conf_new();
    char err[512];
    cr_assert_eq(strand_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)), 0, "%s",
                 err);
    dr_count_t d;
    atomic_init(&d.ok, 0);
    atomic_init(&d.failed, 0);
    strand_conf_set_delivery_cb(conf, dr_cb, &d);
    strand_producer_t *p = strand_producer_new(conf, err, sizeof(err));
    cr_assert_not_null(p, "%s", err);
    strand_conf_destroy(conf);
    for (long i = from; i < to; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof(key), "k%ld", i);
        int vl = snprintf(val, sizeof(val), "v%ld", i);
        int e = strand_produce(p, topic, STRAND_PARTITION_ANY, key, (size_t)kl, val, (size_t)vl,
                               NULL, 0, 0, NULL);
        cr_assert_eq(e, 0, "produce v%ld: %s", i, strand_err_name(e));
    }
    cr_assert_eq(strand_producer_flush(p, 60000), 0, "flush");
    cr_assert_eq(atomic_load(&d.failed), 0, "%ld records failed", atomic_load(&d.failed));
    cr_assert_eq(atomic_load(&d.ok), to - from);
    strand_producer_destroy(p);
}
