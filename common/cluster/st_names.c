/* Topic-name rules shared by the broker, the ZooKeeper topic admin and the tools. */
#include "st_names.h"

#include <stdio.h>
#include <string.h>

bool st_topic_name_valid(const char *name, char *reason, size_t reason_len)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0) {
        snprintf(reason, reason_len, "Topic name is empty");
        return false;
    }
    if (len > ST_TOPIC_NAME_MAX) {
        snprintf(reason, reason_len, "Topic name is longer than %d characters", ST_TOPIC_NAME_MAX);
        return false;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(reason, reason_len, "Topic name cannot be \".\" or \"..\"");
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(reason, reason_len,
                     "Topic name contains '%c' (0x%02x) at position %zu; legal characters are "
                     "ASCII alphanumerics, '.', '_' and '-'", (c >= 32 && c < 127) ? c : '?',
                     (unsigned char)c, i);
            return false;
        }
    }
    return true;
}

bool st_topic_names_collide(const char *a, const char *b)
{
    if (strlen(a) != strlen(b) || strcmp(a, b) == 0)
        return false;
    for (; *a; a++, b++) {
        if (*a == *b)
            continue;
        if ((*a == '.' || *a == '_') && (*b == '.' || *b == '_'))
            continue;
        return false;
    }
    return true;
}
