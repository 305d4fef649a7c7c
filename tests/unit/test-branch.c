/* Unit tests for lb-media-branch with real GStreamer pipelines: a branch that
 * cannot start says what it is. An output (a branch that ends the stream)
 * is LB_ERROR_OUTPUT; only an encode (a branch that feeds a downstream tee)
 * is LB_ERROR_ENCODER_OPEN, the capacity signal the registry acts on. */
#include "lb-error.h"
#include "lb-media-branch.h"
#include "test-util.h"

#include <gst/gst.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef struct
{
  GstElement *pipeline;
  GstElement *tee;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->pipeline = test_live_tee_pipeline (&f->tee);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  gst_object_unref (f->tee);
  gst_object_unref (f->pipeline);
}

/* A real udpsink that fails in its start(): its bind port on loopback is
 * held by a socket without SO_REUSEADDR, so its bind gets EADDRINUSE.
 * Nothing is ever sent. The holder stays open for the test's lifetime. */
static GstElement *
unstartable_udpsink (void)
{
  static int holder = -1;
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;

  if (holder < 0)
    {
      holder = socket (AF_INET, SOCK_DGRAM, 0);
      addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      g_assert_cmpint (bind (holder, (struct sockaddr *)&addr, sizeof addr), ==, 0);
    }
  g_assert_cmpint (getsockname (holder, (struct sockaddr *)&addr, &len), ==, 0);
  GstElement *sink = gst_element_factory_make ("udpsink", NULL);
  g_assert_nonnull (sink);
  g_object_set (sink, "host", "127.0.0.1", "port", 5999, "bind-address", "127.0.0.1", "bind-port",
                (int)ntohs (addr.sin_port), "sync", FALSE, "async", FALSE, NULL);
  return sink;
}

static guint
n_children (GstElement *bin)
{
  return GST_BIN (bin)->numchildren;
}

static guint
n_src_pads (GstElement *element)
{
  return element->numsrcpads;
}

static void
test_output_that_cannot_start_is_output_error (Fixture *f, gconstpointer data)
{
  GError *error = NULL;
  guint children = n_children (f->pipeline), pads = n_src_pads (f->tee);
  GstElement *e[] = { gst_element_factory_make ("queue", NULL), unstartable_udpsink (), NULL };
  GstElement *bin = lb_media_chain_bin ("out0", e, &error);
  g_assert_no_error (error);

  LbBranch *branch = lb_branch_attach (f->pipeline, f->tee, bin, NULL, &error);
  g_assert_null (branch);
  g_assert_error (error, LB_ERROR, LB_ERROR_OUTPUT);
  g_assert_cmpstr (lb_error_code_name (LB_ERROR_OUTPUT), ==, "output_error");
  g_assert_cmpuint (lb_error_http_status (LB_ERROR_OUTPUT), ==, 500);
  g_assert_nonnull (strstr (error->message, "bind"));
  g_clear_error (&error);
  /* nothing left behind, and the producer runs on */
  g_assert_cmpuint (n_children (f->pipeline), ==, children);
  g_assert_cmpuint (n_src_pads (f->tee), ==, pads);
  GstState state;
  gst_element_get_state (f->pipeline, &state, NULL, 0);
  g_assert_cmpint (state, ==, GST_STATE_PLAYING);

  /* a startable output on the same tee still attaches */
  GstElement *ok[] = { gst_element_factory_make ("fakesink", NULL), NULL };
  g_object_set (ok[0], "sync", FALSE, "async", FALSE, NULL);
  bin = lb_media_chain_bin ("out1", ok, &error);
  branch = lb_branch_attach (f->pipeline, f->tee, bin, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (branch);
  lb_branch_detach_async (branch, NULL, NULL);
  g_assert_true (lb_branch_wait_detaches (5000));
}

static void
test_encode_that_cannot_start_is_encoder_open (Fixture *f, gconstpointer data)
{
  GError *error = NULL;
  /* An encode-shaped branch (sink and src pads, feeding a downstream tee)
   * holding an element that refuses to start. */
  GstElement *bin = gst_object_ref_sink (gst_bin_new ("enc0")); /* as lb_media_chain_bin */
  GstElement *identity = gst_element_factory_make ("identity", NULL);
  gst_bin_add_many (GST_BIN (bin), identity, unstartable_udpsink (), NULL);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (identity, "sink");
  g_autoptr (GstPad) src = gst_element_get_static_pad (identity, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", sink));
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", src));
  GstElement *down = gst_element_factory_make ("tee", "enc0-tee");
  g_object_set (down, "allow-not-linked", TRUE, NULL);
  gst_bin_add (GST_BIN (f->pipeline), down);
  gst_element_sync_state_with_parent (down);

  LbBranch *branch = lb_branch_attach (f->pipeline, f->tee, bin, down, &error);
  g_assert_null (branch);
  g_assert_error (error, LB_ERROR, LB_ERROR_ENCODER_OPEN);
  g_clear_error (&error);
  gst_element_set_state (down, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (f->pipeline), down);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/branch/output-that-cannot-start-is-output-error",
       test_output_that_cannot_start_is_output_error);
  ADD ("/branch/encode-that-cannot-start-is-encoder-open",
       test_encode_that_cannot_start_is_encoder_open);
  return g_test_run ();
}
