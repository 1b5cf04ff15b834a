/* Names, descriptions and retriability of the st_error_t codes, generated from ST_ERROR_TABLE. */
#include "st_error.h"

#include <stdio.h>

struct st_error_row {
    int code;
    int retriable;               /* false, true or ST_RETRY_MD */
    const char *name;
    const char *desc;
};

static const struct st_error_row error_rows[] = {
#define ST_ERROR_ROW(sym, num, retr, d) { (num), (retr), #sym, (d) },
    ST_ERROR_TABLE(ST_ERROR_ROW)
#undef ST_ERROR_ROW
};

static const struct st_error_row *find_row(int code)
{
    for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++)
        if (error_rows[i].code == code)
            return &error_rows[i];
    return NULL;
}

const char *st_error_name(int code)
{
    static _Thread_local char unknown[32];
    const struct st_error_row *row = find_row(code);
    if (row)
        return row->name;
    snprintf(unknown, sizeof(unknown), "UNKNOWN_ERROR_%d", code);
    return unknown;
}

const char *st_error_desc(int code)
{
    const struct st_error_row *row = find_row(code);
    return row ? row->desc : "Unknown error code";
}

bool st_error_retriable(int code)
{
    const struct st_error_row *row = find_row(code);
    return row ? row->retriable != 0 : false;
}

bool st_error_invalid_metadata(int code)
{
    const struct st_error_row *row = find_row(code);
    return row ? row->retriable == ST_RETRY_MD : false;
}
