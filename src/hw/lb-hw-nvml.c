/* lb-hw-nvml.c — GPU identity and encoder usage through NVML (dlopen). */
#include "lb-hw-nvml.h"
#include "lb-hw-abi.h"
#include "lb-hw-util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

typedef struct
{
  void *lib;
  int initialised;
  lb_nvml_return_t (*init) (void);
  lb_nvml_return_t (*shutdown) (void);
  const char *(*error_string) (lb_nvml_return_t);
  lb_nvml_return_t (*driver_version) (char *, unsigned);
  lb_nvml_return_t (*nvml_version) (char *, unsigned);
  lb_nvml_return_t (*count) (unsigned *);
  lb_nvml_return_t (*handle) (unsigned, lb_nvml_device_t *);
  lb_nvml_return_t (*name) (lb_nvml_device_t, char *, unsigned);
  lb_nvml_return_t (*uuid) (lb_nvml_device_t, char *, unsigned);
  lb_nvml_return_t (*pci) (lb_nvml_device_t, lb_nvml_pci_info_t *);
  lb_nvml_return_t (*brand) (lb_nvml_device_t, int *);
  lb_nvml_return_t (*stats) (lb_nvml_device_t, unsigned *, unsigned *, unsigned *);
  lb_nvml_return_t (*sessions) (lb_nvml_device_t, unsigned *, lb_nvml_encoder_session_info_t *);
  lb_nvml_return_t (*utilization) (lb_nvml_device_t, unsigned *, unsigned *);
  lb_nvml_return_t (*capacity) (lb_nvml_device_t, int, unsigned *);
} Nvml;

static Nvml nvml;
static pthread_mutex_t nvml_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
nvml_error (lb_nvml_return_t rc)
{
  return nvml.error_string != NULL ? nvml.error_string (rc) : "unknown NVML error";
}

/* Loads and initialises NVML once; returns 0 or fills @error. Caller holds the lock. */
static int
nvml_load (char *error, size_t size)
{
  if (nvml.initialised)
    return 0;
  if (nvml.lib == NULL)
    {
      const char *name = lb_hw_library ("LOBBYD_NVML_LIBRARY", "libnvidia-ml.so.1");
      nvml.lib = dlopen (name, RTLD_NOW | RTLD_LOCAL);
      if (nvml.lib == NULL)
        {
          lb_hw_set_text (error, size, "load %s: %s", name, dlerror ());
          return -1;
        }
    }
#define SYM(field, symbol)                                                                         \
  do                                                                                               \
    {                                                                                              \
      *(void **)&nvml.field = dlsym (nvml.lib, symbol);                                            \
      if (nvml.field == NULL)                                                                      \
        {                                                                                          \
          lb_hw_set_text (error, size, "NVML has no %s", symbol);                                  \
          return -1;                                                                               \
        }                                                                                          \
    }                                                                                              \
  while (0)
  SYM (init, "nvmlInit_v2");
  SYM (shutdown, "nvmlShutdown");
  SYM (error_string, "nvmlErrorString");
  SYM (driver_version, "nvmlSystemGetDriverVersion");
  SYM (nvml_version, "nvmlSystemGetNVMLVersion");
  SYM (count, "nvmlDeviceGetCount_v2");
  SYM (handle, "nvmlDeviceGetHandleByIndex_v2");
  SYM (name, "nvmlDeviceGetName");
  SYM (uuid, "nvmlDeviceGetUUID");
  SYM (pci, "nvmlDeviceGetPciInfo_v3");
  SYM (brand, "nvmlDeviceGetBrand");
  SYM (stats, "nvmlDeviceGetEncoderStats");
  SYM (sessions, "nvmlDeviceGetEncoderSessions");
  SYM (utilization, "nvmlDeviceGetEncoderUtilization");
  SYM (capacity, "nvmlDeviceGetEncoderCapacity");
#undef SYM
  lb_nvml_return_t rc = nvml.init ();
  if (rc != LB_NVML_SUCCESS)
    {
      lb_hw_set_text (error, size, "nvmlInit: %s (%d)", nvml_error (rc), rc);
      return -1;
    }
  nvml.initialised = 1;
  return 0;
}

static void
read_sessions (lb_nvml_device_t dev, lb_hw_gpu *gpu)
{
  lb_nvml_encoder_session_info_t info[LB_HW_MAX_SESSIONS];
  unsigned count = LB_HW_MAX_SESSIONS;
  unsigned n, fps, latency;

  lb_nvml_return_t rc = nvml.stats (dev, &n, &fps, &latency);
  if (rc != LB_NVML_SUCCESS)
    {
      lb_hw_set_text (gpu->sessions_error, sizeof gpu->sessions_error,
                      "nvmlDeviceGetEncoderStats: %s (%d)", nvml_error (rc), rc);
      return;
    }
  gpu->session_count = n;
  gpu->average_fps = fps;
  gpu->average_latency_us = latency;
  gpu->sessions_ok = 1;

  rc = nvml.sessions (dev, &count, info);
  if (rc == LB_NVML_SUCCESS)
    for (unsigned i = 0; i < count && i < LB_HW_MAX_SESSIONS; i++)
      gpu->sessions[i] = (lb_hw_encoder_session){ info[i].sessionId,           info[i].pid,
                                                  (unsigned)info[i].codecType, info[i].hResolution,
                                                  info[i].vResolution,         info[i].averageFps,
                                                  info[i].averageLatency };
}

