/* strand-dump-log: prints the contents of log segment files, like Kafka's DumpLogSegments.
 *
 *   strand-dump-log --files 00000000000000000000.log[,more...] [--print-data-log]
 *                   [--verify-index-only] [--deep-iteration]
 *
 * .log: one line per batch (baseOffset, lastOffset, count, position, CreateTime, size, magic,
 * compresscodec, crc, isvalid, ...) in Kafka's textual style; with --print-data-log (or
 * --deep-iteration, without the data) every record is read too. .index / .timeindex: their
 * entries; each entry is also checked against the segment's .log when it is there (an index
 * entry must point at a batch boundary whose last offset is the entry's offset; a time-index
 * entry at the batch with that last offset and that max timestamp). --verify-index-only prints
 * only the problems. A corrupt file prints the byte position and the reason and the exit code
 * is 1; as in Kafka, a batch that fails its CRC check is printed with "isvalid: false" and the
 * dump goes on with the next batch (its length field still says where that is). A file that
 * is missing is named as missing, and every file given is still tried. --offsets-decoder prints
 * __consumer_offsets records as Kafka's OffsetsMessageParser does ("key:
 * offset_commit::group=g,partition=t-0 payload: offset=5"). Flags go through the tools' one
 * parser (tool_common.c): a usage error is one line and exit 1. Depends on libstrand (common/),
 * the tools' common code and the group record codec (broker/group/group_codec.c, standalone);
 * the index formats are read directly. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "group_codec.h"
#include "st_batch.h"
#include "st_buf.h"
#include "tool_common.h"

static bool print_data, verify_only, deep;
static bool offsets_decoder;          /* --offsets-decoder: __consumer_offsets records */

typedef struct mapped {
    const uint8_t *data;
    size_t len;
} mapped_t;

static int map_file(const char *path, mapped_t *m)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int ret = -errno;
        close(fd);
        return ret;
    }
    m->len = (size_t)st.st_size;
    m->data = NULL;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int ret = -errno;
            close(fd);
            return ret;
        }
        m->data = p;
    }
    close(fd);
    return 0;
}

static void unmap_file(mapped_t *m)
{
    if (m->data)
        munmap((void *)m->data, m->len);
}

/* Which kind of file, from the name: ".log", ".index", ".timeindex" (any suffix after, such as
 * ".deleted", is allowed). The base offset comes from the 20 digits that start the name. */
typedef enum { KIND_UNKNOWN, KIND_LOG, KIND_INDEX, KIND_TIMEINDEX } kind_t;

static kind_t file_kind(const char *path, int64_t *ret_base)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    *ret_base = 0;
    size_t digits = strspn(name, "0123456789");
    if (digits == 20)
        *ret_base = strtoll(name, NULL, 10);
    const char *ext = name + digits;
    if (strncmp(ext, ".log", 4) == 0)
        return KIND_LOG;
    if (strncmp(ext, ".index", 6) == 0)
        return KIND_INDEX;
    if (strncmp(ext, ".timeindex", 10) == 0)
        return KIND_TIMEINDEX;
    return KIND_UNKNOWN;
}

