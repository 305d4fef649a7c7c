/* lb-pools.c — encoder pools from the hardware probe, config and store. */
#define G_LOG_DOMAIN "lobbyd-pools"
#include "lb-pools.h"
#include "lb-config.h"
#include "lb-store.h"
#include "lb-test-hw-encoder.h"

#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Software budget per CPU core when none is configured: x264 ultrafast
 * encodes 1280x720@30 (27.6 Mpx/s) in ~0.2 core on simple content
 * (bench/overhead); desktops cost more, so 40 Mpx/s a core leaves headroom. */
#define SOFTWARE_MPPS_PER_CORE 40
#define GEFORCE_GROUP 1

struct _LbPools
{
  const LbConfig *config;
  LbStore *store;
  lb_hw_report *hw; /* NULL when [encoder] hardware=off */
  GPtrArray *pools; /* LbPool */
  LbPoolGroup groups[1];
  guint n_groups;
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

static LbPool *
add_pool (LbPools *self, LbBackend backend, const char *name, const char *factory)
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

static void
set_unusable (LbPool *p, const char *reason)
{
  p->usable = FALSE;
  g_free (p->reason);
  p->reason = g_strdup (reason);
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

static gboolean
have_factory (const char *name)
{
  g_autoptr (GstElementFactory) f = gst_element_factory_find (name);
  return f != NULL;
}

static void
add_nvenc_pools (LbPools *self)
{
  const lb_hw_report *hw = self->hw;
  for (int i = 0; i < hw->gpu_count; i++)
    {
      const lb_hw_gpu *gpu = &hw->gpus[i];
      g_autofree char *name = g_strdup_printf ("nvenc@%d", gpu->index);
      LbPool *p = add_pool (self, LB_BACKEND_NVENC, name, "nvh264enc");
      const char *reason = NULL, *note = NULL;

      p->device_index = gpu->index;
      p->learn_key = g_strdup_printf ("%s/%s", gpu->uuid, hw->driver_version);
      if (!lb_hw_nvenc_usable (gpu, &reason))
        set_unusable (p, reason);
      else if (!(gpu->nvenc_codecs & LB_HW_CODEC_H264))
        set_unusable (p, "NVENC on this GPU has no H.264 encoder");
      else if (!have_factory ("nvh264enc"))
        set_unusable (p, "GStreamer element nvh264enc is not installed (gstreamer1.0-plugins-bad)");

      guint def = lb_hw_nvenc_driver_default_limit (gpu->brand, hw->driver_version, &note);
      if (self->config->nvenc_session_limit > 0)
        {
          p->limit = self->config->nvenc_session_limit;
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
          self->groups[0] = (LbPoolGroup){ GEFORCE_GROUP, def };
          self->n_groups = 1;
        }
      else
        {
          p->limit_source = LB_LIMIT_UNLIMITED;
          p->limit_note = g_strdup (note);
        }
      apply_learned (self, p);
      p->external = gpu->sessions_ok ? gpu->session_count : 0;
    }
}

static void
add_vaapi_pools (LbPools *self)
{
  const char *factory = have_factory ("vah264enc") ? "vah264enc" : "vaapih264enc";
  for (int i = 0; i < self->hw->node_count; i++)
    {
      const lb_hw_render_node *n = &self->hw->nodes[i];
      const char *base = strrchr (n->path, '/');
      g_autofree char *name = g_strdup_printf ("vaapi@%s", base ? base + 1 : n->path);
      LbPool *p = add_pool (self, LB_BACKEND_VAAPI, name, factory);
      p->limit_source = LB_LIMIT_UNLIMITED;
      p->limit_note = g_strdup ("VA-API has no session cap; GPU load is the limit");
      if (!n->va_ok)
        set_unusable (p, n->va_error);
      else if (!((n->encode_codecs | n->encode_lp_codecs) & LB_HW_CODEC_H264))
        set_unusable (p, "no H.264 encode entrypoint");
      else if (!have_factory (factory))
        set_unusable (p, "GStreamer VA encoder is not installed (gstreamer1.0-plugins-bad)");
      else if (i > 0)
        /* GStreamer names encoders of further devices per node; until that
         * mapping exists only the first node is used. */
        set_unusable (p, "only the first render node is used for VA-API encoding");
    }
}

LbPools *
lb_pools_new (const LbConfig *config, LbStore *store)
{
  LbPools *self = g_new0 (LbPools, 1);
  self->config = config;
  self->store = store;
  self->pools = g_ptr_array_new_with_free_func (pool_free);

  if (g_str_equal (config->hardware, "auto"))
    {
      self->hw = g_new0 (lb_hw_report, 1);
      lb_hw_probe (self->hw, NULL);
      add_nvenc_pools (self);
      add_vaapi_pools (self);
    }

  if (config->hw_double)
    {
      lb_test_hw_encoder_register (config->hw_double_real_limit, config->hw_double_fault_file);
      LbPool *p
          = add_pool (self, LB_BACKEND_TEST_DOUBLE, "test-double@0", LB_TEST_HW_ENCODER_FACTORY);
      p->learn_key = g_strdup ("test-double@0");
      p->limit = config->hw_double_believed_limit;
      p->limit_source = LB_LIMIT_CONFIGURED;
      p->limit_note = g_strdup ("[testing] hw_double_believed_limit (TEST DOUBLE)");
      apply_learned (self, p);
    }

  LbPool *sw = add_pool (self, LB_BACKEND_SOFTWARE, "software", "x264enc");
  guint mpps = config->software_budget_mpps > 0 ? config->software_budget_mpps
                                                : SOFTWARE_MPPS_PER_CORE * g_get_num_processors ();
  sw->budget = (guint64)mpps * 1000000;
  sw->limit_source = LB_LIMIT_CPU_BUDGET;
  sw->limit_note = config->software_budget_mpps > 0
                       ? g_strdup ("[encoder] software_budget_mpps")
                       : g_strdup_printf ("%u Mpx/s per core x %u cores", SOFTWARE_MPPS_PER_CORE,
                                          g_get_num_processors ());
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
      st[i]
          = (LbPoolState){ p->backend == LB_BACKEND_SOFTWARE ? LB_POOL_SOFTWARE : LB_POOL_HARDWARE,
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
  return lb_scheduler_decide (st, self->pools->len, self->groups, self->n_groups, &req);
}

int
lb_pools_pick_hardware (LbPools *self, const gboolean *excluded)
{
  g_autofree LbPoolState *st = states (self);
  return lb_scheduler_pick_hardware (st, self->pools->len, self->groups, self->n_groups, excluded);
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
      set_unusable (p, message);
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
    g_warning ("pool %s: cannot persist learned limit: %s", p->name, error->message);
  g_warning ("pool %s: learned limit %u (%s)", p->name, held, message);
  return TRUE;
}

void
lb_pools_refresh_external (LbPools *self)
{
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      unsigned sessions = 0, pids[LB_HW_MAX_SESSIONS], n = 0, ours = 0;
      if (p->backend != LB_BACKEND_NVENC || p->device_index < 0)
        continue;
      if (lb_hw_nvml_encoder_sessions (p->device_index, &sessions, pids, LB_HW_MAX_SESSIONS, &n)
          != 0)
        continue;
      /* Sessions of this process are our encodes; the rest belong to others. */
      for (unsigned k = 0; k < n; k++)
        ours += pids[k] == (unsigned)getpid ();
      p->external = sessions > ours ? sessions - ours : 0;
    }
}

LbEncoderSettings
lb_pools_settings (LbPools *self, guint index)
{
  LbPool *p = lb_pools_get (self, index);
  return (LbEncoderSettings){ p->factory, p->device_index, self->config->x264_speed_preset,
                              self->config->keyframe_interval_ms };
}

void
lb_pools_hardware_totals (LbPools *self, guint *used, int *limit)
{
  *used = 0;
  *limit = 0;
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      if (p->backend == LB_BACKEND_SOFTWARE || !p->usable)
        continue;
      *used += p->used + p->external;
      if (p->limit == 0)
        *limit = -1;
      else if (*limit >= 0)
        *limit += (int)p->limit;
    }
}

#define SOFTWARE_SENTENCE "Using CPU software encoding - performance may be reduced."

static const lb_hw_gpu *
find_gpu (LbPools *self, int index)
{
  for (int i = 0; self->hw != NULL && i < self->hw->gpu_count; i++)
    if (self->hw->gpus[i].index == index)
      return &self->hw->gpus[i];
  return NULL;
}

const char *
lb_pools_software_reason (LbPools *self, gboolean software_mode, char **message)
{
  guint n_hardware = 0, n_usable = 0;
  LbPool *failed = NULL;

  *message = NULL;
  for (guint i = 0; i < self->pools->len; i++)
    {
      LbPool *p = g_ptr_array_index (self->pools, i);
      if (p->backend == LB_BACKEND_SOFTWARE)
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
          const lb_hw_gpu *gpu = find_gpu (self, p->device_index);
          if (p->backend == LB_BACKEND_SOFTWARE)
            continue;
          if (why->len > 0)
            g_string_append (why, "; ");
          if (p->backend == LB_BACKEND_NVENC)
            g_string_append_printf (why, "NVENC is not usable on this GPU (%s, %s): %s",
                                    gpu != NULL ? gpu->name : "?", p->name,
                                    p->reason ? p->reason : "unknown reason");
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

static const char *const backend_names[] = { "software", "nvenc", "vaapi", "test-double" };
static const char *const limit_source_names[]
    = { "configured", "driver-default", "learned", "unlimited", "cpu-budget" };

const char *
lb_backend_name (LbBackend backend)
{
  return backend_names[backend];
}

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
      json_object_set_string_member (o, "backend", lb_backend_name (p->backend));
      json_object_set_string_member (o, "encoder", p->factory);
      json_object_set_boolean_member (o, "hardware", p->backend != LB_BACKEND_SOFTWARE);
      json_object_set_boolean_member (o, "usable", p->usable);
      if (p->reason)
        json_object_set_string_member (o, "unavailable_reason", p->reason);
      /* used = encodes (slots); sessions = viewers of those encodes. */
      json_object_set_int_member (o, "used", p->used);
      if (viewers != NULL)
        json_object_set_int_member (o, "sessions", viewers[i]);
      json_object_set_int_member (o, "external", p->external);
      if (p->backend == LB_BACKEND_SOFTWARE || p->limit == 0)
        json_object_set_null_member (o, "limit");
      else
        json_object_set_int_member (o, "limit", p->limit);
      json_object_set_string_member (o, "limit_source", lb_limit_source_name (p->limit_source));
      if (p->limit_note)
        json_object_set_string_member (o, "limit_note", p->limit_note);
      if (p->backend == LB_BACKEND_SOFTWARE)
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
