/* lb-input-json.h — the browser viewer's input messages (web/viewer.js, on
 * the WebRTC data channel) as typed input events. Pure: no I/O, no display. */
#pragma once

#include "lb-input-event.h"

G_BEGIN_DECLS

/* KeyboardEvent.key names longer than this (bytes) have no X keysym. */
#define LB_INPUT_JSON_KEY_MAX 31

/* Parses one message into @event:
 *   {"t":"move","x":0.5,"y":0.25}   x, y: fractions of the picture, clamped
 *                                   to 0..1 → LB_INPUT_MOTION in a @width x
 *                                   @height picture (the stream's size)
 *   {"t":"down"|"up","b":1}         mouse button 1-5 (default 1) → LB_INPUT_BUTTON
 *   {"t":"key","k":"a","down":true} KeyboardEvent.key (down: default true)
 *                                   → LB_INPUT_KEY with its X keysym
 * Other members are ignored. Anything else fails, @event untouched:
 * LB_ERROR_INVALID_JSON (not one JSON object), LB_ERROR_MISSING_FIELD,
 * LB_ERROR_INVALID_FIELD (wrong type, unknown "t", a key without a keysym),
 * LB_ERROR_OUT_OF_RANGE (a button outside 1-5, a position that is no finite
 * number of reasonable size, a key name over LB_INPUT_JSON_KEY_MAX bytes). */
gboolean lb_input_json_parse (const char *text, guint width, guint height, LbInputEvent *event,
                              GError **error);

G_END_DECLS
