/* lb-media-branch.c — dynamic tee branches. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-media-branch.h"
#include "lb-error.h"
#include "lb-memory.h"

struct _LbBranch
{
  GstElement *pipeline; /* borrowed, while attached: the owner outlives its attached branches */
  GstElement *tee;
  GstElement *bin;
  GstPad *tee_pad;
  GMutex lock; /* lb_branch_move's wait */
  GCond cond;
  gboolean unlinked;
  /* lb_branch_detach_async */
  gint detach_state; /* DetachState, atomic */
  GMainContext *context;
  LbBranchDetachedFunc done;
  gpointer done_data;
};

typedef enum
{
  DETACH_WAITING,  /* the idle probe is installed */
  DETACH_UNLINKED, /* it ran at once, on the caller's thread */
  DETACH_DEFERRED, /* the caller returned; the probe hands over to the main loop */
} DetachState;

static gint pending_detaches;

static gint live_pipelines;

GstElement *
lb_media_make (const char *factory, const char *name, GError **error)
{
  GstElement *element = gst_element_factory_make (factory, name);
  if (element == NULL)
    g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "GStreamer element '%s' is not installed",
                 factory);
  return element;
}

gboolean
lb_media_make_all (const LbElementSpec *specs, guint n, GstElement **out, GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      out[i] = lb_media_make (specs[i].factory, specs[i].name, error);
      if (out[i] == NULL)
        {
          for (guint j = 0; j < i; j++)
            g_clear_pointer (&out[j], gst_object_unref);
          return FALSE;
        }
    }
  return TRUE;
}

/* A branch that fails (an encoder refusing mid-stream, a socket error) must
 * not return its error to the tee: the tee would pass it upstream and stop
 * the producer, and with it every other viewer of the lobby. The element's
 * own error still reaches the bus, where the registry replaces or ends the
 * branch. */
static GstFlowReturn
isolating_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstFlowReturn ret = gst_proxy_pad_chain_default (pad, parent, buffer);
  return ret < GST_FLOW_OK || ret == GST_FLOW_NOT_LINKED ? GST_FLOW_OK : ret;
}

GstElement *
lb_media_chain_bin (const char *name, GstElement **elements, GError **error)
{
  GstElement *bin = gst_bin_new (name);
  GstElement *first = elements[0];
  GstElement *last = NULL;

  gst_object_ref_sink (bin);
  for (guint i = 0; elements[i] != NULL; i++)
    {
      gst_bin_add (GST_BIN (bin), elements[i]);
      if (last != NULL && !gst_element_link (last, elements[i]))
        {
          g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot link %s to %s", name,
                       GST_ELEMENT_NAME (last), GST_ELEMENT_NAME (elements[i]));
          gst_object_unref (bin);
          return NULL;
        }
      last = elements[i];
    }

  g_autoptr (GstPad) sink = gst_element_get_static_pad (first, "sink");
  GstPad *ghost = gst_ghost_pad_new ("sink", sink);
  gst_pad_set_chain_function (ghost, isolating_chain);
  gst_element_add_pad (bin, ghost);
  g_autoptr (GstPad) src = gst_element_get_static_pad (last, "src");
  if (src != NULL)
    gst_element_add_pad (bin, gst_ghost_pad_new ("src", src));
  return bin;
}

/* The error an element of @bin posted while failing to start (it is still on
 * the bus: the bus watch runs on this same main loop, later). Other errors
 * are put back. */
static char *
take_start_error (GstElement *pipeline, GstElement *bin)
{
  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  GQueue others = G_QUEUE_INIT;
  char *text = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL)
    {
      if (text == NULL && gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg), GST_OBJECT (bin)))
        {
          g_autoptr (GError) err = NULL;
          g_autofree char *debug = NULL;
          gst_message_parse_error (msg, &err, &debug);
          text = g_strdup_printf ("%s (%s)", err->message, debug ? debug : "");
          gst_message_unref (msg);
        }
      else
        g_queue_push_tail (&others, msg);
    }
  while ((msg = g_queue_pop_head (&others)) != NULL)
    gst_bus_post (bus, msg);
  return text;
}

static void
branch_free (LbBranch *branch)
{
  g_clear_object (&branch->bin);
  gst_object_unref (branch->tee);
  g_clear_pointer (&branch->context, g_main_context_unref);
  g_mutex_clear (&branch->lock);
  g_cond_clear (&branch->cond);
  g_free (branch);
}

