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

/* json-glib's parser is built on GScanner and is lenient where that is
 * dangerous: "\u0000" ends a string early (two tenants' keys become one),
 * 0320 is read as octal, 0x1E0 as hex, duplicate keys silently keep the
 * last value, and comments, single quotes and trailing data pass. So every
 * body is first checked against RFC 8259's grammar here, and json-glib only
 * ever sees text on which every reader agrees. */

/* Far deeper than any request body of the API; keeps the recursion bounded. */
#define MAX_DEPTH 64

typedef struct
{
  const char *start, *p, *end;
  guint depth;
  GError **error;
} Strict;

static gboolean G_GNUC_PRINTF (2, 3) strict_fail (Strict *s, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (s->error, LB_ERROR, LB_ERROR_INVALID_JSON, "malformed JSON at byte %td: %s",
               s->p - s->start, what);
  return FALSE;
}

static void
skip_ws (Strict *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  return v;
}

/* A string (s->p at the opening quote). Appends the decoded text to @out if
 * not NULL (object keys, to find duplicates however they are spelled). The
 * body is already known to be UTF-8 without NUL bytes. */
static gboolean
strict_string (Strict *s, GString *out)
{
  s->p++;
  for (;;)
    {
      if (s->p >= s->end)
        return strict_fail (s, "unterminated string");
      guchar c = (guchar)*s->p;
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c < 0x20)
        return strict_fail (s, "control character in a string (must be escaped)");
      if (c != '\\')
        {
          if (out != NULL)
            g_string_append_c (out, (char)c);
          s->p++;
          continue;
        }
      if (s->end - s->p < 2)
        return strict_fail (s, "unterminated escape");
      char e = s->p[1];
      const char *simple = strchr ("\"\\/bfnrt", e);
      if (e != '\0' && simple != NULL)
        {
          if (out != NULL)
            g_string_append_c (out, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
          s->p += 2;
          continue;
        }
      if (e != 'u')
        return strict_fail (s, "invalid escape '\\%c'", g_ascii_isprint (e) ? e : '?');
      int u = s->end - s->p >= 6 ? hex4 (s->p + 2) : -1;
      if (u < 0)
        return strict_fail (s, "\\u must be followed by four hex digits");
      s->p += 6;
      if (u == 0)
        return strict_fail (s, "\\u0000 is not allowed in strings");
      if (u >= 0xDC00 && u <= 0xDFFF)
        return strict_fail (s, "unpaired UTF-16 low surrogate");
      if (u >= 0xD800 && u <= 0xDBFF)
        {
          int lo = s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u' ? hex4 (s->p + 2) : -1;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return strict_fail (s, "unpaired UTF-16 high surrogate");
          s->p += 6;
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
      if (out != NULL)
        g_string_append_unichar (out, (gunichar)u);
    }
}

/* number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static gboolean
strict_number (Strict *s)
{
  const char *start = s->p;
  gboolean integer = TRUE;

  if (s->p < s->end && *s->p == '-')
    s->p++;
  if (s->p >= s->end || !g_ascii_isdigit (*s->p))
    return strict_fail (s, "invalid number");
  if (*s->p == '0')
    {
      s->p++;
      if (s->p < s->end && (g_ascii_isdigit (*s->p) || *s->p == 'x' || *s->p == 'X'))
        return strict_fail (s, "numbers must not have leading zeros or be hexadecimal");
    }
  else
    while (s->p < s->end && g_ascii_isdigit (*s->p))
      s->p++;
  if (s->p < s->end && *s->p == '.')
    {
      integer = FALSE;
      s->p++;
      if (s->p >= s->end || !g_ascii_isdigit (*s->p))
        return strict_fail (s, "a digit must follow the decimal point");
      while (s->p < s->end && g_ascii_isdigit (*s->p))
        s->p++;
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      integer = FALSE;
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (s->p >= s->end || !g_ascii_isdigit (*s->p))
        return strict_fail (s, "a digit must follow the exponent");
      while (s->p < s->end && g_ascii_isdigit (*s->p))
        s->p++;
    }
  /* "1x", "0x1E0", "2true": a number runs into what cannot follow a value. */
  if (s->p < s->end && (g_ascii_isalnum (*s->p) || *s->p == '.' || *s->p == '_'))
    return strict_fail (s, "invalid number");
  /* json-glib wraps integers beyond 64 bits around (-18446744073709551296
   * reads as 320): refuse them rather than read another number. */
  if (integer)
    {
      char text[24];
      gsize n = (gsize)(s->p - start);
      if (n >= sizeof text)
        return strict_fail (s, "integer out of 64-bit range");
      memcpy (text, start, n);
      text[n] = '\0';
      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, NULL, NULL))
        return strict_fail (s, "integer out of 64-bit range");
    }
  return TRUE;
}

