/* lb-producer.h — a lobby's video source: one live GstPipeline ending in a
 * raw-video tee that encodes attach to. */
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
GstElement *lb_producer_get_tee (LbProducer *producer);
/* The lobby's video: encodes cannot ask for a higher frame rate than this. */
guint lb_producer_get_fps (LbProducer *producer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbProducer, lb_producer_free)

G_END_DECLS
