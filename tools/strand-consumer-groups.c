/* strand-consumer-groups: Kafka's kafka-consumer-groups.sh (ConsumerGroupCommand, 2.8) over the
 * admin client's group calls (strand.h): --list [--state [states]], --describe (--offsets, the
 * default; --members [--verbose]; --state) for --group G... or --all-groups, --reset-offsets with
 * a scenario (--to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration,
 * --to-current) and a scope (--topic t, --topic t:0,1, --all-topics), --dry-run by default and
 * --execute to commit, refused while the group has members; --delete --group G and
 * --delete-offsets --group G --topic t.
 *
 * Output follows Kafka's tool: its column layouts (widths grow with the longest group, topic,
 * consumer id and host), its messages ("Consumer group 'g' has no active members." on stderr,
 * "Error: ..." lines on stdout), "-" for a missing value. Where this tool differs from Kafka's:
 * usage errors are one line naming the flag ("... (try --help)", exit 1) instead of the whole
 * usage text; every run that prints an "Error:" line exits 1 (Kafka exits 0 after most); rows
 * whose order Kafka leaves to a hash map are sorted (group, topic, partition); a log end offset
 * that cannot be read prints "-" instead of failing the whole describe; the --state view sizes
 * its GROUP column to the group name (Kafka 2.8 sized it to the coordinator column).
 * --from-file and --export are not supported. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "reset_time.h"
#include "tool_common.h"

#define MISSING "-"

static tool_opt_t opts[] = {
    { "--bootstrap-server", TOOL_VALUE, "<String: server to connect to>",
      "REQUIRED: The server(s) to connect to.", false, NULL, NULL, 0 },
    { "--list", TOOL_FLAG, NULL, "List all consumer groups.", false, NULL, NULL, 0 },
    { "--describe", TOOL_FLAG, NULL,
      "Describe consumer groups and list the offset lag (records not yet processed) of their "
      "partitions.", false, NULL, NULL, 0 },
    { "--delete", TOOL_FLAG, NULL,
      "Delete consumer groups (they must have no active members) with their committed offsets.",
      false, NULL, NULL, 0 },
    { "--reset-offsets", TOOL_FLAG, NULL,
      "Reset the committed offsets of inactive groups: --dry-run (the default) shows the plan, "
      "--execute commits it. Takes one scenario (--to-datetime, --by-duration, --to-earliest, "
      "--to-latest, --shift-by, --to-current, --to-offset) and one scope (--all-topics or "
      "--topic).", false, NULL, NULL, 0 },
    { "--delete-offsets", TOOL_FLAG, NULL,
      "Delete the committed offsets of one group for the topics given with --topic.",
      false, NULL, NULL, 0 },
    { "--group", TOOL_MULTI, "<String: consumer group>",
      "The consumer group to act on (repeatable).", false, NULL, NULL, 0 },
    { "--all-groups", TOOL_FLAG, NULL, "Apply to all consumer groups.", false, NULL, NULL, 0 },
    { "--topic", TOOL_MULTI, "<String: topic>",
      "A topic of --reset-offsets or --delete-offsets, all its partitions or some: topic:0,1,2 "
      "(repeatable).", false, NULL, NULL, 0 },
    { "--all-topics", TOOL_FLAG, NULL,
      "Every topic the group has committed offsets for (--reset-offsets).", false, NULL, NULL, 0 },
    { "--offsets", TOOL_FLAG, NULL,
      "With --describe (the default view): each partition's committed offset, log end offset "
      "and lag.", false, NULL, NULL, 0 },
    { "--members", TOOL_FLAG, NULL, "With --describe: the group's members.", false, NULL, NULL, 0 },
    { "--verbose", TOOL_FLAG, NULL, "With --describe --members: each member's assignment.",
      false, NULL, NULL, 0 },
    { "--state", TOOL_OPTIONAL, "[String: states]",
      "With --describe: the group's state and coordinator. With --list: each group's state, "
      "optionally only groups in the comma-separated states given (e.g. stable,empty).",
      false, NULL, NULL, 0 },
    { "--dry-run", TOOL_FLAG, NULL, "Only show what --reset-offsets would do (the default).",
      false, NULL, NULL, 0 },
    { "--execute", TOOL_FLAG, NULL, "Commit the offsets --reset-offsets computes.",
      false, NULL, NULL, 0 },
    { "--to-offset", TOOL_VALUE, "<Long: offset>", "Reset to this offset.", false, NULL, NULL, 0 },
    { "--to-earliest", TOOL_FLAG, NULL, "Reset to the earliest offset.", false, NULL, NULL, 0 },
    { "--to-latest", TOOL_FLAG, NULL, "Reset to the latest offset.", false, NULL, NULL, 0 },
    { "--to-current", TOOL_FLAG, NULL,
      "Reset to the committed offset (the log end where none is committed).",
      false, NULL, NULL, 0 },
    { "--shift-by", TOOL_VALUE, "<Long: number-of-offsets>",
      "Shift the committed offset by n (negative: back).", false, NULL, NULL, 0 },
    { "--to-datetime", TOOL_VALUE, "<String: datetime>",
      "Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, UTC unless a "
      "zone follows (Z, +hh:mm).", false, NULL, NULL, 0 },
    { "--by-duration", TOOL_VALUE, "<String: duration>",
      "Reset to the first offset at or after now minus this duration: PnDTnHnMnS.",
      false, NULL, NULL, 0 },
    { "--timeout", TOOL_VALUE, "<Long: timeout (ms)>",
      "How long each request may take, waiting for a coordinator included (default: 5000).",
      false, NULL, NULL, 0 },
    { "--command-config", TOOL_VALUE, "<String: command config property file>",
      "Property file with client configs (security.protocol, ssl.*, ...).", false, NULL, NULL, 0 },
    TOOL_OPT_END
};

static const char *const scenario_flags[] = {
    "--to-datetime", "--by-duration", "--to-earliest", "--to-latest", "--shift-by",
    "--to-current", "--to-offset",
};
#define N_SCENARIOS (sizeof(scenario_flags) / sizeof(scenario_flags[0]))

/* The states Kafka's ConsumerGroupState knows, in its order (for messages). */
static const char *const group_states[] = {
    "PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty",
};