static gboolean strict_value (Strict *s);

/* Steps over @c when it comes next. */
static gboolean
strict_eat (Strict *s, char c)
{
  if (s->p >= s->end || *s->p != c)
    return FALSE;
  s->p++;
  return TRUE;
}

static gboolean
strict_object (Strict *s)
{
  g_autoptr (GHashTable) keys = NULL;

  s->p++;
  skip_ws (s);
  if (strict_eat (s, '}'))
    return TRUE;
  for (;;)
    {
      skip_ws (s);
      if (s->p >= s->end || *s->p != '"')
        return strict_fail (s, "expected a member name in double quotes");
      g_autoptr (GString) key = g_string_new (NULL);
      if (!strict_string (s, key))
        return FALSE;
      if (keys == NULL)
        keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      if (g_hash_table_contains (keys, key->str))
        {
          g_autofree char *name = g_utf8_make_valid (key->str, (gssize)key->len);
          return strict_fail (s, "duplicate member '%s'", name);
        }
      g_hash_table_add (keys, g_string_free (g_steal_pointer (&key), FALSE));
      skip_ws (s);
      if (!strict_eat (s, ':'))
        return strict_fail (s, "expected ':'");
      if (!strict_value (s))
        return FALSE;
      skip_ws (s);
      if (strict_eat (s, '}'))
        return TRUE;
      if (!strict_eat (s, ','))
        return strict_fail (s, "expected ',' or '}'");
    }
}

static gboolean
strict_array (Strict *s)
{
  s->p++;
  skip_ws (s);
  if (strict_eat (s, ']'))
    return TRUE;
  for (;;)
    {
      if (!strict_value (s))
        return FALSE;
      skip_ws (s);
      if (strict_eat (s, ']'))
        return TRUE;
      if (!strict_eat (s, ','))
        return strict_fail (s, "expected ',' or ']'");
    }
}

static gboolean
strict_literal (Strict *s, const char *word)
{
  gsize n = strlen (word);
  if ((gsize)(s->end - s->p) < n || memcmp (s->p, word, n) != 0)
    return strict_fail (s, "unexpected character");
  s->p += n;
  if (s->p < s->end && (g_ascii_isalnum (*s->p) || *s->p == '_'))
    return strict_fail (s, "unexpected character");
  return TRUE;
}

static gboolean
strict_value (Strict *s)
{
  gboolean ok;

  skip_ws (s);
  if (s->p >= s->end)
    return strict_fail (s, "unexpected end of input");
  switch (*s->p)
    {
    case '{':
    case '[':
      if (++s->depth > MAX_DEPTH)
        return strict_fail (s, "nested deeper than %d levels", MAX_DEPTH);
      ok = *s->p == '{' ? strict_object (s) : strict_array (s);
      s->depth--;
      return ok;
    case '"':
      return strict_string (s, NULL);
    case 't':
      return strict_literal (s, "true");
    case 'f':
      return strict_literal (s, "false");
    case 'n':
      return strict_literal (s, "null");
    default:
      if (*s->p == '-' || g_ascii_isdigit (*s->p))
        return strict_number (s);
      return strict_fail (s, "unexpected character");
    }
}

/* One JSON object and nothing else but whitespace, per RFC 8259. */
static gboolean
strict_validate (const char *data, gsize len, GError **error)
{
  Strict s = { data, data, data + len, 0, error };

  skip_ws (&s);
  if (s.p >= s.end || *s.p != '{')
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON,
                   "request body must be exactly one JSON object");
      return FALSE;
    }
  if (!strict_value (&s))
    return FALSE;
  skip_ws (&s);
  if (s.p != s.end)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_JSON,
                   "request body must be exactly one JSON object (trailing data)");
      return FALSE;
    }
  return TRUE;
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
  if (!strict_validate (data, len, error))
    return NULL;
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
