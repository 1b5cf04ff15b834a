/* Private to the znode codecs (st_znode.c, st_znode_admin.c): the jansson helpers they share,
 * static so that each file keeps them local. Errors name the znode's path. */
#ifndef ST_ZNODE_JSON_H
#define ST_ZNODE_JSON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "st_znode.h"

/* Plain static (not inline: the compiler's own inlining choices stay what they were when these
 * lived in st_znode.c); unused in one of the two files is fine. */
#define ST_ZNODE_HELPER static __attribute__((unused))

/* ---- small helpers ---------------------------------------------------------------------- */

ST_ZNODE_HELPER int fail(char *errbuf, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
ST_ZNODE_HELPER int fail(char *errbuf, size_t errlen, const char *path, const char *fmt, ...)
{
    if (errbuf && errlen) {
        int n = snprintf(errbuf, errlen, "%s: ", path ? path : "(znode)");
        if (n < 0 || (size_t)n >= errlen)
            return -EINVAL;   /* the path alone fills the buffer: keep it, truncated */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Parses the payload as a JSON object. */
ST_ZNODE_HELPER json_t *load_object(const char *path, const char *data, size_t len,
                                    char *errbuf, size_t errlen)
{
    if (!data || len == 0) {
        fail(errbuf, errlen, path, "no data (expected a JSON object)");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root) {
        fail(errbuf, errlen, path, "not valid JSON (%s at line %d column %d)", jerr.text,
             jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(errbuf, errlen, path, "not a JSON object");
        return NULL;
    }
    return root;
}

ST_ZNODE_HELPER const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* An int32 field; required unless def_ok (then *out = def when absent). */
ST_ZNODE_HELPER int get_i32(const char *path, json_t *obj, const char *key, bool required,
                            int32_t def, int32_t *out, char *errbuf, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return fail(errbuf, errlen, path, "\"%s\" is missing", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(errbuf, errlen, path, "\"%s\" is %s, not an integer", key, json_kind(v));
    json_int_t x = json_integer_value(v);
    if (x < INT32_MIN || x > INT32_MAX)
        return fail(errbuf, errlen, path, "\"%s\" (%lld) is out of range", key, (long long)x);
    *out = (int32_t)x;
    return 0;
}

/* "123" -> 123 (the whole string a decimal integer). */
ST_ZNODE_HELPER bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return false;
    *out = x;
    return true;
}

ST_ZNODE_HELPER int int_list_from_json(const char *path, const char *what, json_t *arr,
                                       st_int_list_t *out, char *errbuf, size_t errlen)
{
    if (!json_is_array(arr))
        return fail(errbuf, errlen, path, "%s is %s, not an array", what, json_kind(arr));
    size_t n = json_array_size(arr);
    int32_t *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (n && !v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN ||
            json_integer_value(e) > INT32_MAX) {
            free(v);
            return fail(errbuf, errlen, path, "%s: entry %zu is %s, not a broker id", what, i,
                        json_kind(e));
        }
        v[i] = (int32_t)json_integer_value(e);
    }
    out->v = v;
    out->n = n;
    return 0;
}

ST_ZNODE_HELPER json_t *int_list_to_json(const st_int_list_t *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++)
        json_array_append_new(arr, json_integer(l->v[i]));
    return arr;
}

ST_ZNODE_HELPER char *dump(json_t *root)
{
    if (!root)
        return NULL;
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

#endif
