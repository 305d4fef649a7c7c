/* lb-output.h — one viewer's output on an encode's track, whatever the
 * transport: attach, move to another encode, key-frame request, stats,
 * input events out, close. A session holds an LbOutput and never asks which
 * transport it is (gnome-remote-desktop's session / encode-session split).
 *
 * Adding a transport: one src/outputs/lb-output-<name>.c that defines an
 * LbOutputClass, and one line in the table in lb-output.c. */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbOutput LbOutput;
typedef struct _LbOutputClass LbOutputClass;
typedef struct _LbWebrtcOptions LbWebrtcOptions;

/* An input event from the viewer (outputs that carry input), on the main
 * loop; @event is borrowed for the call. Each output turns its own wire
 * format into typed events (WebRTC: lb-input-json.h). */
typedef void (*LbOutputInputFunc) (const LbInputEvent *event, gpointer user_data);
/* The viewer is gone (on the main loop), with a stable reason
 * ("connection_failed", "connect_timeout", "peer_timeout"). The callee frees
 * the output; it sends nothing more. */
typedef void (*LbOutputEndedFunc) (const char *reason, gpointer user_data);

/* What an output is opened with besides the session spec. All borrowed. */
typedef struct
{
  const char *name;              /* the media branch name */
  const LbWebrtcOptions *webrtc; /* ICE settings; NULL = defaults */
  LbOutputInputFunc on_input;    /* NULL: what the viewer sends is dropped */
  gpointer input_data;
  LbOutputEndedFunc on_ended; /* NULL: never ends the session from this side */
  gpointer ended_data;
} LbOutputSetup;

/* One row per transport. Implementations fill every field; optional ones
 * say so. */
struct _LbOutputClass
{
  const char *transport;  /* lb_transport_name() of the spec */
  gboolean stored;        /* sessions survive a restart (the store keeps them) */
  gboolean carries_input; /* viewers have a role: control or watch */
  /* Refuses a spec before an encoder opens (the client's mistake). */
  gboolean (*check) (const LbSessionSpec *spec, const LbAllowList *destinations, GError **error);
  /* Opens the output on @track (an encode's encoded track). */
  LbOutput *(*open) (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup,
                     GError **error);
  /* Adds transport-specific members to the stats object (after packets_sent). */
  void (*stats_to_json) (LbOutput *output, JsonObject *stats);
  /* Optional: an SDP describing the stream for a receiver to open. */
  char *(*get_sdp) (LbOutput *output);
  /* Stops callbacks and drops what the implementation holds; the shared code
   * detaches the branch afterwards and frees the struct. */
  void (*close) (LbOutput *output);
};

/* The class for a spec's transport, or NULL (error set) if none is registered. */
const LbOutputClass *lb_output_class_lookup (const char *transport, GError **error);

const LbOutputClass *lb_output_get_class (const LbOutput *output);
const char *lb_output_get_name (const LbOutput *output);
/* Switches the output to another encode's @track of the same lobby (same
 * pipeline, same kind): the branch keeps its state (SSRC, sequence numbers);
 * the new encoder is asked for a key frame. */
gboolean lb_output_move (LbOutput *output, LbTrack *track, GError **error);
/* Asks the encoder upstream for a key frame (a force-key-unit event). */
void lb_output_request_key_frame (LbOutput *output);
/* The SDP answer of a negotiated transport (WebRTC), else NULL. */
const char *lb_output_get_answer (const LbOutput *output);
/* NULL when the transport has no SDP of its own to describe. */
char *lb_output_get_sdp (LbOutput *output);
guint64 lb_output_get_packets (const LbOutput *output);
guint64 lb_output_get_bytes (const LbOutput *output);
/* {"packets_sent": n, ...transport members}. */
JsonObject *lb_output_stats_to_json (LbOutput *output);
/* Detaches the branch and frees the output. */
void lb_output_close (LbOutput *output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbOutput, lb_output_close)

G_END_DECLS
