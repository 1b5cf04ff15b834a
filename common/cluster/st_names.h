/* Names the whole cluster agrees on: the topic-name rule (Kafka's), used by the broker's
 * CreateTopics, the ZooKeeper topic admin and the tools alike. */
#ifndef ST_NAMES_H
#define ST_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define ST_TOPIC_NAME_MAX 249

/* Kafka's rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..". false with a reason. */
bool st_topic_name_valid(const char *name, char *reason, size_t reason_len);

/* Kafka's collision rule: two names that differ only where one has '.' and the other '_'
 * collide in metric names, so the second is refused. */
bool st_topic_names_collide(const char *a, const char *b);

#endif
