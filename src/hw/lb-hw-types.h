/* lb-hw-types.h — the probe report: what each probe fills in and the
 * report writers read. Data only, so the probes depend on it and not on the
 * code that runs them (lb-hw). */
#ifndef LB_HW_TYPES_H
#define LB_HW_TYPES_H

#define LB_HW_MAX_GPUS 16
#define LB_HW_MAX_NODES 16
#define LB_HW_MAX_SESSIONS 64
#define LB_HW_TEXT 192

typedef enum
{
  LB_HW_CODEC_H264 = 1 << 0,
  LB_HW_CODEC_HEVC = 1 << 1,
  LB_HW_CODEC_AV1 = 1 << 2,
} lb_hw_codec;

typedef struct
{
  unsigned session_id;
  unsigned pid;
  unsigned codec; /* NVML's nvmlEncoderType_t: 0 H.264, 1 HEVC, 2 AV1 */
  unsigned width, height, average_fps, average_latency_us;
} lb_hw_encoder_session;

typedef struct
{
  int index; /* NVML index */
  char name[96];
  char uuid[96];
  char pci_bus_id[32]; /* normalised "dddd:bb:dd.f" */
  int brand;           /* nvmlBrandType_t */
  char brand_name[32];
  /* Encoder usage by every process on this GPU, from NVML. */
  int sessions_ok; /* 0 = NVML could not tell (see sessions_error) */
  char sessions_error[LB_HW_TEXT];
  unsigned session_count;
  lb_hw_encoder_session sessions[LB_HW_MAX_SESSIONS];
  unsigned average_fps, average_latency_us;
  int utilization_ok;
  unsigned encoder_utilization; /* percent */
  int capacity_ok;
  unsigned encoder_capacity_h264; /* NVML: percent of encoder capacity left; not a limit */
  /* NVENC, from a real session open on the CUDA device with this bus id. */
  int nvenc_probed;
  int nvenc_available;
  char nvenc_failed_step[48]; /* e.g. "load libnvidia-encode", "nvEncOpenEncodeSessionEx" */
  int nvenc_status;           /* CUresult or NVENCSTATUS of the failing step */
  char nvenc_status_name[48];
  char nvenc_error[LB_HW_TEXT];
  int nvenc_limit_reached; /* the open failed the way a session cap fails */
  unsigned nvenc_codecs;   /* lb_hw_codec bits */
  unsigned nvenc_max_width, nvenc_max_height;
  char nvenc_api_version[48];
} lb_hw_gpu;

typedef struct
{
  char path[64]; /* /dev/dri/renderD128 */
  char kernel_driver[32];
  int va_ok;
  char va_error[LB_HW_TEXT];
  char va_vendor[LB_HW_TEXT];
  unsigned encode_codecs;    /* lb_hw_codec bits with an encode entrypoint */
  unsigned encode_lp_codecs; /* ... with a low-power encode entrypoint */
} lb_hw_render_node;

typedef struct
{
  int nvml_loaded;
  char nvml_error[LB_HW_TEXT];
  char driver_version[80];
  char nvml_version[80];
  int gpu_count;
  lb_hw_gpu gpus[LB_HW_MAX_GPUS];
  int cuda_loaded;
  char cuda_error[LB_HW_TEXT];
  int cuda_device_count;
  int va_loaded;
  char va_error[LB_HW_TEXT];
  int node_count;
  lb_hw_render_node nodes[LB_HW_MAX_NODES];
} lb_hw_report;

#endif