static int exit_code;        /* 1 once an "Error:" line was printed */
static int timeout_ms = 5000;
static strand_conf_t *conf;
static strand_admin_t *admin;
static strand_consumer_t *consumer;     /* for ListOffsets, created on first use */
static const char **list_states;        /* --list --state filter (parsed by check_args) */
static size_t n_list_states;

/* ---- small helpers -------------------------------------------------------------------------- */

static bool given(const char *flag)
{
    return tool_opt(opts, flag)->given;
}

static const char *value_of(const char *flag)
{
    return tool_opt(opts, flag)->value;
}

/* A usage error: one line naming what was wrong, exit 1. */
static void __attribute__((format(printf, 1, 2), noreturn)) usage_die(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tool_die("%s (try --help)", msg);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        tool_die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        tool_die("out of memory");
    return p;
}

/* Kafka's printError: a blank line, then "Error: <msg>" on stdout. */
static void __attribute__((format(printf, 1, 2))) print_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("\nError: %s\n", msg);
    exit_code = 1;
}

/* A line on stderr (stdout flushed first, so the two streams keep their order on a terminal). */
static void __attribute__((format(printf, 1, 2))) print_note(const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* A WARN line as Kafka's tools log them (log4j's "[%d] %p %m (%c)%n" on stderr). */
static void __attribute__((format(printf, 1, 2))) log_warn(const char *fmt, ...)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_note("[%s,%03ld] WARN %s (strand.consumer-groups)\n", when, (long)(tv.tv_usec / 1000),
               msg);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- groups and partitions ----------------------------------------------------------------- */

/* The groups named with --group (sorted, without repeats, as Kafka's TreeMap gives them) or,
 * with --all-groups, every consumer group. */
static char **selected_groups(size_t *ret_n)
{
    char **out;
    size_t n = 0;
    if (given("--all-groups")) {
        strand_group_listing_t *ls = NULL;
        size_t nl = 0;
        char err[1024];
        int e = strand_admin_list_groups(admin, NULL, 0, false, timeout_ms, &ls, &nl, err,
                                         sizeof(err));
        if (e) {
            print_error("Executing consumer group command failed due to %s", err);
            exit(1);
        }
        out = xcalloc(nl, sizeof(*out));
        for (size_t i = 0; i < nl; i++)
            out[n++] = xstrdup(ls[i].group_id);
        strand_group_listings_free(ls, nl);
    } else {
        tool_opt_t *g = tool_opt(opts, "--group");
        out = xcalloc(g->n_values, sizeof(*out));
        for (size_t i = 0; i < g->n_values; i++)
            out[n++] = xstrdup(g->values[i]);
    }
    qsort(out, n, sizeof(*out), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && strcmp(out[k - 1], out[i]) == 0) {
            free(out[i]);
            continue;
        }
        out[k++] = out[i];
    }
    *ret_n = k;
    return out;
}

static strand_consumer_t *offsets_client(void)
{
    if (!consumer) {
        char err[1024];
        consumer = strand_consumer_new(conf, err, sizeof(err));
        if (!consumer)
            tool_die("%s", err);
    }
    return consumer;
}

/* ListOffsets at `when` (STRAND_OFFSET_END, STRAND_OFFSET_BEGINNING or a timestamp) for each
 * entry; entries keep their own error. Failing as a whole prints the error and exits. */
static void list_offsets(strand_topic_partition_t *tps, size_t n, int64_t when)
{
    if (!n)
        return;
    for (size_t i = 0; i < n; i++) {
        tps[i].offset = when;
        tps[i].error = 0;
    }
    int e = strand_consumer_list_offsets(offsets_client(), tps, n, timeout_ms);
    if (e) {
        print_error("Executing consumer group command failed due to ListOffsets: %s: %s",
                    strand_err_name(e), strand_err_desc(e));
        exit(1);
    }
}

/* A partition to reset or whose offsets to delete: topic and partition, or (partition -1) a
 * topic that could not be described. */
typedef struct tp_vec {
    strand_topic_partition_t *v;
    size_t n, cap;
} tp_vec_t;

static void tp_push(tp_vec_t *vec, const char *topic, int32_t partition, int error)
{
    for (size_t i = 0; i < vec->n; i++)
        if (vec->v[i].partition == partition && strcmp(vec->v[i].topic, topic) == 0)
            return;
    if (vec->n == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 16;
        vec->v = realloc(vec->v, vec->cap * sizeof(*vec->v));
        if (!vec->v)
            tool_die("out of memory");
    }
    vec->v[vec->n++] = (strand_topic_partition_t){ xstrdup(topic), partition, -1, error };
}

static void tp_vec_free(tp_vec_t *vec)
{
    for (size_t i = 0; i < vec->n; i++)
        free((char *)vec->v[i].topic);
    free(vec->v);
    memset(vec, 0, sizeof(*vec));
}

