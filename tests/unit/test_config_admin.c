/* Unit tests of the in-memory side of entity configuration (controller/st_config_admin.c):
 * Kafka's incremental operations on a set of overrides (SET, DELETE, APPEND and SUBTRACT on list
 * keys only, null SET refused) and the entity-name rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "st_config_admin.h"
#include "st_error.h"

static char msg[512];

Test(config_admin, incremental_operations)
{
    st_topic_overrides_t o = { 0 };
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", ST_CONFIG_OP_SET, "1000", false, msg,
                                       sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", ST_CONFIG_OP_SET, "2000", false, msg,
                                       sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(o.n, 1);
    cr_assert_str_eq(st_topic_overrides_get(&o, "retention.ms"), "2000");
    cr_assert_eq(st_config_admin_apply(&o, "cleanup.policy", ST_CONFIG_OP_APPEND, "compact", true,
                                       msg, sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(st_config_admin_apply(&o, "cleanup.policy", ST_CONFIG_OP_APPEND,
                                       "delete,compact", true, msg, sizeof(msg)), ST_ERR_NONE);
    cr_assert_str_eq(st_topic_overrides_get(&o, "cleanup.policy"), "compact,delete");
    cr_assert_eq(st_config_admin_apply(&o, "cleanup.policy", ST_CONFIG_OP_SUBTRACT, "compact",
                                       true, msg, sizeof(msg)), ST_ERR_NONE);
    cr_assert_str_eq(st_topic_overrides_get(&o, "cleanup.policy"), "delete");
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", ST_CONFIG_OP_APPEND, "5", false, msg,
                                       sizeof(msg)), ST_ERR_INVALID_REQUEST);
    cr_assert_str_eq(msg, "Config value append is not allowed for config key: retention.ms");
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", ST_CONFIG_OP_SET, NULL, false, msg,
                                       sizeof(msg)), ST_ERR_INVALID_REQUEST);
    cr_assert_str_eq(msg, "Null value not supported for : SET:retention.ms");
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", (st_config_op_t)7, "1", false, msg,
                                       sizeof(msg)), ST_ERR_INVALID_REQUEST);
    cr_assert_eq(st_config_admin_apply(&o, "retention.ms", ST_CONFIG_OP_DELETE, NULL, false, msg,
                                       sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(st_config_admin_apply(&o, "not.set", ST_CONFIG_OP_DELETE, NULL, false, msg,
                                       sizeof(msg)), ST_ERR_NONE, "deleting what is not set");
    cr_assert_eq(o.n, 1);
    cr_assert_null(st_topic_overrides_get(&o, "retention.ms"));
    st_topic_overrides_free(&o);
}

Test(config_admin, entity_names)
{
    cr_assert_eq(st_config_admin_check_entity("topics", "orders", msg, sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(st_config_admin_check_entity("topics", "a b", msg, sizeof(msg)),
                 ST_ERR_INVALID_TOPIC_EXCEPTION);
    cr_assert_eq(st_config_admin_check_entity("brokers", "12", msg, sizeof(msg)), ST_ERR_NONE);
    cr_assert_eq(st_config_admin_check_entity("brokers", "<default>", msg, sizeof(msg)),
                 ST_ERR_NONE);
    cr_assert_eq(st_config_admin_check_entity("brokers", "one", msg, sizeof(msg)),
                 ST_ERR_INVALID_REQUEST);
    cr_assert(strstr(msg, "one"), "%s", msg);
    cr_assert_eq(st_config_admin_check_entity("users", "x", msg, sizeof(msg)),
                 ST_ERR_INVALID_REQUEST);
}
