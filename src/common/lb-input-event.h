/* lb-input-event.h — one input event from a viewer, whatever carried it:
 * outputs that carry input (WebRTC's data channel, lb-input-json.h) produce
 * them, a producer that takes input (the desktop's XTest injector) consumes
 * them. Plain data, copied by value: an event owns nothing. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef enum
{
  LB_INPUT_KEY,             /* key: an X keysym, pressed or released */
  LB_INPUT_MOTION,          /* motion: absolute pointer position in stream pixels */
  LB_INPUT_MOTION_RELATIVE, /* relative: pointer moved by dx, dy stream pixels */
  LB_INPUT_BUTTON,          /* button: X button number (1 left, 2 middle, 3 right, …) */
  LB_INPUT_SCROLL,          /* scroll: wheel steps; +dy down, +dx right */
  LB_INPUT_TEXT,            /* text: UTF-8 characters to type */
} LbInputEventType;

/* Text events: at most this many bytes, NUL included. */
#define LB_INPUT_TEXT_MAX 32

struct _LbInputEvent
{
  LbInputEventType type;
  union
  {
    struct
    {
      guint32 keysym; /* X11 keysym (X11/keysymdef.h; 0x01000000 + code point for Unicode) */
      gboolean pressed;
    } key;
    struct
    {
      /* 0..width-1, 0..height-1 of the width x height picture the viewer
       * sees; the consumer scales to its own size. */
      guint x, y;
      guint width, height;
    } motion;
    struct
    {
      int dx, dy;
    } relative;
    struct
    {
      guint button;
      gboolean pressed;
    } button;
    struct
    {
      int dx, dy;
    } scroll;
    struct
    {
      char utf8[LB_INPUT_TEXT_MAX]; /* valid UTF-8, NUL-terminated, not empty */
    } text;
  };
};

/* "key", "motion", "motion-relative", "button", "scroll", "text". */
const char *lb_input_event_type_name (LbInputEventType type);
/* A motion event's position on a @width x @height screen (the stream's own
 * pixel when the sizes are equal; scaled, corners to corners, otherwise). */
void lb_input_event_scale_motion (const LbInputEvent *event, guint width, guint height, int *x,
                                  int *y);
/* For logs and tests: "key 0x61 pressed", "motion 10,20 of 640x480", … */
char *lb_input_event_to_string (const LbInputEvent *event);

G_END_DECLS