static int cmp_tp(const void *x, const void *y)
{
    const strand_topic_partition_t *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

/* "topic" (every partition) or "topic:0,1,2". A topic whose partitions cannot be listed is
 * pushed once with partition -1 and the error. */
static void parse_topic_arg(const char *arg, const char *flag, tp_vec_t *out)
{
    const char *colon = strchr(arg, ':');
    size_t tlen = colon ? (size_t)(colon - arg) : strlen(arg);
    char *topic = strndup(arg, tlen);
    if (!topic)
        tool_die("out of memory");
    if (!*topic)
        usage_die("%s '%s': no topic name", flag, arg);
    if (colon) {
        char *list = xstrdup(colon + 1), *save = NULL;
        size_t before = out->n;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            tp_push(out, topic, (int32_t)tool_int(flag, tok, 0, INT32_MAX), 0);
        if (out->n == before)
            usage_die("%s '%s': no partitions after ':'", flag, arg);
        free(list);
    } else {
        const char *names[1] = { topic };
        strand_topic_info_t *ti = NULL;
        size_t nt = 0;
        int e = strand_admin_describe_topics(admin, names, 1, timeout_ms, &ti, &nt);
        if (!e && nt == 1 && ti[0].error)
            e = ti[0].error;
        if (e) {
            tp_push(out, topic, -1, e);
        } else {
            for (size_t k = 0; k < ti[0].partition_count; k++)
                tp_push(out, topic, ti[0].partitions[k].partition, 0);
        }
        strand_topic_infos_free(ti, nt);
    }
    free(topic);
}

/* ---- --list ---------------------------------------------------------------------------------- */

/* "stable,empty" -> canonical state names; a usage error names the list otherwise. */
static const char **parse_states(const char *text, size_t *ret_n)
{
    char *copy = xstrdup(text), *save = NULL;
    const char **out = xcalloc(strlen(text) + 1, sizeof(*out));
    size_t n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        const char *found = NULL;
        for (size_t i = 0; i < sizeof(group_states) / sizeof(group_states[0]); i++)
            if (strcasecmp(tok, group_states[i]) == 0)
                found = group_states[i];
        if (!found) {
            char valid[256] = "";
            for (size_t i = 0; i < sizeof(group_states) / sizeof(group_states[0]); i++)
                snprintf(valid + strlen(valid), sizeof(valid) - strlen(valid), "%s%s",
                         i ? ", " : "", group_states[i]);
            usage_die("Invalid state list '%s'. Valid states are: %s", text, valid);
        }
        out[n++] = found;
    }
    free(copy);
    *ret_n = n;
    return out;
}

static void list_groups(void)
{
    bool with_state = given("--state");
    strand_group_listing_t *ls = NULL;
    size_t n = 0;
    char err[1024];
    int e = strand_admin_list_groups(admin, list_states, n_list_states, false, timeout_ms, &ls,
                                     &n, err, sizeof(err));
    if (e) {
        print_error("Executing consumer group command failed due to %s", err);
        return;
    }
    if (!with_state) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", ls[i].group_id);
    } else {
        int w = 15;
        for (size_t i = 0; i < n; i++)
            if ((int)strlen(ls[i].group_id) > w)
                w = (int)strlen(ls[i].group_id);
        printf("%-*s %s\n", w, "GROUP", "STATE");
        for (size_t i = 0; i < n; i++)
            printf("%-*s %s\n", w, ls[i].group_id, ls[i].state);
    }
    strand_group_listings_free(ls, n);
}

/* ---- --describe ------------------------------------------------------------------------------ */

/* Kafka's shouldPrintMemberState: the state notes, and whether there is a table to print. */
static bool should_print(const strand_group_description_t *d, size_t rows)
{
    const char *st = d->state;
    if (strcmp(st, "Dead") == 0) {
        print_error("Consumer group '%s' does not exist.", d->group_id);
        return false;
    } else if (strcmp(st, "Empty") == 0) {
        print_note("\nConsumer group '%s' has no active members.\n", d->group_id);
    } else if (strcmp(st, "PreparingRebalance") == 0 || strcmp(st, "CompletingRebalance") == 0) {
        print_note("\nWarning: Consumer group '%s' is rebalancing.\n", d->group_id);
    } else if (strcmp(st, "Stable") != 0) {
        print_error("Expected a valid consumer group state, but found '%s'.", st);
        return false;
    }
    return rows > 0;
}

/* One row of the --offsets view. */
typedef struct offset_row {
    const char *topic;
    int32_t partition;
    int64_t offset;              /* -1: nothing committed */
    int64_t log_end;             /* -1: unknown */
    const char *consumer_id, *host, *client_id;
} offset_row_t;

static const strand_group_offset_t *committed_of(const strand_group_offset_t *offs, size_t n,
                                                 const char *topic, int32_t partition)
{
    for (size_t i = 0; i < n; i++)
        if (offs[i].partition == partition && strcmp(offs[i].topic, topic) == 0)
            return &offs[i];
    return NULL;
}

static int cmp_member_size(const void *x, const void *y)
{
    const strand_group_member_t *a = *(const strand_group_member_t *const *)x;
    const strand_group_member_t *b = *(const strand_group_member_t *const *)y;
    return (a->assignment_count < b->assignment_count) -
           (a->assignment_count > b->assignment_count);
}

static int cmp_assigned(const void *x, const void *y)
{
    const strand_topic_partition_t *a = x, *b = y;
    if (a->partition != b->partition)
        return (a->partition > b->partition) - (a->partition < b->partition);
    return strcmp(a->topic, b->topic);
}

static int fmt_width(int w, const char *s)
{
    int len = (int)strlen(s);
    return len > w ? len : w;
}

static const char *num_or_missing(char *buf, size_t size, bool known, int64_t v)
{
    if (!known)
        return MISSING;
    snprintf(buf, size, "%" PRId64, v);
    return buf;
}

