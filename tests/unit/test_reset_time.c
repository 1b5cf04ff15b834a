/* tools/reset_time.c: --to-datetime and --by-duration of strand-consumer-groups, parsed as
 * Kafka's Utils.getDateTime and Java's Duration.parse do. Expected epoch values were computed
 * independently (date -u -d ... +%s%3N). */
#include <criterion/criterion.h>
#include <errno.h>

#include "reset_time.h"

static int64_t dt(const char *s)
{
    int64_t ms = -12345;
    cr_assert_eq(reset_parse_datetime(s, &ms), 0, "'%s' should parse", s);
    return ms;
}

static int64_t dur(const char *s)
{
    int64_t ms = -12345;
    cr_assert_eq(reset_parse_duration(s, &ms), 0, "'%s' should parse", s);
    return ms;
}

Test(reset_time, datetime_utc_default_and_zones)
{
    cr_assert_eq(dt("1970-01-01T00:00:00.000"), 0);
    cr_assert_eq(dt("2021-03-04T05:06:07.089"), 1614834367089LL);
    cr_assert_eq(dt("2021-03-04T05:06:07.089Z"), 1614834367089LL);
    /* +02:00 is two hours ahead of UTC: the same wall time is two hours earlier in UTC. */
    cr_assert_eq(dt("2021-03-04T05:06:07.089+02:00"), 1614834367089LL - 7200000);
    cr_assert_eq(dt("2021-03-04T05:06:07.089+0200"), 1614834367089LL - 7200000);
    cr_assert_eq(dt("2021-03-04T05:06:07.089+02"), 1614834367089LL - 7200000);
    cr_assert_eq(dt("2021-03-04T05:06:07.089-05:30"), 1614834367089LL + 19800000);
    cr_assert_eq(dt("2024-02-29T23:59:59.999"), 1709251199999LL);      /* leap day */
    cr_assert_eq(dt("1969-12-31T23:59:59.000"), -1000);
    cr_assert_eq(dt("2000-02-29T00:00:00.000"), 951782400000LL);       /* 400-year leap */
}

Test(reset_time, datetime_refusals)
{
    int64_t ms = 7;
    const char *bad[] = {
        "", "2021-03-04", "2021-03-04T05:06:07", "2021-03-04T05:06:07.08",
        "2021-03-04 05:06:07.089", "2021-3-04T05:06:07.089", "21-03-04T05:06:07.089",
        "2021-03-04T05:06:07.089Q", "2021-03-04T05:06:07.089+2", "2021-03-04T05:06:07.089Zjunk",
        "2021-03-04T05:06:07.0891", "abcd-03-04T05:06:07.089",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(reset_parse_datetime(bad[i], &ms), -EINVAL, "'%s'", bad[i]);
    const char *range[] = {
        "2021-13-01T00:00:00.000", "2021-00-01T00:00:00.000", "2021-02-29T00:00:00.000",
        "1900-02-29T00:00:00.000", "2021-04-31T00:00:00.000", "2021-01-01T24:00:00.000",
        "2021-01-01T00:60:00.000", "2021-01-01T00:00:60.000", "2021-01-01T00:00:00.000+24:00",
    };
    for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++)
        cr_expect_eq(reset_parse_datetime(range[i], &ms), -ERANGE, "'%s'", range[i]);
    cr_assert_eq(ms, 7, "the output is untouched on failure");
}

Test(reset_time, duration_java_forms)
{
    cr_assert_eq(dur("PT0S"), 0);
    cr_assert_eq(dur("P1D"), 86400000);
    cr_assert_eq(dur("PT1H"), 3600000);
    cr_assert_eq(dur("PT15M"), 900000);
    cr_assert_eq(dur("PT10S"), 10000);
    cr_assert_eq(dur("P2DT3H4M5S"), 2 * 86400000LL + 3 * 3600000 + 4 * 60000 + 5000);
    cr_assert_eq(dur("pt1h30m"), 5400000);                 /* letters in either case */
    cr_assert_eq(dur("PT1.5S"), 1500);
    cr_assert_eq(dur("PT1,25S"), 1250);
    cr_assert_eq(dur("PT0.0009S"), 0);                     /* below 1 ms truncates */
    cr_assert_eq(dur("PT-1.5S"), -1500);                   /* the fraction takes the sign */
    cr_assert_eq(dur("-PT6H"), -21600000);
    cr_assert_eq(dur("PT-6H3M"), -6 * 3600000 + 180000);   /* each number its own sign */
    cr_assert_eq(dur("-PT-6H+3M"), 6 * 3600000 - 180000);
    cr_assert_eq(dur("P-1DT1H"), -86400000 + 3600000);
}

Test(reset_time, duration_refusals)
{
    int64_t ms = 7;
    const char *bad[] = {
        "", "P", "PT", "1D", "P1H", "PT1D", "PT1S1M", "PT1H1H", "P1DT", "PT1.S5",
        "PT1.1234567891S", "PT1.5M", "P1W", "P1Y", "PT 1S", "PT1S ", "+-PT1S", "PTS",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(reset_parse_duration(bad[i], &ms), -EINVAL, "'%s'", bad[i]);
    cr_expect_eq(reset_parse_duration("P999999999999999999D", &ms), -ERANGE);
    cr_expect_eq(reset_parse_duration("PT99999999999999999999S", &ms), -ERANGE);
    cr_assert_eq(ms, 7, "the output is untouched on failure");
}
