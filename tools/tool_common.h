/* Shared plumbing of Strand's command-line tools: a small declarative option parser with
 * Kafka's flag spellings (--flag value, repeatable flags, flags taking several values like
 * --producer-props), --help output, one-line fatal errors ("<tool>: <message>", exit 1), the one
 * usage-error path ("<tool>: <message naming the flag> (try --help)", exit 1), client
 * configuration from --bootstrap-server / --X-property k=v / --X.config FILE, the client
 * library's retry warnings on stderr in Kafka's log layout, and --topic as Kafka's topic filter
 * (a regular expression matched against whole names). */
#ifndef ST_TOOL_COMMON_H
#define ST_TOOL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_cluster.h"
#include "strand.h"

typedef enum tool_arg {
    TOOL_FLAG,       /* no value */
    TOOL_VALUE,      /* exactly one value */
    TOOL_OPTIONAL,   /* an optional value (absent when the next word starts with "--") */
    TOOL_MULTI,      /* one value per occurrence, may repeat */
    TOOL_PLUS,       /* one or more values until the next "--" word (argparse nargs='+') */
} tool_arg_t;

typedef struct tool_opt {
    const char *name;        /* "--topic" */
    tool_arg_t arg;
    const char *metavar;     /* "<String: topic>" for --help */
    const char *help;
    /* results */
    bool given;
    const char *value;       /* TOOL_VALUE / TOOL_OPTIONAL (NULL when absent) */
    const char **values;     /* TOOL_MULTI / TOOL_PLUS */
    size_t n_values;
} tool_opt_t;

#define TOOL_OPT_END { NULL, TOOL_FLAG, NULL, NULL, false, NULL, NULL, 0 }

/* Sets the program name used in messages (basename of argv[0]). */
void tool_init(const char *argv0, const char *summary);
const char *tool_name(void);
/* For tools that are not clients (strand-dump-log): --help does not list --help-config. */
void tool_no_client_config(void);

/* Parses argv against opts. --help prints usage and exits 0; --version prints the version and
 * exits 0; an unknown flag, a missing value (a flag that needs one followed by another --flag or
 * nothing) or a stray word is a usage error (tool_usage_die). */
void tool_parse(tool_opt_t *opts, int argc, char **argv);
tool_opt_t *tool_opt(tool_opt_t *opts, const char *name);

/* Prints "<tool>: <message>" on stderr and exits 1. */
void tool_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A usage error (unknown flag, missing or bad value, flags that do not go together): prints
 * "<tool>: <message> (try --help)" on stderr, one line, and exits 1. Every tool's usage errors
 * come through here. */
void tool_usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Prints "<tool>: <message>" on stderr. */
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The client properties file of a tool that takes Kafka's --command-config next to its own
 * --producer.config / --consumer.config (`specific`): whichever was given (NULL if neither);
 * exits 1 if both were. This is where TLS settings (security.protocol=SSL, ssl.*) come from. */
const char *tool_config_file(tool_opt_t *opts, const char *specific);

/* --bootstrap-server, or the older --broker-list where Kafka 3.x still accepts it (console
 * producer, get-offsets, consumer perf test: deprecated, ignored when --bootstrap-server is
 * given); a usage error if neither was given. */
const char *tool_bootstrap(tool_opt_t *opts);
/* Partition count of topic through an existing consumer; exits 1 naming the topic on failure. */
int32_t tool_partition_count(strand_consumer_t *consumer, const char *topic);

/* A usage error naming the flag when the option was not given. */
const char *tool_require(tool_opt_t *opts, const char *name);
/* Integer value of a flag in [min, max]; a usage error naming the flag otherwise. */
int64_t tool_int(const char *flag, const char *value, int64_t min, int64_t max);

/* Builds a client configuration: bootstrap servers (may be NULL), then the properties file
 * (may be NULL), then each "k=v" property (flag names the option for messages). Exits 1 on any
 * error, naming the flag, file or key. The configuration logs to stderr (tool_log_to_stderr). */
