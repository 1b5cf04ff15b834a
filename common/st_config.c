/* Table-driven configuration: parsing, validation, defaults and --help-config output for
 * Kafka-style properties files. See st_config.h for the table format. */
#include "st_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_error(st_cfg_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(st_cfg_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static void *field(void *obj, const st_cfg_def_t *def) { return (char *)obj + def->offset; }
static const void *cfield(const void *obj, const st_cfg_def_t *def) { return (const char *)obj + def->offset; }

/* Trims leading and trailing white space in place; returns the new start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

const st_cfg_def_t *st_cfg_find(const st_cfg_def_t *table, const char *name)
{
    for (const st_cfg_def_t *def = table; def->name; def++)
        if (strcmp(def->name, name) == 0)
            return def;
    return NULL;
}

static void describe_range(const st_cfg_def_t *def, char *out, size_t len)
{
    switch (def->type) {
    case ST_CFG_INT:
    case ST_CFG_LONG:
        snprintf(out, len, "an integer in [%" PRId64 ", %" PRId64 "]", def->min, def->max);
        break;
    case ST_CFG_DOUBLE:
        snprintf(out, len, "a number in [%" PRId64 ", %" PRId64 "]", def->min, def->max);
        break;
    case ST_CFG_BOOL:
        snprintf(out, len, "true or false");
        break;
    case ST_CFG_STRING:
        if (def->valid)
            snprintf(out, len, "one of [%s]", def->valid);
        else
            snprintf(out, len, "a string");
        break;
    case ST_CFG_LIST:
        snprintf(out, len, "a comma-separated list");
        break;
    case ST_CFG_ENUM:
        snprintf(out, len, "one of [%s]", def->valid ? def->valid : "");
        break;
    case ST_CFG_SET:
        snprintf(out, len, "a comma-separated list of [%s]", def->valid ? def->valid : "");
        break;
    }
}

void st_cfg_describe_range(const st_cfg_def_t *def, char *out, size_t len)
{
    describe_range(def, out, len);
}

/* Looks value up in def->valid (comma-separated, case-insensitive); returns a malloc'd copy of
 * the canonical spelling, or NULL. */
static char *match_valid(const char *valid, const char *value)
{
    const char *p = valid;
    size_t vlen = strlen(value);
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == vlen && strncasecmp(p, value, n) == 0)
            return strndup(p, n);
        if (!comma)
            break;
        p = comma + 1;
    }
    return NULL;
}

/* Index of the word (n bytes at value) in the comma-separated list valid, case-insensitive;
 * -1 if absent. */
static int valid_index(const char *valid, const char *value, size_t vlen)
{
    const char *p = valid;
    for (int i = 0; p && *p; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == vlen && strncasecmp(p, value, n) == 0)
            return i;
        if (!comma)
            break;
        p = comma + 1;
    }
    return -1;
}

