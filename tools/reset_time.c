/* Parsing of --to-datetime and --by-duration for strand-consumer-groups (see reset_time.h). */
#include "reset_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Exactly n decimal digits at *p (advanced past them) into *ret. */
static bool digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int reset_parse_datetime(const char *text, int64_t *ret_ms)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!text || !ret_ms)
        return -EINVAL;
    const char *p = text;
    int y, mo, d, h, mi, s, ms;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || !expect(&p, 'T') || !digits(&p, 2, &h) || !expect(&p, ':') ||
        !digits(&p, 2, &mi) || !expect(&p, ':') || !digits(&p, 2, &s) || !expect(&p, '.') ||
        !digits(&p, 3, &ms))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 ||
        mi > 59 || s > 59)
        return -ERANGE;
    int offset_min = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
        if (!digits(&p, 2, &zh))
            return -EINVAL;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &zm))
                return -EINVAL;
        } else if (*p) {
            if (!digits(&p, 2, &zm))
                return -EINVAL;
        }
        if (zh > 23 || zm > 59)
            return -ERANGE;
        offset_min = sign * (zh * 60 + zm);
    }
    if (*p)
        return -EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
                   (int64_t)offset_min * 60;
    *ret_ms = secs * 1000 + ms;
    return 0;
}

/* An optionally signed decimal integer ending at one of the letters in `units` (either case).
 * Sets *ret_unit to the upper-case letter found; false if none is there (nothing consumed). */
static bool number_with_unit(const char **p, const char *units, int64_t *ret, bool *ret_neg,
                             char *ret_unit, int *ret_err)
{
    const char *q = *p;
    bool neg = false;
    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    if (!isdigit((unsigned char)*q))
        return false;
    int64_t v = 0;
    while (isdigit((unsigned char)*q)) {
        if (v > (INT64_MAX - 9) / 10) {
            *ret_err = -ERANGE;
            return false;
        }
        v = v * 10 + (*q++ - '0');
    }
    char u = (char)toupper((unsigned char)*q);
    if (!u || !strchr(units, u))
        return false;
    *p = q + 1;
    *ret = neg ? -v : v;
    *ret_neg = neg;
    *ret_unit = u;
    return true;
}

/* a * b + c with overflow checks. */
static bool mul_add(int64_t a, int64_t b, int64_t c, int64_t *ret)
{
    int64_t m;
    if (__builtin_mul_overflow(a, b, &m) || __builtin_add_overflow(m, c, ret))
        return false;
    return true;
}

int reset_parse_duration(const char *text, int64_t *ret_ms)
{
    if (!text || !ret_ms)
        return -EINVAL;
    const char *p = text;
    bool negate = false;
    if (*p == '+' || *p == '-')
        negate = *p++ == '-';
    if (*p != 'P' && *p != 'p')
        return -EINVAL;
    p++;
    int64_t total = 0;       /* ms */
    bool any = false;
    int err = 0;
    int64_t v;
    bool neg;
    char unit;
    if (number_with_unit(&p, "D", &v, &neg, &unit, &err)) {
        if (!mul_add(v, 86400000, total, &total))
            return -ERANGE;
        any = true;
    }
    if (err)
        return err;
    if (*p == 'T' || *p == 't') {
        p++;
        bool any_time = false;
        const char *order = "HMS";
        while (*p) {
            /* Seconds may carry a fraction: n[.fffffffff]S. */
            const char *q = p;
            bool sneg = false;
            if (*q == '+' || *q == '-')
                sneg = *q++ == '-';
            const char *digits_at = q;
            while (isdigit((unsigned char)*q))
                q++;
            if ((*q == '.' || *q == ',') && q > digits_at) {
                const char *frac = q + 1;
                const char *f = frac;
                while (isdigit((unsigned char)*f))
                    f++;
                if (f - frac > 9 || (*f != 'S' && *f != 's') || !strchr(order, 'S'))
                    return -EINVAL;
                int64_t whole = 0;
                for (const char *c = digits_at; c < q; c++) {
                    if (whole > (INT64_MAX - 9) / 10)
                        return -ERANGE;
                    whole = whole * 10 + (*c - '0');
                }
                int64_t frac_ms = 0;
                for (int i = 0; i < 3; i++)
                    frac_ms = frac_ms * 10 + (frac + i < f ? frac[i] - '0' : 0);
                int64_t part;
                if (!mul_add(whole, 1000, frac_ms, &part) ||
                    __builtin_add_overflow(total, sneg ? -part : part, &total))
                    return -ERANGE;
                p = f + 1;
                any_time = true;
                order = "";
                continue;
            }
            if (!number_with_unit(&p, order, &v, &neg, &unit, &err))
                return err ? err : -EINVAL;
            int64_t scale = unit == 'H' ? 3600000 : unit == 'M' ? 60000 : 1000;
            if (!mul_add(v, scale, total, &total))
                return -ERANGE;
            order = strchr(order, unit) + 1;     /* H, M, S only in this order, once each */
            any_time = true;
        }
        if (!any_time)
            return -EINVAL;
        any = true;
    }
    if (*p || !any)
        return -EINVAL;
    if (negate && total == INT64_MIN)
        return -ERANGE;
    *ret_ms = negate ? -total : total;
    return 0;
}
