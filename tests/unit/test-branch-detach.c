/* Unit tests for lb_branch_detach_async with real GStreamer pipelines: the
 * caller never waits, even when the branch's own streaming thread is stuck
 * (a push that does not return, like an encoder inside a hung driver call);
 * the callback runs on the main context once the bin is stopped and gone;
 * the tee's other branches keep flowing; the producer's pipeline may stop
 * and be freed while a detach is still in flight. */
#include "lb-media-branch.h"
#include "test-util.h"

#include <gst/gst.h>

typedef struct
{
  GstElement *pipeline;
  GstElement *tee;
  GMutex lock;
  GCond cond;
  gboolean stuck;   /* a buffer is held in the stuck branch */
  gboolean release; /* let it go */
  guint other_buffers;
  guint done_calls;
  GThread *done_thread;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->pipeline = test_live_tee_pipeline (&f->tee);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->pipeline != NULL)
    {
      gst_element_set_state (f->pipeline, GST_STATE_NULL);
      gst_object_unref (f->tee);
      gst_object_unref (f->pipeline);
    }
  g_assert_true (lb_branch_wait_detaches (5000));
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
}

static void
on_detached (gpointer user_data)
{
  Fixture *f = user_data;
  f->done_calls++;
  f->done_thread = g_thread_self ();
}

/* Holds the first buffer in the branch's streaming thread until released. */
static GstPadProbeReturn
hold (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;
  g_mutex_lock (&f->lock);
  f->stuck = TRUE;
  g_cond_broadcast (&f->cond);
  while (!f->release)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;
  g_atomic_int_inc (&f->other_buffers);
  return GST_PAD_PROBE_OK;
}

static LbBranch *
attach_sink (Fixture *f, const char *name, GstPadProbeCallback probe)
{
  GError *error = NULL;
  GstElement *e[] = { gst_element_factory_make ("identity", NULL),
                      gst_element_factory_make ("fakesink", NULL), NULL };
  g_object_set (e[1], "sync", FALSE, "async", FALSE, NULL);
  g_autoptr (GstPad) pad = gst_element_get_static_pad (e[0], "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, probe, f, NULL);
  GstElement *bin = lb_media_chain_bin (name, e, &error);
  g_assert_no_error (error);
  LbBranch *branch = lb_branch_attach (f->pipeline, f->tee, bin, NULL, &error);
  g_assert_no_error (error);
  return branch;
}

static void
wait_until_stuck (Fixture *f)
{
  g_mutex_lock (&f->lock);
  while (!f->stuck)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
}

static void
let_go (Fixture *f)
{
  g_mutex_lock (&f->lock);
  f->release = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
}

static gpointer
let_go_thread (gpointer data)
{
  let_go (data);
  return NULL;
}

static guint
n_children (Fixture *f)
{
  return GST_BIN (f->pipeline)->numchildren;
}

static void
test_detach_of_a_flowing_branch (Fixture *f, gconstpointer data)
{
  guint children = n_children (f), pads = f->tee->numsrcpads;
  LbBranch *other = attach_sink (f, "other", count);
  LbBranch *branch = attach_sink (f, "leaving", count);
  g_usleep (200 * 1000);

  lb_branch_detach_async (branch, on_detached, f);
  g_assert_cmpuint (f->done_calls, ==, 0); /* never from inside the call */
  g_assert_true (lb_branch_wait_detaches (5000));
  g_assert_cmpuint (f->done_calls, ==, 1);
  g_assert_true (f->done_thread == g_thread_self ());
  g_assert_null (gst_bin_get_by_name (GST_BIN (f->pipeline), "leaving"));
  g_assert_cmpuint (n_children (f), ==, children + 1);
  g_assert_cmpuint (f->tee->numsrcpads, ==, pads + 1);

  /* The other branch kept flowing. */
  guint before = g_atomic_int_get (&f->other_buffers);
  g_usleep (300 * 1000);
  g_assert_cmpuint (g_atomic_int_get (&f->other_buffers), >, before);
  lb_branch_detach_async (other, NULL, NULL);
  g_assert_true (lb_branch_wait_detaches (5000));
  g_assert_cmpuint (n_children (f), ==, children);
  g_assert_cmpuint (f->tee->numsrcpads, ==, pads);
}

/* The branch's own streaming thread is stuck in a push from the tee: the
 * old code waited 2 s on the caller's thread, then blocked in the bin's
 * state change until the push returned. */
static void
test_detach_of_a_stuck_branch_does_not_wait (Fixture *f, gconstpointer data)
{
  guint children = n_children (f);
  LbBranch *branch = attach_sink (f, "stuck", hold);
  wait_until_stuck (f);

  gint64 t0 = g_get_monotonic_time ();
  lb_branch_detach_async (branch, on_detached, f);
  gint64 took = g_get_monotonic_time () - t0;
  g_test_message ("detach of a stuck branch returned after %" G_GINT64_FORMAT " us", took);
  g_assert_cmpint (took, <, G_USEC_PER_SEC / 2);
  /* Still stuck: not done, and the main context stays free meanwhile. */
  for (guint i = 0; i < 20; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (f->done_calls, ==, 0);
  g_assert_cmpuint (lb_branch_pending_detaches (), ==, 1);

  let_go (f);
  g_assert_true (lb_branch_wait_detaches (5000));
  g_assert_cmpuint (f->done_calls, ==, 1);
  g_assert_cmpuint (n_children (f), ==, children);
}

/* The producer stops and its pipeline goes while a detach waits for its
 * branch's push to return: nothing is touched after it is freed, and the
 * caller is still told. */
static void
test_pipeline_freed_during_detach (Fixture *f, gconstpointer data)
{
  LbBranch *branch = attach_sink (f, "stuck", hold);
  wait_until_stuck (f);
  lb_branch_detach_async (branch, on_detached, f);

  /* The push returns while the pipeline stops (as a producer's flush does). */
  GThread *unstick = g_thread_new ("unstick", let_go_thread, f);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_thread_join (unstick);
  g_clear_object (&f->tee);
  g_clear_object (&f->pipeline);

  g_assert_true (lb_branch_wait_detaches (5000));
  g_assert_cmpuint (f->done_calls, ==, 1);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/branch-detach/flowing-branch", test_detach_of_a_flowing_branch);
  ADD ("/branch-detach/stuck-branch-does-not-wait", test_detach_of_a_stuck_branch_does_not_wait);
  ADD ("/branch-detach/pipeline-freed-during-detach", test_pipeline_freed_during_detach);
  return g_test_run ();
}
