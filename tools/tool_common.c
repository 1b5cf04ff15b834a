/* Shared plumbing of the command-line tools (see tool_common.h). */
#include "tool_common.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *prog = "strand-tool";
static const char *prog_summary = "";
static bool client_config_help = true;
static volatile int stop_flag;

void tool_init(const char *argv0, const char *summary)
{
    const char *slash = strrchr(argv0, '/');
    prog = slash ? slash + 1 : argv0;
    prog_summary = summary;
}

const char *tool_name(void)
{
    return prog;
}

void tool_no_client_config(void)
{
    client_config_help = false;
}

void tool_die(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One line, whatever the message holds. */
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(1);
}

void tool_usage_die(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tool_die("%s (try --help)", msg);
}

void tool_warn(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", prog, msg);
}

tool_opt_t *tool_opt(tool_opt_t *opts, const char *name)
{
    for (tool_opt_t *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static void usage(const tool_opt_t *opts)
{
    printf("%s: %s\n\nOption                                   Description\n"
           "------                                   -----------\n", prog, prog_summary);
    for (const tool_opt_t *o = opts; o->name; o++) {
        char left[128];
        snprintf(left, sizeof(left), "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("%-40s %s\n", left, o->help);
    }
    printf("%-40s %s\n", "--help", "Print usage information.");
    if (client_config_help)
        printf("%-40s %s\n", "--help-config",
               "List every client property (--*-property, config files).");
    printf("%-40s %s\n", "--version", "Display Strand version.");
}

static void add_value(tool_opt_t *o, const char *v)
{
    const char **grown = realloc(o->values, (o->n_values + 1) * sizeof(*grown));
    if (!grown)
        tool_die("out of memory");
    o->values = grown;
    o->values[o->n_values++] = v;
}

void tool_parse(tool_opt_t *opts, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
            usage(opts);
            exit(0);
        }
        if (client_config_help && strcmp(word, "--help-config") == 0) {
            strand_conf_print_help(stdout);
            exit(0);
        }
        if (strcmp(word, "--version") == 0) {
            printf("%s\n", strand_version());
            exit(0);
        }
        char name[128];
        const char *inline_value = NULL;
        const char *eq = strncmp(word, "--", 2) == 0 ? strchr(word, '=') : NULL;
        if (eq && (size_t)(eq - word) < sizeof(name)) {
            memcpy(name, word, (size_t)(eq - word));
            name[eq - word] = '\0';
            inline_value = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", word);
        }
        tool_opt_t *o = strncmp(name, "--", 2) == 0 ? tool_opt(opts, name) : NULL;
        if (!o) {
            if (strncmp(word, "-", 1) == 0)
                tool_usage_die("unrecognized option '%s'", word);
            tool_usage_die("unexpected argument '%s'", word);
        }
        if (o->arg == TOOL_FLAG && inline_value)
            tool_usage_die("option %s takes no value", o->name);
        if (o->given && (o->arg == TOOL_VALUE || o->arg == TOOL_FLAG || o->arg == TOOL_OPTIONAL))
            tool_usage_die("option %s given more than once", o->name);
        o->given = true;
        switch (o->arg) {
        case TOOL_FLAG:
            break;
        case TOOL_VALUE:
        case TOOL_MULTI:
            if (!inline_value) {
                /* "--topic --from-beginning": the flag's value is missing, not "--from-...".
                 * Negative numbers ("--max-messages -1") are values. */
                if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                    tool_usage_die("option %s requires an argument%s%s", o->name,
                                   o->metavar ? " " : "", o->metavar ? o->metavar : "");
                inline_value = argv[++i];
            }
            if (o->arg == TOOL_VALUE)
                o->value = inline_value;
            else
                add_value(o, inline_value);
            break;
        case TOOL_OPTIONAL:
            if (!inline_value && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                inline_value = argv[++i];
            o->value = inline_value;
            break;
        case TOOL_PLUS:
            if (inline_value)
                add_value(o, inline_value);
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                add_value(o, argv[++i]);
            if (!o->n_values)
                tool_usage_die("option %s requires at least one argument%s%s", o->name,
                               o->metavar ? " " : "", o->metavar ? o->metavar : "");
            break;
        }
    }
}

const char *tool_config_file(tool_opt_t *opts, const char *specific)
{
    tool_opt_t *general = tool_opt(opts, "--command-config"), *own = tool_opt(opts, specific);
    if (general && general->given && own && own->given)
        tool_usage_die("--command-config and %s both name a config file: give one", specific);
    if (own && own->given)
        return own->value;
    return general && general->given ? general->value : NULL;
}

const char *tool_require(tool_opt_t *opts, const char *name)
{
    tool_opt_t *o = tool_opt(opts, name);
    if (!o || !o->given)
        tool_usage_die("missing required option %s", name);
    return o->value;
}

int64_t tool_int(const char *flag, const char *value, int64_t min, int64_t max)
{
    char *end = NULL;
    errno = 0;
    long long v = value ? strtoll(value, &end, 10) : 0;
    if (!value || end == value || *end || errno == ERANGE || v < min || v > max)
        tool_usage_die("%s: '%s' is not an integer in [%" PRId64 ", %" PRId64 "]", flag,
                       value ? value : "", min, max);
    return v;
}

void tool_conf_set(strand_conf_t *conf, const char *key, const char *value, const char *flag)
{
    char err[512];
    if (strand_conf_set(conf, key, value, err, sizeof(err)) != 0)
        tool_die("%s: %s", flag, err);
}

void tool_bound_waits(strand_conf_t *conf, int64_t timeout_ms, const char *flag)
{
    static const char *const keys[] = { "socket.connection.setup.timeout.ms",
                                        "request.timeout.ms" };
    if (timeout_ms < 0)
        return;
    char limit[32];
    snprintf(limit, sizeof(limit), "%lld", (long long)(timeout_ms > 0 ? timeout_ms : 1));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char value[32] = "";
        strand_conf_get(conf, keys[i], value, sizeof(value));
        if (strtoll(value, NULL, 10) > (timeout_ms > 0 ? timeout_ms : 1))
            tool_conf_set(conf, keys[i], limit, flag);
    }
}

strand_conf_t *tool_conf(const char *bootstrap, const char *config_file, const char *props_flag,
                         const char *const *props, size_t n_props)
{
    strand_conf_t *conf = strand_conf_new();
    if (!conf)
        tool_die("out of memory");
    char err[1024];
    if (config_file && strand_conf_load_file(conf, config_file, err, sizeof(err)) != 0)
        tool_die("%s", err);
    for (size_t i = 0; i < n_props; i++)
        if (strand_conf_set_kv(conf, props[i], err, sizeof(err)) != 0)
            tool_die("%s: %s", props_flag, err);
    if (bootstrap)
        tool_conf_set(conf, "bootstrap.servers", bootstrap, "--bootstrap-server");
    tool_log_to_stderr(conf);
    return conf;
}

/* The client library's log callback (its I/O thread). One fprintf per line: stderr is
 * unbuffered, and a line is written whole. WARN only, as Kafka's tools-log4j.properties (the
 * consumer group's INFO lines -- joins, assignments -- would drown the output). */
static void log_to_stderr(int level, const char *source, const char *message, void *opaque)
{
    (void)opaque;
    if (level > STRAND_LOG_WARN)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "[%s,%03ld] %s %s (%s)\n", when, ts.tv_nsec / 1000000,
            level <= STRAND_LOG_WARN ? "WARN" : "INFO", message, source);
}