static void print_bytes(const char *label, const uint8_t *p, int32_t len)
{
    printf(" %s: ", label);
    if (!p) {
        printf("null");
        return;
    }
    for (int32_t i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
}

static int print_records(st_batch_reader_t *r, const st_batch_header_t *hdr, size_t file_pos)
{
    st_record_t rec;
    int ret;
    bool log_append = hdr->attributes & ST_BATCH_ATTR_LOG_APPEND_TIME;
    while ((ret = st_batch_reader_next_record(r, &rec)) == 1) {
        if (!print_data)
            continue;
        int64_t seq = hdr->base_sequence >= 0 ? hdr->base_sequence + (rec.offset - hdr->base_offset) : -1;
        printf("| offset: %" PRId64 " %s: %" PRId64 " keySize: %" PRId32 " valueSize: %" PRId32
               " sequence: %" PRId64 " headerKeys: [", rec.offset,
               log_append ? "LogAppendTime" : "CreateTime", rec.timestamp, rec.key_len,
               rec.value_len, seq);
        size_t hpos = 0;
        st_record_header_t h;
        int hret;
        bool first = true;
        while ((hret = st_record_header_next(&rec, &hpos, &h)) == 1) {
            printf("%s%.*s", first ? "" : ",", (int)h.key_len, h.key);
            first = false;
        }
        printf("]");
        if (hret < 0) {
            printf("\n");
            fprintf(stderr, "corrupt record headers at offset %" PRId64 " (batch at position %zu)\n",
                    rec.offset, file_pos);
            return -EBADMSG;
        }
        if (offsets_decoder) {
            /* Kafka's OffsetsMessageParser text; an undecodable record says why. */
            char text[4096];
            st_offsets_format_record(rec.key, rec.key_len, rec.value, rec.value_len, text,
                                     sizeof(text));
            printf(" %s\n", text);
            continue;
        }
        if (rec.key)
            print_bytes("key", rec.key, rec.key_len);
        print_bytes("payload", rec.value, rec.value_len);
        printf("\n");
    }
    if (ret < 0) {
        const st_batch_error_t *err = st_batch_reader_error(r);
        printf("Corrupt record in the batch at position %zu: %s\n", file_pos, err->reason);
        fprintf(stderr, "corrupt record in the batch at position %zu: %s\n", file_pos,
                err->reason);
    }
    return ret;
}

static int dump_log(const char *path, int64_t base)
{
    mapped_t m;
    int ret = map_file(path, &m);
    if (ret < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(-ret));
        return 1;
    }
    printf("Dumping %s\n", path);
    printf("Log starting offset: %" PRId64 "\n", base);
    int status = 0;
    size_t pos = 0;
    int64_t next = base;
    while (pos < m.len) {
        st_batch_header_t hdr;
        st_batch_error_t err;
        int v = st_batch_validate(m.data + pos, m.len - pos, &hdr, &err);
        if (v == -EAGAIN) {
            printf("Found %zu invalid bytes at the end of %s\n", m.len - pos, path);
            fprintf(stderr, "%s: corrupt at position %zu: torn batch (%s)\n", path, pos,
                    err.reason);
            status = 1;
            break;
        }
        bool crc_bad = v == -EBADMSG && strstr(err.reason, "CRC") != NULL;
        if (v < 0 && !crc_bad) {
            printf("Corrupt batch at position %zu: %s\n", pos, err.reason);
            fprintf(stderr, "%s: corrupt at position %zu: %s\n", path, pos + err.offset,
                    err.reason);
            status = 1;
            break;
        }
        if (crc_bad)
            st_batch_header_decode(m.data + pos, m.len - pos, &hdr);
        int64_t last = st_batch_last_offset(&hdr);
        int64_t last_seq = hdr.base_sequence >= 0 ? hdr.base_sequence + hdr.last_offset_delta : -1;
        printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %" PRId32
               " baseSequence: %" PRId32 " lastSequence: %" PRId64 " producerId: %" PRId64
               " producerEpoch: %d partitionLeaderEpoch: %" PRId32 " isTransactional: %s"
               " isControl: %s position: %zu %s: %" PRId64 " size: %zu magic: %d"
               " compresscodec: %s crc: %" PRIu32 " isvalid: %s\n",
               hdr.base_offset, last, hdr.record_count, hdr.base_sequence, last_seq,
               hdr.producer_id, hdr.producer_epoch, hdr.partition_leader_epoch,
               hdr.attributes & ST_BATCH_ATTR_TRANSACTIONAL ? "true" : "false",
               hdr.attributes & ST_BATCH_ATTR_CONTROL ? "true" : "false", pos,
               hdr.attributes & ST_BATCH_ATTR_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime",
               hdr.max_timestamp, st_batch_total_size(&hdr), hdr.magic,
               st_compression_name(st_batch_codec(&hdr)), hdr.crc, crc_bad ? "false" : "true");
        if (crc_bad) {
            /* Kafka's DumpLogSegments prints the batch (isvalid: false) and goes on: the
             * length field is outside the CRC, and validation checked it fits the file. */
            fprintf(stderr, "%s: corrupt at position %zu: %s\n", path, pos, err.reason);
            status = 1;
            pos += st_batch_total_size(&hdr);
            if (last + 1 > next)
                next = last + 1;
            continue;
        }
        if (hdr.base_offset < next) {
            printf("Batch at position %zu has offset %" PRId64 ", not above the previous batch "
                   "(expected >= %" PRId64 ")\n", pos, hdr.base_offset, next);
            fprintf(stderr, "%s: corrupt at position %zu: offsets out of order\n", path, pos);
            status = 1;
        }
        next = last + 1;
        if (print_data || deep) {
            st_batch_reader_t r;
            st_batch_reader_init(&r, m.data + pos, st_batch_total_size(&hdr));
            int b = st_batch_reader_next_batch(&r, NULL);
            int rr = b == 1 ? print_records(&r, &hdr, pos) : -EBADMSG;
            if (b < 0) {
                printf("Corrupt batch at position %zu: %s\n", pos, st_batch_reader_error(&r)->reason);
                fprintf(stderr, "%s: corrupt at position %zu: %s\n", path, pos,
                        st_batch_reader_error(&r)->reason);
            }
            st_batch_reader_destroy(&r);
            if (rr < 0) {
                status = 1;
                break;
            }
        }
        pos += st_batch_total_size(&hdr);
    }
    unmap_file(&m);
    return status;
}

