/* lb-encoder-nvenc.c — the NVIDIA backend: nvh264enc on each GPU that the
 * NVML/NVENC probe found.
 *
 * One pool per GPU, nvenc@<index>. Its limit is, in this order of trust: a
 * learned one (an open failed below the believed cap), [encoder]
 * nvenc_session_limit, the consumer cap of the brand and driver (which
 * counts sessions of all such cards together: a pool group), or none. */
#define G_LOG_DOMAIN "lobbyd-encoders"
#include "lb-config.h"
#include "lb-encoder-backend.h"
#include "lb-pools.h"
#include "lb-spec.h"

#include <unistd.h>

#define FACTORY "nvh264enc"
/* The GeForce per-system session cap. */
#define GEFORCE_GROUP 1

extern const LbEncoderBackend lb_encoder_backend_nvenc;

static void
discover (LbPools *pools, const LbEncoderDiscovery *d)
{
  const lb_hw_report *hw = d->hw;
  for (int i = 0; hw != NULL && i < hw->gpu_count; i++)
    {
      const lb_hw_gpu *gpu = &hw->gpus[i];
      g_autofree char *name = g_strdup_printf ("nvenc@%d", gpu->index);
      LbPool *p = lb_pools_add (pools, &lb_encoder_backend_nvenc, name, FACTORY);
      const char *reason = NULL, *note = NULL;

      p->device_index = gpu->index;
      p->learn_key = g_strdup_printf ("%s/%s", gpu->uuid, hw->driver_version);
      if (!lb_hw_nvenc_usable (gpu, &reason))
        lb_pool_set_unusable (p, reason);
      else if (!(gpu->nvenc_codecs & LB_HW_CODEC_H264))
        lb_pool_set_unusable (p, "NVENC on this GPU has no H.264 encoder");
      else if (!lb_encoder_have_factory (FACTORY))
        lb_pool_set_unusable (p, "GStreamer element " FACTORY
                                 " is not installed (gstreamer1.0-plugins-bad)");

      guint def = lb_hw_nvenc_driver_default_limit (gpu->brand, hw->driver_version, &note);
      if (d->config->nvenc_session_limit > 0)
        {
          p->limit = d->config->nvenc_session_limit;
          p->limit_source = LB_LIMIT_CONFIGURED;
          p->limit_note = g_strdup ("[encoder] nvenc_session_limit");
        }
      else if (def > 0)
        {
          p->limit = def;
          p->limit_source = LB_LIMIT_DRIVER_DEFAULT;
          p->limit_note = g_strdup (note);
          /* The consumer cap counts sessions on all such cards together. */
          p->group = GEFORCE_GROUP;
          lb_pools_add_group (pools, GEFORCE_GROUP, def);
        }
      else
        {
          p->limit_source = LB_LIMIT_UNLIMITED;
          p->limit_note = g_strdup (note);
        }
      p->external = gpu->sessions_ok ? gpu->session_count : 0;
    }
}

static void
configure (GstElement *encoder, const LbEncoderSettings *settings, const LbProfile *profile)
{
  /* nvcodec's nvh264enc and the older nvenc plugin name the GOP apart. */
  lb_encoder_set_rate_and_gop (encoder, settings, profile);
  if (lb_encoder_has_property (encoder, "cuda-device-id") && settings->device_index >= 0)
    g_object_set (encoder, "cuda-device-id", settings->device_index, NULL);
  if (lb_encoder_has_property (encoder, "zerolatency"))
    g_object_set (encoder, "zerolatency", TRUE, NULL);
}

/* NVML counts every process's sessions on the GPU: ours are our encodes, the
 * rest belong to others and take slots from the same cap. */
static void
refresh_external (LbPool *p)
{
  unsigned sessions = 0, pids[LB_HW_MAX_SESSIONS], n = 0, ours = 0;
  if (p->device_index < 0
      || lb_hw_nvml_encoder_sessions (p->device_index, &sessions, pids, LB_HW_MAX_SESSIONS, &n)
             != 0)
    return;
  for (unsigned k = 0; k < n; k++)
    ours += pids[k] == (unsigned)getpid ();
  p->external = sessions > ours ? sessions - ours : 0;
}

static void
describe_unusable (const LbPool *p, const lb_hw_report *hw, GString *out)
{
  const lb_hw_gpu *gpu = NULL;
  for (int i = 0; hw != NULL && gpu == NULL && i < hw->gpu_count; i++)
    if (hw->gpus[i].index == p->device_index)
      gpu = &hw->gpus[i];
  g_string_append_printf (out, "NVENC is not usable on this GPU (%s, %s): %s",
                          gpu != NULL ? gpu->name : "?", p->name,
                          p->reason ? p->reason : "unknown reason");
}

const LbEncoderBackend lb_encoder_backend_nvenc = {
  .name = "nvenc",
  .hardware = TRUE,
  .discover = discover,
  .configure = configure,
  .refresh_external = refresh_external,
  .describe_unusable = describe_unusable,
};
