/* lb-encoder-test-double.c — TEST DOUBLE of a hardware H.264 encoder, and
 * its backend (pool test-double@0).
 *
 * No machine here has NVENC, so the element lbtesthwenc stands in for one to
 * prove lobbyd's capacity handling end to end: it really encodes (x264
 * inside, so the stream decodes), and like a GeForce driver it refuses the
 * (N+1)th concurrent session: the state change fails with "Could not
 * initialize supporting library" (GST_LIBRARY_ERROR_INIT), as NVENC's
 * element does past the cap. A fault file, when present, makes running
 * instances fail mid-stream; a stall file, while present, makes them hang in
 * their encode call like a wedged driver (the caller's thread is stuck
 * until the file goes).
 *
 * Built into a test-only library (lobbyd-testing), not the core: the daemon
 * registers this backend only with [testing] hw_double=true. */
#define G_LOG_DOMAIN "lobbyd-encoders"
#include "lb-encoder-test-double.h"
#include "lb-config.h"
#include "lb-encoder-backend.h"
#include "lb-pools.h"
#include "lb-spec.h"

#include <glib/gstdio.h>

#define FACTORY "lbtesthwenc"

#define LB_TYPE_TEST_HW_ENCODER (lb_test_hw_encoder_get_type ())
G_DECLARE_FINAL_TYPE (LbTestHwEncoder, lb_test_hw_encoder, LB, TEST_HW_ENCODER, GstBin)

struct _LbTestHwEncoder
{
  GstBin parent;
  GstElement *x264;
  gboolean counted; /* holds one of the real_limit "driver" sessions */
  gboolean faulted;
};

enum
{
  PROP_0,
  PROP_BITRATE,
  PROP_KEY_INT_MAX,
};

static GMutex sessions_lock;
static guint sessions_open;
static guint real_limit;
static char *fault_file;
static char *stall_file;

G_DEFINE_TYPE (LbTestHwEncoder, lb_test_hw_encoder, GST_TYPE_BIN)

static GstPadProbeReturn
maybe_fault (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbTestHwEncoder *self = user_data;

  if (fault_file == NULL || self->faulted || !g_file_test (fault_file, G_FILE_TEST_EXISTS))
    return GST_PAD_PROBE_OK;
  self->faulted = TRUE;
  GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Encoding failed (test double fault)"),
                     ("fault file %s exists", fault_file));
  return GST_PAD_PROBE_DROP;
}

/* On the encoder's input, inside its streaming thread: like a driver call
 * that does not return, it holds the encoder (and stopping it) until the
 * file is removed. */
static GstPadProbeReturn
maybe_stall (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  while (stall_file != NULL && g_file_test (stall_file, G_FILE_TEST_EXISTS))
    g_usleep (10 * 1000);
  return GST_PAD_PROBE_OK;
}

static GstStateChangeReturn
change_state (GstElement *element, GstStateChange transition)
{
  LbTestHwEncoder *self = LB_TEST_HW_ENCODER (element);

  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    {
      g_mutex_lock (&sessions_lock);
      gboolean refused = sessions_open >= real_limit;
      if (!refused)
        {
          sessions_open++;
          self->counted = TRUE;
        }
      g_mutex_unlock (&sessions_lock);
      if (refused)
        {
          /* What NVENC's element posts when the driver refuses a session. */
          GST_ELEMENT_ERROR (
              self, LIBRARY, INIT, (NULL),
              ("test double: %u encoder sessions open, the driver's real limit is %u",
               sessions_open, real_limit));
          return GST_STATE_CHANGE_FAILURE;
        }
    }

  GstStateChangeReturn ret
      = GST_ELEMENT_CLASS (lb_test_hw_encoder_parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_READY_TO_NULL && self->counted)
    {
      g_mutex_lock (&sessions_lock);
      sessions_open--;
      self->counted = FALSE;
      g_mutex_unlock (&sessions_lock);
    }
  return ret;
}

