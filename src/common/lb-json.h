/* lb-json.h — strict readers for request bodies.
 *
 * The API rejects what it does not understand instead of guessing: unknown
 * members, wrong JSON types, fractional numbers where integers are expected
 * and out-of-range values each raise a distinct LB_ERROR code that names the
 * offending member by its dotted path (e.g. "video.width"). Pure: no I/O. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* Parses @data as one JSON object. LB_ERROR_INVALID_JSON otherwise. */
JsonNode *lb_json_parse_object (const char *data, gsize len, GError **error);

/* Fails with LB_ERROR_UNKNOWN_FIELD on any member not in the NULL-terminated @allowed. */
gboolean lb_json_check_members (JsonObject *obj, const char *prefix, const char *const *allowed,
                                GError **error);

/* Each getter: absent and !required → keeps *out, returns TRUE.
 * absent and required → LB_ERROR_MISSING_FIELD. */
gboolean lb_json_get_string (JsonObject *obj, const char *prefix, const char *member,
                             gboolean required, gsize max_len, char **out, GError **error);
gboolean lb_json_get_uint (JsonObject *obj, const char *prefix, const char *member,
                           gboolean required, guint min, guint max, guint *out, GError **error);
gboolean lb_json_get_bool (JsonObject *obj, const char *prefix, const char *member,
                           gboolean required, gboolean *out, GError **error);
/* A string that must be one of @choices (NULL-terminated); *out = its index. */
gboolean lb_json_get_enum (JsonObject *obj, const char *prefix, const char *member,
                           const char *const *choices, guint *out, GError **error);
/* Returns the member object (borrowed), NULL if absent and optional. */
gboolean lb_json_get_object (JsonObject *obj, const char *prefix, const char *member,
                             gboolean required, JsonObject **out, GError **error);

/* Serializes @node compactly; caller frees. */
char *lb_json_to_string (JsonNode *node);

G_END_DECLS
