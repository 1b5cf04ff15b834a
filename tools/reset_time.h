/* The time arguments of strand-consumer-groups --reset-offsets, parsed as Kafka's
 * ConsumerGroupCommand parses them (pure functions, no I/O; unit-tested in
 * tests/unit/test_reset_time.c):
 *
 *   --to-datetime YYYY-MM-DDTHH:mm:SS.sss[zone]   Kafka's Utils.getDateTime: the pattern
 *        yyyy-MM-dd'T'HH:mm:ss.SSS, then an optional zone: Z, +hh, +hh:mm or +hhmm (or -). Without
 *        a zone the time is UTC (Kafka appends "Z"). Fields are checked strictly (month 1-12, the
 *        day within the month, leap years, hour 0-23, minute and second 0-59), as Kafka's
 *        non-lenient SimpleDateFormat does; each field has exactly the digits the pattern shows.
 *   --by-duration PnDTnHnMnS                      Java's Duration.parse: an optional sign, P,
 *        then nD and/or T followed by at least one of nH, nM, n[.fraction]S (each n may carry a
 *        sign; letters in either case; up to 9 fraction digits, '.' or ','). Kafka resets to
 *        now minus the duration.
 *
 * Both return 0 with the value in ms, or -EINVAL (malformed) / -ERANGE (out of range). */
#ifndef ST_TOOL_RESET_TIME_H
#define ST_TOOL_RESET_TIME_H

#include <stdint.h>

/* Milliseconds since the epoch. */
int reset_parse_datetime(const char *text, int64_t *ret_ms);
/* The duration in milliseconds (fractions below 1 ms truncated toward zero); may be negative. */
int reset_parse_duration(const char *text, int64_t *ret_ms);

#endif
