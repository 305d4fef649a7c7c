/* lb-input-event.c — names, scaling and a text form of input events. */
#include "lb-input-event.h"

const char *
lb_input_event_type_name (LbInputEventType type)
{
  static const char *const names[] = {
    [LB_INPUT_KEY] = "key",
    [LB_INPUT_MOTION] = "motion",
    [LB_INPUT_MOTION_RELATIVE] = "motion-relative",
    [LB_INPUT_BUTTON] = "button",
    [LB_INPUT_SCROLL] = "scroll",
    [LB_INPUT_TEXT] = "text",
  };
  return (guint)type < G_N_ELEMENTS (names) ? names[type] : "unknown";
}

static int
scale (guint v, guint from, guint to)
{
  if (to == 0)
    return 0;
  v = MIN (v, from > 0 ? from - 1 : 0);
  if (from == to || from <= 1)
    return (int)MIN (v, to - 1);
  return (int)(((guint64)v * (to - 1) + (from - 1) / 2) / (from - 1));
}

void
lb_input_event_scale_motion (const LbInputEvent *ev, guint width, guint height, int *x, int *y)
{
  g_return_if_fail (ev->type == LB_INPUT_MOTION);
  *x = scale (ev->motion.x, ev->motion.width, width);
  *y = scale (ev->motion.y, ev->motion.height, height);
}

char *
lb_input_event_to_string (const LbInputEvent *ev)
{
  const char *name = lb_input_event_type_name (ev->type);
  switch (ev->type)
    {
    case LB_INPUT_KEY:
      return g_strdup_printf ("%s 0x%x %s", name, ev->key.keysym,
                              ev->key.pressed ? "pressed" : "released");
    case LB_INPUT_MOTION:
      return g_strdup_printf ("%s %u,%u of %ux%u", name, ev->motion.x, ev->motion.y,
                              ev->motion.width, ev->motion.height);
    case LB_INPUT_MOTION_RELATIVE:
      return g_strdup_printf ("%s %+d,%+d", name, ev->relative.dx, ev->relative.dy);
    case LB_INPUT_BUTTON:
      return g_strdup_printf ("%s %u %s", name, ev->button.button,
                              ev->button.pressed ? "pressed" : "released");
    case LB_INPUT_SCROLL:
      return g_strdup_printf ("%s %+d,%+d", name, ev->scroll.dx, ev->scroll.dy);
    case LB_INPUT_TEXT:
      return g_strdup_printf ("%s \"%s\"", name, ev->text.utf8);
    }
  return g_strdup (name);
}
