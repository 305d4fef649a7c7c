/* lb-pools.c — encoder pools from the hardware probe, config and store. */
#define G_LOG_DOMAIN "lobbyd-pools"
#include "lb-pools.h"
#include "lb-config.h"
#include "lb-log.h"
#include "lb-store.h"
#include "lb-encoder-backend.h"

#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _LbPools
{
  const LbConfig *config;
  LbStore *store;
  lb_hw_report *hw; /* NULL when [encoder] hardware=off */
  GPtrArray *pools; /* LbPool */
  GArray *groups;   /* LbPoolGroup */
};

static void
pool_free (gpointer data)
{
  LbPool *p = data;
  g_free (p->name);
  g_free (p->factory);
  g_free (p->learn_key);
  g_free (p->reason);
  g_free (p->limit_note);
  g_free (p->last_error);
  g_free (p);
}

LbPool *
lb_pools_add (LbPools *self, const LbEncoderBackend *backend, const char *name, const char *factory)
{
  LbPool *p = g_new0 (LbPool, 1);
  p->backend = backend;
  p->name = g_strdup (name);
  p->factory = g_strdup (factory);
  p->device_index = -1;
  p->usable = TRUE;
  g_ptr_array_add (self->pools, p);
  return p;
}

void
lb_pools_add_group (LbPools *self, guint id, guint limit)
{
  for (guint i = 0; i < self->groups->len; i++)
    {
      LbPoolGroup *g = &g_array_index (self->groups, LbPoolGroup, i);
      if (g->id == id)
        {
          /* Every card of the group reports the same cap: the last one wins. */
          g->limit = limit;
          return;
        }
    }
  g_array_append_val (self->groups, ((LbPoolGroup){ id, limit }));
}

void
lb_pool_set_unusable (LbPool *p, const char *reason)
{
  p->usable = FALSE;
  g_free (p->reason);
  p->reason = g_strdup (reason);
}

gboolean
lb_pool_is_hardware (const LbPool *p)
{
  return p->backend->hardware;
}

const char *
lb_pool_backend_name (const LbPool *p)
{
  return p->backend->name;
}

/* A learned limit wins over the believed one: it is what the driver did. */
static void
apply_learned (LbPools *self, LbPool *p)
{
  guint learned = 0;
  if (p->learn_key != NULL && lb_store_get_learned_limit (self->store, p->learn_key, &learned)
      && (p->limit == 0 || learned < p->limit))
    {
      p->limit = learned;
      p->limit_source = LB_LIMIT_LEARNED;
      g_free (p->limit_note);
      p->limit_note = g_strdup_printf ("learned for %s", p->learn_key);
    }
}

LbPools *
lb_pools_new (const LbConfig *config, LbStore *store)
{
  LbPools *self = g_new0 (LbPools, 1);
  self->config = config;
  self->store = store;
  self->pools = g_ptr_array_new_with_free_func (pool_free);
  self->groups = g_array_new (FALSE, FALSE, sizeof (LbPoolGroup));

  if (g_str_equal (config->hardware, "auto"))
    {
      self->hw = g_new0 (lb_hw_report, 1);
      lb_hw_probe (self->hw, NULL);
    }

  guint n = 0;
  const LbEncoderBackend *const *backends = lb_encoder_backends_get (&n);
  const LbEncoderDiscovery discovery = { config, self->hw };
  for (guint b = 0; b < n; b++)
    {
      guint first = self->pools->len;
      backends[b]->discover (self, &discovery);
      for (guint i = first; i < self->pools->len; i++)
        apply_learned (self, g_ptr_array_index (self->pools, i));
    }

  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      g_info ("pool %s: %s, limit %u (%s)%s%s", p->name, p->usable ? "usable" : "UNUSABLE",
              p->limit, lb_limit_source_name (p->limit_source), p->reason ? ": " : "",
              p->reason ? p->reason : "");
    }
  return self;
}

void
lb_pools_free (LbPools *self)
{
  if (self == NULL)
    return;
  if (self->hw != NULL && self->hw->nvml_loaded)
    lb_hw_nvml_shutdown ();
  g_free (self->hw);
  g_ptr_array_unref (self->pools);
  g_array_unref (self->groups);
  g_free (self);
}

guint
lb_pools_get_n (LbPools *self)
{
  return self->pools->len;
}

LbPool *
lb_pools_get (LbPools *self, guint index)
{
  return g_ptr_array_index (self->pools, index);
}

const lb_hw_report *
lb_pools_get_hardware (LbPools *self)
{
  return self->hw;
}

gboolean
lb_pools_has_nvml (LbPools *self)
{
  return self->hw != NULL && self->hw->nvml_loaded && self->hw->gpu_count > 0;
}

