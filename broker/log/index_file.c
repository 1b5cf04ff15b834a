/* An mmap'd file of fixed-size index entries: the storage under both the .index and the
 * .timeindex. The active segment's indexes are preallocated (log.index.size.max.bytes) so that
 * appending an entry is a store into the mapping, not a write(2); a closed segment's indexes
 * are trimmed to their valid entries.
 *
 * The preallocation is sparse (ftruncate): 10 MiB per index and segment would otherwise be
 * real disk (or RAM, on tmpfs) for every partition. A sparse page of a MAP_SHARED mapping is
 * only given storage when it is first touched, and when the file system has none left that
 * touch is a SIGBUS, not an error (on tmpfs even a read of a hole allocates). So no byte past
 * `backed` is ever touched through the mapping:
 *   - appends first back the pages they will write with posix_fallocate(3), a page at a time
 *     (st_index_file_back): on a full disk that is -ENOSPC, which the caller reports;
 *   - loading an index after a restart finds its valid entries with pread(2) (a read of a hole
 *     allocates nothing), never through the mapping (offset_index.c, time_index.c);
 *   - everything else (lookups, checks, truncation, msync) reads or writes valid entries only,
 *     which lie below `backed` or were written before (and so have their storage).
 *
 * Invariants: map_len == file length, a whole number of entries; entries <= capacity;
 * backed <= map_len and every byte below `backed` has storage.
 *
 * Locking: the owning log's mutex covers entries, backed and the mapping's contents; idx->lock
 * also covers map/map_len, because a flush msyncs outside the log mutex while a roll may
 * remap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_internal.h"

static int map_file(st_index_file_t *idx, int fd, size_t len)
{
    if (len == 0) {
        idx->map = NULL;
        idx->map_len = 0;
        return 0;
    }
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return -errno;
    idx->map = map;
    idx->map_len = len;
    return 0;
}

int st_index_file_open(st_index_file_t *idx, const char *path, size_t entry_size,
                       int64_t base_offset, bool create)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0) {
        int ret = -errno;
        free(copy);
        return ret;
    }
    struct stat st;
    int ret = fstat(fd, &st) < 0 ? -errno : 0;
    /* backed starts at 0: whatever the file holds gets backed again (a no-op where it has
     * storage) before the first append touches it */
    st_index_file_t tmp = { .path = copy, .fd = fd, .entry_size = entry_size,
                            .base_offset = base_offset, .backed = 0 };
    /* A length that is not whole entries is kept mapped as is: the loader rejects it. */
    if (ret == 0)
        ret = map_file(&tmp, fd, (size_t)st.st_size);
    if (ret < 0) {
        close(fd);
        free(copy);
        return ret;
    }
    *idx = tmp;
    pthread_mutex_init(&idx->lock, NULL);
    return 0;
}

int st_index_file_resize(st_index_file_t *idx, size_t bytes)
{
    bytes -= bytes % idx->entry_size;
    if (bytes < (size_t)idx->entries * idx->entry_size)
        return -EINVAL;
    if (bytes == idx->map_len)
        return 0;
    int fd = idx->fd >= 0 ? idx->fd : open(idx->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = 0;
    pthread_mutex_lock(&idx->lock);
    if (ftruncate(fd, (off_t)bytes) < 0) {
        ret = -errno;
        goto out;
    }
    if (idx->map && bytes > 0) {
        void *map = mremap(idx->map, idx->map_len, bytes, MREMAP_MAYMOVE);
        if (map == MAP_FAILED) {
            ret = -errno;
            goto out;
        }
        idx->map = map;
        idx->map_len = bytes;
        if (idx->backed > bytes)
            idx->backed = bytes;
    } else {
        if (idx->map)
            munmap(idx->map, idx->map_len);
        idx->map = NULL;
        idx->map_len = 0;
        idx->backed = 0;
        ret = map_file(idx, fd, bytes);
    }
    /* No fsync: a length lost in a crash is found by the loader and the index rebuilt. */
out:
    pthread_mutex_unlock(&idx->lock);
    if (fd != idx->fd)
        close(fd);
    return ret;
}

/* Storage is given a page at a time: one posix_fallocate per 512 offset-index entries (about
 * 2 MiB of log at the default log.index.interval.bytes), and never more than the entries
 * about to be written need, so that rewriting entries a file had before (recovery on a full
 * disk) needs no new space. */
#define BACK_CHUNK 4096

int st_index_file_back(st_index_file_t *idx, uint32_t entries)
{
    size_t need = (size_t)entries * idx->entry_size;
    if (need <= idx->backed)
        return 0;
    if (need > idx->map_len)
        return -EINVAL;   /* past the file: the caller checks the capacity first */
    size_t want = (need + BACK_CHUNK - 1) / BACK_CHUNK * BACK_CHUNK;
    if (want > idx->map_len)
        want = idx->map_len;
    int fd = idx->fd >= 0 ? idx->fd : open(idx->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* posix_fallocate returns the error number itself (it does not set errno); it never changes
     * bytes that hold data, and `want` stays within the file, so the length is unchanged. */
    int r = posix_fallocate(fd, (off_t)idx->backed, (off_t)(want - idx->backed));
    if (fd != idx->fd)
        close(fd);
    if (r == EINTR)
        r = EAGAIN;
    if (r != 0)
        return -r;
    idx->backed = want;
    return 0;
}

int st_index_file_read_entry(const st_index_file_t *idx, uint32_t i, uint8_t *buf)
{
    off_t pos = (off_t)i * (off_t)idx->entry_size;
    if ((size_t)pos + idx->entry_size > idx->map_len)
        return -EINVAL;
    int fd = idx->fd >= 0 ? idx->fd : open(idx->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    int ret = 0;
    while (done < idx->entry_size) {
        ssize_t n = pread(fd, buf + done, idx->entry_size - done, pos + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)n;
    }
    if (fd != idx->fd)
        close(fd);
    return ret;
}

void st_index_file_release_fd(st_index_file_t *idx)
{
    if (idx->fd >= 0)
        close(idx->fd);
    idx->fd = -1;
}

int st_index_file_trim(st_index_file_t *idx)
{
    return st_index_file_resize(idx, (size_t)idx->entries * idx->entry_size);
}

void st_index_file_reset(st_index_file_t *idx)
{
    if (idx->map)
        memset(idx->map, 0, (size_t)idx->entries * idx->entry_size);
    idx->entries = 0;
}

int st_index_file_sync(st_index_file_t *idx)
{
    pthread_mutex_lock(&idx->lock);
    size_t len = (size_t)idx->entries * idx->entry_size;
    if (len > idx->map_len)
        len = idx->map_len;
    int ret = idx->map && len > 0 && msync(idx->map, len, MS_SYNC) < 0 ? -errno : 0;
    pthread_mutex_unlock(&idx->lock);
    return ret;
}

int st_index_file_rename(st_index_file_t *idx, const char *new_path)
{
    char *copy = strdup(new_path);
    if (!copy)
        return -ENOMEM;
    if (rename(idx->path, new_path) < 0) {
        int ret = -errno;
        free(copy);
        return ret;
    }
    free(idx->path);
    idx->path = copy;
    return 0;
}

void st_index_file_close(st_index_file_t *idx)
{
    if (!idx->path)
        return;   /* never opened */
    st_index_file_release_fd(idx);
    if (idx->map)
        munmap(idx->map, idx->map_len);
    pthread_mutex_destroy(&idx->lock);
    free(idx->path);
    memset(idx, 0, sizeof(*idx));
    idx->fd = -1;
}
