/* Declarative configuration, nginx style: one table of {name, type, default, min, max, valid
 * values, offset, doc} drives parsing of server.properties / client.properties files and
 * --override key=value, validation, and --help-config. The same machinery serves the broker's
 * table (broker/) and the client library's (common/client/).
 *
 * Values start UNSET (ST_CFG_UNSET_*) when a definition has no default, so callers can tell
 * "given" from "defaulted" (log.retention.ms beats .minutes beats .hours, as in Kafka). */
#ifndef ST_CONFIG_H
#define ST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum st_cfg_type {
    ST_CFG_INT,      /* int32_t */
    ST_CFG_LONG,     /* int64_t */
    ST_CFG_BOOL,     /* bool: true/false */
    ST_CFG_STRING,   /* char * (malloc'd; freed by st_cfg_free); `valid` restricts to a list */
    ST_CFG_LIST,     /* char * holding a comma-separated list, kept as given (trimmed) */
    ST_CFG_DOUBLE,   /* double */
    ST_CFG_ENUM,     /* int32_t: index of the value in `valid` (given case-insensitively) */
    ST_CFG_SET,      /* uint32_t: bit i set for the i-th word of `valid` named in a
                      * comma-separated list (at least one; at most 32 words) */
} st_cfg_type_t;

#define ST_CFG_UNSET_INT  INT32_MIN
#define ST_CFG_UNSET_LONG INT64_MIN

typedef struct st_cfg_def {
    const char *name;
    st_cfg_type_t type;
    const char *default_value;   /* NULL: stays UNSET (NULL for strings) */
    int64_t min, max;            /* numeric range, inclusive */
    const char *valid;           /* STRING / ENUM / SET: comma-separated accepted values
                                  * (STRING: NULL for any) */
    size_t offset;               /* offsetof(the config struct, field) */
    const char *doc;
    bool secret;                 /* never printed back (passwords) */
} st_cfg_def_t;

#define ST_CFG_END { NULL, 0, NULL, 0, 0, NULL, 0, NULL, false }

/* Where an error was found, for messages like "server.properties:12: key 'x': ...". */
typedef struct st_cfg_error {
    char msg[512];
} st_cfg_error_t;

/* Sets every field from its default (or UNSET). */
void st_cfg_init(const st_cfg_def_t *table, void *obj);
/* Frees string fields. */
void st_cfg_free(const st_cfg_def_t *table, void *obj);
const st_cfg_def_t *st_cfg_find(const st_cfg_def_t *table, const char *name);
/* Sets one key. -ENOENT unknown key (err names it, and the closest known key when there is a
 * likely one: "did you mean 'log.retention.hours'?"), -EINVAL bad value (err names key, value
 * and the accepted range or values). */
int st_cfg_set(const st_cfg_def_t *table, void *obj, const char *key, const char *value,
               st_cfg_error_t *err);
/* Parses "key=value" (for --override and --property). */
int st_cfg_set_kv(const st_cfg_def_t *table, void *obj, const char *kv, st_cfg_error_t *err);
/* Loads a properties file: '#' and '!' comments, blank lines, "key=value" or "key: value",
 * whitespace trimmed. Unknown keys are passed to on_unknown (may be NULL = ignored) with the
 * file line; a bad value stops the load with -EINVAL and an error naming file:line and key. */
int st_cfg_load_file(const st_cfg_def_t *table, void *obj, const char *path,
                     void (*on_unknown)(const char *path, int line, const char *key, void *arg),
                     void *arg, st_cfg_error_t *err);
/* ---- keys the user gave ------------------------------------------------------------------------
 * `given` (may be NULL) has one bool per table entry (st_cfg_count): the calls below set
 * given[i] for each key table[i] they set, so that a start-up line can list exactly what the
 * user wrote rather than every value that differs from its default (derived ones included). */
size_t st_cfg_count(const st_cfg_def_t *table);
int st_cfg_load_file_given(const st_cfg_def_t *table, void *obj, const char *path,
                           void (*on_unknown)(const char *path, int line, const char *key,
                                              void *arg),
                           void *arg, st_cfg_error_t *err, bool *given);
int st_cfg_set_kv_given(const st_cfg_def_t *table, void *obj, const char *kv, st_cfg_error_t *err,
                        bool *given);
/* "key=value, key=value" for the given keys, in table order, values as they are now (secrets
 * "[hidden]"; a value equal to the default is followed by " (the default)"); "" when none.
 * Truncated to len. */
void st_cfg_describe_given(const st_cfg_def_t *table, const void *obj, const bool *given,
                           char *out, size_t len);

/* ---- did you mean -------------------------------------------------------------------------------
 * For a mistyped key: the closest known name by edit distance (Damerau-Levenshtein, optimal
 * string alignment: an insertion, deletion, substitution or swap of two neighbours costs 1;
 * case-insensitive, '_' and '-' count as '.'), if it is close enough to be a likely typo: at
 * most 1 edit for keys up to 4 characters, 2 up to 12, 3 beyond. NULL otherwise. Generic over
 * any array of structs that holds a name: `names` points at the first struct's name field,
 * `stride` is the struct size (sizeof(const char *) for a plain array of names), `n` the count
 * (a NULL name also ends the array). */
size_t st_cfg_edit_distance(const char *a, const char *b);
const char *st_cfg_closest_name(const char *key, const char *const *names, size_t n,
                                size_t stride);
/* The same over a config table. */
const char *st_cfg_suggest(const st_cfg_def_t *table, const char *key);

/* One definition on its own (tables whose rows carry more than st_cfg_def_t, such as the topic
 * table): parses value into def's field of obj (-EINVAL with err naming key, value and the
 * accepted range), formats the field back as text ("null" when UNSET; secrets as they are, the
 * caller masks them), and describes the accepted range ("an integer in [14, 2147483647]"). */
int st_cfg_parse_one(const st_cfg_def_t *def, void *obj, const char *value, st_cfg_error_t *err);
void st_cfg_format_one(const st_cfg_def_t *def, const void *obj, char *out, size_t len);
void st_cfg_describe_range(const st_cfg_def_t *def, char *out, size_t len);
/* "int", "long", "boolean", "string", "list", "double" (ENUM: "string", SET: "list"). */
const char *st_cfg_type_name(st_cfg_type_t type);

/* Prints the table: name, type, default, accepted range/values, doc. */
void st_cfg_print_help(const st_cfg_def_t *table, FILE *out);
/* Prints the current values ("key = value", secrets masked), for the start-up log. */
void st_cfg_dump(const st_cfg_def_t *table, const void *obj, FILE *out);

#endif