static LbPoolState *
states (LbPools *self)
{
  LbPoolState *st = g_new0 (LbPoolState, self->pools->len);
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      st[i] = (LbPoolState){ lb_pool_is_hardware (p) ? LB_POOL_HARDWARE : LB_POOL_SOFTWARE,
                             p->usable,
                             p->limit,
                             p->used,
                             p->external,
                             p->group,
                             p->budget,
                             p->budget_used };
    }
  return st;
}

LbDecision
lb_pools_decide (LbPools *self, LbEncoderPreference preference, gboolean require_hardware,
                 guint64 pixel_rate, const gboolean *excluded)
{
  g_autofree LbPoolState *st = states (self);
  LbAdmissionRequest req = { preference, require_hardware, pixel_rate, excluded };
  return lb_scheduler_decide (st, self->pools->len, (const LbPoolGroup *)self->groups->data,
                              self->groups->len, &req);
}

int
lb_pools_pick_hardware (LbPools *self, const gboolean *excluded)
{
  g_autofree LbPoolState *st = states (self);
  return lb_scheduler_pick_hardware (st, self->pools->len, (const LbPoolGroup *)self->groups->data,
                                     self->groups->len, excluded);
}

void
lb_pools_acquire (LbPools *self, guint index, guint64 pixel_rate)
{
  LbPool *p = lb_pools_get (self, index);
  p->used++;
  p->budget_used += pixel_rate;
}

void
lb_pools_release (LbPools *self, guint index, guint64 pixel_rate)
{
  LbPool *p = lb_pools_get (self, index);
  g_return_if_fail (p->used > 0);
  p->used--;
  p->budget_used -= MIN (p->budget_used, pixel_rate);
}

gboolean
lb_pools_learn_from_failure (LbPools *self, guint index, const char *message)
{
  LbPool *p = lb_pools_get (self, index);
  guint held = p->used + p->external;

  p->open_failures++;
  g_free (p->last_error);
  p->last_error = g_strdup (message);
  if (held == 0)
    {
      /* Not even one session: this is not a cap but a broken encoder. */
      lb_pool_set_unusable (p, message);
      return FALSE;
    }
  if (p->limit != 0 && held >= p->limit)
    return FALSE; /* at the believed limit already: nothing new learned */
  p->limit = held;
  p->limit_source = LB_LIMIT_LEARNED;
  g_free (p->limit_note);
  p->limit_note
      = g_strdup_printf ("learned for %s: open failed with %u sessions held", p->learn_key, held);
  g_autoptr (GError) error = NULL;
  if (p->learn_key && !lb_store_set_learned_limit (self->store, p->learn_key, held, &error))
    lb_log_pool (G_LOG_LEVEL_WARNING, NULL, p->name, "pool %s: cannot persist learned limit: %s",
                 p->name, error->message);
  lb_log_pool (G_LOG_LEVEL_WARNING, NULL, p->name, "pool %s: learned limit %u (%s)", p->name, held,
               message);
  return TRUE;
}

void
lb_pools_refresh_external (LbPools *self)
{
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      if (p->backend->refresh_external != NULL)
        p->backend->refresh_external (p);
    }
}

LbEncoderSettings
lb_pools_settings (LbPools *self, guint index)
{
  LbPool *p = lb_pools_get (self, index);
  return (LbEncoderSettings){ p->backend, p->factory, p->device_index,
                              self->config->keyframe_interval_ms, self->config };
}

void
lb_pools_hardware_totals (LbPools *self, guint *used, int *limit)
{
  *used = 0;
  *limit = 0;
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      if (!lb_pool_is_hardware (p) || !p->usable)
        continue;
      *used += p->used + p->external;
      if (p->limit == 0)
        *limit = -1;
      else if (*limit >= 0)
        *limit += (int)p->limit;
    }
}

#define SOFTWARE_SENTENCE "Using CPU software encoding - performance may be reduced."

const char *
lb_pools_software_reason (LbPools *self, gboolean software_mode, char **message)
{
  guint n_hardware = 0, n_usable = 0;
  LbPool *failed = NULL;

  *message = NULL;
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      if (!lb_pool_is_hardware (p))
        continue;
      n_hardware++;
      n_usable += p->usable;
      if (p->usable && p->last_error != NULL && failed == NULL)
        failed = p;
    }

  if (n_hardware == 0 && self->hw == NULL)
    {
      *message = g_strdup ("Hardware encoding is turned off in the configuration "
                           "([encoder] hardware = off). " SOFTWARE_SENTENCE);
      return "hardware_disabled";
    }
  if (n_hardware == 0)
    {
      *message = g_strdup ("No NVIDIA GPU and no other hardware video encoder found on this "
                           "machine. " SOFTWARE_SENTENCE);
      return "no_hardware_encoder";
    }
  if (n_usable == 0)
    {
      /* Each pool with the driver's (or the probe's) own words. */
      GString *why = g_string_new (NULL);
      for (guint i = 0; i < self->pools->len; i++)
        {
          LbPool *p = g_ptr_array_index (self->pools, i);
          if (!lb_pool_is_hardware (p))
            continue;
          if (why->len > 0)
            g_string_append (why, "; ");
          if (p->backend->describe_unusable != NULL)
            p->backend->describe_unusable (p, self->hw, why);
          else
            g_string_append_printf (why, "%s is not usable: %s", p->name,
                                    p->reason ? p->reason : "unknown reason");
        }
      *message
          = g_strdup_printf ("No usable hardware video encoder. %s. " SOFTWARE_SENTENCE, why->str);
      g_string_free (why, TRUE);
      return "hardware_unavailable";
    }
  if (!software_mode)
    return NULL;
  if (lb_pools_pick_hardware (self, NULL) < 0 || failed == NULL)
    {
      guint used = 0;
      int limit = 0;
      /* The seed's sentence, word for word. */
      lb_pools_hardware_totals (self, &used, &limit);
      *message = g_strdup_printf ("GPU encoding sessions exhausted (%u/%d). " SOFTWARE_SENTENCE,
                                  used, limit);
      return "capacity_exhausted";
    }
  *message = g_strdup_printf ("Hardware encoder %s failed: %s. " SOFTWARE_SENTENCE, failed->name,
                              failed->last_error);
  return "hardware_error";
}

