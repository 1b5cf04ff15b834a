/* The single-broker topic store: cluster id and topic definitions as JSON (jansson) in the
 * first log dir, rewritten atomically on every change. */
#include "topic_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

#include "st_logger.h"

void st_stored_topics_free(st_stored_topic_t *topics, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(topics[i].name);
        for (size_t j = 0; j < topics[i].n_configs; j++) {
            free(topics[i].config_names[j]);
            free(topics[i].config_values[j]);
        }
        free(topics[i].config_names);
        free(topics[i].config_values);
    }
    free(topics);
}


static int parse_topic(const char *path, const char *name, json_t *obj, st_stored_topic_t *ret)
{
    json_t *parts = json_object_get(obj, "partitions");
    if (!json_is_integer(parts) || json_integer_value(parts) < 1 ||
        json_integer_value(parts) > INT32_MAX) {
        ST_ERROR("%s: topic '%s': \"partitions\" must be a positive integer", path, name);
        return -EBADMSG;
    }
    memset(ret, 0, sizeof(*ret));
    ret->name = strdup(name);
    if (!ret->name)
        return -ENOMEM;
    ret->partitions = (int32_t)json_integer_value(parts);
    ret->deleting = json_is_true(json_object_get(obj, "deleting"));
    json_t *configs = json_object_get(obj, "configs");
    if (configs && !json_is_object(configs)) {
        ST_ERROR("%s: topic '%s': \"configs\" must be an object", path, name);
        return -EBADMSG;
    }
    size_t n = configs ? json_object_size(configs) : 0;
    if (n) {
        ret->config_names = calloc(n, sizeof(char *));
        ret->config_values = calloc(n, sizeof(char *));
        if (!ret->config_names || !ret->config_values)
            return -ENOMEM;
        const char *key;
        json_t *value;
        json_object_foreach(configs, key, value) {
            if (!json_is_string(value)) {
                ST_ERROR("%s: topic '%s': config '%s' must be a string", path, name, key);
                return -EBADMSG;
            }
            ret->config_names[ret->n_configs] = strdup(key);
            ret->config_values[ret->n_configs] = strdup(json_string_value(value));
            ret->n_configs++;
            if (!ret->config_names[ret->n_configs - 1] || !ret->config_values[ret->n_configs - 1])
                return -ENOMEM;
        }
    }
    return 0;
}

int st_topic_store_load(const char *dir, char **ret_cluster_id, st_stored_topic_t **ret_topics,
                        size_t *ret_n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_TOPIC_STORE_FILE);
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        *ret_cluster_id = NULL;
        *ret_topics = NULL;
        *ret_n = 0;
        return 0;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        ST_ERROR("%s:%d:%d: cannot parse the topic store: %s", path, jerr.line, jerr.column,
                 jerr.text);
        return -EBADMSG;
    }
    int r = 0;
    char *cluster_id = NULL;
    st_stored_topic_t *topics = NULL;
    size_t n = 0;
    json_t *cid = json_object_get(root, "cluster_id");
    json_t *tobj = json_object_get(root, "topics");
    if (!json_is_object(root) || !json_is_string(cid) || (tobj && !json_is_object(tobj))) {
        ST_ERROR("%s: expected {\"cluster_id\": \"...\", \"topics\": {...}}", path);
        r = -EBADMSG;
        goto out;
    }
    cluster_id = strdup(json_string_value(cid));
    size_t cap = tobj ? json_object_size(tobj) : 0;
    topics = calloc(cap ? cap : 1, sizeof(*topics));
    if (!cluster_id || !topics) {
        r = -ENOMEM;
        goto out;
    }
    if (tobj) {
        const char *name;
        json_t *value;
        json_object_foreach(tobj, name, value) {
            if (!json_is_object(value)) {
                ST_ERROR("%s: topic '%s' must be an object", path, name);
                r = -EBADMSG;
                goto out;
            }
            r = parse_topic(path, name, value, &topics[n]);
            n++;
            if (r < 0)
                goto out;
        }
    }
out:
    json_decref(root);
    if (r < 0) {
        free(cluster_id);
        st_stored_topics_free(topics, n);
        return r;
    }
    *ret_cluster_id = cluster_id;
    *ret_topics = topics;
    *ret_n = n;
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int st_topic_store_save(const char *dir, const char *cluster_id, const st_stored_topic_t *topics,
                        size_t n)
{
    json_t *root = json_object();
    json_t *tobj = json_object();
    if (!root || !tobj) {
        json_decref(root);
        json_decref(tobj);
        return -ENOMEM;
    }
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "cluster_id", json_string(cluster_id));
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_object();
        json_t *cfg = json_object();
        json_object_set_new(t, "partitions", json_integer(topics[i].partitions));
        for (size_t j = 0; j < topics[i].n_configs; j++)
            json_object_set_new(cfg, topics[i].config_names[j],
                                json_string(topics[i].config_values[j]));
        json_object_set_new(t, "configs", cfg);
        if (topics[i].deleting)
            json_object_set_new(t, "deleting", json_true());
        json_object_set_new(tobj, topics[i].name, t);
    }
    json_object_set_new(root, "topics", tobj);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return -ENOMEM;

    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, ST_TOPIC_STORE_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int r = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        r = -errno;
        ST_ERROR("%s: cannot create: %s", tmp, strerror(-r));
        free(text);
        return r;
    }
    r = write_all(fd, text, strlen(text));
    if (r == 0)
        r = write_all(fd, "\n", 1);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    free(text);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        ST_ERROR("%s: cannot write the topic store: %s", path, strerror(-r));
        unlink(tmp);
        return r;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
