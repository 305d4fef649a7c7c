/* lb-admission.c — choosing a pool, opening the encoder with fallback,
 * learning limits from refusals, and the slots encodes hold. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-admission.h"
#include "lb-error.h"
#include "lb-events.h"
#include "lb-log.h"
#include "lb-lobby.h"
#include "lb-pools.h"
#include "lb-shared-encode.h"

struct _LbAdmission
{
  LbPools *pools;
  GPtrArray *encodes; /* LbSharedEncode, borrowed from the registry */
  LbEvents *events;
  LbSlotFreedFunc slot_freed;
  gpointer slot_freed_data;
  guint64 fallbacks;
  guint64 refusals;
  GPtrArray *closing; /* SlotRelease: hardware encoders still stopping */
};

/* A hardware slot given back once its encoder has really closed. */
typedef struct
{
  LbAdmission *admission; /* NULL once the admission is gone */
  guint pool;
  guint64 pixel_rate;
} SlotRelease;

LbAdmission *
lb_admission_new (LbPools *pools, GPtrArray *encodes, LbEvents *events)
{
  LbAdmission *self = g_new0 (LbAdmission, 1);
  self->pools = pools;
  self->encodes = encodes;
  self->events = events;
  self->closing = g_ptr_array_new ();
  return self;
}

void
lb_admission_free (LbAdmission *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->closing->len; i++)
    ((SlotRelease *)g_ptr_array_index (self->closing, i))->admission = NULL;
  g_ptr_array_unref (self->closing);
  g_free (self);
}

void
lb_admission_set_slot_freed_func (LbAdmission *self, LbSlotFreedFunc func, gpointer user_data)
{
  self->slot_freed = func;
  self->slot_freed_data = user_data;
}

static void
release_pool_slot (LbAdmission *self, guint pool, guint64 pixel_rate)
{
  lb_pools_release (self->pools, pool, pixel_rate);
  if (lb_pool_is_hardware (lb_pools_get (self->pools, pool)) && self->slot_freed != NULL)
    self->slot_freed (self->slot_freed_data);
}

void
lb_admission_release_slot (LbAdmission *self, LbSharedEncode *encode)
{
  int pool = lb_shared_encode_get_pool (encode);
  if (pool < 0)
    return;
  release_pool_slot (self, (guint)pool, lb_shared_encode_get_pixel_rate (encode));
  lb_shared_encode_set_pool (encode, -1, NULL, NULL, FALSE, FALSE);
}

static void
hardware_encoder_closed (gpointer user_data)
{
  SlotRelease *release = user_data;
  if (release->admission != NULL)
    {
      g_ptr_array_remove (release->admission->closing, release);
      release_pool_slot (release->admission, release->pool, release->pixel_rate);
    }
  g_free (release);
}

void
lb_admission_close_encode (LbAdmission *self, LbSharedEncode *encode)
{
  int pool = lb_shared_encode_get_pool (encode);
  if (pool < 0 || !lb_pool_is_hardware (lb_pools_get (self->pools, (guint)pool)))
    {
      lb_admission_release_slot (self, encode);
      lb_shared_encode_free (encode);
      return;
    }
  SlotRelease *release = g_new0 (SlotRelease, 1);
  release->admission = self;
  release->pool = (guint)pool;
  release->pixel_rate = lb_shared_encode_get_pixel_rate (encode);
  g_ptr_array_add (self->closing, release);
  lb_shared_encode_close (encode, hardware_encoder_closed, release);
}

void
lb_admission_take_slot (LbAdmission *self, LbSharedEncode *encode, guint pool_index,
                        gboolean fallback)
{
  LbPool *pool = lb_pools_get (self->pools, pool_index);
  lb_admission_release_slot (self, encode);
  lb_pools_acquire (self->pools, pool_index, lb_shared_encode_get_pixel_rate (encode));
  lb_shared_encode_set_pool (encode, (int)pool_index, pool->name, pool->factory,
                             lb_pool_is_hardware (pool), fallback);
}

void
lb_admission_learn_limit (LbAdmission *self, guint pool_index, const char *message)
{
  LbPool *pool = lb_pools_get (self->pools, pool_index);
  if (!lb_pools_learn_from_failure (self->pools, pool_index, message))
    return;
  JsonObject *obj
      = lb_event_fields ("pool", pool->name, "limit_source", "learned", "error", message, NULL);
  json_object_set_int_member (obj, "limit", pool->limit);
  lb_events_emit (self->events, "pool.limit_learned", obj);
}

