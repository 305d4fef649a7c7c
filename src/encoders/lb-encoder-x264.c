/* lb-encoder-x264.c — the software backend: x264enc on the CPU.
 *
 * One pool, "software", limited not by sessions but by a pixel-rate budget:
 * [encoder] software_budget_mpps, else a per-core estimate. */
#define G_LOG_DOMAIN "lobbyd-encoders"
#include "lb-config.h"
#include "lb-encoder-backend.h"
#include "lb-pools.h"
#include "lb-spec.h"

/* Software budget per CPU core when none is configured: x264 ultrafast
 * encodes 1280x720@30 (27.6 Mpx/s) in ~0.2 core on simple content
 * (bench/overhead); desktops cost more, so 40 Mpx/s a core leaves headroom. */
#define SOFTWARE_MPPS_PER_CORE 40

extern const LbEncoderBackend lb_encoder_backend_x264;

static void
discover (LbPools *pools, const LbEncoderDiscovery *d)
{
  const LbConfig *config = d->config;
  LbPool *sw = lb_pools_add (pools, &lb_encoder_backend_x264, "software", "x264enc");
  guint mpps = config->software_budget_mpps > 0 ? config->software_budget_mpps
                                                : SOFTWARE_MPPS_PER_CORE * g_get_num_processors ();
  sw->budget = (guint64)mpps * 1000000;
  sw->limit_source = LB_LIMIT_CPU_BUDGET;
  sw->limit_note = config->software_budget_mpps > 0
                       ? g_strdup ("[encoder] software_budget_mpps")
                       : g_strdup_printf ("%u Mpx/s per core x %u cores", SOFTWARE_MPPS_PER_CORE,
                                          g_get_num_processors ());
}

static void
configure (GstElement *encoder, const LbEncoderSettings *settings, const LbProfile *profile)
{
  g_object_set (encoder, "bitrate", profile->bitrate_kbps, "key-int-max",
                lb_encoder_key_int (settings, profile), "bframes", 0, NULL);
  /* One frame in, one frame out: no lookahead, no frame threads' delay. */
  gst_util_set_object_arg (G_OBJECT (encoder), "tune", "zerolatency");
  gst_util_set_object_arg (G_OBJECT (encoder), "speed-preset", settings->config->x264_speed_preset);
}

const LbEncoderBackend lb_encoder_backend_x264 = {
  .name = "software",
  .hardware = FALSE,
  .discover = discover,
  .configure = configure,
};