static void describe_offsets(const strand_group_description_t *d)
{
    strand_group_offset_t *offs = NULL;
    size_t n_offs = 0;
    char err[1024];
    int e = strand_admin_list_group_offsets(admin, d->group_id, timeout_ms, &offs, &n_offs, err,
                                            sizeof(err));
    if (e) {
        print_error("Executing consumer group command failed due to %s", err);
        return;
    }
    size_t total = n_offs;
    for (size_t m = 0; m < d->member_count; m++)
        total += d->members[m].assignment_count;
    offset_row_t *rows = xcalloc(total, sizeof(*rows));
    size_t n = 0;
    /* Members with partitions, the most partitions first; each member's partitions by number. */
    const strand_group_member_t **ms = xcalloc(d->member_count, sizeof(*ms));
    size_t nm = 0;
    for (size_t m = 0; m < d->member_count; m++)
        if (d->members[m].assignment_count)
            ms[nm++] = &d->members[m];
    qsort(ms, nm, sizeof(*ms), cmp_member_size);
    for (size_t k = 0; k < nm; k++) {
        strand_topic_partition_t *asg = xcalloc(ms[k]->assignment_count, sizeof(*asg));
        memcpy(asg, ms[k]->assignment, ms[k]->assignment_count * sizeof(*asg));
        qsort(asg, ms[k]->assignment_count, sizeof(*asg), cmp_assigned);
        for (size_t i = 0; i < ms[k]->assignment_count; i++) {
            bool dup = false;        /* a partition the coordinator lists for two members */
            for (size_t r = 0; r < n && !dup; r++)
                dup = rows[r].partition == asg[i].partition &&
                      strcmp(rows[r].topic, asg[i].topic) == 0;
            if (dup)
                continue;
            const strand_group_offset_t *c = committed_of(offs, n_offs, asg[i].topic,
                                                          asg[i].partition);
            rows[n++] = (offset_row_t){ asg[i].topic, asg[i].partition, c ? c->offset : -1, -1,
                                        ms[k]->member_id, ms[k]->host, ms[k]->client_id };
        }
        free(asg);
    }
    /* Committed offsets of partitions no member owns. */
    size_t assigned_rows = n;
    for (size_t i = 0; i < n_offs; i++) {
        bool owned = false;
        for (size_t r = 0; r < assigned_rows && !owned; r++)
            owned = rows[r].partition == offs[i].partition &&
                    strcmp(rows[r].topic, offs[i].topic) == 0;
        if (!owned)
            rows[n++] = (offset_row_t){ offs[i].topic, offs[i].partition, offs[i].offset, -1,
                                        MISSING, MISSING, MISSING };
    }
    free(ms);
    /* Log end offsets. */
    strand_topic_partition_t *tps = xcalloc(n, sizeof(*tps));
    for (size_t r = 0; r < n; r++)
        tps[r] = (strand_topic_partition_t){ rows[r].topic, rows[r].partition, -1, 0 };
    list_offsets(tps, n, STRAND_OFFSET_END);
    for (size_t r = 0; r < n; r++)
        rows[r].log_end = tps[r].error || tps[r].offset < 0 ? -1 : tps[r].offset;
    free(tps);

    if (should_print(d, n)) {
        int wg = fmt_width(15, d->group_id), wt = 15, wc = 15, wh = 15;
        for (size_t r = 0; r < n; r++) {
            wt = fmt_width(wt, rows[r].topic);
            wc = fmt_width(wc, rows[r].consumer_id);
            wh = fmt_width(wh, rows[r].host);
        }
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, "GROUP", wt, "TOPIC",
               "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", wc, "CONSUMER-ID", wh,
               "HOST", "CLIENT-ID");
        for (size_t r = 0; r < n; r++) {
            const offset_row_t *x = &rows[r];
            char part[16], cur[24], end[24], lag[24];
            bool committed = x->offset >= 0, known_end = x->log_end >= 0;
            printf("%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", wg, d->group_id, wt,
                   x->topic, num_or_missing(part, sizeof(part), true, x->partition),
                   num_or_missing(cur, sizeof(cur), committed, x->offset),
                   num_or_missing(end, sizeof(end), known_end, x->log_end),
                   num_or_missing(lag, sizeof(lag), committed && known_end,
                                  x->log_end - x->offset),
                   wc, x->consumer_id, wh, x->host, x->client_id);
        }
    }
    free(rows);
    strand_group_offsets_free(offs, n_offs);
}

static int cmp_topic_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Kafka's --verbose assignment text: "t1(0,1), t2(0)", topics sorted, "-" when empty. */
static char *assignment_text(const strand_group_member_t *m)
{
    if (!m->assignment_count)
        return xstrdup(MISSING);
    size_t n = m->assignment_count;
    strand_topic_partition_t *asg = xcalloc(n, sizeof(*asg));
    memcpy(asg, m->assignment, n * sizeof(*asg));
    qsort(asg, n, sizeof(*asg), cmp_tp);
    char **parts = xcalloc(n, sizeof(*parts));
    size_t np = 0, total = 1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        size_t cap = strlen(asg[i].topic) + 3;
        while (j < n && strcmp(asg[j].topic, asg[i].topic) == 0)
            cap += 12, j++;
        char *s = xcalloc(cap, 1);
        size_t len = (size_t)snprintf(s, cap, "%s(", asg[i].topic);
        for (size_t k = i; k < j; k++)
            len += (size_t)snprintf(s + len, cap - len, "%s%d", k > i ? "," : "",
                                    asg[k].partition);
        snprintf(s + len, cap - len, ")");
        total += strlen(s) + 2;
        parts[np++] = s;
        i = j;
    }
    qsort(parts, np, sizeof(*parts), cmp_topic_name);
    char *out = xcalloc(total, 1);
    for (size_t i = 0; i < np; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, parts[i]);
        free(parts[i]);
    }
    free(parts);
    free(asg);
    return out;
}

static void describe_members(const strand_group_description_t *d, bool verbose)
{
    if (!should_print(d, d->member_count))
        return;
    int wg = fmt_width(15, d->group_id), wc = 15, wi = 17, wh = 15, wl = 15;
    bool with_instance = false;
    for (size_t m = 0; m < d->member_count; m++) {
        const strand_group_member_t *x = &d->members[m];
        wc = fmt_width(wc, x->member_id);
        wi = fmt_width(wi, x->group_instance_id);
        wh = fmt_width(wh, x->host);
        wl = fmt_width(wl, x->client_id);
        with_instance |= *x->group_instance_id != '\0';
    }
    if (with_instance)
        printf("\n%-*s %-*s %-*s %-*s %-*s %-15s ", wg, "GROUP", wc, "CONSUMER-ID", wi,
               "GROUP-INSTANCE-ID", wh, "HOST", wl, "CLIENT-ID", "#PARTITIONS");
    else
        printf("\n%-*s %-*s %-*s %-*s %-15s ", wg, "GROUP", wc, "CONSUMER-ID", wh, "HOST", wl,
               "CLIENT-ID", "#PARTITIONS");
    printf("%s\n", verbose ? "ASSIGNMENT" : "");
    for (size_t m = 0; m < d->member_count; m++) {
        const strand_group_member_t *x = &d->members[m];
        if (with_instance)
            printf("%-*s %-*s %-*s %-*s %-*s %-15zu ", wg, d->group_id, wc, x->member_id, wi,
                   x->group_instance_id, wh, x->host, wl, x->client_id, x->assignment_count);
        else
            printf("%-*s %-*s %-*s %-*s %-15zu ", wg, d->group_id, wc, x->member_id, wh, x->host,
                   wl, x->client_id, x->assignment_count);
        if (verbose) {
            char *text = assignment_text(x);
            printf("%s", text);
            free(text);
        }
        printf("\n");
    }
}

