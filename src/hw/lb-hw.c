/* lb-hw.c — running the probes, the NVENC limit policy, and the report as
 * JSON or a table. */
#include "lb-hw.h"
#include "lb-hw-nvenc.h"
#include "lb-hw-nvml.h"
#include "lb-hw-util.h"
#include "lb-hw-vaapi.h"

#include <stdlib.h>
#include <string.h>

void
lb_hw_probe (lb_hw_report *report, const lb_hw_probe_options *options)
{
  memset (report, 0, sizeof *report);
  lb_hw_nvml_probe (report);
  if (options == NULL || !options->skip_nvenc)
    lb_hw_nvenc_probe (report);
  lb_hw_vaapi_probe (report, options && options->dri_dir ? options->dri_dir : "/dev/dri");
}

unsigned
lb_hw_nvenc_driver_default_limit (int brand, const char *driver_version, const char **note)
{
  /* GeForce and Titan boards (nvmlBrandType_t 5, 6, 15, 16) share one
   * system-wide cap of concurrent NVENC sessions; professional and data-centre
   * brands have none. The cap followed the driver: 3 until R530, 5 from R530
   * (March 2023), 8 from R551.23 (January 2024) — NVIDIA's "Video Encode and
   * Decode GPU Support Matrix" and the R530/R550 release notes. Older drivers
   * (before ~2020) allowed 2: a learned limit corrects that on first refusal. */
  int consumer = brand == 5 || brand == 6 || brand == 15 || brand == 16;
  if (!consumer)
    {
      *note = "professional/data-centre brand: no NVENC session cap";
      return 0;
    }
  double version = driver_version ? atof (driver_version) : 0.0;
  if (version >= 551.23)
    {
      *note = "GeForce cap 8 (driver >= 551.23, NVIDIA support matrix)";
      return 8;
    }
  if (version >= 530.0)
    {
      *note = "GeForce cap 5 (driver 530-551, NVIDIA support matrix)";
      return 5;
    }
  *note = "GeForce cap 3 (driver < 530, NVIDIA support matrix)";
  return 3;
}

int
lb_hw_nvenc_usable (const lb_hw_gpu *gpu, const char **reason)
{
  static __thread char text[2 * LB_HW_TEXT];
  if (gpu->nvenc_available)
    {
      *reason = NULL;
      return 1;
    }
  if (!gpu->nvenc_probed)
    lb_hw_set_text (text, sizeof text, "NVENC not probed");
  else
    lb_hw_set_text (text, sizeof text, "NVENC unavailable: %s failed%s%s%s: %s",
                    gpu->nvenc_failed_step, gpu->nvenc_status_name[0] ? " with " : "",
                    gpu->nvenc_status_name, gpu->nvenc_status_name[0] ? "" : "",
                    gpu->nvenc_error[0] ? gpu->nvenc_error : "no detail");
  *reason = text;
  return 0;
}

/* ---- JSON ---- */

static void
json_string (FILE *out, const char *s)
{
  if (s == NULL || *s == '\0')
    {
      fputs ("null", out);
      return;
    }
  fputc ('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fprintf (out, "\\%c", *p);
      else if (*p < 0x20)
        fprintf (out, "\\u%04x", *p);
      else
        fputc (*p, out);
    }
  fputc ('"', out);
}

static void
json_codecs (FILE *out, unsigned codecs)
{
  const char *names[] = { "h264", "hevc", "av1" };
  int first = 1;
  fputc ('[', out);
  for (unsigned i = 0; i < 3; i++)
    if (codecs & (1u << i))
      {
        fprintf (out, "%s\"%s\"", first ? "" : ",", names[i]);
        first = 0;
      }
  fputc (']', out);
}

#define B(x) ((x) ? "true" : "false")

