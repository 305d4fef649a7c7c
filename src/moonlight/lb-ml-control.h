/* lb-ml-control.h — the Moonlight control stream: an ENet server (UDP 47999)
 * that Moonlight clients connect to after RTSP PLAY, with the AES-128-GCM
 * "control v2" encryption every client ≥ GFE 7.1.431 requires. Clients are
 * matched to their launch by the ENet connect data (the X-SS-Connect-Data we
 * handed them at SETUP); they send IDR requests, pings, loss reports and
 * input, and the host sends them the termination reason when it ends the
 * stream. docs/moonlight.md ("Control stream") lists the messages.
 *
 * ENet is single-threaded: the server is serviced on the GMainContext that
 * was thread-default at lb_ml_control_new (a watch on the ENet socket plus a
 * short retransmit timer while peers exist), every callback runs there, and
 * every function below must be called from that context's thread, except
 * lb_ml_input_decode (pure). */
#pragma once

#include <glib.h>

#include "lb-input-event.h"

G_BEGIN_DECLS

typedef struct _LbMlControl LbMlControl;

typedef struct
{
  /* A client connected with X-SS-Connect-Data @connect_data from
   * @client_ip: return the ml_id (newly allocated) it belongs to and its
   * rikey, or FALSE to refuse (disconnect). */
  gboolean (*lookup) (guint32 connect_data, const char *client_ip, char **ml_id, guint8 rikey[16],
                      gpointer user_data);
  /* The client asked for a key frame (0x0302, also at stream start; bursts
   * are coalesced to at most one call per 100 ms per client, never lost). */
  void (*idr_request) (const char *ml_id, gpointer user_data);
  void (*input) (const char *ml_id, const LbInputEvent *ev, gpointer user_data);
  /* Once per accepted client, whatever ended it (but never from
   * lb_ml_control_free, and not for a connection replaced by a newer one
   * of the same launch). @reason: "client" (it disconnected), "timeout"
   * (silent for the ENet peer timeout, ≤ 10 s), "terminated"
   * (lb_ml_control_terminate), "bad_packets" (too many unauthenticated or
   * malformed messages in a row). */
  void (*disconnected) (const char *ml_id, const char *reason, gpointer user_data);
} LbMlControlCallbacks;

/* Counters since lb_ml_control_new, for stats and tests. A dropped message
 * is counted once, under the first check it failed. */
typedef struct
{
  guint64 connects;          /* clients accepted by lookup */
  guint64 refused;           /* connections refused by lookup */
  guint64 messages;          /* authenticated messages */
  guint64 idr_requests;      /* 0x0302 / 0x0307 / 0x0301 received (before coalescing) */
  guint64 pings;             /* 0x0200 */
  guint64 loss_reports;      /* 0x5502 frame FEC status, 0x0201 loss stats */
  guint64 input_events;      /* events delivered to the input callback */
  guint64 input_errors;      /* input packets that did not decode */
  guint64 unknown;           /* authenticated messages of a type we ignore */
  guint64 dropped_malformed; /* not 0x0001, truncated, wrong length field */
  guint64 dropped_auth;      /* AES-GCM authentication failed */
  guint64 dropped_replay;    /* sequence number already seen or too old */
  guint64 disconnects;       /* disconnected callbacks */
} LbMlControlStats;

/* The ENet peer timeout: a client silent this long is disconnected. */
#define LB_ML_CONTROL_PEER_TIMEOUT_MS 10000
/* Bad messages in a row from one client before it is disconnected. */
#define LB_ML_CONTROL_MAX_BAD_IN_ROW 16

/* Binds UDP @bind_address:@port (IPv4; 0 = ephemeral). NULL + @error when
 * the address is bad or the port busy. */
LbMlControl *lb_ml_control_new (const char *bind_address, guint16 port,
                                const LbMlControlCallbacks *cb, gpointer user_data, GError **error);
guint16 lb_ml_control_get_port (LbMlControl *c);
/* Disconnects every client (no callbacks) and closes the socket. Not from
 * within one of its own callbacks. */
void lb_ml_control_free (LbMlControl *c);
/* Sends 0x0109 termination (BE32 @reason, e.g. 0x80030023 "server closed")
 * to the client of @ml_id and disconnects it once that is delivered.
 * Unknown @ml_id: nothing. */
void lb_ml_control_terminate (LbMlControl *c, const char *ml_id, guint32 reason);
void lb_ml_control_get_stats (LbMlControl *c, LbMlControlStats *out);

/* Pure, exported for tests: decodes one decrypted input packet (a 0x0206
 * message's payload: BE32 size, LE32 magic, fields) into LbInputEvents
 * appended to @events_out. Keys: Windows virtual-key code → X keysym (US
 * layout); mouse relative, absolute (scaled from the client's reference
 * size onto @screen_w x @screen_h, or reported in the reference size when
 * they are 0), buttons, vertical and horizontal scroll (120 = one step);
 * UTF-8 text split into events at character boundaries. Gamepad, touch and
 * pen packets: TRUE with no event (g_debug). FALSE with @error
 * (G_IO_ERROR_INVALID_DATA) and nothing appended for a size field that
 * disagrees with @len, a packet too short for its type, an unknown magic or
 * virtual-key code, or invalid UTF-8. */
gboolean lb_ml_input_decode (const guint8 *data, gsize len, guint screen_w, guint screen_h,
                             GArray *events_out, GError **error);

G_END_DECLS