strand_conf_t *tool_conf(const char *bootstrap, const char *config_file, const char *props_flag,
                         const char *const *props, size_t n_props);
/* Sets one property or exits 1. */
void tool_conf_set(strand_conf_t *conf, const char *key, const char *value, const char *flag);
/* A tool's own time limit (--timeout-ms) bounds every wait of the client, not only the one
 * for records: connection setup and request timeouts above it are lowered to it, so that an
 * unresponsive broker cannot hold the tool for request.timeout.ms (30 s) first. */
void tool_bound_waits(strand_conf_t *conf, int64_t timeout_ms, const char *flag);
/* Sends the client library's log lines (its retries: unreachable brokers, produce errors being
 * retried, topics not in metadata yet) to stderr in Kafka's tools-log4j layout:
 *   [2026-11-27 10:00:00,123] WARN [Producer clientId=strand] Got error produce response ...
 *   (strand.producer) */
void tool_log_to_stderr(strand_conf_t *conf);

/* Kafka's topic filter for --topic (TopicFilter.IncludeList): the value is trimmed, ',' becomes
 * '|', spaces and surrounding quotes are dropped, and the result is a regular expression (POSIX
 * ERE here, Java's in Kafka) that must match a whole topic name. An invalid expression exits 1
 * with Kafka's "<regex> is an invalid regex.". */
typedef struct tool_topic_filter tool_topic_filter_t;
tool_topic_filter_t *tool_topic_filter_new(const char *pattern);
bool tool_topic_filter_match(const tool_topic_filter_t *f, const char *topic);
void tool_topic_filter_free(tool_topic_filter_t *f);
/* The names among names[0..n) that f matches, in order, into a malloc'd array of pointers into
 * names (free() the array only). */
const char **tool_topic_filter_apply(const tool_topic_filter_t *f, char *const *names, size_t n,
                                     size_t *ret_count);
/* Kafka's Topic.isInternal: __consumer_offsets and __transaction_state. */
bool tool_topic_is_internal(const char *topic);

/* Formatter/reader properties (--property k=v): a simple list looked up by key. */
typedef struct tool_props {
    const char *const *kv;
    size_t n;
} tool_props_t;
/* Value of key (unescaped: \t, \n, \\), or def. The returned string is static per call site
 * buffer-free: malloc'd and kept for the process lifetime. */
const char *tool_prop(const tool_props_t *props, const char *key, const char *def);
bool tool_prop_bool(const tool_props_t *props, const char *key, bool def);
/* Exits 1 if a --property key is not one of the comma-separated `known` list. */
void tool_props_check(const tool_props_t *props, const char *known);

/* Monotonic clock in ms / us (tool_now_us may be up to ~60 us stale: it is cheap enough to
 * call per record); wall clock in ms. */
int64_t tool_now_ms(void);
int64_t tool_now_us(void);
int64_t tool_wall_ms(void);

/* Kafka's partitions file ({"partitions":[{"topic":"foo","partition":1},...]}, the elections'
 * --path-to-json-file) into *ret (st_tp_list_free). Exits 1 naming the file and the entry when
 * malformed, and with "<what> contains duplicate partitions: foo-1" on a repeated partition. */
void tool_read_partitions_json(const char *path, const char *what, st_tp_list_t *ret);
/* The same partitions as the admin client takes them (pointing into tps; free() the array). */
strand_topic_partition_t *tool_tp_array(const st_tp_list_t *tps);
/* Prints "<prefix>foo-0, foo-1" and a newline for the election results whose error is `code`
 * (nothing when none); returns how many. */
size_t tool_print_elected(const strand_election_result_t *res, size_t n, const char *prefix,
                          int code);

/* Installs SIGINT/SIGTERM handlers that set the returned flag. */
volatile int *tool_stop_flag(void);

#endif