static void
json_gpu (FILE *out, const lb_hw_report *r, const lb_hw_gpu *g)
{
  const char *reason, *note;
  int usable = lb_hw_nvenc_usable (g, &reason);
  unsigned limit = lb_hw_nvenc_driver_default_limit (g->brand, r->driver_version, &note);

  fprintf (out, "{\"index\":%d,\"name\":", g->index);
  json_string (out, g->name);
  fputs (",\"uuid\":", out);
  json_string (out, g->uuid);
  fputs (",\"pci_bus_id\":", out);
  json_string (out, g->pci_bus_id);
  fprintf (out, ",\"brand\":\"%s\",\"encoder_usage\":{\"ok\":%s,\"error\":", g->brand_name,
           B (g->sessions_ok));
  json_string (out, g->sessions_error);
  fprintf (out,
           ",\"sessions_all_processes\":%u,\"average_fps\":%u,\"average_latency_us\":%u,"
           "\"utilization_percent\":",
           g->session_count, g->average_fps, g->average_latency_us);
  g->utilization_ok ? fprintf (out, "%u", g->encoder_utilization) : fputs ("null", out);
  fputs (",\"nvml_encoder_capacity_h264_percent\":", out);
  g->capacity_ok ? fprintf (out, "%u", g->encoder_capacity_h264) : fputs ("null", out);
  fputs (",\"sessions\":[", out);
  for (unsigned i = 0; i < g->session_count && i < LB_HW_MAX_SESSIONS; i++)
    fprintf (out, "%s{\"pid\":%u,\"codec\":%u,\"width\":%u,\"height\":%u,\"fps\":%u}", i ? "," : "",
             g->sessions[i].pid, g->sessions[i].codec, g->sessions[i].width, g->sessions[i].height,
             g->sessions[i].average_fps);
  fprintf (out,
           "]},\"nvenc\":{\"probed\":%s,\"available\":%s,\"failed_step\":", B (g->nvenc_probed),
           B (g->nvenc_available));
  json_string (out, g->nvenc_failed_step);
  fprintf (out, ",\"status\":%d,\"status_name\":", g->nvenc_status);
  json_string (out, g->nvenc_status_name);
  fputs (",\"error\":", out);
  json_string (out, g->nvenc_error);
  fprintf (out, ",\"limit_reached\":%s,\"codecs\":", B (g->nvenc_limit_reached));
  json_codecs (out, g->nvenc_codecs);
  fprintf (out, ",\"max_width\":%u,\"max_height\":%u,\"api_version\":", g->nvenc_max_width,
           g->nvenc_max_height);
  json_string (out, g->nvenc_api_version);
  fprintf (out, "},\"pool\":{\"name\":\"nvenc@%d\",\"usable\":%s,\"reason\":", g->index,
           B (usable));
  json_string (out, reason);
  if (limit > 0)
    fprintf (out, ",\"limit\":%u,\"limit_source\":\"driver-default\"", limit);
  else
    fputs (",\"limit\":null,\"limit_source\":\"unlimited\"", out);
  fputs (",\"limit_note\":", out);
  json_string (out, note);
  fputs ("}}", out);
}

void
lb_hw_report_write_json (const lb_hw_report *r, FILE *out)
{
  fprintf (out, "{\"nvml\":{\"loaded\":%s,\"error\":", B (r->nvml_loaded));
  json_string (out, r->nvml_error);
  fputs (",\"driver_version\":", out);
  json_string (out, r->driver_version);
  fputs (",\"nvml_version\":", out);
  json_string (out, r->nvml_version);
  fprintf (out, "},\"cuda\":{\"loaded\":%s,\"error\":", B (r->cuda_loaded));
  json_string (out, r->cuda_error);
  fprintf (out, ",\"device_count\":%d},\"gpus\":[", r->cuda_device_count);
  for (int i = 0; i < r->gpu_count; i++)
    {
      if (i)
        fputc (',', out);
      json_gpu (out, r, &r->gpus[i]);
    }
  fprintf (out, "],\"vaapi\":{\"loaded\":%s,\"error\":", B (r->va_loaded));
  json_string (out, r->va_error);
  fputs (",\"render_nodes\":[", out);
  for (int i = 0; i < r->node_count; i++)
    {
      const lb_hw_render_node *n = &r->nodes[i];
      fprintf (out, "%s{\"path\":", i ? "," : "");
      json_string (out, n->path);
      fputs (",\"kernel_driver\":", out);
      json_string (out, n->kernel_driver);
      fprintf (out, ",\"ok\":%s,\"error\":", B (n->va_ok));
      json_string (out, n->va_error);
      fputs (",\"vendor\":", out);
      json_string (out, n->va_vendor);
      fputs (",\"encode_codecs\":", out);
      json_codecs (out, n->encode_codecs);
      fputs (",\"low_power_encode_codecs\":", out);
      json_codecs (out, n->encode_lp_codecs);
      fputc ('}', out);
    }
  fputs ("]}}\n", out);
}