/* The i-th word of the comma-separated list valid (n bytes at *ret); false if out of range. */
static bool valid_word(const char *valid, int i, const char **ret, size_t *ret_n)
{
    const char *p = valid;
    for (int k = 0; p && *p; k++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (k == i) {
            *ret = p;
            *ret_n = n;
            return true;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* Normalises a comma-separated list: trims elements, drops empty ones. */
static char *normalise_list(const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return NULL;
    char *out = calloc(1, strlen(value) + 1);
    if (!out) {
        free(copy);
        return NULL;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (!*tok)
            continue;
        if (*out)
            strcat(out, ",");
        strcat(out, tok);
    }
    free(copy);
    return out;
}

static int parse_value(const st_cfg_def_t *def, void *obj, const char *value, st_cfg_error_t *err)
{
    if (!value)
        value = "";
    char range[256];
    describe_range(def, range, sizeof(range));
    switch (def->type) {
    case ST_CFG_INT:
    case ST_CFG_LONG: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE || v < def->min || v > def->max) {
            set_error(err, "%s=%s: expected %s", def->name, value, range);
            return -EINVAL;
        }
        if (def->type == ST_CFG_INT)
            *(int32_t *)field(obj, def) = (int32_t)v;
        else
            *(int64_t *)field(obj, def) = (int64_t)v;
        return 0;
    }
    case ST_CFG_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || v < (double)def->min ||
            v > (double)def->max) {
            set_error(err, "%s=%s: expected %s", def->name, value, range);
            return -EINVAL;
        }
        *(double *)field(obj, def) = v;
        return 0;
    }
    case ST_CFG_BOOL:
        if (strcasecmp(value, "true") == 0)
            *(bool *)field(obj, def) = true;
        else if (strcasecmp(value, "false") == 0)
            *(bool *)field(obj, def) = false;
        else {
            set_error(err, "%s=%s: expected %s", def->name, value, range);
            return -EINVAL;
        }
        return 0;
    case ST_CFG_ENUM: {
        int i = valid_index(def->valid, value, strlen(value));
        if (i < 0) {
            set_error(err, "%s=%s: expected %s", def->name, value, range);
            return -EINVAL;
        }
        *(int32_t *)field(obj, def) = i;
        return 0;
    }
    case ST_CFG_SET: {
        uint32_t bits = 0;
        const char *p = value;
        while (*p) {
            while (*p == ',' || isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            size_t n = strcspn(p, ",");
            size_t w = n;
            while (w > 0 && isspace((unsigned char)p[w - 1]))
                w--;
            int i = valid_index(def->valid, p, w);
            if (i < 0 || i >= 32) {
                set_error(err, "%s=%s: expected %s", def->name, value, range);
                return -EINVAL;
            }
            bits |= 1u << i;
            p += n;
        }
        if (!bits) {
            set_error(err, "%s=%s: expected %s", def->name, value, range);
            return -EINVAL;
        }
        *(uint32_t *)field(obj, def) = bits;
        return 0;
    }
    case ST_CFG_STRING:
    case ST_CFG_LIST: {
        char *copy;
        if (def->type == ST_CFG_STRING && def->valid) {
            copy = match_valid(def->valid, value);
            if (!copy) {
                set_error(err, "%s=%s: expected %s", def->name, value, range);
                return -EINVAL;
            }
        } else {
            copy = def->type == ST_CFG_LIST ? normalise_list(value) : strdup(value);
            if (!copy) {
                set_error(err, "%s: out of memory", def->name);
                return -ENOMEM;
            }
        }
        char **slot = (char **)field(obj, def);
        free(*slot);
        *slot = copy;
        return 0;
    }
    }
    return -EINVAL;
}

void st_cfg_init(const st_cfg_def_t *table, void *obj)
{
    for (const st_cfg_def_t *def = table; def->name; def++) {
        switch (def->type) {
        case ST_CFG_INT: *(int32_t *)field(obj, def) = ST_CFG_UNSET_INT; break;
        case ST_CFG_LONG: *(int64_t *)field(obj, def) = ST_CFG_UNSET_LONG; break;
        case ST_CFG_DOUBLE: *(double *)field(obj, def) = 0.0; break;
        case ST_CFG_BOOL: *(bool *)field(obj, def) = false; break;
        case ST_CFG_ENUM: *(int32_t *)field(obj, def) = -1; break;
        case ST_CFG_SET: *(uint32_t *)field(obj, def) = 0; break;
        case ST_CFG_STRING:
        case ST_CFG_LIST: *(char **)field(obj, def) = NULL; break;
        }
        if (def->default_value) {
            st_cfg_error_t err;
            int r = parse_value(def, obj, def->default_value, &err);
            /* A default that fails its own validation is a bug in the table. */
            if (r < 0) {
                fprintf(stderr, "BUG: config default rejected: %s\n", err.msg);
                abort();
            }
        }
    }
}

void st_cfg_free(const st_cfg_def_t *table, void *obj)
{
    for (const st_cfg_def_t *def = table; def->name; def++) {
        if (def->type == ST_CFG_STRING || def->type == ST_CFG_LIST) {
            char **slot = (char **)field(obj, def);
            free(*slot);
            *slot = NULL;
        }
    }
}

/* ---- did you mean ------------------------------------------------------------------------- */

static int fold(char c)
{
    c = (char)tolower((unsigned char)c);
    return c == '_' || c == '-' ? '.' : c;
}

