/* lb-media-branch.h — adding and removing a chain of elements behind a tee
 * while the pipeline is PLAYING, without disturbing the tee's other branches.
 *
 * Every encode and every output is one such branch: a GstBin with a ghost
 * sink pad (and a ghost src pad if its last element has one), named after its
 * owner so bus errors can be routed back to it. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbBranch LbBranch;

/* Creates an element of @factory or fails with LB_ERROR_MEDIA naming the plugin. */
GstElement *lb_media_make (const char *factory, const char *name, GError **error);

typedef struct
{
  const char *factory;
  const char *name; /* nullable */
} LbElementSpec;

/* Creates all @n elements into @out (floating refs), or none: on failure the
 * ones already made are released and @out is left NULL-filled. */
gboolean lb_media_make_all (const LbElementSpec *specs, guint n, GstElement **out, GError **error);

/* Builds a bin of @elements (NULL-terminated, floating refs are sunk) linked in order. */
GstElement *lb_media_chain_bin (const char *name, GstElement **elements, GError **error);

/* Adds @bin (ownership is taken) to @pipeline, links its src pad to
 * @downstream (nullable, already in @pipeline), starts it and links @tee to it.
 * A bin that fails to start is an encoder that refused to open
 * (LB_ERROR_ENCODER_OPEN) when it feeds @downstream, and an output that
 * cannot start (LB_ERROR_OUTPUT) when @downstream is NULL. */
LbBranch *lb_branch_attach (GstElement *pipeline, GstElement *tee, GstElement *bin,
                            GstElement *downstream, GError **error);
GstElement *lb_branch_get_bin (LbBranch *branch);
/* Moves a running branch to another tee (in the same pipeline) without
 * stopping it: the bin keeps its state (e.g. an RTP payloader's SSRC and
 * sequence numbers). */
gboolean lb_branch_move (LbBranch *branch, GstElement *tee, GError **error);
/* Called on the main loop once a detached branch is gone: its bin stopped
 * (every element in NULL, e.g. a hardware encoder closed) and dropped. */
typedef void (*LbBranchDetachedFunc) (gpointer user_data);
/* Takes the branch away without waiting on the main loop: it is unlinked
 * from its tee at the tee's next idle point (at once if nothing flows),
 * taken out of the pipeline on the main loop, and stopped on a GStreamer
 * pool thread, however long its elements take; then @done (nullable) runs
 * on the caller's thread-default main context. @branch is consumed. The
 * pipeline may stop and be freed meanwhile (once unlinked the bin is no
 * longer its child); a branch still waiting for its tee to go idle holds
 * refs on the tee and the bin only. */
void lb_branch_detach_async (LbBranch *branch, LbBranchDetachedFunc done, gpointer user_data);
/* Detaches started and not yet done, in this process. */
guint lb_branch_pending_detaches (void);
/* Shutdown: runs the thread-default main context until every detach is
 * done or @timeout_ms passed; FALSE if some are still pending. */
gboolean lb_branch_wait_detaches (guint timeout_ms);

/* Pipelines alive in this process (counted at construction/finalize), so
 * tests and /api/v1/status can prove that nothing stays running. */
void lb_media_track_pipeline (GstElement *pipeline);
guint lb_media_live_pipelines (void);

/* The child of @pipeline that contains @object (its branch bin or a producer element). */
GstElement *lb_media_top_child (GstElement *pipeline, GstObject *object);

G_END_DECLS
