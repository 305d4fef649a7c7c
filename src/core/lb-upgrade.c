/* lb-upgrade.c — upgrades of fallback encodes and migration off failed
 * encoders. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-upgrade.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-events.h"
#include "lb-lobby.h"
#include "lb-log.h"
#include "lb-pools.h"
#include "lb-session.h"
#include "lb-shared-encode.h"

struct _LbUpgrade
{
  const LbConfig *config;
  LbPools *pools;
  LbAdmission *admission;
  GPtrArray *encodes; /* LbSharedEncode, borrowed from the registry */
  LbEvents *events;
  guint source;
  guint64 upgrades;
  guint64 encode_errors;
};

/* Moves @encode onto hardware pool @hw; FALSE when its encoder refuses. */
static gboolean
upgrade_encode (LbUpgrade *self, LbSharedEncode *encode, guint hw)
{
  LbPool *pool = lb_pools_get (self->pools, hw);
  LbEncoderSettings settings = lb_pools_settings (self->pools, hw);
  g_autoptr (GError) error = NULL;
  g_autofree char *from
      = g_strdup (lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name);

  if (!lb_shared_encode_open (encode, &settings, &error))
    {
      if (g_error_matches (error, LB_ERROR, LB_ERROR_ENCODER_OPEN))
        lb_admission_learn_limit (self->admission, hw, error->message);
      lb_log_pool (G_LOG_LEVEL_WARNING, lb_lobby_get_id (lb_shared_encode_get_lobby (encode)),
                   pool->name, "encode %s: upgrade to %s failed: %s",
                   lb_shared_encode_get_id (encode), pool->name, error->message);
      return FALSE;
    }
  lb_admission_take_slot (self->admission, encode, hw, FALSE);
  self->upgrades++;
  lb_log_pool (G_LOG_LEVEL_INFO, lb_lobby_get_id (lb_shared_encode_get_lobby (encode)), pool->name,
               "encode %s: upgraded from %s to %s", lb_shared_encode_get_id (encode), from,
               pool->name);
  g_autoptr (GPtrArray) viewers = lb_session_list_viewers (encode);
  for (guint v = 0; v < viewers->len; v++)
    lb_events_emit (self->events, "encoder.upgrade",
                    lb_event_fields ("session_id",
                                     lb_session_get_id (g_ptr_array_index (viewers, v)),
                                     "encode_id", lb_shared_encode_get_id (encode), "from", from,
                                     "to", pool->name, NULL));
  return TRUE;
}

/* A hardware slot freed: move fallback encodes back to hardware, oldest
 * first, while slots last. */
static gboolean
run_upgrades (gpointer user_data)
{
  LbUpgrade *self = user_data;
  guint n_pools = lb_pools_get_n (self->pools);
  g_autofree gboolean *held_off = g_new0 (gboolean, n_pools);
  gint64 now = g_get_monotonic_time ();

  self->source = 0;
  for (guint p = 0; p < n_pools; p++)
    held_off[p] = lb_pools_get (self->pools, p)->upgrade_holdoff_until > now;
  for (guint i = 0; i < self->encodes->len; i++)
    {
      LbSharedEncode *encode = g_ptr_array_index (self->encodes, i);
      if (!lb_shared_encode_is_fallback (encode))
        continue;
      int hw = lb_pools_pick_hardware (self->pools, held_off);
      if (hw < 0 || !upgrade_encode (self, encode, (guint)hw))
        break;
    }
  return G_SOURCE_REMOVE;
}

static void
on_slot_freed (gpointer user_data)
{
  LbUpgrade *self = user_data;
  /* Idle: the request that freed the slot answers first. */
  if (self->config->upgrade && self->source == 0)
    self->source = g_idle_add (run_upgrades, self);
}

LbUpgrade *
lb_upgrade_new (const LbConfig *config, LbPools *pools, LbAdmission *admission, GPtrArray *encodes,
                LbEvents *events)
{
  LbUpgrade *self = g_new0 (LbUpgrade, 1);
  self->config = config;
  self->pools = pools;
  self->admission = admission;
  self->encodes = encodes;
  self->events = events;
  lb_admission_set_slot_freed_func (admission, on_slot_freed, self);
  return self;
}

void
lb_upgrade_free (LbUpgrade *self)
{
  if (self == NULL)
    return;
  lb_admission_set_slot_freed_func (self->admission, NULL, NULL);
  if (self->source != 0)
    g_source_remove (self->source);
  g_free (self);
}

gboolean
lb_upgrade_migrate (LbUpgrade *self, LbSharedEncode *encode, const char *message, GError **error)
{
  int failed = lb_shared_encode_get_pool (encode);

  self->encode_errors++;
  if (failed >= 0)
    {
      LbPool *pool = lb_pools_get (self->pools, (guint)failed);
      pool->runtime_errors++;
      /* Moving encodes straight back onto an encoder that just failed would
       * flap; upgrades wait. New joins may still try it (and fall back). */
      pool->upgrade_holdoff_until
          = g_get_monotonic_time () + (gint64)self->config->upgrade_holdoff_s * G_USEC_PER_SEC;
      g_free (pool->last_error);
      pool->last_error = g_strdup (message);
      lb_log_pool (G_LOG_LEVEL_MESSAGE, lb_lobby_get_id (lb_shared_encode_get_lobby (encode)),
                   pool->name, "encode %s: encoder error on pool %s: %s",
                   lb_shared_encode_get_id (encode), pool->name, message);
      lb_events_emit (self->events, "encode.error",
                      lb_event_fields ("encode_id", lb_shared_encode_get_id (encode), "pool",
                                       pool->name, "error", message, NULL));
    }
  if (!lb_admission_admit (self->admission, encode, failed, error))
    return FALSE;
  const char *to = lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name;
  lb_log_pool (G_LOG_LEVEL_INFO, lb_lobby_get_id (lb_shared_encode_get_lobby (encode)), to,
               "encode %s: encoder failed (%s); moved to %s", lb_shared_encode_get_id (encode),
               message, to);
  return TRUE;
}

guint64
lb_upgrade_get_upgrades (const LbUpgrade *self)
{
  return self->upgrades;
}

guint64
lb_upgrade_get_encode_errors (const LbUpgrade *self)
{
  return self->encode_errors;
}
