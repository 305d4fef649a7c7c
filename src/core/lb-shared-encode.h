/* lb-shared-encode.h — one running encoder for (lobby, profile), shared by
 * every session of the lobby that wants that profile. It holds the encoder
 * slot of its pool and its viewers' outputs (borrowed: each session owns its
 * own), which it moves along when it switches encoders; it knows nothing of
 * sessions. Owned by the registry. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-scheduler.h"
#include "lb-spec.h"
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbSharedEncode LbSharedEncode;
typedef struct _LbEncode LbEncode;

/* @shareable: FALSE for a lobby with encoder_sharing=off (one viewer only).
 * @preference/@require_hardware: what the first session asked for; later
 * sessions share only if compatible (lb_shared_encode_accepts). */
LbSharedEncode *lb_shared_encode_new (LbLobby *lobby, const LbProfile *profile, gboolean shareable,
                                      LbEncoderPreference preference, gboolean require_hardware);
/* Frees @encode now and closes its encoder without waiting on the main
 * loop (lb_encode_close); @closed (nullable) runs on the main loop once the
 * encoder has really stopped, e.g. a hardware session is back with the
 * driver. Its viewers' outputs must have been removed. */
void lb_shared_encode_close (LbSharedEncode *encode, void (*closed) (gpointer user_data),
                             gpointer user_data);
/* lb_shared_encode_close() with nobody to tell. */
void lb_shared_encode_free (LbSharedEncode *encode);

/* Opens the encoder (first time) or opens a new one and moves every
 * viewer's output onto it before closing the old one (switch). On failure
 * the current encoder keeps running. LB_ERROR_ENCODER_OPEN if refused. */
gboolean lb_shared_encode_open (LbSharedEncode *encode, const LbEncoderSettings *settings,
                                GError **error);

/* Can a session with these wishes watch through this encode? */
gboolean lb_shared_encode_accepts (const LbSharedEncode *encode, const LbProfile *profile,
                                   LbEncoderPreference preference, gboolean require_hardware);
/* Asks for an IDR for a new viewer. Like every key-frame request it goes
 * through the encoded track's limiter ([encoder]
 * join_keyframe_min_interval_ms): the stream never becomes all key frames. */
void lb_shared_encode_request_key_frame (LbSharedEncode *encode);

void lb_shared_encode_set_pool (LbSharedEncode *encode, int pool, const char *pool_name,
                                const char *element, gboolean hardware, gboolean fallback);
int lb_shared_encode_get_pool (const LbSharedEncode *encode);
gboolean lb_shared_encode_is_fallback (const LbSharedEncode *encode);
gboolean lb_shared_encode_is_hardware (const LbSharedEncode *encode);
LbEncoderPreference lb_shared_encode_get_preference (const LbSharedEncode *encode);
gboolean lb_shared_encode_requires_hardware (const LbSharedEncode *encode);

const char *lb_shared_encode_get_id (const LbSharedEncode *encode);
LbLobby *lb_shared_encode_get_lobby (const LbSharedEncode *encode);
const LbProfile *lb_shared_encode_get_profile (const LbSharedEncode *encode);
guint64 lb_shared_encode_get_pixel_rate (const LbSharedEncode *encode);
LbEncode *lb_shared_encode_get_media (const LbSharedEncode *encode);
/* A viewer's output (borrowed; opened on this encode's media) starts or
 * stops watching. */
void lb_shared_encode_add_output (LbSharedEncode *encode, LbOutput *output);
void lb_shared_encode_remove_output (LbSharedEncode *encode, LbOutput *output);
guint lb_shared_encode_get_n_viewers (const LbSharedEncode *encode);
/* Does the media branch @branch belong to this encode? */
gboolean lb_shared_encode_owns_branch (const LbSharedEncode *encode, const char *branch);
JsonObject *lb_shared_encode_to_json (const LbSharedEncode *encode);

G_END_DECLS
