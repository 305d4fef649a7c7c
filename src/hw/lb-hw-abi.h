/* lb-hw-abi.h — our own minimal declarations of the vendor ABIs lobbyd
 * calls through dlopen: NVML, the CUDA driver API and NVENC (NvEncodeAPI).
 *
 * Written from NVIDIA's public API documentation; only what the probe uses.
 * tests/unit/test-hw-abi.c checks sizes, offsets, enum values and GUIDs
 * against Debian's nv-codec-headers, and tests/device/run.sh checks NVML's
 * against the CUDA toolkit's nvml.h on a GPU machine. */
#ifndef LB_HW_ABI_H
#define LB_HW_ABI_H

#include <stdint.h>

/* ---- NVML (libnvidia-ml.so.1) ---- */
typedef struct lb_nvml_device *lb_nvml_device_t;
typedef int lb_nvml_return_t;
#define LB_NVML_SUCCESS 0
#define LB_NVML_ERROR_NOT_SUPPORTED 3
#define LB_NVML_ERROR_INSUFFICIENT_SIZE 7

typedef struct
{
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
} lb_nvml_pci_info_t; /* nvmlPciInfo_t (v3) */

typedef struct
{
  unsigned int sessionId;
  unsigned int pid;
  unsigned int vgpuInstance;
  int codecType;
  unsigned int hResolution;
  unsigned int vResolution;
  unsigned int averageFps;
  unsigned int averageLatency;
} lb_nvml_encoder_session_info_t; /* nvmlEncoderSessionInfo_t */

#define LB_NVML_ENCODER_QUERY_H264 0

/* ---- CUDA driver API (libcuda.so.1) ---- */
typedef int lb_cu_result;
typedef int lb_cu_device;
typedef struct lb_cu_ctx *lb_cu_context;

/* ---- NVENC (libnvidia-encode.so.1) ---- */
typedef int lb_nvenc_status;
enum
{
  LB_NV_ENC_SUCCESS = 0,
  LB_NV_ENC_ERR_NO_ENCODE_DEVICE = 1,
  LB_NV_ENC_ERR_UNSUPPORTED_DEVICE = 2,
  LB_NV_ENC_ERR_INVALID_ENCODERDEVICE = 3,
  LB_NV_ENC_ERR_INVALID_DEVICE = 4,
  LB_NV_ENC_ERR_DEVICE_NOT_EXIST = 5,
  LB_NV_ENC_ERR_INVALID_PTR = 6,
  LB_NV_ENC_ERR_INVALID_EVENT = 7,
  LB_NV_ENC_ERR_INVALID_PARAM = 8,
  LB_NV_ENC_ERR_INVALID_CALL = 9,
  LB_NV_ENC_ERR_OUT_OF_MEMORY = 10,
  LB_NV_ENC_ERR_ENCODER_NOT_INITIALIZED = 11,
  LB_NV_ENC_ERR_UNSUPPORTED_PARAM = 12,
  LB_NV_ENC_ERR_LOCK_BUSY = 13,
  LB_NV_ENC_ERR_NOT_ENOUGH_BUFFER = 14,
  LB_NV_ENC_ERR_INVALID_VERSION = 15,
  LB_NV_ENC_ERR_MAP_FAILED = 16,
  LB_NV_ENC_ERR_NEED_MORE_INPUT = 17,
  LB_NV_ENC_ERR_ENCODER_BUSY = 18,
  LB_NV_ENC_ERR_EVENT_NOT_REGISTERD = 19,
  LB_NV_ENC_ERR_GENERIC = 20,
  LB_NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY = 21,
  LB_NV_ENC_ERR_UNIMPLEMENTED = 22,
  LB_NV_ENC_ERR_RESOURCE_REGISTER_FAILED = 23,
  LB_NV_ENC_ERR_RESOURCE_NOT_REGISTERED = 24,
  LB_NV_ENC_ERR_RESOURCE_NOT_MAPPED = 25,
};

/* The API version we speak: structures below have this layout since 9.x. */
#define LB_NVENC_API_MAJOR 11
#define LB_NVENC_API_MINOR 1
#define LB_NVENC_API_VERSION(major, minor) ((uint32_t)(major) | ((uint32_t)(minor) << 24))
#define LB_NVENC_STRUCT_VERSION(api, ver) ((uint32_t)(api) | ((uint32_t)(ver) << 16) | (0x7u << 28))

#define LB_NV_ENC_DEVICE_TYPE_CUDA 1
#define LB_NV_ENC_CAPS_WIDTH_MAX 16
#define LB_NV_ENC_CAPS_HEIGHT_MAX 17

