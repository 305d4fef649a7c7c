/* lb-hw-nvenc.c — the NVENC probe: open one real encode session per CUDA
 * device (CUDA driver API + NvEncodeAPI, both dlopen'ed) and record the exact
 * step and status where it fails. */
#include "lb-hw-nvenc.h"
#include "lb-hw-abi.h"
#include "lb-hw-util.h"

#include <dlfcn.h>
#include <string.h>

typedef struct
{
  lb_cu_result (*init) (unsigned);
  lb_cu_result (*count) (int *);
  lb_cu_result (*get) (lb_cu_device *, int);
  lb_cu_result (*name) (char *, int, lb_cu_device);
  lb_cu_result (*bus_id) (char *, int, lb_cu_device);
  lb_cu_result (*ctx_create) (lb_cu_context *, unsigned, lb_cu_device);
  lb_cu_result (*ctx_destroy) (lb_cu_context);
  lb_cu_result (*error_name) (lb_cu_result, const char **);
  lb_cu_result (*error_string) (lb_cu_result, const char **);
} Cuda;

static const char *const nvenc_status_names[] = {
  "NV_ENC_SUCCESS",
  "NV_ENC_ERR_NO_ENCODE_DEVICE",
  "NV_ENC_ERR_UNSUPPORTED_DEVICE",
  "NV_ENC_ERR_INVALID_ENCODERDEVICE",
  "NV_ENC_ERR_INVALID_DEVICE",
  "NV_ENC_ERR_DEVICE_NOT_EXIST",
  "NV_ENC_ERR_INVALID_PTR",
  "NV_ENC_ERR_INVALID_EVENT",
  "NV_ENC_ERR_INVALID_PARAM",
  "NV_ENC_ERR_INVALID_CALL",
  "NV_ENC_ERR_OUT_OF_MEMORY",
  "NV_ENC_ERR_ENCODER_NOT_INITIALIZED",
  "NV_ENC_ERR_UNSUPPORTED_PARAM",
  "NV_ENC_ERR_LOCK_BUSY",
  "NV_ENC_ERR_NOT_ENOUGH_BUFFER",
  "NV_ENC_ERR_INVALID_VERSION",
  "NV_ENC_ERR_MAP_FAILED",
  "NV_ENC_ERR_NEED_MORE_INPUT",
  "NV_ENC_ERR_ENCODER_BUSY",
  "NV_ENC_ERR_EVENT_NOT_REGISTERD",
  "NV_ENC_ERR_GENERIC",
  "NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY",
  "NV_ENC_ERR_UNIMPLEMENTED",
  "NV_ENC_ERR_RESOURCE_REGISTER_FAILED",
  "NV_ENC_ERR_RESOURCE_NOT_REGISTERED",
  "NV_ENC_ERR_RESOURCE_NOT_MAPPED",
};

static const char *
nvenc_status_name (lb_nvenc_status status)
{
  if (status >= 0 && (size_t)status < sizeof nvenc_status_names / sizeof *nvenc_status_names)
    return nvenc_status_names[status];
  return "NV_ENC_ERR_UNKNOWN";
}

/* Records the failing step on @gpu. */
static void
fail (lb_hw_gpu *gpu, const char *step, int status, const char *status_name, const char *error)
{
  gpu->nvenc_probed = 1;
  gpu->nvenc_available = 0;
  lb_hw_set_text (gpu->nvenc_failed_step, sizeof gpu->nvenc_failed_step, "%s", step);
  gpu->nvenc_status = status;
  lb_hw_set_text (gpu->nvenc_status_name, sizeof gpu->nvenc_status_name, "%s",
                  status_name ? status_name : "");
  lb_hw_set_text (gpu->nvenc_error, sizeof gpu->nvenc_error, "%s", error ? error : "");
}

static void
fail_all (lb_hw_report *report, const char *step, int status, const char *status_name,
          const char *error)
{
  for (int i = 0; i < report->gpu_count; i++)
    fail (&report->gpus[i], step, status, status_name, error);
}

static void
cuda_fail (const Cuda *cu, lb_hw_gpu *gpu, const char *step, lb_cu_result rc)
{
  const char *name = NULL, *text = NULL;
  if (cu->error_name)
    cu->error_name (rc, &name);
  if (cu->error_string)
    cu->error_string (rc, &text);
  fail (gpu, step, rc, name, text);
}

/* The report's GPU with this PCI bus id; a new entry if NVML did not list it. */
static lb_hw_gpu *
gpu_for_bus (lb_hw_report *report, const char *bus_id)
{
  for (int i = 0; i < report->gpu_count; i++)
    if (strcmp (report->gpus[i].pci_bus_id, bus_id) == 0)
      return &report->gpus[i];
  if (report->gpu_count >= LB_HW_MAX_GPUS)
    return NULL;
  lb_hw_gpu *gpu = &report->gpus[report->gpu_count++];
  memset (gpu, 0, sizeof *gpu);
  gpu->index = -1; /* not known to NVML */
  lb_hw_set_text (gpu->pci_bus_id, sizeof gpu->pci_bus_id, "%s", bus_id);
  return gpu;
}

