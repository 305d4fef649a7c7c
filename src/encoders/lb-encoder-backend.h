/* lb-encoder-backend.h — what lobbyd needs to know about one encoder backend
 * (x264, NVENC, VA-API, the test double), as a table entry.
 *
 * The pools, the scheduler and the encode branch never name a backend: pools
 * are built by asking every registered backend for its own
 * (lb_encoder_backends_discover), and an encode branch makes the element its
 * pool names and lets the backend set its properties. Adding a backend is one
 * new src/encoders/lb-encoder-<name>.c that defines an LbEncoderBackend plus
 * one line in lb-encoder-backends.c. */
#pragma once

#include <gst/gst.h>
#include "lb-hw.h"
#include "lb-types.h"

G_BEGIN_DECLS

/* What a backend's discover() is given: nothing here is owned by it. */
typedef struct
{
  const LbConfig *config;
  const lb_hw_report *hw; /* NULL when [encoder] hardware=off: no probe ran */
} LbEncoderDiscovery;

struct _LbEncoderBackend
{
  /* The pools' "backend" in gpu-status and metrics: a stable API string. */
  const char *name;
  /* Counts against hardware slots, is preferred over software and is what
   * an upgrade moves encodes to; FALSE: a CPU budget (px/s) instead. */
  gboolean hardware;

  /* Adds this backend's pools to @pools with lb_pools_add (none when its
   * hardware or element is absent; an unusable one with its reason, so that
   * gpu-status explains). A pool with a learn_key gets its learned limit
   * applied afterwards by lb-pools. */
  void (*discover) (LbPools *pools, const LbEncoderDiscovery *discovery);

  /* Sets bitrate, GOP (key-frame interval), latency and device on @encoder,
   * an element made from the pool's factory. Key frames on request need no
   * hook: every GStreamer encoder honours the force-key-unit event. */
  void (*configure) (GstElement *encoder, const LbEncoderSettings *settings,
                     const LbProfile *profile);

  /* Optional: re-reads sessions other processes hold on @pool's device. */
  void (*refresh_external) (LbPool *pool);

  /* Optional: appends why @pool is not usable, for the software_reason
   * sentence; NULL: "<pool> is not usable: <reason>". */
  void (*describe_unusable) (const LbPool *pool, const lb_hw_report *hw, GString *out);
};

/* Every backend lobbyd builds pools from: hardware ones first (in
 * registration order), software last, as gpu-status lists them. */
const LbEncoderBackend *const *lb_encoder_backends_get (guint *n);
/* Adds @backend (static storage) to the table for the rest of the process:
 * for backends that only some configurations have, e.g. the test double.
 * Call before lb_pools_new. Registering one twice is a no-op. */
void lb_encoder_backends_register (const LbEncoderBackend *backend);

/* Shared by backends: the key-frame interval in frames for @profile. */
guint lb_encoder_key_int (const LbEncoderSettings *settings, const LbProfile *profile);
/* Whether @element has @property: versions of one element differ (NVENC's
 * of the old nvenc plugin vs nvcodec's), so a backend asks before setting. */
gboolean lb_encoder_has_property (GstElement *element, const char *property);
/* Sets the profile's bitrate (kbit/s) and the key-frame interval on a
 * hardware encoder, whichever of key-int-max / gop-size its version has. */
void lb_encoder_set_rate_and_gop (GstElement *encoder, const LbEncoderSettings *settings,
                                  const LbProfile *profile);
/* Whether GStreamer has the element @factory (its plugin may be absent). */
gboolean lb_encoder_have_factory (const char *factory);

G_END_DECLS