static const char *const brand_names[] = {
  "Unknown",    "Quadro",       "Tesla",      "NVS",         "GRID",       "GeForce",
  "Titan",      "NVIDIA vApps", "NVIDIA VPC", "NVIDIA VCS",  "NVIDIA VWS", "NVIDIA Cloud Gaming",
  "Quadro RTX", "NVIDIA RTX",   "NVIDIA",     "GeForce RTX", "Titan RTX",
};

const char *
lb_hw_brand_name (int brand)
{
  if (brand >= 0 && (size_t)brand < sizeof brand_names / sizeof *brand_names)
    return brand_names[brand];
  return "Unknown";
}

void
lb_hw_nvml_probe (lb_hw_report *report)
{
  pthread_mutex_lock (&nvml_lock);
  if (nvml_load (report->nvml_error, sizeof report->nvml_error) != 0)
    goto out;
  report->nvml_loaded = 1;
  nvml.driver_version (report->driver_version, sizeof report->driver_version);
  nvml.nvml_version (report->nvml_version, sizeof report->nvml_version);

  unsigned count = 0;
  lb_nvml_return_t rc = nvml.count (&count);
  if (rc != LB_NVML_SUCCESS)
    {
      lb_hw_set_text (report->nvml_error, sizeof report->nvml_error, "nvmlDeviceGetCount: %s (%d)",
                      nvml_error (rc), rc);
      goto out;
    }
  for (unsigned i = 0; i < count && i < LB_HW_MAX_GPUS; i++)
    {
      lb_hw_gpu *gpu = &report->gpus[report->gpu_count++];
      lb_nvml_device_t dev;
      lb_nvml_pci_info_t pci;
      unsigned util = 0, period = 0, capacity = 0;

      gpu->index = (int)i;
      if ((rc = nvml.handle (i, &dev)) != LB_NVML_SUCCESS)
        {
          lb_hw_set_text (gpu->sessions_error, sizeof gpu->sessions_error,
                          "nvmlDeviceGetHandleByIndex: %s (%d)", nvml_error (rc), rc);
          continue;
        }
      nvml.name (dev, gpu->name, sizeof gpu->name);
      nvml.uuid (dev, gpu->uuid, sizeof gpu->uuid);
      if (nvml.pci (dev, &pci) == LB_NVML_SUCCESS)
        lb_hw_normalise_bus_id (pci.busId, gpu->pci_bus_id, sizeof gpu->pci_bus_id);
      if (nvml.brand (dev, &gpu->brand) != LB_NVML_SUCCESS)
        gpu->brand = 0;
      lb_hw_set_text (gpu->brand_name, sizeof gpu->brand_name, "%s", lb_hw_brand_name (gpu->brand));
      read_sessions (dev, gpu);
      if (nvml.utilization (dev, &util, &period) == LB_NVML_SUCCESS)
        gpu->utilization_ok = 1, gpu->encoder_utilization = util;
      if (nvml.capacity (dev, LB_NVML_ENCODER_QUERY_H264, &capacity) == LB_NVML_SUCCESS)
        gpu->capacity_ok = 1, gpu->encoder_capacity_h264 = capacity;
    }
out:
  pthread_mutex_unlock (&nvml_lock);
}

int
lb_hw_nvml_encoder_sessions (int index, unsigned *sessions, unsigned *pids, unsigned max_pids,
                             unsigned *n_pids)
{
  char error[LB_HW_TEXT];
  lb_nvml_device_t dev;
  unsigned fps, latency;
  int rc;

  pthread_mutex_lock (&nvml_lock);
  if (nvml_load (error, sizeof error) != 0)
    {
      rc = -1;
      goto out;
    }
  if ((rc = nvml.handle ((unsigned)index, &dev)) != LB_NVML_SUCCESS
      || (rc = nvml.stats (dev, sessions, &fps, &latency)) != LB_NVML_SUCCESS)
    goto out;
  if (pids != NULL && n_pids != NULL)
    {
      lb_nvml_encoder_session_info_t info[LB_HW_MAX_SESSIONS];
      unsigned count = LB_HW_MAX_SESSIONS;
      *n_pids = 0;
      if ((rc = nvml.sessions (dev, &count, info)) != LB_NVML_SUCCESS)
        goto out;
      for (unsigned i = 0; i < count && i < max_pids; i++)
        pids[(*n_pids)++] = info[i].pid;
    }
out:
  pthread_mutex_unlock (&nvml_lock);
  return rc;
}

void
lb_hw_nvml_shutdown (void)
{
  pthread_mutex_lock (&nvml_lock);
  if (nvml.initialised)
    nvml.shutdown ();
  nvml.initialised = 0;
  pthread_mutex_unlock (&nvml_lock);
}
