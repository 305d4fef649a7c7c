/* lb-producer.h — a lobby's source: one live GstPipeline with one raw track
 * (a tee) per media kind it produces, that encodes attach to. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* @display: capture this X display (x11-app lobbies), or NULL for the test pattern. */
LbProducer *lb_producer_new (const char *lobby_id, const LbLobbySpec *spec, const char *display,
                             LbMediaErrorFunc on_error, gpointer user_data, GError **error);
/* Stops the pipeline (state NULL). All encodes must be freed first. */
void lb_producer_free (LbProducer *producer);

GstElement *lb_producer_get_pipeline (LbProducer *producer);
/* The raw track of @kind (borrowed, lives as long as the producer), or NULL
 * if the lobby has none: video always, audio not yet. */
LbTrack *lb_producer_get_track (LbProducer *producer, LbMediaKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbProducer, lb_producer_free)

G_END_DECLS
