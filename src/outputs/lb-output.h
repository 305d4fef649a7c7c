/* lb-output.h — one viewer's output on an encode's track, whatever the
 * transport: attach, move to another encode, key-frame request, stats,
 * input events out, close. A session holds an LbOutput and never asks which
 * transport it is (gnome-remote-desktop's session / encode-session split).
 *
 * Adding a transport: one src/outputs/lb-output-<name>.c that defines an
 * LbOutputClass, and one line in the table in lb-output.c (or, for one that
 * only some builds have, lb_output_class_register at start-up). The class
 * reads its own members of a session request, its own config keys and its
 * own checks: nothing above this layer names a transport. */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbOutput LbOutput;
typedef struct _LbOutputClass LbOutputClass;

/* An input event from the viewer (outputs that carry input), on the main
 * loop; @event is borrowed for the call. Each output turns its own wire
 * format into typed events (WebRTC: lb-input-json.h). */
typedef void (*LbOutputInputFunc) (const LbInputEvent *event, gpointer user_data);
/* The viewer is gone (on the main loop), with a stable reason
 * ("connection_failed", "connect_timeout", "peer_timeout"). The callee frees
 * the output; it sends nothing more. */
typedef void (*LbOutputEndedFunc) (const char *reason, gpointer user_data);
/* A negotiated output (its class's `negotiated`) is ready: @error NULL, its
 * answer is lb_output_get_answer(); or its negotiation failed (@error set,
 * e.g. LB_ERROR_INVALID_SDP, LB_ERROR_NEGOTIATION_TIMEOUT) and the callee
 * closes it. On the main loop, exactly once, never from within open; an
 * output closed before then never calls it. */
typedef void (*LbOutputReadyFunc) (LbOutput *output, const GError *error, gpointer user_data);

/* What an output is opened with besides the session spec. All borrowed. */
typedef struct
{
  const char *name;           /* the media branch name */
  const LbConfig *config;     /* the daemon's; each transport reads its own keys */
  LbOutputInputFunc on_input; /* NULL: what the viewer sends is dropped */
  gpointer input_data;
  LbOutputEndedFunc on_ended; /* NULL: never ends the session from this side */
  gpointer ended_data;
  LbOutputReadyFunc on_ready; /* negotiated classes: required; others never call it */
  gpointer ready_data;
  /* The lobby's encoded audio (one Opus encode per lobby, shared by every
   * viewer), or NULL: no sound. Outputs that carry audio attach a second
   * branch to it (lb_output_attach_audio). */
  LbTrack *audio;
} LbOutputSetup;

/* One row per transport. Implementations fill every field; optional ones
 * say so. */
struct _LbOutputClass
{
  const char *transport;  /* the spec's transport name */
  gboolean stored;        /* sessions survive a restart (the store keeps them) */
  gboolean carries_input; /* viewers have a role: control or watch */
  /* The transport's own members of a session request besides
   * lb_session_spec_members() (NULL-terminated); NULL = none. */
  const char *const *members;
  /* Reads those members of @request into @params (kept as the spec's
   * params, listed and stored). NULL: sessions of this transport are not
   * requested as JSON (WHEP creates its own with lb_output_spec_new). */
  gboolean (*parse) (JsonObject *request, JsonObject *params, GError **error);
  /* Optional: a new spec's defaults for this transport (lb_output_spec_new). */
  void (*init_spec) (LbSessionSpec *spec);
  /* Optional: checks the transport's own config keys once at start-up (a
   * bad key fails the start) and sets up what it needs process-wide. */
  gboolean (*configure) (const LbConfig *config, GError **error);
  /* Refuses a spec before an encoder opens (the client's mistake). */
  gboolean (*check) (const LbSessionSpec *spec, const LbConfig *config, GError **error);
  /* Opens the output on @track (an encode's encoded track). A negotiated
   * class returns with its branch attached and the negotiation started, and
   * reports the outcome to the setup's on_ready; the others are ready when
   * open returns. */
  LbOutput *(*open) (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup,
                     GError **error);
  /* open returns before the output is ready (WebRTC: the answer to the
   * viewer's offer takes ICE gathering): the setup's on_ready says when. */
  gboolean negotiated;
  /* Adds transport-specific members to the stats object (after packets_sent). */
  void (*stats_to_json) (LbOutput *output, JsonObject *stats);
  /* Optional: an SDP describing the stream for a receiver to open. */
  char *(*get_sdp) (LbOutput *output);
  /* Stops callbacks and drops what the implementation holds; the shared code
   * detaches the branch afterwards and frees the struct. */
  void (*close) (LbOutput *output);
  /* Optional: a media error posted from inside the output's own branch
   * that means the viewer went away, not that lobbyd failed: the stable
   * reason to end the session with (as LbOutputEndedFunc's), or NULL (the
   * session fails). On the main loop. */
  const char *(*branch_error_reason) (LbOutput *output, const GError *error);
};

/* The class for a spec's transport, or NULL (error set) if none is registered. */
const LbOutputClass *lb_output_class_lookup (const char *transport, GError **error);
/* The @i-th transport (built-ins first), NULL past the last: for listing. */
const LbOutputClass *lb_output_class_nth (guint i);
/* Adds a transport that is not built in (a test's, a plugin's); a second
 * class with a registered name is refused (FALSE, a warning). */
gboolean lb_output_class_register (const LbOutputClass *klass);
/* Runs every class's configure (start-up). */
gboolean lb_output_classes_configure (const LbConfig *config, GError **error);

/* Parses a session request of @lobby (an API body or a stored row): the
 * common members (lb_session_spec_read_json) and the transport's own
 * (its class's parse). A transport that is not registered, or not
 * requested as JSON, is LB_ERROR_INVALID_FIELD. */
LbSessionSpec *lb_output_spec_from_json (JsonObject *obj, const LbLobbySpec *lobby, GError **error);
/* A session spec of @lobby over @transport with the class's defaults, or
 * NULL (error set) if no such class is registered. */
LbSessionSpec *lb_output_spec_new (const char *transport, const LbLobbySpec *lobby, GError **error);

const LbOutputClass *lb_output_get_class (const LbOutput *output);
const char *lb_output_get_name (const LbOutput *output);
/* Switches the output to another encode's @track of the same lobby (same
 * pipeline, same kind): the branch keeps its state (SSRC, sequence numbers);
 * the new encoder is asked for a key frame. */
gboolean lb_output_move (LbOutput *output, LbTrack *track, GError **error);
/* Asks the encoder upstream for a key frame (a force-key-unit event through
 * the branch and the tee, rate-limited by the encoded track). Any thread. */
void lb_output_request_key_frame (LbOutput *output);
/* The SDP answer of a negotiated transport (WebRTC), else NULL. */
const char *lb_output_get_answer (const LbOutput *output);
/* NULL when the transport has no SDP of its own to describe. */
char *lb_output_get_sdp (LbOutput *output);
guint64 lb_output_get_packets (const LbOutput *output);
guint64 lb_output_get_bytes (const LbOutput *output);
/* For a media error from the output's own branch: the reason to end the
 * session with (the viewer went away), or NULL if the session fails. */
const char *lb_output_branch_error_reason (LbOutput *output, const GError *error);
/* {"packets_sent": n, ...transport members}. */
JsonObject *lb_output_stats_to_json (LbOutput *output);
/* Stops the output's callbacks now and detaches its branch without waiting
 * (lb_branch_detach_async); the output is freed once the branch is gone.
 * The caller must not use @output after this call. */
void lb_output_close (LbOutput *output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbOutput, lb_output_close)

G_END_DECLS