char *
lb_pools_software_reason_detail (LbPools *self)
{
  const lb_hw_report *hw = self->hw;
  if (hw == NULL || hw->gpu_count > 0 || hw->node_count > 0)
    return NULL;
  return g_strdup_printf ("NVML: %s; VA-API: %s",
                          !hw->nvml_loaded && hw->nvml_error[0] ? hw->nvml_error : "no GPU listed",
                          !hw->va_loaded && hw->va_error[0] ? hw->va_error : "no render node");
}

static const char *const limit_source_names[]
    = { "configured", "driver-default", "learned", "unlimited", "cpu-budget" };

const char *
lb_limit_source_name (LbLimitSource source)
{
  return limit_source_names[source];
}

JsonNode *
lb_pools_to_json (LbPools *self, const guint *viewers)
{
  JsonArray *array = json_array_new ();
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "name", p->name);
      json_object_set_string_member (o, "backend", lb_pool_backend_name (p));
      json_object_set_string_member (o, "encoder", p->factory);
      json_object_set_boolean_member (o, "hardware", lb_pool_is_hardware (p));
      json_object_set_boolean_member (o, "usable", p->usable);
      if (p->reason)
        json_object_set_string_member (o, "unavailable_reason", p->reason);
      /* used = encodes (slots); sessions = viewers of those encodes. */
      json_object_set_int_member (o, "used", p->used);
      if (viewers != NULL)
        json_object_set_int_member (o, "sessions", viewers[i]);
      json_object_set_int_member (o, "external", p->external);
      if (!lb_pool_is_hardware (p) || p->limit == 0)
        json_object_set_null_member (o, "limit");
      else
        json_object_set_int_member (o, "limit", p->limit);
      json_object_set_string_member (o, "limit_source", lb_limit_source_name (p->limit_source));
      if (p->limit_note)
        json_object_set_string_member (o, "limit_note", p->limit_note);
      if (!lb_pool_is_hardware (p))
        {
          json_object_set_double_member (o, "budget_mpps", p->budget / 1e6);
          json_object_set_double_member (o, "used_mpps", p->budget_used / 1e6);
        }
      if (p->last_error)
        json_object_set_string_member (o, "last_error", p->last_error);
      else
        json_object_set_null_member (o, "last_error");
      json_array_add_object_element (array, o);
    }
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);
  return node;
}

JsonNode *
lb_pools_hardware_to_json (LbPools *self)
{
  if (self->hw == NULL)
    return json_from_string ("{\"probed\":false,\"reason\":\"[encoder] hardware=off\"}", NULL);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&text, &len);
  lb_hw_report_write_json (self->hw, mem);
  fclose (mem);
  JsonNode *node = json_from_string (text, NULL);
  free (text);
  return node;
}

JsonNode *
lb_pools_gpus_to_json (LbPools *self)
{
  JsonArray *array = json_array_new ();
  for (int i = 0; self->hw != NULL && i < self->hw->gpu_count; i++)
    {
      const lb_hw_gpu *g = &self->hw->gpus[i];
      const char *reason = NULL;
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "index", g->index);
      json_object_set_string_member (o, "name", g->name);
      json_object_set_string_member (o, "uuid", g->uuid);
      json_object_set_string_member (o, "pci_bus_id", g->pci_bus_id);
      json_object_set_string_member (o, "brand", g->brand_name);
      json_object_set_string_member (o, "driver_version", self->hw->driver_version);
      json_object_set_int_member (o, "encoder_sessions_all_processes", g->session_count);
      json_object_set_boolean_member (o, "nvenc_available", lb_hw_nvenc_usable (g, &reason));
      if (reason)
        json_object_set_string_member (o, "nvenc_error", reason);
      json_array_add_object_element (array, o);
    }
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);
  return node;
}