static void describe_state(const strand_group_description_t *d)
{
    if (!should_print(d, 1))
        return;
    char coord[320];
    snprintf(coord, sizeof(coord), "%s:%d (%d)", d->coordinator.host, d->coordinator.port,
             d->coordinator.node_id);
    int wg = fmt_width(15, d->group_id), wc = fmt_width(25, coord);
    printf("\n%-*s %-*s %-20s %-15s %s", wg, "GROUP", wc, "COORDINATOR (ID)",
           "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS");
    printf("\n%-*s %-*s %-20s %-15s %zu\n", wg, d->group_id, wc, coord,
           *d->protocol ? d->protocol : MISSING, d->state, d->member_count);
}

static void describe_groups(void)
{
    size_t n = 0;
    char **groups = selected_groups(&n);
    strand_group_description_t *ds = NULL;
    size_t nd = 0;
    if (strand_admin_describe_groups(admin, (const char *const *)groups, n, timeout_ms, &ds,
                                     &nd) != 0)
        tool_die("out of memory");
    bool members = given("--members"), state = given("--state");
    for (size_t i = 0; i < nd; i++) {
        if (ds[i].error) {
            print_error("Executing consumer group command failed due to %s", ds[i].errstr);
            continue;
        }
        if (members)
            describe_members(&ds[i], given("--verbose"));
        else if (state)
            describe_state(&ds[i]);
        else
            describe_offsets(&ds[i]);
    }
    strand_group_descriptions_free(ds, nd);
    strand_names_free(groups, n);
}

/* ---- --reset-offsets ------------------------------------------------------------------------- */

typedef struct reset_plan {
    int64_t to_offset, shift_by, timestamp;
} reset_plan_t;

/* The partitions of the scope: --all-topics (those with committed offsets) or --topic. */
static void reset_scope(const strand_group_offset_t *offs, size_t n_offs, tp_vec_t *out)
{
    if (given("--all-topics")) {
        for (size_t i = 0; i < n_offs; i++)
            tp_push(out, offs[i].topic, offs[i].partition, 0);
        return;
    }
    tool_opt_t *t = tool_opt(opts, "--topic");
    for (size_t i = 0; i < t->n_values; i++)
        parse_topic_arg(t->values[i], "--topic", out);
}

/* Kafka's checkOffsetsRange: an offset past the log end is set to it, one before the log start
 * to that, each with a WARN line. */
static void clamp_offsets(strand_topic_partition_t *tps, size_t n)
{
    strand_topic_partition_t *start = xcalloc(n, sizeof(*start));
    strand_topic_partition_t *end = xcalloc(n, sizeof(*end));
    memcpy(start, tps, n * sizeof(*tps));
    memcpy(end, tps, n * sizeof(*tps));
    list_offsets(start, n, STRAND_OFFSET_BEGINNING);
    list_offsets(end, n, STRAND_OFFSET_END);
    for (size_t i = 0; i < n; i++) {
        if (end[i].error)
            continue;
        if (tps[i].offset > end[i].offset) {
            log_warn("New offset (%" PRId64 ") is higher than latest offset for topic partition "
                     "%s-%d. Value will be set to %" PRId64, tps[i].offset, tps[i].topic,
                     tps[i].partition, end[i].offset);
            tps[i].offset = end[i].offset;
        } else if (!start[i].error && tps[i].offset < start[i].offset) {
            log_warn("New offset (%" PRId64 ") is lower than earliest offset for topic partition "
                     "%s-%d. Value will be set to %" PRId64, tps[i].offset, tps[i].topic,
                     tps[i].partition, start[i].offset);
            tps[i].offset = start[i].offset;
        }
    }
    free(start);
    free(end);
}

/* Looked-up offsets into tps[i].offset, or an error naming the partition (Kafka's wording). */
static bool lookup_into(strand_topic_partition_t *tps, size_t n, int64_t when, const char *what)
{
    strand_topic_partition_t *q = xcalloc(n, sizeof(*q));
    memcpy(q, tps, n * sizeof(*q));
    list_offsets(q, n, when);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (q[i].error) {
            print_error("Error getting %s offset of topic partition: %s-%d (%s: %s)", what,
                        tps[i].topic, tps[i].partition, strand_err_name(q[i].error),
                        strand_err_desc(q[i].error));
            ok = false;
        }
        tps[i].offset = q[i].offset;
    }
    free(q);
    return ok;
}

/* Computes the new offsets of the partitions in tps (offset fields). False after printing
 * an error. */