void tool_log_to_stderr(strand_conf_t *conf)
{
    strand_conf_set_log_cb(conf, log_to_stderr, NULL);
}

struct tool_topic_filter {
    char *regex;      /* after Kafka's clean-up, as the user will recognise it */
    regex_t re;       /* ^(regex)$ */
};

tool_topic_filter_t *tool_topic_filter_new(const char *pattern)
{
    tool_topic_filter_t *f = calloc(1, sizeof(*f));
    size_t len = strlen(pattern);
    char *clean = malloc(len + 1), *anchored = malloc(len + 5);
    if (!f || !clean || !anchored)
        tool_die("out of memory");
    /* TopicFilter: trim, ',' -> '|', drop spaces, then leading and trailing quotes. */
    const char *b = pattern, *e = pattern + len;
    while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    size_t n = 0;
    for (const char *c = b; c < e; c++)
        if (*c != ' ')
            clean[n++] = *c == ',' ? '|' : *c;
    clean[n] = '\0';
    size_t q = strspn(clean, "\"'");
    memmove(clean, clean + q, n - q + 1);
    n -= q;
    while (n > 0 && (clean[n - 1] == '"' || clean[n - 1] == '\''))
        clean[--n] = '\0';
    snprintf(anchored, len + 5, "^(%s)$", clean);
    if (regcomp(&f->re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
        tool_die("%s is an invalid regex.", clean);
    free(anchored);
    f->regex = clean;
    return f;
}

bool tool_topic_filter_match(const tool_topic_filter_t *f, const char *topic)
{
    return regexec(&f->re, topic, 0, NULL, 0) == 0;
}

void tool_topic_filter_free(tool_topic_filter_t *f)
{
    if (!f)
        return;
    regfree(&f->re);
    free(f->regex);
    free(f);
}

const char **tool_topic_filter_apply(const tool_topic_filter_t *f, char *const *names, size_t n,
                                     size_t *ret_count)
{
    const char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        tool_die("out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (tool_topic_filter_match(f, names[i]))
            out[k++] = names[i];
    *ret_count = k;
    return out;
}

bool tool_topic_is_internal(const char *topic)
{
    return strcmp(topic, "__consumer_offsets") == 0 || strcmp(topic, "__transaction_state") == 0;
}

/* Strings handed out by tool_prop live until exit, then are freed (clean leak checks). */
static char **prop_strings;
static size_t n_prop_strings;

static void free_prop_strings(void)
{
    for (size_t i = 0; i < n_prop_strings; i++)
        free(prop_strings[i]);
    free(prop_strings);
    prop_strings = NULL;
    n_prop_strings = 0;
}

static char *unescape(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    char **grown = realloc(prop_strings, (n_prop_strings + 1) * sizeof(*grown));
    if (!out || !grown)
        tool_die("out of memory");
    if (!prop_strings)
        atexit(free_prop_strings);
    prop_strings = grown;
    prop_strings[n_prop_strings++] = out;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

const char *tool_prop(const tool_props_t *props, const char *key, const char *def)
{
    size_t klen = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; i < props->n; i++)
        if (strncmp(props->kv[i], key, klen) == 0 && props->kv[i][klen] == '=')
            found = props->kv[i] + klen + 1;
    return found ? unescape(found) : def;
}

bool tool_prop_bool(const tool_props_t *props, const char *key, bool def)
{
    const char *v = tool_prop(props, key, NULL);
    if (!v)
        return def;
    if (strcasecmp(v, "true") == 0)
        return true;
    if (strcasecmp(v, "false") == 0)
        return false;
    tool_usage_die("--property %s=%s: expected true or false", key, v);
}

void tool_props_check(const tool_props_t *props, const char *known)
{
    for (size_t i = 0; i < props->n; i++) {
        const char *eq = strchr(props->kv[i], '=');
        if (!eq || eq == props->kv[i])
            tool_usage_die("--property '%s': expected key=value", props->kv[i]);
        size_t klen = (size_t)(eq - props->kv[i]);
        bool ok = false;
        for (const char *k = known; *k && !ok;) {
            const char *comma = strchr(k, ',');
            size_t n = comma ? (size_t)(comma - k) : strlen(k);
            ok = n == klen && strncmp(k, props->kv[i], n) == 0;
            k += n + (comma ? 1 : 0);
        }
        if (!ok)
            tool_usage_die("--property '%.*s' is not a known property (accepted: %s)", (int)klen,
                           props->kv[i], known);
    }
}

int64_t tool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
/* The perf tools read the time per record on two threads; a vDSO clock read costs ~70 ns on a
 * loaded VM. The value is cached per thread and re-read once the TSC shows ~10-60 us passed,
 * which is far below the millisecond latencies reported. */
int64_t tool_now_us(void)
{
    static __thread uint64_t tsc_at;
    static __thread int64_t us_at;
    uint64_t tsc = __rdtsc();
    if (us_at && tsc - tsc_at < 50000u)
        return us_at;
    us_at = clock_us();
    tsc_at = tsc;
    return us_at;
}
#else
int64_t tool_now_us(void)
{
    return clock_us();
}
#endif

int64_t tool_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

volatile int *tool_stop_flag(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_flag;
}

const char *tool_bootstrap(tool_opt_t *opts)
{
    tool_opt_t *bs = tool_opt(opts, "--bootstrap-server"), *bl = tool_opt(opts, "--broker-list");
    const char *bootstrap = bs ? bs->value : NULL;
    if (!bootstrap && bl)
        bootstrap = bl->value;
    if (!bootstrap)
        tool_usage_die("missing required option --bootstrap-server");
    return bootstrap;
}

int32_t tool_partition_count(strand_consumer_t *consumer, const char *topic)
{
    int32_t count = 0;
    int e = strand_consumer_partition_count(consumer, topic, -1, &count);
    if (e)
        tool_die("%s", strand_last_errstr());
    return count;
}

void tool_read_partitions_json(const char *path, const char *what, st_tp_list_t *ret)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        tool_die("cannot read %s: %s (line %d, column %d)", path, jerr.text, jerr.line,
                 jerr.column);
    json_t *arr = json_object_get(root, "partitions");
    if (!json_is_array(arr))
        tool_die("%s: expected an object with a \"partitions\" array", path);
    size_t n = json_array_size(arr);
    ret->v = calloc(n ? n : 1, sizeof(*ret->v));
    ret->n = 0;
    if (!ret->v)
        tool_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        json_t *t = json_object_get(e, "topic"), *p = json_object_get(e, "partition");
        if (!json_is_string(t) || !json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > INT32_MAX)
            tool_die("%s: partitions[%zu] needs a \"topic\" string and a non-negative "
                     "\"partition\" integer", path, i);
        for (size_t j = 0; j < ret->n; j++)
            if (ret->v[j].partition == json_integer_value(p) &&
                strcmp(ret->v[j].topic, json_string_value(t)) == 0)
                tool_die("%s contains duplicate partitions: %s-%d", what, json_string_value(t),
                         (int)json_integer_value(p));
        ret->v[ret->n].topic = strdup(json_string_value(t));
        ret->v[ret->n].partition = (int32_t)json_integer_value(p);
        if (!ret->v[ret->n].topic)
            tool_die("out of memory");
        ret->n++;
    }
    json_decref(root);
}

strand_topic_partition_t *tool_tp_array(const st_tp_list_t *tps)
{
    strand_topic_partition_t *a = calloc(tps->n ? tps->n : 1, sizeof(*a));
    if (!a)
        tool_die("out of memory");
    for (size_t i = 0; i < tps->n; i++) {
        a[i].topic = tps->v[i].topic;
        a[i].partition = tps->v[i].partition;
    }
    return a;
}

size_t tool_print_elected(const strand_election_result_t *res, size_t n, const char *prefix,
                          int code)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].error == code)
            printf("%s%s-%d", k++ ? ", " : prefix, res[i].topic, res[i].partition);
    if (k)
        printf("\n");
    return k;
}
