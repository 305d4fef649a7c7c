/* lb-encoder-vaapi.c — the VA-API backend (Intel, AMD): vah264enc, or the
 * older gstreamer-vaapi vaapih264enc, on the render nodes the probe found.
 *
 * One pool per render node, vaapi@renderD<n>; VA-API has no session cap. */
#define G_LOG_DOMAIN "lobbyd-encoders"
#include "lb-encoder-backend.h"
#include "lb-pools.h"
#include "lb-spec.h"

#include <string.h>

extern const LbEncoderBackend lb_encoder_backend_vaapi;

static void
discover (LbPools *pools, const LbEncoderDiscovery *d)
{
  if (d->hw == NULL)
    return;
  const char *factory = lb_encoder_have_factory ("vah264enc") ? "vah264enc" : "vaapih264enc";
  for (int i = 0; i < d->hw->node_count; i++)
    {
      const lb_hw_render_node *n = &d->hw->nodes[i];
      const char *base = strrchr (n->path, '/');
      g_autofree char *name = g_strdup_printf ("vaapi@%s", base ? base + 1 : n->path);
      LbPool *p = lb_pools_add (pools, &lb_encoder_backend_vaapi, name, factory);
      p->limit_source = LB_LIMIT_UNLIMITED;
      p->limit_note = g_strdup ("VA-API has no session cap; GPU load is the limit");
      if (!n->va_ok)
        lb_pool_set_unusable (p, n->va_error);
      else if (!((n->encode_codecs | n->encode_lp_codecs) & LB_HW_CODEC_H264))
        lb_pool_set_unusable (p, "no H.264 encode entrypoint");
      else if (!lb_encoder_have_factory (factory))
        lb_pool_set_unusable (p,
                              "GStreamer VA encoder is not installed (gstreamer1.0-plugins-bad)");
      else if (i > 0)
        /* GStreamer names encoders of further devices per node; until that
         * mapping exists only the first node is used. */
        lb_pool_set_unusable (p, "only the first render node is used for VA-API encoding");
    }
}

static void
configure (GstElement *encoder, const LbEncoderSettings *settings, const LbProfile *profile)
{
  /* vah264enc has key-int-max; vaapih264enc neither it nor gop-size. */
  lb_encoder_set_rate_and_gop (encoder, settings, profile);
}

const LbEncoderBackend lb_encoder_backend_vaapi = {
  .name = "vaapi",
  .hardware = TRUE,
  .discover = discover,
  .configure = configure,
};
