/* Small public helpers of strand.h: version, error-code text and the calling thread's last
 * error line. */
#include <stdarg.h>
#include <stdio.h>

#include "st_client.h"
#include "strand.h"
#include "st_version.h"

static _Thread_local char last_errstr[768];

const char *strand_last_errstr(void)
{
    return last_errstr;
}

char *st_client_last_errstr_buf(size_t *ret_size)
{
    *ret_size = sizeof(last_errstr);
    return last_errstr;
}

const char *strand_version(void)
{
    return STRAND_VERSION;
}

const char *strand_err_name(int err)
{
    return st_error_name(err);
}

const char *strand_err_desc(int err)
{
    return st_error_desc(err);
}

bool strand_err_retriable(int err)
{
    return st_error_retriable(err);
}