static void
refuse (LbAdmission *self, LbSharedEncode *encode, LbRefusal refusal, GError **error)
{
  const char *lobby_id = lb_lobby_get_id (lb_shared_encode_get_lobby (encode));
  self->refusals++;
  lb_log_lobby (G_LOG_LEVEL_INFO, lobby_id, "encode %s of lobby %s refused: no encoder (%s)",
                lb_shared_encode_get_id (encode), lobby_id, lb_refusal_name (refusal));
  JsonObject *obj
      = lb_event_fields ("lobby_id", lobby_id, "reason", lb_refusal_name (refusal), NULL);
  g_autofree guint *viewers = lb_admission_count_pool_viewers (self);
  json_object_set_member (obj, "pools", lb_pools_to_json (self->pools, viewers));
  lb_events_emit (self->events, "admission.refused", obj);
  g_set_error (error, LB_ERROR, LB_ERROR_CAPACITY, "no encoder can take this session (%s)",
               lb_refusal_name (refusal));
}

static void
fell_back (LbAdmission *self, LbSharedEncode *encode, const LbPool *pool)
{
  self->fallbacks++;
  /* The same truth as gpu-status: not "no slot" on a host without a GPU. */
  g_autofree char *why = NULL;
  const char *code = lb_pools_software_reason (self->pools, TRUE, &why);
  const char *lobby_id = lb_lobby_get_id (lb_shared_encode_get_lobby (encode));
  lb_log_pool (G_LOG_LEVEL_INFO, lobby_id, pool->name,
               "encode %s of lobby %s: software fallback on pool %s (%s)",
               lb_shared_encode_get_id (encode), lobby_id, pool->name, why);
  lb_events_emit (self->events, "encoder.fallback",
                  lb_event_fields ("encode_id", lb_shared_encode_get_id (encode), "lobby_id",
                                   lobby_id, "pool", pool->name, "reason", why, "reason_code", code,
                                   NULL));
}

gboolean
lb_admission_check (LbAdmission *self, guint64 pixel_rate, LbEncoderPreference preference,
                    gboolean require_hardware, GError **error)
{
  LbDecision d = lb_pools_decide (self->pools, preference, require_hardware, pixel_rate, NULL);
  if (d.pool >= 0)
    return TRUE;
  g_set_error (error, LB_ERROR, LB_ERROR_CAPACITY, "no encoder can take this session (%s)",
               lb_refusal_name (d.refusal));
  return FALSE;
}

gboolean
lb_admission_admit (LbAdmission *self, LbSharedEncode *encode, int exclude_pool, GError **error)
{
  guint64 px = lb_shared_encode_get_pixel_rate (encode);
  g_autofree gboolean *excluded = g_new0 (gboolean, lb_pools_get_n (self->pools));

  if (exclude_pool >= 0)
    excluded[exclude_pool] = TRUE;
  for (;;)
    {
      LbDecision d = lb_pools_decide (self->pools, lb_shared_encode_get_preference (encode),
                                      lb_shared_encode_requires_hardware (encode), px, excluded);
      if (d.pool < 0)
        {
          refuse (self, encode, d.refusal, error);
          return FALSE;
        }
      LbPool *pool = lb_pools_get (self->pools, (guint)d.pool);
      LbEncoderSettings settings = lb_pools_settings (self->pools, (guint)d.pool);
      g_autoptr (GError) local_error = NULL;
      if (lb_shared_encode_open (encode, &settings, &local_error))
        {
          lb_admission_take_slot (self, encode, (guint)d.pool, d.fallback);
          if (d.fallback)
            fell_back (self, encode, pool);
          return TRUE;
        }
      if (!g_error_matches (local_error, LB_ERROR, LB_ERROR_ENCODER_OPEN)
          || !lb_pool_is_hardware (pool))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      lb_admission_learn_limit (self, (guint)d.pool, local_error->message);
      excluded[d.pool] = TRUE;
    }
}

guint *
lb_admission_count_pool_viewers (LbAdmission *self)
{
  guint *viewers = g_new0 (guint, lb_pools_get_n (self->pools));
  for (guint i = 0; i < self->encodes->len; i++)
    {
      LbSharedEncode *e = g_ptr_array_index (self->encodes, i);
      if (lb_shared_encode_get_pool (e) >= 0)
        viewers[lb_shared_encode_get_pool (e)] += lb_shared_encode_get_n_viewers (e);
    }
  return viewers;
}

guint64
lb_admission_get_fallbacks (const LbAdmission *self)
{
  return self->fallbacks;
}

guint64
lb_admission_get_refusals (const LbAdmission *self)
{
  return self->refusals;
}