LbBranch *
lb_branch_attach (GstElement *pipeline, GstElement *tee, GstElement *bin, GstElement *downstream,
                  GError **error)
{
  LbBranch *branch = g_new0 (LbBranch, 1);
  g_autoptr (GstPad) sink = NULL;
  GstPadLinkReturn ret;

  g_mutex_init (&branch->lock);
  g_cond_init (&branch->cond);
  branch->pipeline = pipeline;
  branch->tee = gst_object_ref (tee);
  branch->bin = bin;

  /* The bin runs before it is linked, so the first buffer finds it ready. */
  gst_bin_add (GST_BIN (pipeline), bin); /* takes its own ref; ours is the branch's */
  if (downstream != NULL && !gst_element_link (bin, downstream))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot link to %s", GST_ELEMENT_NAME (bin),
                   GST_ELEMENT_NAME (downstream));
      goto fail;
    }
  if (!gst_element_sync_state_with_parent (bin))
    {
      g_autofree char *why = take_start_error (pipeline, bin);
      /* A branch that feeds @downstream is an encode: its refusal to open
       * is the capacity signal the registry acts on (fallback, learned
       * limit). One that ends the stream is an output (udpsink, webrtcbin)
       * and its failure says nothing about encoder capacity. */
      g_set_error (error, LB_ERROR, downstream != NULL ? LB_ERROR_ENCODER_OPEN : LB_ERROR_OUTPUT,
                   "%s failed to start: %s", GST_ELEMENT_NAME (bin),
                   why ? why : "no error message");
      goto fail;
    }

  branch->tee_pad = gst_element_request_pad_simple (tee, "src_%u");
  sink = gst_element_get_static_pad (bin, "sink");
  ret = gst_pad_link (branch->tee_pad, sink);
  if (ret != GST_PAD_LINK_OK)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot link to %s: %s",
                   GST_ELEMENT_NAME (bin), GST_ELEMENT_NAME (tee), gst_pad_link_get_name (ret));
      goto fail;
    }
  return branch;

fail:
  /* Nothing ever flowed into it: stopping it cannot wait on a stream. */
  if (branch->tee_pad != NULL)
    {
      g_autoptr (GstPad) peer = gst_pad_get_peer (branch->tee_pad);
      if (peer != NULL)
        gst_pad_unlink (branch->tee_pad, peer);
      gst_element_release_request_pad (branch->tee, branch->tee_pad);
      g_clear_object (&branch->tee_pad);
    }
  gst_element_set_state (bin, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (pipeline), bin);
  branch_free (branch);
  return NULL;
}

GstElement *
lb_branch_get_bin (LbBranch *branch)
{
  return branch->bin;
}

static GstPadProbeReturn
unlink_when_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbBranch *branch = user_data;
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  if (peer != NULL)
    gst_pad_unlink (pad, peer);
  g_mutex_lock (&branch->lock);
  branch->unlinked = TRUE;
  g_cond_signal (&branch->cond);
  g_mutex_unlock (&branch->lock);
  return GST_PAD_PROBE_REMOVE;
}

/* Unlinks the branch from its tee between two buffers and releases the pad. */
static void
unlink_from_tee (LbBranch *branch)
{
  if (branch->tee_pad == NULL)
    return;
  /* An IDLE probe runs between two buffers on the tee's streaming thread
   * (or at once, here, if nothing flows), so no buffer is cut in half and
   * the tee's other branches never see a not-linked or flushing return. */
  branch->unlinked = FALSE;
  gst_pad_add_probe (branch->tee_pad, GST_PAD_PROBE_TYPE_IDLE, unlink_when_idle, branch, NULL);
  gint64 deadline = g_get_monotonic_time () + 2 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&branch->lock);
  while (!branch->unlinked)
    if (!g_cond_wait_until (&branch->cond, &branch->lock, deadline))
      {
        g_warning ("%s: tee never went idle; unlinking anyway", GST_ELEMENT_NAME (branch->bin));
        break;
      }
  g_mutex_unlock (&branch->lock);
  gst_element_release_request_pad (branch->tee, branch->tee_pad);
  g_clear_object (&branch->tee_pad);
}

gboolean
lb_branch_move (LbBranch *branch, GstElement *tee, GError **error)
{
  unlink_from_tee (branch);
  gst_object_unref (branch->tee);
  branch->tee = gst_object_ref (tee);
  branch->tee_pad = gst_element_request_pad_simple (tee, "src_%u");
  g_autoptr (GstPad) sink = gst_element_get_static_pad (branch->bin, "sink");
  GstPadLinkReturn ret = gst_pad_link (branch->tee_pad, sink);
  if (ret != GST_PAD_LINK_OK)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot link to %s: %s",
                   GST_ELEMENT_NAME (branch->bin), GST_ELEMENT_NAME (tee),
                   gst_pad_link_get_name (ret));
      return FALSE;
    }
  return TRUE;
}

/* Step 4, on the caller's main loop: the bin is stopped; drop it and tell the caller. */
static gboolean
detach_finish (gpointer user_data)
{
  LbBranch *branch = user_data;
  LbBranchDetachedFunc done = branch->done;
  gpointer done_data = branch->done_data;

  branch_free (branch);
  g_atomic_int_dec_and_test (&pending_detaches);
  lb_memory_release_soon ();
  if (done != NULL)
    done (done_data);
  return G_SOURCE_REMOVE;
}

