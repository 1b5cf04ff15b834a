/* Small public helpers of strand.h: version and error-code text. */
#include "strand.h"
#include "st_version.h"

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