static int
guid_equal (const lb_nvenc_guid *a, const lb_nvenc_guid *b)
{
  return memcmp (a, b, sizeof *a) == 0;
}

static void
open_session (const Cuda *cu, lb_nvenc_function_list *fl, uint32_t api, lb_cu_device dev,
              lb_hw_gpu *gpu)
{
  lb_cu_context ctx = NULL;
  lb_cu_result crc = cu->ctx_create (&ctx, 0, dev);
  if (crc != 0)
    {
      cuda_fail (cu, gpu, "cuCtxCreate", crc);
      return;
    }

  lb_nvenc_open_session_params params;
  memset (&params, 0, sizeof params);
  params.version = LB_NVENC_STRUCT_VERSION (api, 1);
  params.deviceType = LB_NV_ENC_DEVICE_TYPE_CUDA;
  params.device = ctx;
  params.apiVersion = api;
  void *encoder = NULL;
  lb_nvenc_status st = fl->nvEncOpenEncodeSessionEx (&params, &encoder);
  if (st != LB_NV_ENC_SUCCESS)
    {
      fail (gpu, "nvEncOpenEncodeSessionEx", st, nvenc_status_name (st),
            "the driver refused to open an NVENC session on this device");
      /* Drivers report the consumer session cap as one of these two. */
      gpu->nvenc_limit_reached
          = st == LB_NV_ENC_ERR_OUT_OF_MEMORY || st == LB_NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY;
      if (encoder != NULL && fl->nvEncDestroyEncoder)
        fl->nvEncDestroyEncoder (encoder);
      cu->ctx_destroy (ctx);
      return;
    }

  gpu->nvenc_probed = 1;
  gpu->nvenc_available = 1;
  uint32_t n = 0, got = 0;
  lb_nvenc_guid guids[16];
  if (fl->nvEncGetEncodeGUIDCount (encoder, &n) == LB_NV_ENC_SUCCESS && n > 0
      && fl->nvEncGetEncodeGUIDs (encoder, guids, n < 16 ? n : 16, &got) == LB_NV_ENC_SUCCESS)
    for (uint32_t i = 0; i < got; i++)
      {
        if (guid_equal (&guids[i], &LB_NV_ENC_CODEC_H264_GUID))
          gpu->nvenc_codecs |= LB_HW_CODEC_H264;
        else if (guid_equal (&guids[i], &LB_NV_ENC_CODEC_HEVC_GUID))
          gpu->nvenc_codecs |= LB_HW_CODEC_HEVC;
        else if (guid_equal (&guids[i], &LB_NV_ENC_CODEC_AV1_GUID))
          gpu->nvenc_codecs |= LB_HW_CODEC_AV1;
      }
  if (gpu->nvenc_codecs & LB_HW_CODEC_H264)
    {
      lb_nvenc_caps_param caps;
      int value = 0;
      memset (&caps, 0, sizeof caps);
      caps.version = LB_NVENC_STRUCT_VERSION (api, 1);
      caps.capsToQuery = LB_NV_ENC_CAPS_WIDTH_MAX;
      if (fl->nvEncGetEncodeCaps (encoder, LB_NV_ENC_CODEC_H264_GUID, &caps, &value) == 0)
        gpu->nvenc_max_width = (unsigned)value;
      caps.capsToQuery = LB_NV_ENC_CAPS_HEIGHT_MAX;
      if (fl->nvEncGetEncodeCaps (encoder, LB_NV_ENC_CODEC_H264_GUID, &caps, &value) == 0)
        gpu->nvenc_max_height = (unsigned)value;
    }
  fl->nvEncDestroyEncoder (encoder);
  cu->ctx_destroy (ctx);
}

