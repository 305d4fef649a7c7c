/* lb-producer.h — a lobby's source: one live GstPipeline with one raw track
 * (a tee) per media kind it produces, that encodes attach to. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* The lobby's audio source failed while running (main loop, at most once);
 * its video goes on. */
typedef void (*LbAudioFailedFunc) (const char *message, gpointer user_data);

/* @display: capture this X display (x11-app lobbies), or NULL for the test
 * pattern. With @spec->audio, a test pattern gets a tone (an 880 Hz beep in
 * the first 100 ms of every second of running time) and a white band at
 * the bottom of the picture in the same 100 ms; a desktop gets the monitor
 * of @pulse_server's sink "lobby" (NULL: no sound server, no audio). The
 * audio source starts once the video runs, in a bin "audio-source"; its
 * errors never reach @on_error: they stop it and call @on_audio_failed. */
LbProducer *lb_producer_new (const char *lobby_id, const LbLobbySpec *spec, const char *display,
                             const char *pulse_server, LbMediaErrorFunc on_error,
                             LbAudioFailedFunc on_audio_failed, gpointer user_data, GError **error);
/* Stops the pipeline (state NULL). All encodes must be freed first. */
void lb_producer_free (LbProducer *producer);

GstElement *lb_producer_get_pipeline (LbProducer *producer);
/* The raw track of @kind (borrowed, lives as long as the producer), or NULL
 * if the lobby has none: video always; audio (S16LE 48 kHz stereo) unless
 * off or it failed to start. */
LbTrack *lb_producer_get_track (LbProducer *producer, LbMediaKind kind);
/* Why the audio source failed (at start or later), else NULL. */
const char *lb_producer_get_audio_error (LbProducer *producer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbProducer, lb_producer_free)

G_END_DECLS