/* The batches of a .log as (position, last offset, max timestamp), for index checks. */
typedef struct batch_ref {
    size_t pos;
    int64_t last;
    int64_t max_ts;
} batch_ref_t;

static int load_batches(const char *log_path, batch_ref_t **ret, size_t *ret_n)
{
    mapped_t m;
    int ret_code = map_file(log_path, &m);
    if (ret_code < 0)
        return ret_code;
    size_t n = 0, cap = 64;
    batch_ref_t *v = malloc(cap * sizeof(*v));
    size_t pos = 0;
    while (v && pos + ST_BATCH_HEADER_SIZE <= m.len) {
        st_batch_header_t hdr;
        st_batch_header_decode(m.data + pos, m.len - pos, &hdr);
        if (hdr.batch_length < ST_BATCH_HEADER_SIZE - ST_BATCH_LOG_OVERHEAD ||
            st_batch_total_size(&hdr) > m.len - pos)
            break;
        if (n == cap) {
            cap *= 2;
            batch_ref_t *nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = (batch_ref_t){ pos, st_batch_last_offset(&hdr), hdr.max_timestamp };
        pos += st_batch_total_size(&hdr);
    }
    unmap_file(&m);
    *ret = v;
    *ret_n = n;
    return v ? 0 : -ENOMEM;
}

static char *sibling_log(const char *path)
{
    const char *ext = strstr(path, ".timeindex");
    if (!ext)
        ext = strstr(path, ".index");
    char *log;
    if (!ext || asprintf(&log, "%.*s.log", (int)(ext - path), path) < 0)
        return NULL;
    return log;
}

static int dump_index(const char *path, int64_t base, bool time_index)
{
    size_t esize = time_index ? 12 : 8;
    mapped_t m;
    int ret = map_file(path, &m);
    if (ret < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(-ret));
        return 1;
    }
    if (!verify_only)
        printf("Dumping %s\n", path);
    int status = 0;
    if (m.len % esize != 0) {
        printf("%s: length %zu is not a whole number of %zu-byte entries\n", path, m.len, esize);
        fprintf(stderr, "%s: corrupt at position %zu: partial entry\n", path, m.len - m.len % esize);
        status = 1;
    }
    char *log_path = sibling_log(path);
    batch_ref_t *batches = NULL;
    size_t nb = 0;
    bool have_log = log_path && access(log_path, R_OK) == 0 &&
                    load_batches(log_path, &batches, &nb) == 0;
    if (!have_log && verify_only) {
        fprintf(stderr, "%s: no %s to verify against\n", path, log_path ? log_path : ".log");
        status = 1;
    }
    size_t n = m.len / esize, empty = 0;
    int64_t prev_off = -1, prev_ts = -1;
    size_t prev_pos = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = m.data + i * esize;
        int64_t off, ts = 0;
        size_t epos = 0;
        if (time_index) {
            ts = (int64_t)st_be64(e);
            off = base + st_be32(e + 8);
            if (ts == 0 && st_be32(e + 8) == 0) {
                empty = n - i;   /* a preallocated tail */
                break;
            }
        } else {
            off = base + st_be32(e);
            epos = st_be32(e + 4);
            if (epos == 0) {
                empty = n - i;
                break;
            }
        }
        if (!verify_only) {
            if (time_index)
                printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", ts, off);
            else
                printf("offset: %" PRId64 " position: %zu\n", off, epos);
        }
        const char *problem = NULL;
        if (time_index ? (ts <= prev_ts || off < prev_off) : (off <= prev_off || epos <= prev_pos))
            problem = "not above the previous entry";
        else if (have_log) {
            size_t lo = 0, hi = nb;   /* the batch whose last offset is off */
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (batches[mid].last < off)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == nb || batches[lo].last != off)
                problem = "no batch in the .log ends at this offset";
            else if (!time_index && batches[lo].pos != epos)
                problem = "the position is not the start of the batch with this offset";
            else if (time_index && batches[lo].max_ts != ts)
                problem = "the batch with this offset has another max timestamp";
        }
        if (problem) {
            if (time_index)
                printf("Mismatch in %s: entry %zu (timestamp %" PRId64 ", offset %" PRId64 "): %s\n",
                       path, i, ts, off, problem);
            else
                printf("Mismatch in %s: entry %zu (offset %" PRId64 ", position %zu): %s\n", path,
                       i, off, epos, problem);
            fprintf(stderr, "%s: corrupt at position %zu: %s\n", path, i * esize, problem);
            status = 1;
        }
        prev_off = off;
        prev_ts = ts;
        prev_pos = epos;
    }
    if (empty && !verify_only)
        printf("(%zu preallocated empty entries)\n", empty);
    if (verify_only && status == 0)
        printf("%s: %zu entries verified against %s\n", path, n - empty, log_path);
    free(batches);
    free(log_path);
    unmap_file(&m);
    return status;
}