void
lb_hw_nvenc_probe (lb_hw_report *report)
{
  Cuda cu;
  memset (&cu, 0, sizeof cu);
  const char *cuda_name = lb_hw_library ("LOBBYD_CUDA_LIBRARY", "libcuda.so.1");
  void *cuda = dlopen (cuda_name, RTLD_NOW | RTLD_LOCAL);
  if (cuda == NULL)
    {
      lb_hw_set_text (report->cuda_error, sizeof report->cuda_error, "load %s: %s", cuda_name,
                      dlerror ());
      fail_all (report, "load libcuda", 0, NULL, report->cuda_error);
      return;
    }
  report->cuda_loaded = 1;
  const struct
  {
    void **slot;
    const char *symbol;
  } syms[] = {
    { (void **)&cu.init, "cuInit" },
    { (void **)&cu.count, "cuDeviceGetCount" },
    { (void **)&cu.get, "cuDeviceGet" },
    { (void **)&cu.name, "cuDeviceGetName" },
    { (void **)&cu.bus_id, "cuDeviceGetPCIBusId" },
    { (void **)&cu.ctx_create, "cuCtxCreate_v2" },
    { (void **)&cu.ctx_destroy, "cuCtxDestroy_v2" },
    { (void **)&cu.error_name, "cuGetErrorName" },
    { (void **)&cu.error_string, "cuGetErrorString" },
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
    if ((*syms[i].slot = dlsym (cuda, syms[i].symbol)) == NULL)
      {
        lb_hw_set_text (report->cuda_error, sizeof report->cuda_error, "libcuda has no %s",
                        syms[i].symbol);
        fail_all (report, "load libcuda", 0, NULL, report->cuda_error);
        return;
      }

  lb_cu_result crc = cu.init (0);
  if (crc != 0)
    {
      const char *name = NULL;
      cu.error_name (crc, &name);
      lb_hw_set_text (report->cuda_error, sizeof report->cuda_error, "cuInit: %s (%d)",
                      name ? name : "?", crc);
      for (int i = 0; i < report->gpu_count; i++)
        cuda_fail (&cu, &report->gpus[i], "cuInit", crc);
      return;
    }
  cu.count (&report->cuda_device_count);

  /* Map each CUDA device onto the NVML GPU with the same PCI bus id. */
  lb_hw_gpu *by_dev[LB_HW_MAX_GPUS] = { NULL };
  lb_cu_device devs[LB_HW_MAX_GPUS];
  int ndev
      = report->cuda_device_count < LB_HW_MAX_GPUS ? report->cuda_device_count : LB_HW_MAX_GPUS;
  for (int d = 0; d < ndev; d++)
    {
      char bus[32] = "", norm[32];
      cu.get (&devs[d], d);
      cu.bus_id (bus, sizeof bus, devs[d]);
      lb_hw_normalise_bus_id (bus, norm, sizeof norm);
      by_dev[d] = gpu_for_bus (report, norm);
      if (by_dev[d] != NULL && by_dev[d]->name[0] == '\0')
        cu.name (by_dev[d]->name, sizeof by_dev[d]->name, devs[d]);
    }

  const char *enc_name = lb_hw_library ("LOBBYD_NVENC_LIBRARY", "libnvidia-encode.so.1");
  void *enc = dlopen (enc_name, RTLD_NOW | RTLD_LOCAL);
  if (enc == NULL)
    {
      char error[LB_HW_TEXT];
      lb_hw_set_text (error, sizeof error, "load %s: %s", enc_name, dlerror ());
      fail_all (report, "load libnvidia-encode", 0, NULL, error);
      return;
    }
  lb_nvenc_status (*max_version) (uint32_t *)
      = (lb_nvenc_status (*) (uint32_t *))dlsym (enc, "NvEncodeAPIGetMaxSupportedVersion");
  lb_nvenc_status (*create) (lb_nvenc_function_list *)
      = (lb_nvenc_status (*) (lb_nvenc_function_list *))dlsym (enc, "NvEncodeAPICreateInstance");
  if (max_version == NULL || create == NULL)
    {
      fail_all (report, "load libnvidia-encode", 0, NULL, "NvEncodeAPI entry points missing");
      return;
    }

  uint32_t max = 0;
  lb_nvenc_status st = max_version (&max);
  if (st != LB_NV_ENC_SUCCESS)
    {
      fail_all (report, "NvEncodeAPIGetMaxSupportedVersion", st, nvenc_status_name (st), NULL);
      return;
    }
  /* The driver encodes its maximum as (major << 4) | minor. Speak the lower
   * of it and the version our structures are declared for. */
  unsigned major = max >> 4, minor = max & 0xf;
  if (major > LB_NVENC_API_MAJOR || (major == LB_NVENC_API_MAJOR && minor > LB_NVENC_API_MINOR))
    major = LB_NVENC_API_MAJOR, minor = LB_NVENC_API_MINOR;
  uint32_t api = LB_NVENC_API_VERSION (major, minor);

  static lb_nvenc_function_list fl;
  memset (&fl, 0, sizeof fl);
  fl.version = LB_NVENC_STRUCT_VERSION (api, 2);
  st = create (&fl);
  if (st != LB_NV_ENC_SUCCESS || fl.nvEncOpenEncodeSessionEx == NULL)
    {
      fail_all (report, "NvEncodeAPICreateInstance", st, nvenc_status_name (st), NULL);
      return;
    }
  for (int d = 0; d < ndev; d++)
    if (by_dev[d] != NULL)
      {
        lb_hw_set_text (by_dev[d]->nvenc_api_version, sizeof by_dev[d]->nvenc_api_version,
                        "%u.%u (driver max %u.%u)", major, minor, max >> 4, max & 0xf);
        open_session (&cu, &fl, api, devs[d], by_dev[d]);
      }
  /* GPUs NVML lists that CUDA does not see (e.g. hidden by CUDA_VISIBLE_DEVICES). */
  for (int i = 0; i < report->gpu_count; i++)
    if (!report->gpus[i].nvenc_probed)
      fail (&report->gpus[i], "cuDeviceGet", 0, NULL, "GPU not visible to CUDA");
}