static void
set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  LbTestHwEncoder *self = LB_TEST_HW_ENCODER (object);
  switch (id)
    {
    case PROP_BITRATE:
      g_object_set (self->x264, "bitrate", g_value_get_uint (value), NULL);
      break;
    case PROP_KEY_INT_MAX:
      g_object_set (self->x264, "key-int-max", g_value_get_uint (value), NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  LbTestHwEncoder *self = LB_TEST_HW_ENCODER (object);
  guint v = 0;
  switch (id)
    {
    case PROP_BITRATE:
      g_object_get (self->x264, "bitrate", &v, NULL);
      g_value_set_uint (value, v);
      break;
    case PROP_KEY_INT_MAX:
      g_object_get (self->x264, "key-int-max", &v, NULL);
      g_value_set_uint (value, v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
lb_test_hw_encoder_init (LbTestHwEncoder *self)
{
  self->x264 = gst_element_factory_make ("x264enc", "double-x264");
  gst_util_set_object_arg (G_OBJECT (self->x264), "tune", "zerolatency");
  gst_util_set_object_arg (G_OBJECT (self->x264), "speed-preset", "ultrafast");
  g_object_set (self->x264, "bframes", 0, NULL);
  gst_bin_add (GST_BIN (self), self->x264);

  g_autoptr (GstPad) sink = gst_element_get_static_pad (self->x264, "sink");
  g_autoptr (GstPad) src = gst_element_get_static_pad (self->x264, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, maybe_fault, self, NULL);
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, maybe_stall, NULL, NULL);
  gst_element_add_pad (GST_ELEMENT (self), gst_ghost_pad_new ("sink", sink));
  gst_element_add_pad (GST_ELEMENT (self), gst_ghost_pad_new ("src", src));
}

static void
lb_test_hw_encoder_class_init (LbTestHwEncoderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  object_class->set_property = set_property;
  object_class->get_property = get_property;
  element_class->change_state = change_state;
  g_object_class_install_property (object_class, PROP_BITRATE,
                                   g_param_spec_uint ("bitrate", "Bitrate", "kbit/s", 1, 2000000,
                                                      2048,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (object_class, PROP_KEY_INT_MAX,
                                   g_param_spec_uint ("key-int-max", "Key interval", "frames", 0,
                                                      G_MAXINT, 0,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  gst_element_class_set_static_metadata (
      element_class, "lobbyd test-double hardware encoder", "Codec/Encoder/Video/Hardware",
      "TEST DOUBLE: x264 that refuses sessions past a limit", "lobbyd");
}

static gboolean
register_element (guint limit, const char *fault, const char *stall)
{
  real_limit = limit;
  g_free (fault_file);
  fault_file = fault != NULL && *fault != '\0' ? g_strdup (fault) : NULL;
  g_free (stall_file);
  stall_file = stall != NULL && *stall != '\0' ? g_strdup (stall) : NULL;
  return gst_element_register (NULL, FACTORY, GST_RANK_NONE, LB_TYPE_TEST_HW_ENCODER);
}

extern const LbEncoderBackend lb_encoder_backend_test_double;

static void
discover (LbPools *pools, const LbEncoderDiscovery *d)
{
  const LbConfig *config = d->config;
  if (!config->hw_double)
    return;
  register_element (config->hw_double_real_limit, config->hw_double_fault_file,
                    config->hw_double_stall_file);
  LbPool *p = lb_pools_add (pools, &lb_encoder_backend_test_double, "test-double@0", FACTORY);
  p->learn_key = g_strdup ("test-double@0");
  p->limit = config->hw_double_believed_limit;
  p->limit_source = LB_LIMIT_CONFIGURED;
  p->limit_note = g_strdup ("[testing] hw_double_believed_limit (TEST DOUBLE)");
}

static void
configure (GstElement *encoder, const LbEncoderSettings *settings, const LbProfile *profile)
{
  g_object_set (encoder, "bitrate", profile->bitrate_kbps, "key-int-max",
                lb_encoder_key_int (settings, profile), NULL);
}

const LbEncoderBackend lb_encoder_backend_test_double = {
  .name = "test-double",
  .hardware = TRUE,
  .discover = discover,
  .configure = configure,
};

void
lb_encoder_test_double_register (void)
{
  lb_encoder_backends_register (&lb_encoder_backend_test_double);
}