/* Step 3, on a GStreamer pool thread: stopping the bin waits for its
 * streaming threads (an encoder inside a driver call, webrtcbin's ICE and
 * DTLS), however long they take; the main loop runs on meanwhile. */
static void
detach_stop (GstElement *bin, gpointer user_data)
{
  LbBranch *branch = user_data;
  gst_element_set_state (bin, GST_STATE_NULL);
  /* The last reference goes here too: disposing a bin joins whatever pad
   * task of its elements did not stop (seen with webrtcbin under load), and
   * that must not happen on the main loop. gst_element_call_async holds its
   * own reference on @bin until this returns. */
  g_clear_object (&branch->bin);
  GSource *source = g_idle_source_new ();
  g_source_set_callback (source, detach_finish, branch, NULL);
  g_source_attach (source, branch->context);
  g_source_unref (source);
}

/* Step 2, on the main loop: the bin is unlinked from the tee. Releasing the
 * tee's pad and taking the bin out of the pipeline do not wait on streaming
 * (the pad carries nothing any more; removal unlinks the bin's src pad and
 * its bus, so its last not-linked or shutdown errors reach nobody). From now
 * on the producer's pipeline can stop and go without this bin. */
static gboolean
detach_remove (gpointer user_data)
{
  LbBranch *branch = user_data;

  if (branch->tee_pad != NULL)
    {
      gst_element_release_request_pad (branch->tee, branch->tee_pad);
      g_clear_object (&branch->tee_pad);
    }
  g_autoptr (GstObject) parent = gst_object_get_parent (GST_OBJECT (branch->bin));
  if (parent != NULL)
    gst_bin_remove (GST_BIN (parent), branch->bin);
  branch->pipeline = NULL;
  gst_element_call_async (branch->bin, detach_stop, branch, NULL);
  return G_SOURCE_REMOVE;
}

/* Step 1: an IDLE probe runs between two buffers on the tee's streaming
 * thread (or at once, on the caller's thread, if nothing flows), so no
 * buffer is cut in half and the tee's other branches never see a
 * not-linked or flushing return. */
static GstPadProbeReturn
detach_when_idle (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbBranch *branch = user_data;
  g_autoptr (GstPad) peer = gst_pad_get_peer (pad);

  if (peer != NULL)
    gst_pad_unlink (pad, peer);
  if (!g_atomic_int_compare_and_exchange (&branch->detach_state, DETACH_WAITING, DETACH_UNLINKED))
    {
      /* The caller has returned: continue on its main loop. */
      GSource *source = g_idle_source_new ();
      g_source_set_callback (source, detach_remove, branch, NULL);
      g_source_attach (source, branch->context);
      g_source_unref (source);
    }
  return GST_PAD_PROBE_REMOVE;
}

void
lb_branch_detach_async (LbBranch *branch, LbBranchDetachedFunc done, gpointer user_data)
{
  g_return_if_fail (branch != NULL);
  branch->done = done;
  branch->done_data = user_data;
  branch->context = g_main_context_ref_thread_default ();
  g_atomic_int_inc (&pending_detaches);
  branch->detach_state = DETACH_WAITING;
  if (branch->tee_pad != NULL)
    {
      gst_pad_add_probe (branch->tee_pad, GST_PAD_PROBE_TYPE_IDLE, detach_when_idle, branch, NULL);
      /* A push in progress runs the probe when it returns, on its thread. */
      if (g_atomic_int_compare_and_exchange (&branch->detach_state, DETACH_WAITING,
                                             DETACH_DEFERRED))
        return;
    }
  detach_remove (branch);
}

guint
lb_branch_pending_detaches (void)
{
  return (guint)g_atomic_int_get (&pending_detaches);
}

gboolean
lb_branch_wait_detaches (guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  GMainContext *context = g_main_context_ref_thread_default ();

  while (lb_branch_pending_detaches () > 0 && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (5 * 1000);
  g_main_context_unref (context);
  return lb_branch_pending_detaches () == 0;
}

static void
pipeline_finalized (gpointer data, GObject *where_the_object_was)
{
  g_atomic_int_dec_and_test (&live_pipelines);
  lb_memory_release_soon ();
}

void
lb_media_track_pipeline (GstElement *pipeline)
{
  g_atomic_int_inc (&live_pipelines);
  g_object_weak_ref (G_OBJECT (pipeline), pipeline_finalized, NULL);
}

guint
lb_media_live_pipelines (void)
{
  return (guint)g_atomic_int_get (&live_pipelines);
}

GstElement *
lb_media_top_child (GstElement *pipeline, GstObject *object)
{
  GstObject *cur = object;
  while (cur != NULL && GST_OBJECT_PARENT (cur) != GST_OBJECT (pipeline))
    cur = GST_OBJECT_PARENT (cur);
  return cur != NULL ? GST_ELEMENT (cur) : NULL;
}
