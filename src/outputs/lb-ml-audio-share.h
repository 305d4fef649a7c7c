/* lb-ml-audio-share.h — a lobby's sound as Moonlight clients take it: the
 * lobby's one Opus encode (20 ms frames, shared by every viewer) decoded
 * and encoded again as CBR low-delay Opus in the client's packet duration
 * (a client decodes each packet into a buffer of exactly that length),
 * ONCE per lobby audio track and packet duration, fanned out to every
 * Moonlight viewer that joined it. The re-encode is a branch of its own
 * behind the track's tee: it starts with the first viewer and is detached
 * when the last one leaves, whichever viewer that is. Main loop, except the
 * sinks. */
#pragma once
#include "lb-types.h"
#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _LbMlAudioShare LbMlAudioShare;

/* One Opus packet of the re-encode, on the audio streaming thread (never
 * after lb_ml_audio_share_leave returned for this @user_data). */
typedef void (*LbMlAudioSink) (const guint8 *opus, gsize len, gpointer user_data);

/* @sink gets the packets of @audio re-encoded at @packet_ms (5, 10 or 20).
 * NULL + @error when the branch cannot be built or started. */
LbMlAudioShare *lb_ml_audio_share_join (LbTrack *audio, guint packet_ms, LbMlAudioSink sink,
                                        gpointer user_data, GError **error);
/* Takes @user_data's sink off and drops this viewer's hold on @share. */
void lb_ml_audio_share_leave (LbMlAudioShare *share, gpointer user_data);
/* Re-encodes running (for tests and stats). */
guint lb_ml_audio_share_count (void);

G_END_DECLS