size_t st_cfg_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 256 || m > 256)
        return SIZE_MAX;   /* not a key anyone typed */
    /* three rows of the optimal-string-alignment table */
    size_t rows[3][257];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
            size_t best = prev[j] + 1;                       /* deletion */
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;                       /* insertion */
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;                   /* substitution */
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;                     /* two neighbours swapped */
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *st_cfg_closest_name(const char *key, const char *const *names, size_t n,
                                size_t stride)
{
    if (!key || !names)
        return NULL;
    size_t len = strlen(key);
    size_t limit = len <= 4 ? 1 : len <= 12 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    const char *base = (const char *)names;
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)(base + i * stride);
        if (!name)
            break;
        size_t d = st_cfg_edit_distance(key, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    return best && best_d <= limit ? best : NULL;   /* 0: differs only in case or '_'/'-' */
}

const char *st_cfg_suggest(const st_cfg_def_t *table, const char *key)
{
    return st_cfg_closest_name(key, &table[0].name, st_cfg_count(table), sizeof(*table));
}

/* "unknown configuration key 'x'" with the suggestion, if any. */
static void unknown_key_error(const st_cfg_def_t *table, const char *key, st_cfg_error_t *err)
{
    const char *near = st_cfg_suggest(table, key);
    if (near)
        set_error(err, "unknown configuration key '%s' (did you mean '%s'?)", key, near);
    else
        set_error(err, "unknown configuration key '%s'", key);
}

/* ---- setting ---------------------------------------------------------------------------------- */

size_t st_cfg_count(const st_cfg_def_t *table)
{
    size_t n = 0;
    while (table[n].name)
        n++;
    return n;
}

static void mark_given(const st_cfg_def_t *table, const st_cfg_def_t *def, bool *given)
{
    if (given)
        given[def - table] = true;
}

int st_cfg_set(const st_cfg_def_t *table, void *obj, const char *key, const char *value,
               st_cfg_error_t *err)
{
    const st_cfg_def_t *def = st_cfg_find(table, key);
    if (!def) {
        unknown_key_error(table, key, err);
        return -ENOENT;
    }
    return parse_value(def, obj, value, err);
}

int st_cfg_set_kv(const st_cfg_def_t *table, void *obj, const char *kv, st_cfg_error_t *err)
{
    return st_cfg_set_kv_given(table, obj, kv, err, NULL);
}

int st_cfg_set_kv_given(const st_cfg_def_t *table, void *obj, const char *kv, st_cfg_error_t *err,
                        bool *given)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        set_error(err, "'%s': expected key=value", kv);
        return -EINVAL;
    }
    char *copy = strdup(kv);
    if (!copy)
        return -ENOMEM;
    copy[eq - kv] = '\0';
    const char *key = trim(copy);
    int r = st_cfg_set(table, obj, key, trim(copy + (eq - kv) + 1), err);
    if (r == 0)
        mark_given(table, st_cfg_find(table, key), given);
    free(copy);
    return r;
}

int st_cfg_load_file(const st_cfg_def_t *table, void *obj, const char *path,
                     void (*on_unknown)(const char *path, int line, const char *key, void *arg),
                     void *arg, st_cfg_error_t *err)
{
    return st_cfg_load_file_given(table, obj, path, on_unknown, arg, err, NULL);
}

int st_cfg_load_file_given(const st_cfg_def_t *table, void *obj, const char *path,
                           void (*on_unknown)(const char *path, int line, const char *key,
                                              void *arg),
                           void *arg, st_cfg_error_t *err, bool *given)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        set_error(err, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    int result = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == '!')
            continue;
        char *sep = s + strcspn(s, "=:");
        if (*sep == '\0' || sep == s) {
            set_error(err, "%s:%d: expected key=value, got '%s'", path, lineno, s);
            result = -EINVAL;
            break;
        }
        *sep = '\0';
        char *key = trim(s);
        char *value = trim(sep + 1);
        const st_cfg_def_t *def = st_cfg_find(table, key);
        if (!def) {
            if (on_unknown)
                on_unknown(path, lineno, key, arg);
            continue;
        }
        st_cfg_error_t verr;
        int r = parse_value(def, obj, value, &verr);
        if (r < 0) {
            set_error(err, "%s:%d: %s", path, lineno, verr.msg);
            result = r;
            break;
        }
        mark_given(table, def, given);
    }
    free(line);
    fclose(f);
    return result;
}