static bool prepare_offsets(strand_topic_partition_t *tps, size_t n,
                            const strand_group_offset_t *offs, size_t n_offs,
                            const reset_plan_t *plan)
{
    if (given("--to-offset")) {
        for (size_t i = 0; i < n; i++)
            tps[i].offset = plan->to_offset;
        clamp_offsets(tps, n);
        return true;
    }
    if (given("--to-earliest"))
        return lookup_into(tps, n, STRAND_OFFSET_BEGINNING, "starting");
    if (given("--to-latest"))
        return lookup_into(tps, n, STRAND_OFFSET_END, "ending");
    if (given("--shift-by")) {
        for (size_t i = 0; i < n; i++) {
            const strand_group_offset_t *c = committed_of(offs, n_offs, tps[i].topic,
                                                          tps[i].partition);
            if (!c)
                usage_die("Cannot shift offset for partition %s-%d since there is no current "
                          "committed offset", tps[i].topic, tps[i].partition);
            int64_t v;
            if (__builtin_add_overflow(c->offset, plan->shift_by, &v))
                v = plan->shift_by < 0 ? 0 : INT64_MAX;
            tps[i].offset = v;
        }
        clamp_offsets(tps, n);
        return true;
    }
    if (given("--to-datetime") || given("--by-duration")) {
        /* The first offset with a timestamp at or after the time; the log end where none. */
        strand_topic_partition_t *q = xcalloc(n, sizeof(*q));
        memcpy(q, tps, n * sizeof(*q));
        list_offsets(q, n, plan->timestamp);
        bool ok = true;
        for (size_t i = 0; i < n; i++) {
            if (q[i].error) {
                print_error("Error getting offset by timestamp of topic partition: %s-%d (%s: %s)",
                            tps[i].topic, tps[i].partition, strand_err_name(q[i].error),
                            strand_err_desc(q[i].error));
                ok = false;
            }
            tps[i].offset = q[i].offset;
            if (ok && tps[i].offset < 0)
                ok = lookup_into(&tps[i], 1, STRAND_OFFSET_END, "ending");
        }
        free(q);
        return ok;
    }
    /* --to-current: the committed offset, the log end where there is none. */
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const strand_group_offset_t *c = committed_of(offs, n_offs, tps[i].topic,
                                                      tps[i].partition);
        if (c)
            tps[i].offset = c->offset;
        else
            ok = lookup_into(&tps[i], 1, STRAND_OFFSET_END, "ending") && ok;
    }
    return ok;
}

typedef struct reset_row {
    const char *group;
    strand_topic_partition_t tp;
} reset_row_t;

static int cmp_reset_row(const void *x, const void *y)
{
    const reset_row_t *a = x, *b = y;
    int c = strcmp(a->group, b->group);
    return c ? c : cmp_tp(&a->tp, &b->tp);
}

static void reset_offsets(const reset_plan_t *plan)
{
    bool execute = given("--execute");
    size_t n = 0;
    char **groups = selected_groups(&n);
    strand_group_description_t *ds = NULL;
    size_t nd = 0;
    if (strand_admin_describe_groups(admin, (const char *const *)groups, n, timeout_ms, &ds,
                                     &nd) != 0)
        tool_die("out of memory");
    reset_row_t *rows = NULL;
    size_t n_rows = 0;
    tp_vec_t *scopes = xcalloc(nd, sizeof(*scopes));
    for (size_t g = 0; g < nd; g++) {
        const strand_group_description_t *d = &ds[g];
        if (d->error) {
            print_error("Executing consumer group command failed due to %s", d->errstr);
            continue;
        }
        if (strcmp(d->state, "Empty") != 0 && strcmp(d->state, "Dead") != 0) {
            print_error("Assignments can only be reset if the group '%s' is inactive, but the "
                        "current state is %s.", d->group_id, d->state);
            continue;
        }
        strand_group_offset_t *offs = NULL;
        size_t n_offs = 0;
        char err[1024];
        int e = strand_admin_list_group_offsets(admin, d->group_id, timeout_ms, &offs, &n_offs,
                                                err, sizeof(err));
        if (e) {
            print_error("Executing consumer group command failed due to %s", err);
            continue;
        }
        tp_vec_t *scope = &scopes[g];
        reset_scope(offs, n_offs, scope);
        bool ok = true;
        for (size_t i = 0; i < scope->n; i++)
            if (scope->v[i].partition < 0) {
                print_error("Executing consumer group command failed due to topic '%s': %s: %s",
                            scope->v[i].topic, strand_err_name(scope->v[i].error),
                            strand_err_desc(scope->v[i].error));
                ok = false;
            }
        ok = ok && prepare_offsets(scope->v, scope->n, offs, n_offs, plan);
        strand_group_offsets_free(offs, n_offs);
        if (!ok)
            continue;
        if (execute && scope->n) {
            e = strand_admin_alter_group_offsets(admin, d->group_id, scope->v, scope->n,
                                                 timeout_ms, err, sizeof(err));
            if (e) {
                print_error("Executing consumer group command failed due to %s", err);
                continue;
            }
        }
        rows = realloc(rows, (n_rows + scope->n + 1) * sizeof(*rows));
        if (!rows)
            tool_die("out of memory");
        for (size_t i = 0; i < scope->n; i++)
            rows[n_rows++] = (reset_row_t){ d->group_id, scope->v[i] };
    }
    if (n_rows) {
        qsort(rows, n_rows, sizeof(*rows), cmp_reset_row);
        printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
        for (size_t i = 0; i < n_rows; i++)
            printf("%-30s %-30s %-10d %-15" PRId64 "\n", rows[i].group, rows[i].tp.topic,
                   rows[i].tp.partition, rows[i].tp.offset);
    }
    free(rows);
    for (size_t g = 0; g < nd; g++)
        tp_vec_free(&scopes[g]);
    free(scopes);
    strand_group_descriptions_free(ds, nd);
    strand_names_free(groups, n);
}

/* ---- --delete and --delete-offsets ----------------------------------------------------------- */

/* "NON_EMPTY_GROUP: The group is not empty." -- the error's name and Kafka's message. */
static void error_text(int e, const char *errstr, char *buf, size_t size)
{
    if (e > 0 || e == -1 || !errstr || !*errstr)
        snprintf(buf, size, "%s: %s.", strand_err_name(e), strand_err_desc(e));
    else
        snprintf(buf, size, "%s", errstr);
}

