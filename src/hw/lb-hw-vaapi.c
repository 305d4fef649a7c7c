/* lb-hw-vaapi.c — VA-API encode entrypoints of each DRM render node (dlopen). */
#include "lb-hw-vaapi.h"
#include "lb-hw-abi.h"
#include "lb-hw-util.h"

#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  lb_va_display (*get_display_drm) (int);
  lb_va_status (*initialize) (lb_va_display, int *, int *);
  lb_va_status (*terminate) (lb_va_display);
  const char *(*vendor) (lb_va_display);
  int (*max_profiles) (lb_va_display);
  lb_va_status (*profiles) (lb_va_display, int *, int *);
  int (*max_entrypoints) (lb_va_display);
  lb_va_status (*entrypoints) (lb_va_display, int, int *, int *);
  const char *(*error_str) (lb_va_status);
} Va;

static int
load (Va *va, char *error, size_t size)
{
  const char *name = lb_hw_library ("LOBBYD_VA_LIBRARY", "libva.so.2");
  const char *drm_name = lb_hw_library ("LOBBYD_VA_DRM_LIBRARY", "libva-drm.so.2");
  void *lib = dlopen (name, RTLD_NOW | RTLD_GLOBAL);
  void *drm = lib ? dlopen (drm_name, RTLD_NOW | RTLD_LOCAL) : NULL;
  if (lib == NULL || drm == NULL)
    {
      lb_hw_set_text (error, size, "load %s: %s", lib ? drm_name : name, dlerror ());
      return -1;
    }
  *(void **)&va->get_display_drm = dlsym (drm, "vaGetDisplayDRM");
  *(void **)&va->initialize = dlsym (lib, "vaInitialize");
  *(void **)&va->terminate = dlsym (lib, "vaTerminate");
  *(void **)&va->vendor = dlsym (lib, "vaQueryVendorString");
  *(void **)&va->max_profiles = dlsym (lib, "vaMaxNumProfiles");
  *(void **)&va->profiles = dlsym (lib, "vaQueryConfigProfiles");
  *(void **)&va->max_entrypoints = dlsym (lib, "vaMaxNumEntrypoints");
  *(void **)&va->entrypoints = dlsym (lib, "vaQueryConfigEntrypoints");
  *(void **)&va->error_str = dlsym (lib, "vaErrorStr");
  if (!va->get_display_drm || !va->initialize || !va->terminate || !va->vendor || !va->max_profiles
      || !va->profiles || !va->max_entrypoints || !va->entrypoints || !va->error_str)
    {
      lb_hw_set_text (error, size, "libva lacks a required entry point");
      return -1;
    }
  return 0;
}

static unsigned
codec_of_profile (int profile)
{
  switch (profile)
    {
    case LB_VA_PROFILE_H264_MAIN:
    case LB_VA_PROFILE_H264_HIGH:
    case LB_VA_PROFILE_H264_CONSTRAINED_BASELINE:
      return LB_HW_CODEC_H264;
    case LB_VA_PROFILE_HEVC_MAIN:
    case LB_VA_PROFILE_HEVC_MAIN10:
      return LB_HW_CODEC_HEVC;
    case LB_VA_PROFILE_AV1_PROFILE0:
      return LB_HW_CODEC_AV1;
    default:
      return 0;
    }
}

static void
kernel_driver (const char *node, char *out, size_t size)
{
  char link[256], target[256];
  char *base = strrchr (node, '/');
  lb_hw_set_text (link, sizeof link, "/sys/class/drm/%s/device/driver", base ? base + 1 : node);
  ssize_t n = readlink (link, target, sizeof target - 1);
  if (n <= 0)
    {
      lb_hw_set_text (out, size, "unknown");
      return;
    }
  target[n] = '\0';
  lb_hw_set_text (out, size, "%s", basename (target));
}

static void
probe_node (const Va *va, lb_hw_render_node *node)
{
  int fd = open (node->path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      lb_hw_set_text (node->va_error, sizeof node->va_error, "open: %s", strerror (errno));
      return;
    }
  lb_va_display dpy = va->get_display_drm (fd);
  int major = 0, minor = 0;
  lb_va_status st = dpy ? va->initialize (dpy, &major, &minor) : -1;
  if (dpy == NULL || st != 0)
    {
      lb_hw_set_text (node->va_error, sizeof node->va_error, "vaInitialize: %s",
                      dpy ? va->error_str (st) : "no display");
      close (fd);
      return;
    }
  node->va_ok = 1;
  lb_hw_set_text (node->va_vendor, sizeof node->va_vendor, "%s", va->vendor (dpy));

  int nprof = va->max_profiles (dpy), neps = va->max_entrypoints (dpy), got = 0;
  int *profiles = calloc ((size_t)(nprof > 0 ? nprof : 1), sizeof (int));
  int *eps = calloc ((size_t)(neps > 0 ? neps : 1), sizeof (int));
  if (profiles && eps && va->profiles (dpy, profiles, &got) == 0)
    for (int p = 0; p < got; p++)
      {
        unsigned codec = codec_of_profile (profiles[p]);
        int n = 0;
        if (codec == 0 || va->entrypoints (dpy, profiles[p], eps, &n) != 0)
          continue;
        for (int e = 0; e < n; e++)
          {
            if (eps[e] == LB_VA_ENTRYPOINT_ENC_SLICE || eps[e] == LB_VA_ENTRYPOINT_ENC_PICTURE)
              node->encode_codecs |= codec;
            else if (eps[e] == LB_VA_ENTRYPOINT_ENC_SLICE_LP)
              node->encode_lp_codecs |= codec;
          }
      }
  free (profiles);
  free (eps);
  va->terminate (dpy);
  close (fd);
}

static int
compare_nodes (const void *a, const void *b)
{
  return strcmp (((const lb_hw_render_node *)a)->path, ((const lb_hw_render_node *)b)->path);
}

void
lb_hw_vaapi_probe (lb_hw_report *report, const char *dri_dir)
{
  DIR *dir = opendir (dri_dir);
  struct dirent *entry;

  if (dir == NULL)
    return; /* no render nodes: nothing to report, not an error */
  while ((entry = readdir (dir)) != NULL && report->node_count < LB_HW_MAX_NODES)
    if (strncmp (entry->d_name, "renderD", 7) == 0)
      {
        lb_hw_render_node *node = &report->nodes[report->node_count++];
        lb_hw_set_text (node->path, sizeof node->path, "%s/%s", dri_dir, entry->d_name);
        kernel_driver (node->path, node->kernel_driver, sizeof node->kernel_driver);
      }
  closedir (dir);
  if (report->node_count == 0)
    return;
  qsort (report->nodes, (size_t)report->node_count, sizeof *report->nodes, compare_nodes);

  Va va;
  memset (&va, 0, sizeof va);
  if (load (&va, report->va_error, sizeof report->va_error) != 0)
    {
      for (int i = 0; i < report->node_count; i++)
        lb_hw_set_text (report->nodes[i].va_error, sizeof report->nodes[i].va_error, "%s",
                        report->va_error);
      return;
    }
  report->va_loaded = 1;
  for (int i = 0; i < report->node_count; i++)
    probe_node (&va, &report->nodes[i]);
}