typedef struct
{
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} lb_nvenc_guid;

typedef struct
{
  uint32_t version; /* LB_NVENC_STRUCT_VERSION (api, 1) */
  int deviceType;
  void *device;
  void *reserved;
  uint32_t apiVersion;
  uint32_t reserved1[253];
  void *reserved2[64];
} lb_nvenc_open_session_params; /* NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS */

typedef struct
{
  uint32_t version; /* LB_NVENC_STRUCT_VERSION (api, 1) */
  int capsToQuery;
  uint32_t reserved[62];
} lb_nvenc_caps_param; /* NV_ENC_CAPS_PARAM */

typedef lb_nvenc_status (*lb_nvenc_fn_open_ex) (lb_nvenc_open_session_params *, void **);
typedef lb_nvenc_status (*lb_nvenc_fn_guid_count) (void *, uint32_t *);
typedef lb_nvenc_status (*lb_nvenc_fn_guids) (void *, lb_nvenc_guid *, uint32_t, uint32_t *);
typedef lb_nvenc_status (*lb_nvenc_fn_caps) (void *, lb_nvenc_guid, lb_nvenc_caps_param *, int *);
typedef lb_nvenc_status (*lb_nvenc_fn_destroy) (void *);
typedef const char *(*lb_nvenc_fn_last_error) (void *);

/* NV_ENCODE_API_FUNCTION_LIST: only the entries the probe calls are typed;
 * the slots between keep their positions. The library fills the whole
 * structure, so it is as large as the real one (2 words + 318 pointers). */
typedef struct
{
  uint32_t version; /* LB_NVENC_STRUCT_VERSION (api, 2) */
  uint32_t reserved;
  void *nvEncOpenEncodeSession;                   /* 0 */
  lb_nvenc_fn_guid_count nvEncGetEncodeGUIDCount; /* 1 */
  void *nvEncGetEncodeProfileGUIDCount;           /* 2 */
  void *nvEncGetEncodeProfileGUIDs;               /* 3 */
  lb_nvenc_fn_guids nvEncGetEncodeGUIDs;          /* 4 */
  void *nvEncGetInputFormatCount;                 /* 5 */
  void *nvEncGetInputFormats;                     /* 6 */
  lb_nvenc_fn_caps nvEncGetEncodeCaps;            /* 7 */
  void *slots_8_26[19];                           /* preset count .. unmap input resource */
  lb_nvenc_fn_destroy nvEncDestroyEncoder;        /* 27 */
  void *nvEncInvalidateRefFrames;                 /* 28 */
  lb_nvenc_fn_open_ex nvEncOpenEncodeSessionEx;   /* 29 */
  void *slots_30_36[7];                           /* register resource .. motion estimation */
  lb_nvenc_fn_last_error nvEncGetLastErrorString; /* 37 */
  void *slots_38_and_reserved[280];
} lb_nvenc_function_list;

/* Codec GUIDs of the NVENC API. */
static const lb_nvenc_guid LB_NV_ENC_CODEC_H264_GUID
    = { 0x6bc82762, 0x4e63, 0x4ca4, { 0xaa, 0x85, 0x1e, 0x50, 0xf3, 0x21, 0xf6, 0xbf } };
static const lb_nvenc_guid LB_NV_ENC_CODEC_HEVC_GUID
    = { 0x790cdc88, 0x4522, 0x4d7b, { 0x94, 0x25, 0xbd, 0xa9, 0x97, 0x5f, 0x76, 0x03 } };
static const lb_nvenc_guid LB_NV_ENC_CODEC_AV1_GUID
    = { 0x0a352289, 0x0aa7, 0x4759, { 0x86, 0x2d, 0x5d, 0x15, 0xcd, 0x16, 0xd2, 0x54 } };

/* ---- VA-API (libva.so.2, libva-drm.so.2) ---- */
typedef void *lb_va_display;
typedef int lb_va_status;
enum
{
  LB_VA_PROFILE_H264_MAIN = 6,
  LB_VA_PROFILE_H264_HIGH = 7,
  LB_VA_PROFILE_H264_CONSTRAINED_BASELINE = 13,
  LB_VA_PROFILE_HEVC_MAIN = 17,
  LB_VA_PROFILE_HEVC_MAIN10 = 18,
  LB_VA_PROFILE_AV1_PROFILE0 = 32,
};
enum
{
  LB_VA_ENTRYPOINT_ENC_SLICE = 6,
  LB_VA_ENTRYPOINT_ENC_PICTURE = 7,
  LB_VA_ENTRYPOINT_ENC_SLICE_LP = 8,
};

#endif