static void delete_groups(void)
{
    size_t n = 0;
    char **groups = selected_groups(&n);
    strand_group_result_t *res = NULL;
    if (strand_admin_delete_groups(admin, (const char *const *)groups, n, timeout_ms, &res) != 0)
        tool_die("out of memory");
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += res[i].error != 0;
    if (!failed) {
        printf("Deletion of requested consumer groups (");
        for (size_t i = 0; i < n; i++)
            printf("%s'%s'", i ? ", " : "", res[i].group_id);
        printf(") was successful.\n");
    } else {
        print_error("Deletion of some consumer groups failed:");
        for (size_t i = 0; i < n; i++) {
            if (!res[i].error)
                continue;
            char text[1200];
            error_text(res[i].error, res[i].errstr, text, sizeof(text));
            printf("* Group '%s' could not be deleted due to: %s\n", res[i].group_id, text);
        }
        if (failed < n) {
            printf("\nThese consumer groups were deleted successfully: ");
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (!res[i].error)
                    printf("%s'%s'", k++ ? ", " : "", res[i].group_id);
            printf("\n");
        }
    }
    strand_group_results_free(res, n);
    strand_names_free(groups, n);
}

static void delete_offsets(void)
{
    const char *group = tool_opt(opts, "--group")->values[0];
    tool_opt_t *t = tool_opt(opts, "--topic");
    tp_vec_t parts = { 0 }, bad = { 0 };
    for (size_t i = 0; i < t->n_values; i++)
        parse_topic_arg(t->values[i], "--topic", &parts);
    /* Topics that could not be described are reported, not sent. */
    size_t k = 0;
    for (size_t i = 0; i < parts.n; i++) {
        if (parts.v[i].partition < 0) {
            tp_push(&bad, parts.v[i].topic, -1, parts.v[i].error);
            free((char *)parts.v[i].topic);
        } else {
            parts.v[k++] = parts.v[i];
        }
    }
    parts.n = k;
    char err[1024] = "";
    int e = parts.n ? strand_admin_delete_group_offsets(admin, group, parts.v, parts.n,
                                                        timeout_ms, err, sizeof(err))
                    : 0;
    bool partition_errors = bad.n > 0;
    for (size_t i = 0; i < parts.n; i++)
        partition_errors |= parts.v[i].error != 0;
    size_t nt = 0;
    char *topics = xcalloc(1, 1);
    for (size_t i = 0; i < t->n_values; i++) {
        nt += strlen(t->values[i]) + 2;
        topics = realloc(topics, nt + 1);
        if (!topics)
            tool_die("out of memory");
        if (i)
            strcat(topics, ", ");
        strcat(topics, t->values[i]);
    }
    switch (e) {
    case 0:
        if (!partition_errors)
            printf("Request succeed for deleting offsets with topic %s group %s\n", topics, group);
        else
            print_error("Encounter some partition level error, see the follow-up details:");
        break;
    case ST_ERR_INVALID_GROUP_ID:
        print_error("'%s' is not valid.", group);
        break;
    case ST_ERR_GROUP_ID_NOT_FOUND:
        print_error("'%s' does not exist.", group);
        break;
    case ST_ERR_GROUP_AUTHORIZATION_FAILED:
        print_error("Access to '%s' is not authorized.", group);
        break;
    case ST_ERR_NON_EMPTY_GROUP:
        print_error("Deleting offsets of a consumer group '%s' is forbidden if the group is not "
                    "empty.", group);
        break;
    default:
        print_error("Encounter some unknown error: %s", err);
        break;
    }
    free(topics);
    for (size_t i = 0; i < bad.n; i++)
        tp_push(&parts, bad.v[i].topic, -1, bad.v[i].error);
    qsort(parts.v, parts.n, sizeof(*parts.v), cmp_tp);
    printf("\n%-30s %-15s %-15s\n", "TOPIC", "PARTITION", "STATUS");
    for (size_t i = 0; i < parts.n; i++) {
        char part[16], status[1200];
        if (parts.v[i].partition >= 0)
            snprintf(part, sizeof(part), "%d", parts.v[i].partition);
        else
            snprintf(part, sizeof(part), "Not Provided");
        if (parts.v[i].error) {
            char text[1100];
            error_text(parts.v[i].error, "", text, sizeof(text));
            snprintf(status, sizeof(status), "Error: %s", text);
        } else {
            snprintf(status, sizeof(status), "Successful");
        }
        printf("%-30s %-15s %-15s\n", parts.v[i].topic, part, status);
    }
    tp_vec_free(&parts);
    tp_vec_free(&bad);
}

/* ---- argument rules (Kafka's checkArgs) ------------------------------------------------------ */

static const char *const actions[] = {
    "--list", "--describe", "--delete", "--reset-offsets", "--delete-offsets",
};

