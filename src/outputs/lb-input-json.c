/* lb-input-json.c — web/viewer.js's input messages → LbInputEvent.
 *
 * XStringToKeysym only reads Xlib's built-in keysym table (and, for names
 * not in it, the XKeysymDB file once): no display connection. Its lazy
 * initialisation is not thread-safe, so callers parse on one thread (the
 * WebRTC output: the main loop). */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-input-json.h"
#include "lb-error.h"
#include "lb-json.h"

#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <math.h>
#include <string.h>

/* Beyond this a "fraction" is no pointer position, just garbage. */
#define POSITION_LIMIT 1e6

/* KeyboardEvent.key → X keysym, or NoSymbol. The names that differ, single
 * characters (Latin letters and digits by name, the rest as Unicode keysyms),
 * else any X keysym name ("F1", "Insert"). */
static KeySym
keysym_for (const char *key)
{
  static const struct
  {
    const char *web;
    KeySym sym;
  } names[] = {
    { "Enter", XK_Return },      { "Backspace", XK_BackSpace }, { "Tab", XK_Tab },
    { "Escape", XK_Escape },     { "ArrowLeft", XK_Left },      { "ArrowRight", XK_Right },
    { "ArrowUp", XK_Up },        { "ArrowDown", XK_Down },      { "Shift", XK_Shift_L },
    { "Control", XK_Control_L }, { "Alt", XK_Alt_L },           { " ", XK_space },
    { "Delete", XK_Delete },     { "Home", XK_Home },           { "End", XK_End },
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (key, names[i].web))
      return names[i].sym;
  if (g_utf8_strlen (key, -1) == 1)
    {
      KeySym sym = XStringToKeysym (key);
      if (sym != NoSymbol)
        return sym;
      /* Unicode keysyms for the rest (X11 keysym 0x01000000 + code point). */
      return 0x01000000 | g_utf8_get_char (key);
    }
  return XStringToKeysym (key);
}

/* A position member: absent is 0; a finite number, clamped to 0..1. */
static gboolean
get_fraction (JsonObject *o, const char *member, double *out, GError **error)
{
  JsonNode *node = json_object_get_member (o, member);
  double v = 0;

  if (node != NULL)
    {
      GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
      if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "field '%s' must be a number",
                       member);
          return FALSE;
        }
      v = json_node_get_double (node);
      if (!isfinite (v) || fabs (v) > POSITION_LIMIT)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE,
                       "field '%s' must be a fraction of the picture (0..1)", member);
          return FALSE;
        }
    }
  /* A drag that leaves the picture still moves to its edge. */
  *out = CLAMP (v, 0.0, 1.0);
  return TRUE;
}

gboolean
lb_input_json_parse (const char *text, guint width, guint height, LbInputEvent *event,
                     GError **error)
{
  LbInputEvent ev = { 0 };
  g_autofree char *t = NULL;

  g_return_val_if_fail (text != NULL && event != NULL, FALSE);
  g_autoptr (JsonNode) node = lb_json_parse_object (text, strlen (text), error);
  if (node == NULL)
    return FALSE;
  JsonObject *o = json_node_get_object (node);
  if (!lb_json_get_string (o, NULL, "t", TRUE, 16, &t, error))
    return FALSE;

  if (g_str_equal (t, "move"))
    {
      double x, y;
      if (!get_fraction (o, "x", &x, error) || !get_fraction (o, "y", &y, error))
        return FALSE;
      ev.type = LB_INPUT_MOTION;
      ev.motion.width = width;
      ev.motion.height = height;
      ev.motion.x = width > 0 ? (guint)(x * (width - 1)) : 0;
      ev.motion.y = height > 0 ? (guint)(y * (height - 1)) : 0;
    }
  else if (g_str_equal (t, "down") || g_str_equal (t, "up"))
    {
      guint b = 1;
      if (!lb_json_get_uint (o, NULL, "b", FALSE, 1, 5, &b, error))
        return FALSE;
      ev.type = LB_INPUT_BUTTON;
      ev.button.button = b;
      ev.button.pressed = g_str_equal (t, "down");
    }
  else if (g_str_equal (t, "key"))
    {
      g_autofree char *key = NULL;
      gboolean down = TRUE;
      if (!lb_json_get_string (o, NULL, "k", TRUE, LB_INPUT_JSON_KEY_MAX, &key, error)
          || !lb_json_get_bool (o, NULL, "down", FALSE, &down, error))
        return FALSE;
      KeySym sym = keysym_for (key);
      if (sym == NoSymbol)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "key '%s' has no X keysym", key);
          return FALSE;
        }
      ev.type = LB_INPUT_KEY;
      ev.key.keysym = (guint32)sym;
      ev.key.pressed = down;
    }
  else
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field 't' must be one of: move, down, up, key");
      return FALSE;
    }
  *event = ev;
  return TRUE;
}
