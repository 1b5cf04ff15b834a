/* Kafka's checkpoint file formats (offset checkpoints, leader-epoch-checkpoint) and
 * meta.properties, written atomically. See st_checkpoint.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st_buf.h"
#include "st_checkpoint.h"
#include "st_logger.h"

int st_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int st_file_write_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    char *dircopy = strdup(path);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return -ENOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    int ret = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    ret = write_all(fd, data, len);
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    close(fd);
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0)
        unlink(tmp);
    else
        ret = st_fsync_dir(dirname(dircopy));
out:
    free(tmp);
    free(dircopy);
    return ret;
}

/* Reads a whole (small) file into a NUL-terminated malloc'd buffer. */
static int read_file(const char *path, char **ret_text)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    st_buf_t buf = ST_BUF_INIT;
    int ret = 0;
    for (;;) {
        if ((ret = st_buf_reserve(&buf, 4096 + 1)) < 0)
            break;
        ssize_t n = read(fd, buf.data + buf.len, 4096);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            break;
        }
        if (n == 0)
            break;
        buf.len += (size_t)n;
    }
    close(fd);
    if (ret < 0) {
        st_buf_free(&buf);
        return ret;
    }
    if (!buf.data && (ret = st_buf_reserve(&buf, 1)) < 0)
        return ret;
    buf.data[buf.len] = '\0';
    *ret_text = (char *)buf.data;
    return 0;
}

/* Splits text into lines in place; returns the next line or NULL. */
static char *next_line(char **cursor)
{
    char *s = *cursor;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '\r')
        s[n - 1] = '\0';
    return s;
}

static int parse_i64(const char *s, int64_t *ret)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Parses the "0\n<count>\n" preamble; lines are then handed back one at a time. */
static int parse_preamble(const char *path, char **cursor, int64_t *ret_count)
{
    char *line = next_line(cursor);
    int64_t v;
    if (!line || parse_i64(line, &v) < 0 || v != 0) {
        ST_WARN("%s:1: expected version line \"0\", found \"%s\"", path, line ? line : "");
        return -EBADMSG;
    }
    line = next_line(cursor);
    if (!line || parse_i64(line, &v) < 0 || v < 0 || v > 100000000) {
        ST_WARN("%s:2: expected an entry count, found \"%s\"", path, line ? line : "");
        return -EBADMSG;
    }
    *ret_count = v;
    return 0;
}

int st_offset_checkpoint_write(const char *path, const st_offset_checkpoint_entry_t *entries,
                               size_t n)
{
    st_buf_t buf = ST_BUF_INIT;
    char line[512];
    int len = snprintf(line, sizeof(line), "0\n%zu\n", n);
    int ret = st_buf_append(&buf, line, (size_t)len);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        if ((ret = st_buf_append(&buf, entries[i].topic, strlen(entries[i].topic))) < 0)
            break;
        len = snprintf(line, sizeof(line), " %" PRId32 " %" PRId64 "\n", entries[i].partition,
                       entries[i].offset);
        ret = st_buf_append(&buf, line, (size_t)len);
    }
    if (ret == 0)
        ret = st_file_write_atomic(path, buf.data, buf.len);
    st_buf_free(&buf);
    return ret;
}

void st_offset_checkpoint_free(st_offset_checkpoint_entry_t *entries, size_t n)
{
    for (size_t i = 0; entries && i < n; i++)
        free(entries[i].topic);
    free(entries);
}

int st_offset_checkpoint_read(const char *path, st_offset_checkpoint_entry_t **ret_entries,
                              size_t *ret_n)
{
    char *text;
    int ret = read_file(path, &text);
    if (ret < 0)
        return ret;
    char *cursor = text;
    int64_t count;
    st_offset_checkpoint_entry_t *entries = NULL;
    size_t n = 0;
    if ((ret = parse_preamble(path, &cursor, &count)) < 0)
        goto out;
    entries = calloc((size_t)count + 1, sizeof(*entries));
    if (!entries) {
        ret = -ENOMEM;
        goto out;
    }
    for (int64_t i = 0; i < count; i++) {
        char *line = next_line(&cursor);
        char *sp2 = line ? strrchr(line, ' ') : NULL;
        char *sp1 = NULL;
        if (sp2) {
            *sp2 = '\0';
            sp1 = strrchr(line, ' ');
        }
        int64_t part, off;
        if (!sp1 || sp1 == line || parse_i64(sp1 + 1, &part) < 0 || part < 0 ||
            part > INT32_MAX || parse_i64(sp2 + 1, &off) < 0) {
            ST_WARN("%s:%" PRId64 ": expected \"<topic> <partition> <offset>\"", path, i + 3);
            ret = -EBADMSG;
            goto out;
        }
        *sp1 = '\0';
        if (!(entries[n].topic = strdup(line))) {
            ret = -ENOMEM;
            goto out;
        }
        entries[n].partition = (int32_t)part;
        entries[n].offset = off;
        n++;
    }
    char *extra = next_line(&cursor);
    if (extra && *extra) {
        ST_WARN("%s: more lines than the count %" PRId64 " says", path, count);
        ret = -EBADMSG;
        goto out;
    }
    *ret_entries = entries;
    *ret_n = n;
    entries = NULL;
out:
    st_offset_checkpoint_free(entries, n);
    free(text);
    return ret;
}