/* --verify-index-only given a .log: checks its .index and .timeindex. */
static int verify_log_indexes(const char *log_path, int64_t base)
{
    const char *ext = strstr(log_path, ".log");
    int status = 0;
    for (int i = 0; i < 2; i++) {
        char *path;
        if (asprintf(&path, "%.*s%s", (int)(ext - log_path), log_path,
                     i == 0 ? ".index" : ".timeindex") < 0)
            return 1;
        int r = access(path, R_OK) == 0 ? dump_index(path, base, i == 1) : 0;
        if (r > status)
            status = r;
        free(path);
    }
    return status;
}

static tool_opt_t opts[] = {
    { "--files", TOOL_VALUE, "<String: file1, file2, ...>",
      "REQUIRED: The comma separated list of data and index log files to be dumped.",
      false, NULL, NULL, 0 },
    { "--print-data-log", TOOL_FLAG, NULL,
      "If set, printing the messages content when dumping data logs.", false, NULL, NULL, 0 },
    { "--deep-iteration", TOOL_FLAG, NULL,
      "If set, uses deep instead of shallow iteration (reads every record).", false, NULL, NULL, 0 },
    { "--verify-index-only", TOOL_FLAG, NULL,
      "If set, just verify the index log without printing its content.", false, NULL, NULL, 0 },
    { "--offsets-decoder", TOOL_FLAG, NULL,
      "If set, log data will be parsed as offset data from the __consumer_offsets topic "
      "(implies --print-data-log).", false, NULL, NULL, 0 },
    TOOL_OPT_END
};

/* One file: 0, or 1 when it is missing, unreadable, of an unknown kind or corrupt (said on
 * stderr / stdout as it goes). */
static int dump_file(const char *f)
{
    struct stat st;
    if (stat(f, &st) != 0) {
        if (errno == ENOENT)
            tool_warn("%s: no such file", f);
        else
            tool_warn("%s: cannot read: %s", f, strerror(errno));
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        tool_warn("%s: not a regular file", f);
        return 1;
    }
    int64_t base;
    switch (file_kind(f, &base)) {
    case KIND_LOG:
        return verify_only ? verify_log_indexes(f, base) : dump_log(f, base);
    case KIND_INDEX:
        return dump_index(f, base, false);
    case KIND_TIMEINDEX:
        return dump_index(f, base, true);
    default:
        tool_warn("Ignoring unknown file %s (not a .log, .index or .timeindex file)", f);
        return 1;
    }
}

int main(int argc, char **argv)
{
    tool_init(argv[0], "Parse log segment files (.log, .index, .timeindex) and dump their "
                       "contents in the style of Kafka's DumpLogSegments. Exit status 1 when a "
                       "file is missing, of an unknown kind or corrupt (the position and the "
                       "reason are printed).");
    tool_no_client_config();
    tool_parse(opts, argc, argv);
    const char *files = tool_require(opts, "--files");
    print_data = tool_opt(opts, "--print-data-log")->given;
    verify_only = tool_opt(opts, "--verify-index-only")->given;
    deep = tool_opt(opts, "--deep-iteration")->given;
    offsets_decoder = tool_opt(opts, "--offsets-decoder")->given;
    if (offsets_decoder)
        print_data = true;
    int status = 0;
    char *list = strdup(files), *save = NULL;
    if (!list)
        tool_die("out of memory");
    size_t n = 0;
    for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        while (*f == ' ')
            f++;
        if (!*f)
            continue;
        n++;
        fflush(stdout);
        if (dump_file(f))
            status = 1;
    }
    free(list);
    if (!n)
        tool_usage_die("--files: no file names given");
    fflush(stdout);
    return status;
}
