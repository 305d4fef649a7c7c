/* lb-encoder-backends.c — the table of encoder backends pools are built from.
 *
 * Registering a backend that is always built in is one line in
 * LB_BUILTIN_BACKENDS; one that only some configurations have (the test
 * double) is added at start-up with lb_encoder_backends_register. */
#define G_LOG_DOMAIN "lobbyd-encoders"
#include "lb-encoder-backend.h"
#include "lb-spec.h"

/* Order is the pools' order in gpu-status (and the scheduler's tie-break
 * among hardware pools): NVIDIA first, then VA-API, software last. */
#define LB_BUILTIN_BACKENDS(X)                                                                     \
  X (nvenc)                                                                                        \
  X (vaapi)                                                                                        \
  X (x264)

#define DECLARE(name) extern const LbEncoderBackend lb_encoder_backend_##name;
LB_BUILTIN_BACKENDS (DECLARE)
#undef DECLARE

#define ENTRY(name) &lb_encoder_backend_##name,
static const LbEncoderBackend *const builtin[] = { LB_BUILTIN_BACKENDS (ENTRY) };
#undef ENTRY

/* Built-ins and registered ones, hardware first: filled on first use. */
static GPtrArray *table;
static GPtrArray *extra;

const LbEncoderBackend *const *
lb_encoder_backends_get (guint *n)
{
  if (table == NULL)
    {
      table = g_ptr_array_new ();
      /* Hardware before software, each in registration order: software is
       * the pool of last resort and is listed last. */
      for (int pass = 0; pass < 2; pass++)
        {
          gboolean hardware = pass == 0;
          for (guint i = 0; i < G_N_ELEMENTS (builtin); i++)
            if (builtin[i]->hardware == hardware)
              g_ptr_array_add (table, (gpointer)builtin[i]);
          for (guint i = 0; extra != NULL && i < extra->len; i++)
            if (((const LbEncoderBackend *)g_ptr_array_index (extra, i))->hardware == hardware)
              g_ptr_array_add (table, g_ptr_array_index (extra, i));
        }
    }
  *n = table->len;
  return (const LbEncoderBackend *const *)table->pdata;
}

void
lb_encoder_backends_register (const LbEncoderBackend *backend)
{
  if (extra == NULL)
    extra = g_ptr_array_new ();
  if (g_ptr_array_find (extra, backend, NULL))
    return;
  g_ptr_array_add (extra, (gpointer)backend);
  g_clear_pointer (&table, g_ptr_array_unref); /* rebuilt with it on next use */
  g_debug ("encoder backend %s registered", backend->name);
}

guint
lb_encoder_key_int (const LbEncoderSettings *settings, const LbProfile *profile)
{
  return MAX (1u, profile->fps * settings->keyframe_interval_ms / 1000);
}

gboolean
lb_encoder_has_property (GstElement *element, const char *property)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (element), property) != NULL;
}

void
lb_encoder_set_rate_and_gop (GstElement *encoder, const LbEncoderSettings *settings,
                             const LbProfile *profile)
{
  guint key_int = lb_encoder_key_int (settings, profile);

  g_object_set (encoder, "bitrate", profile->bitrate_kbps, NULL);
  if (lb_encoder_has_property (encoder, "key-int-max"))
    g_object_set (encoder, "key-int-max", key_int, NULL);
  else if (lb_encoder_has_property (encoder, "gop-size"))
    g_object_set (encoder, "gop-size", (int)key_int, NULL);
}

gboolean
lb_encoder_have_factory (const char *factory)
{
  g_autoptr (GstElementFactory) f = gst_element_factory_find (factory);
  return f != NULL;
}
