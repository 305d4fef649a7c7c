/* Compile-time check of src/hw/lb-hw-abi.h against the real nvml.h (built by
 * tests/device/run.sh where the CUDA toolkit headers exist). */
#include <nvml.h>
#include <stddef.h>

#include "lb-hw-abi.h"

#define SAME_LAYOUT(ours, theirs, f)                                                               \
  _Static_assert(offsetof (ours, f) == offsetof (theirs, f), #ours "." #f)

_Static_assert(sizeof (lb_nvml_pci_info_t) == sizeof (nvmlPciInfo_t), "nvmlPciInfo_t size");
SAME_LAYOUT (lb_nvml_pci_info_t, nvmlPciInfo_t, domain);
SAME_LAYOUT (lb_nvml_pci_info_t, nvmlPciInfo_t, pciSubSystemId);
SAME_LAYOUT (lb_nvml_pci_info_t, nvmlPciInfo_t, busId);
_Static_assert(sizeof (lb_nvml_encoder_session_info_t) == sizeof (nvmlEncoderSessionInfo_t),
               "nvmlEncoderSessionInfo_t size");
SAME_LAYOUT (lb_nvml_encoder_session_info_t, nvmlEncoderSessionInfo_t, pid);
SAME_LAYOUT (lb_nvml_encoder_session_info_t, nvmlEncoderSessionInfo_t, codecType);
SAME_LAYOUT (lb_nvml_encoder_session_info_t, nvmlEncoderSessionInfo_t, averageLatency);
_Static_assert(NVML_ENCODER_QUERY_H264 == LB_NVML_ENCODER_QUERY_H264, "encoder query");
_Static_assert(NVML_ERROR_NOT_SUPPORTED == LB_NVML_ERROR_NOT_SUPPORTED, "not supported");
_Static_assert(NVML_BRAND_GEFORCE == 5 && NVML_BRAND_TITAN == 6, "brand values");
_Static_assert(NVML_BRAND_NVIDIA == 14 && NVML_BRAND_GEFORCE_RTX == 15
                   && NVML_BRAND_TITAN_RTX == 16,
               "brand values");

int
main (void)
{
  return 0;
}