/* ---- table ---- */

static const char *
or_dash (const char *s)
{
  return s != NULL && *s ? s : "-";
}

void
lb_hw_report_write_table (const lb_hw_report *r, FILE *out)
{
  fprintf (out, "NVML:   %s%s%s\n", r->nvml_loaded ? "loaded, driver " : "not available: ",
           r->nvml_loaded ? or_dash (r->driver_version) : or_dash (r->nvml_error),
           r->nvml_loaded ? "" : "");
  fprintf (out, "CUDA:   %s", r->cuda_loaded ? "loaded" : "not available: ");
  if (r->cuda_loaded && r->cuda_error[0])
    fprintf (out, " but %s", r->cuda_error);
  else if (!r->cuda_loaded)
    fprintf (out, "%s", or_dash (r->cuda_error));
  fprintf (out, "\n\n%-4s %-28s %-14s %-12s %-9s %-5s %-8s %s\n", "GPU", "NAME", "BUS", "BRAND",
           "SESSIONS", "UTIL", "NVENC", "POOL / REASON");
  for (int i = 0; i < r->gpu_count; i++)
    {
      const lb_hw_gpu *g = &r->gpus[i];
      const char *reason, *note;
      int usable = lb_hw_nvenc_usable (g, &reason);
      unsigned limit = lb_hw_nvenc_driver_default_limit (g->brand, r->driver_version, &note);
      char sessions[16], util[8], pool[96];
      lb_hw_set_text (sessions, sizeof sessions, g->sessions_ok ? "%u" : "?", g->session_count);
      lb_hw_set_text (util, sizeof util, g->utilization_ok ? "%u%%" : "?", g->encoder_utilization);
      if (limit)
        lb_hw_set_text (pool, sizeof pool, "limit %u (driver-default)", limit);
      else
        lb_hw_set_text (pool, sizeof pool, "unlimited");
      fprintf (out, "%-4d %-28.28s %-14s %-12.12s %-9s %-5s %-8s nvenc@%d %s\n", g->index, g->name,
               g->pci_bus_id, g->brand_name, sessions, util, usable ? "yes" : "NO", g->index,
               usable ? pool : reason);
      fprintf (out, "     uuid %s\n", or_dash (g->uuid));
    }
  if (r->gpu_count == 0)
    fprintf (out, "(no NVIDIA GPU)\n");
  fprintf (out, "\n%-24s %-10s %-8s %s\n", "RENDER NODE", "DRIVER", "VA-API", "ENCODE");
  for (int i = 0; i < r->node_count; i++)
    {
      const lb_hw_render_node *n = &r->nodes[i];
      char codecs[64] = "";
      const char *names[] = { "h264", "hevc", "av1" };
      for (unsigned c = 0; c < 3; c++)
        if ((n->encode_codecs | n->encode_lp_codecs) & (1u << c))
          {
            strncat (codecs, names[c], sizeof codecs - strlen (codecs) - 1);
            strncat (codecs, " ", sizeof codecs - strlen (codecs) - 1);
          }
      fprintf (out, "%-24s %-10s %-8s %s\n", n->path, n->kernel_driver, n->va_ok ? "ok" : "NO",
               n->va_ok ? or_dash (codecs) : n->va_error);
    }
  if (r->node_count == 0)
    fprintf (out, "(no DRM render node)\n");
}
