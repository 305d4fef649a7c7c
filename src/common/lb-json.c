/* lb-json.c — strict JSON member readers (see lb-json.h). */
#define G_LOG_DOMAIN "lobbyd-json"
#include "lb-json.h"
#include "lb-error.h"

#include <string.h>

static char *
member_path (const char *prefix, const char *member)
{
  if (prefix == NULL || *prefix == '\0')
    return g_strdup (member);
  return g_strconcat (prefix, ".", member, NULL);
}

/* json-glib stops after the first value and ignores what follows ("{} {}"
 * parses); find where the top-level value ends and allow only whitespace. */
static gboolean
has_trailing_data (const char *data, gsize len)
{
  gboolean in_string = FALSE, escaped = FALSE, started = FALSE;
  int depth = 0;
  gsize i = 0;

  for (; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        depth++, started = TRUE;
      else if (c == '}' || c == ']')
        depth--;
      if (started && depth == 0)
        break;
    }
  for (i++; i < len; i++)
    if (!g_ascii_isspace (data[i]))
      return TRUE;
  return FALSE;
}

JsonNode *
lb_json_parse_object (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;

  if (data == NULL || len == 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON, "request body is empty");
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON, "request body contains a NUL byte");
      return NULL;
    }
  if (!g_utf8_validate (data, len, NULL))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON, "request body is not UTF-8");
      return NULL;
    }
  /* Checked before parsing: json-glib also leaks the nodes of a second value. */
  if (has_trailing_data (data, len))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON,
                   "request body must be exactly one JSON object (trailing data)");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize)len, &local_error))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON, "malformed JSON: %s",
                   local_error->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON,
                   "request body must be exactly one JSON object");
      return NULL;
    }
  return json_node_ref (root);
}

gboolean
lb_json_check_members (JsonObject *obj, const char *prefix, const char *const *allowed,
                       GError **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (!g_strv_contains (allowed, name))
        {
          g_autofree char *path = member_path (prefix, name);
          g_set_error (error, LB_ERROR, LB_ERROR_UNKNOWN_FIELD, "unknown field '%s'", path);
          return FALSE;
        }
    }
  return TRUE;
}

/* Looks @member up; FALSE with an error only when it is required and absent. */
static gboolean
lookup (JsonObject *obj, const char *prefix, const char *member, gboolean required, JsonNode **out,
        GError **error)
{
  *out = json_object_get_member (obj, member);
  if (*out == NULL && required)
    {
      g_autofree char *path = member_path (prefix, member);
      g_set_error (error, LB_ERROR, LB_ERROR_MISSING_FIELD, "missing required field '%s'", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
wrong_type (const char *prefix, const char *member, const char *expected, GError **error)
{
  g_autofree char *path = member_path (prefix, member);
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "field '%s' must be %s", path, expected);
  return FALSE;
}

gboolean
lb_json_get_string (JsonObject *obj, const char *prefix, const char *member, gboolean required,
                    gsize max_len, char **out, GError **error)
{
  JsonNode *node;

  if (!lookup (obj, prefix, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (prefix, member, "a string", error);

  const char *value = json_node_get_string (node);
  gsize len = strlen (value);
  if (len == 0 || len > max_len)
    {
      g_autofree char *path = member_path (prefix, member);
      g_set_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE,
                   "field '%s' must be 1 to %" G_GSIZE_FORMAT " bytes long", path, max_len);
      return FALSE;
    }
  for (const char *p = value; *p; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        {
          g_autofree char *path = member_path (prefix, member);
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                       "field '%s' must not contain control characters", path);
          return FALSE;
        }
    }
  g_free (*out);
  *out = g_strdup (value);
  return TRUE;
}

gboolean
lb_json_get_uint (JsonObject *obj, const char *prefix, const char *member, gboolean required,
                  guint min, guint max, guint *out, GError **error)
{
  JsonNode *node;

  if (!lookup (obj, prefix, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  /* json-glib reads 30.0 as a double and 30 as an int64: only the latter is an integer. */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return wrong_type (prefix, member, "an integer", error);

  gint64 value = json_node_get_int (node);
  if (value < (gint64)min || value > (gint64)max)
    {
      g_autofree char *path = member_path (prefix, member);
      g_set_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE, "field '%s' must be in [%u, %u]", path,
                   min, max);
      return FALSE;
    }
  *out = (guint)value;
  return TRUE;
}

gboolean
lb_json_get_bool (JsonObject *obj, const char *prefix, const char *member, gboolean required,
                  gboolean *out, GError **error)
{
  JsonNode *node;

  if (!lookup (obj, prefix, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (prefix, member, "true or false", error);
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
lb_json_get_enum (JsonObject *obj, const char *prefix, const char *member,
                  const char *const *choices, guint *out, GError **error)
{
  g_autofree char *value = NULL;

  if (!lb_json_get_string (obj, prefix, member, FALSE, 64, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (choices[i], value))
      {
        *out = i;
        return TRUE;
      }
  g_autofree char *path = member_path (prefix, member);
  g_autofree char *list = g_strjoinv (", ", (char **)choices);
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "field '%s' must be one of: %s", path,
               list);
  return FALSE;
}

gboolean
lb_json_get_object (JsonObject *obj, const char *prefix, const char *member, gboolean required,
                    JsonObject **out, GError **error)
{
  JsonNode *node;

  *out = NULL;
  if (!lookup (obj, prefix, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (prefix, member, "an object", error);
  *out = json_node_get_object (node);
  return TRUE;
}

char *
lb_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}