static void check_args(reset_plan_t *plan)
{
    tool_require(opts, "--bootstrap-server");
    size_t n_actions = 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        n_actions += given(actions[i]);
    if (n_actions != 1)
        usage_die("Command must include exactly one action: --list, --describe, --delete, "
                  "--reset-offsets, --delete-offsets");
    bool describe = given("--describe"), list = given("--list"), reset = given("--reset-offsets");
    bool groups = given("--group") || given("--all-groups");
    /* Options that only go with some actions (joptsimple's availableIf in Kafka). */
    static const char *const describe_only[] = { "--members", "--verbose", "--offsets" };
    for (size_t i = 0; i < 3; i++)
        if (given(describe_only[i]) && !describe)
            usage_die("Option %s can only be used with --describe", describe_only[i]);
    if (given("--state") && !describe && !list)
        usage_die("Option --state can only be used with --describe or --list");
    if (describe) {
        if (!groups)
            usage_die("Option --describe takes one of these options: --group, --all-groups");
        int views = given("--members") + given("--offsets") + given("--state");
        if (views > 1)
            usage_die("Option --describe takes at most one of these options: --members, "
                      "--offsets, --state");
        if (given("--state") && value_of("--state"))
            usage_die("Option --describe does not take a value for --state");
    }
    if (given("--delete")) {
        if (!groups)
            usage_die("Option --delete takes one of these options: --group, --all-groups");
        if (given("--topic"))
            usage_die("The consumer does not support topic-specific offset deletion from a "
                      "consumer group.");
    }
    if (given("--delete-offsets")) {
        if (!given("--group") || !given("--topic"))
            usage_die("Option --delete-offsets takes the following options: --group, --topic");
        if (tool_opt(opts, "--group")->n_values > 1)
            usage_die("Option --delete-offsets takes one --group");
    }
    for (size_t i = 0; i < N_SCENARIOS; i++)
        if (given(scenario_flags[i]) && !reset)
            usage_die("Option %s can only be used with --reset-offsets", scenario_flags[i]);
    if ((given("--dry-run") || given("--execute") || given("--all-topics")) && !reset)
        usage_die("Option %s can only be used with --reset-offsets",
                  given("--dry-run") ? "--dry-run" : given("--execute") ? "--execute"
                                                                        : "--all-topics");
    if (reset) {
        if (given("--dry-run") && given("--execute"))
            usage_die("Option --reset-offsets only accepts one of --execute and --dry-run");
        if (!groups)
            usage_die("Option --reset-offsets takes one of these options: --group, --all-groups");
        const char *scenario = NULL;
        for (size_t i = 0; i < N_SCENARIOS; i++) {
            if (!given(scenario_flags[i]))
                continue;
            if (scenario)
                usage_die("Option \"%s\" can't be used with option \"%s\"", scenario,
                          scenario_flags[i]);
            scenario = scenario_flags[i];
        }
        if (!scenario)
            usage_die("Option --reset-offsets requires one of the following scenarios: "
                      "--to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, "
                      "--to-current, --to-offset");
        if (!given("--all-topics") && !given("--topic"))
            usage_die("One of the reset scopes should be defined: --all-topics, --topic.");
        if (given("--all-topics") && given("--topic"))
            usage_die("Option \"--all-topics\" can't be used with option \"--topic\"");
        if (given("--to-offset"))
            plan->to_offset = tool_int("--to-offset", value_of("--to-offset"), 0, INT64_MAX);
        if (given("--shift-by"))
            plan->shift_by = tool_int("--shift-by", value_of("--shift-by"), INT64_MIN + 1,
                                      INT64_MAX);
        if (given("--to-datetime") &&
            reset_parse_datetime(value_of("--to-datetime"), &plan->timestamp) != 0)
            usage_die("--to-datetime: '%s' is not a date-time of the form "
                      "YYYY-MM-DDTHH:mm:SS.sss (optionally followed by Z, +hh:mm or -hh:mm)",
                      value_of("--to-datetime"));
        if (given("--by-duration")) {
            int64_t ms;
            if (reset_parse_duration(value_of("--by-duration"), &ms) != 0)
                usage_die("--by-duration: '%s' is not a duration of the form PnDTnHnMnS",
                          value_of("--by-duration"));
            plan->timestamp = tool_wall_ms() - ms;
        }
        if (!given("--dry-run") && !given("--execute"))
            print_note("WARN: No action will be performed as the --execute option is missing."
                       "In a future major release, the default behavior of this command will be "
                       "to prompt the user before executing the reset rather than doing a dry "
                       "run. You should add the --dry-run option explicitly if you are scripting "
                       "this command and want to keep the current default behavior without "
                       "prompting.\n");
    }
    /* Kafka's checkInvalidArgs for --group and --topic. */
    if (given("--group") && given("--all-groups"))
        usage_die("Option \"--group\" can't be used with option \"--all-groups\"");
    if (given("--group") && list)
        usage_die("Option \"--group\" can't be used with option \"--list\"");
    if (given("--all-groups") && (list || given("--delete-offsets")))
        usage_die("Option \"--all-groups\" can't be used with option \"%s\"",
                  list ? "--list" : "--delete-offsets");
    if (given("--topic") && (list || describe))
        usage_die("Option \"--topic\" can't be used with option \"%s\"",
                  list ? "--list" : "--describe");
    if (given("--timeout"))
        timeout_ms = (int)tool_int("--timeout", value_of("--timeout"), 1, INT32_MAX);
    /* The partition lists of --topic t:0,1 (the topics themselves are looked up later). */
    tool_opt_t *topics = tool_opt(opts, "--topic");
    for (size_t i = 0; i < topics->n_values; i++) {
        const char *colon = strchr(topics->values[i], ':');
        if (colon == topics->values[i] || !topics->values[i][0])
            usage_die("--topic '%s': no topic name", topics->values[i]);
        if (!colon)
            continue;
        char *list = xstrdup(colon + 1), *save = NULL;
        size_t n = 0;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++)
            tool_int("--topic", tok, 0, INT32_MAX);
        if (!n)
            usage_die("--topic '%s': no partitions after ':'", topics->values[i]);
        free(list);
    }
    if (list && given("--state") && value_of("--state") && *value_of("--state"))
        list_states = parse_states(value_of("--state"), &n_list_states);
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "This tool helps to list all consumer groups, describe a consumer group, "
                       "delete consumer group info, or reset consumer group offsets.");
    tool_parse(opts, argc, argv);
    reset_plan_t plan = { 0 };
    check_args(&plan);
    conf = tool_conf(value_of("--bootstrap-server"), value_of("--command-config"), NULL, NULL, 0);
    char err[1024];
    admin = strand_admin_new(conf, err, sizeof(err));
    if (!admin)
        tool_die("%s", err);
    if (given("--list"))
        list_groups();
    else if (given("--describe"))
        describe_groups();
    else if (given("--reset-offsets"))
        reset_offsets(&plan);
    else if (given("--delete"))
        delete_groups();
    else
        delete_offsets();
    fflush(stdout);
    strand_consumer_destroy(consumer);
    strand_admin_destroy(admin);
    strand_conf_destroy(conf);
    free(list_states);
    return exit_code;
}