const char *st_cfg_type_name(st_cfg_type_t type)
{
    switch (type) {
    case ST_CFG_ENUM: return "string";
    case ST_CFG_SET: return "list";
    case ST_CFG_INT: return "int";
    case ST_CFG_LONG: return "long";
    case ST_CFG_BOOL: return "boolean";
    case ST_CFG_STRING: return "string";
    case ST_CFG_LIST: return "list";
    case ST_CFG_DOUBLE: return "double";
    }
    return "?";
}

void st_cfg_print_help(const st_cfg_def_t *table, FILE *out)
{
    for (const st_cfg_def_t *def = table; def->name; def++) {
        char range[256];
        describe_range(def, range, sizeof(range));
        fprintf(out, "%s\n    %s\n    Type: %s   Default: %s   Valid: %s\n\n", def->name,
                def->doc ? def->doc : "", st_cfg_type_name(def->type),
                def->default_value ? (*def->default_value ? def->default_value : "\"\"") : "(none)",
                range);
    }
}

int st_cfg_parse_one(const st_cfg_def_t *def, void *obj, const char *value, st_cfg_error_t *err)
{
    return parse_value(def, obj, value, err);
}

void st_cfg_format_one(const st_cfg_def_t *def, const void *obj, char *out, size_t len)
{
    const void *p = cfield(obj, def);
    switch (def->type) {
    case ST_CFG_INT: {
        int32_t v = *(const int32_t *)p;
        if (v == ST_CFG_UNSET_INT) snprintf(out, len, "null");
        else snprintf(out, len, "%" PRId32, v);
        break;
    }
    case ST_CFG_LONG: {
        int64_t v = *(const int64_t *)p;
        if (v == ST_CFG_UNSET_LONG) snprintf(out, len, "null");
        else snprintf(out, len, "%" PRId64, v);
        break;
    }
    case ST_CFG_BOOL:
        snprintf(out, len, "%s", *(const bool *)p ? "true" : "false");
        break;
    case ST_CFG_DOUBLE:
        snprintf(out, len, "%g", *(const double *)p);
        break;
    case ST_CFG_STRING:
    case ST_CFG_LIST: {
        const char *s = *(char *const *)p;
        snprintf(out, len, "%s", s ? s : "null");
        break;
    }
    case ST_CFG_ENUM: {
        const char *w = NULL;
        size_t n = 0;
        if (valid_word(def->valid, *(const int32_t *)p, &w, &n))
            snprintf(out, len, "%.*s", (int)n, w);
        else
            snprintf(out, len, "null");
        break;
    }
    case ST_CFG_SET: {
        uint32_t bits = *(const uint32_t *)p;
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; i < 32 && used < len; i++) {
            const char *w = NULL;
            size_t n = 0;
            if (!(bits & (1u << i)) || !valid_word(def->valid, i, &w, &n))
                continue;
            int k = snprintf(out + used, len - used, "%s%.*s", used ? "," : "", (int)n, w);
            if (k < 0)
                break;
            used += (size_t)k;
        }
        if (!bits)
            snprintf(out, len, "null");
        break;
    }
    }
}

void st_cfg_describe_given(const st_cfg_def_t *table, const void *obj, const bool *given,
                           char *out, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; given && table[i].name; i++) {
        if (!given[i])
            continue;
        char value[512];
        st_cfg_format_one(&table[i], obj, value, sizeof(value));
        /* set, but to what it would be anyway: said, so the line stays true */
        bool is_default = table[i].default_value && strcmp(value, table[i].default_value) == 0;
        int n = snprintf(out + used, len - used, "%s%s=%s%s", used ? ", " : "", table[i].name,
                         table[i].secret ? "[hidden]" : value, is_default ? " (the default)" : "");
        if (n < 0 || (size_t)n >= len - used) {
            out[len - 1] = '\0';
            break;
        }
        used += (size_t)n;
    }
}

void st_cfg_dump(const st_cfg_def_t *table, const void *obj, FILE *out)
{
    for (const st_cfg_def_t *def = table; def->name; def++) {
        char buf[1024];
        st_cfg_format_one(def, obj, buf, sizeof(buf));
        const char *s = def->secret && (def->type == ST_CFG_STRING || def->type == ST_CFG_LIST) &&
                                *(char *const *)cfield(obj, def)
                            ? "[hidden]"
                            : buf;
        fprintf(out, "\t%s = %s\n", def->name, s);
    }
}
