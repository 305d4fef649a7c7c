/* Checks our own NVENC and VA-API declarations (src/hw/lb-hw-abi.h) against
 * the real headers: Debian's nv-codec-headers and libva-dev. */
#include <ffnvcodec/nvEncodeAPI.h>
#include <glib.h>
#include <stddef.h>
#include <string.h>
#include <va/va.h>

#include "lb-hw-abi.h"

#define SAME_OFFSET(ours, theirs, f) G_STATIC_ASSERT (offsetof (ours, f) == offsetof (theirs, f))

G_STATIC_ASSERT (sizeof (lb_nvenc_open_session_params)
                 == sizeof (NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS));
SAME_OFFSET (lb_nvenc_open_session_params, NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS, device);
SAME_OFFSET (lb_nvenc_open_session_params, NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS, apiVersion);
G_STATIC_ASSERT (sizeof (lb_nvenc_caps_param) == sizeof (NV_ENC_CAPS_PARAM));
G_STATIC_ASSERT (sizeof (lb_nvenc_function_list) == sizeof (NV_ENCODE_API_FUNCTION_LIST));
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncGetEncodeGUIDCount);
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncGetEncodeGUIDs);
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncGetEncodeCaps);
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncDestroyEncoder);
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncOpenEncodeSessionEx);
SAME_OFFSET (lb_nvenc_function_list, NV_ENCODE_API_FUNCTION_LIST, nvEncGetLastErrorString);
G_STATIC_ASSERT ((int)LB_NV_ENC_ERR_OUT_OF_MEMORY == (int)NV_ENC_ERR_OUT_OF_MEMORY);
G_STATIC_ASSERT ((int)LB_NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY
                 == (int)NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY);
G_STATIC_ASSERT ((int)LB_NV_ENC_ERR_UNSUPPORTED_DEVICE == (int)NV_ENC_ERR_UNSUPPORTED_DEVICE);
G_STATIC_ASSERT ((int)LB_NV_ENC_ERR_RESOURCE_NOT_MAPPED == (int)NV_ENC_ERR_RESOURCE_NOT_MAPPED);
G_STATIC_ASSERT ((int)LB_NV_ENC_CAPS_WIDTH_MAX == (int)NV_ENC_CAPS_WIDTH_MAX);
G_STATIC_ASSERT ((int)LB_NV_ENC_CAPS_HEIGHT_MAX == (int)NV_ENC_CAPS_HEIGHT_MAX);
G_STATIC_ASSERT ((int)LB_NV_ENC_DEVICE_TYPE_CUDA == (int)NV_ENC_DEVICE_TYPE_CUDA);
G_STATIC_ASSERT ((int)LB_VA_PROFILE_H264_MAIN == (int)VAProfileH264Main);
G_STATIC_ASSERT ((int)LB_VA_PROFILE_H264_CONSTRAINED_BASELINE
                 == (int)VAProfileH264ConstrainedBaseline);
G_STATIC_ASSERT ((int)LB_VA_PROFILE_HEVC_MAIN10 == (int)VAProfileHEVCMain10);
G_STATIC_ASSERT ((int)LB_VA_PROFILE_AV1_PROFILE0 == (int)VAProfileAV1Profile0);
G_STATIC_ASSERT ((int)LB_VA_ENTRYPOINT_ENC_SLICE == (int)VAEntrypointEncSlice);
G_STATIC_ASSERT ((int)LB_VA_ENTRYPOINT_ENC_PICTURE == (int)VAEntrypointEncPicture);
G_STATIC_ASSERT ((int)LB_VA_ENTRYPOINT_ENC_SLICE_LP == (int)VAEntrypointEncSliceLP);

static void
test_versions_and_guids (void)
{
  /* Struct versions as the SDK computes them for the API version we speak. */
  uint32_t api = LB_NVENC_API_VERSION (NVENCAPI_MAJOR_VERSION, NVENCAPI_MINOR_VERSION);
  g_assert_cmpuint (api, ==, NVENCAPI_VERSION);
  g_assert_cmpuint (LB_NVENC_STRUCT_VERSION (api, 1), ==, NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER);
  g_assert_cmpuint (LB_NVENC_STRUCT_VERSION (api, 2), ==, NV_ENCODE_API_FUNCTION_LIST_VER);
  g_assert_cmpuint (LB_NVENC_STRUCT_VERSION (api, 1), ==, NV_ENC_CAPS_PARAM_VER);
  GUID h264 = NV_ENC_CODEC_H264_GUID, hevc = NV_ENC_CODEC_HEVC_GUID;
  g_assert_cmpmem (&LB_NV_ENC_CODEC_H264_GUID, sizeof h264, &h264, sizeof h264);
  g_assert_cmpmem (&LB_NV_ENC_CODEC_HEVC_GUID, sizeof hevc, &hevc, sizeof hevc);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hw-abi/versions-and-guids", test_versions_and_guids);
  return g_test_run ();
}