int st_epoch_checkpoint_write(const char *path, const st_epoch_entry_t *entries, size_t n)
{
    st_buf_t buf = ST_BUF_INIT;
    char line[64];
    int len = snprintf(line, sizeof(line), "0\n%zu\n", n);
    int ret = st_buf_append(&buf, line, (size_t)len);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        len = snprintf(line, sizeof(line), "%" PRId32 " %" PRId64 "\n", entries[i].epoch,
                       entries[i].start_offset);
        ret = st_buf_append(&buf, line, (size_t)len);
    }
    if (ret == 0)
        ret = st_file_write_atomic(path, buf.data, buf.len);
    st_buf_free(&buf);
    return ret;
}

int st_epoch_checkpoint_read(const char *path, st_epoch_entry_t **ret_entries, size_t *ret_n)
{
    char *text;
    int ret = read_file(path, &text);
    if (ret < 0)
        return ret;
    char *cursor = text;
    int64_t count;
    st_epoch_entry_t *entries = NULL;
    if ((ret = parse_preamble(path, &cursor, &count)) < 0)
        goto out;
    entries = calloc((size_t)count + 1, sizeof(*entries));
    if (!entries) {
        ret = -ENOMEM;
        goto out;
    }
    for (int64_t i = 0; i < count; i++) {
        char *line = next_line(&cursor);
        char *sp = line ? strchr(line, ' ') : NULL;
        int64_t epoch, off;
        if (sp)
            *sp = '\0';
        if (!sp || parse_i64(line, &epoch) < 0 || epoch < 0 || epoch > INT32_MAX ||
            parse_i64(sp + 1, &off) < 0 || off < 0 ||
            (i > 0 && (epoch <= entries[i - 1].epoch || off < entries[i - 1].start_offset))) {
            ST_WARN("%s:%" PRId64 ": expected \"<epoch> <start offset>\" above the previous line",
                    path, i + 3);
            ret = -EBADMSG;
            goto out;
        }
        entries[i].epoch = (int32_t)epoch;
        entries[i].start_offset = off;
    }
    *ret_entries = entries;
    *ret_n = (size_t)count;
    entries = NULL;
out:
    free(entries);
    free(text);
    return ret;
}

int st_meta_properties_write(const char *path, int32_t broker_id, const char *cluster_id)
{
    char text[512];
    int len = snprintf(text, sizeof(text), "#\n#Written by Strand\n%s%s%sversion=0\nbroker.id=%" PRId32 "\n",
                       cluster_id ? "cluster.id=" : "", cluster_id ? cluster_id : "",
                       cluster_id ? "\n" : "", broker_id);
    if (len < 0 || (size_t)len >= sizeof(text))
        return -ENAMETOOLONG;
    return st_file_write_atomic(path, text, (size_t)len);
}

int st_meta_properties_read(const char *path, int32_t *ret_broker_id, char **ret_cluster_id)
{
    char *text;
    int ret = read_file(path, &text);
    if (ret < 0)
        return ret;
    char *cursor = text, *line, *cluster = NULL;
    int64_t broker_id = -1;
    bool have_id = false;
    int lineno = 0;
    while ((line = next_line(&cursor))) {
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#' || *line == '!')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            ST_WARN("%s:%d: expected key=value", path, lineno);
            ret = -EBADMSG;
            goto out;
        }
        *eq = '\0';
        const char *val = eq + 1;
        if (strcmp(line, "broker.id") == 0) {
            if (parse_i64(val, &broker_id) < 0 || broker_id < 0 || broker_id > INT32_MAX) {
                ST_WARN("%s:%d: bad broker.id \"%s\"", path, lineno, val);
                ret = -EBADMSG;
                goto out;
            }
            have_id = true;
        } else if (strcmp(line, "cluster.id") == 0) {
            free(cluster);
            if (!(cluster = strdup(val))) {
                ret = -ENOMEM;
                goto out;
            }
        } else if (strcmp(line, "version") == 0 && strcmp(val, "0") != 0) {
            ST_WARN("%s:%d: unsupported version \"%s\" (expected 0)", path, lineno, val);
            ret = -EBADMSG;
            goto out;
        }
    }
    if (!have_id) {
        ST_WARN("%s: no broker.id", path);
        ret = -EBADMSG;
        goto out;
    }
    *ret_broker_id = (int32_t)broker_id;
    if (ret_cluster_id) {
        *ret_cluster_id = cluster;
        cluster = NULL;
    }
out:
    free(cluster);
    free(text);
    return ret;
}
