/* lb-hw.h — what encoding hardware this machine really has.
 *
 * Plain C11 with no GLib and no GStreamer, so the probe builds with gcc alone
 * on a GPU machine. Vendor libraries (libnvidia-ml, libcuda,
 * libnvidia-encode, libva) are loaded with dlopen: their absence is a result
 * to report, not a build or start-up failure.
 *
 * Ground truth for NVENC is opening a real encode session; NVML supplies
 * identity (name, UUID, PCI bus id, brand, driver) and the encoder sessions
 * that every process on the GPU holds. NVML's "encoder capacity" is reported
 * as what it is (a utilisation-style percentage), never as a session limit. */
#ifndef LB_HW_H
#define LB_HW_H

#include <stdio.h>

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

typedef struct
{
  const char *dri_dir; /* NULL = /dev/dri */
  int skip_nvenc;      /* identity and usage only */
} lb_hw_probe_options;

/* Fills @report. Never fails: every problem is recorded in the report. */
void lb_hw_probe (lb_hw_report *report, const lb_hw_probe_options *options);

/* Cheap, repeatable query of one GPU's encoder sessions (all processes):
 * returns 0 and sets *sessions, or a non-zero NVML status. NVML stays loaded. */
int lb_hw_nvml_encoder_sessions (int index, unsigned *sessions, unsigned *pids, unsigned max_pids,
                                 unsigned *n_pids);
/* Unloads NVML (after lb_hw_probe or lb_hw_nvml_encoder_sessions). */
void lb_hw_nvml_shutdown (void);

/* The consumer (GeForce/Titan) NVENC session cap a driver version is known to
 * enforce, or 0 if the brand has no cap. Sets *source_note to a citation. */
unsigned lb_hw_nvenc_driver_default_limit (int brand, const char *driver_version,
                                           const char **source_note);
/* Whether the GPU's NVENC pool can be used, and if not, why (static or into @gpu). */
int lb_hw_nvenc_usable (const lb_hw_gpu *gpu, const char **reason);

const char *lb_hw_brand_name (int brand);
void lb_hw_report_write_json (const lb_hw_report *report, FILE *out);
void lb_hw_report_write_table (const lb_hw_report *report, FILE *out);

#endif
