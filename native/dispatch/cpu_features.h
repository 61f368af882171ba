// What this CPU (and its OS) offers for reduced-precision (bfloat16 / float16) compute, detected
// at run time, never assumed from the build. dispatch.cc uses it to decide which reduced-precision
// kernels may run; info() reports it (binding/precision_binding.cc).
#pragma once
#include <string>
#include <vector>

namespace ga {

struct ReducedPrecisionFeatures {
  // x86-64. Each "usable" flag means: the CPU reports the instructions *and* the OS saves the
  // register state they need (XCR0), so a kernel using them can run.
  bool avx512bf16 = false;  // vdpbf16ps / vcvtne2ps2bf16 (cpuid 7.1 EAX bit 5) with AVX-512 state
  bool avx512fp16 = false;  // AVX512-FP16 arithmetic (cpuid 7.0 EDX bit 23) with AVX-512 state
  bool f16c = false;        // float16 <-> float32 conversions only (cpuid 1 ECX bit 29) with YMM state
  bool amx_bf16 = false;    // AMX-BF16 tiles (cpuid 7.0 EDX bits 22 + 24) with XTILECFG/XTILEDATA in XCR0
  // arm64 (Linux hwcaps).
  bool arm_bf16 = false;     // BFDOT/BFMMLA/BFCVT (HWCAP2_BF16)
  bool arm_fp16 = false;     // scalar half-precision arithmetic (HWCAP_FPHP)
  bool arm_asimdhp = false;  // vector half-precision arithmetic (HWCAP_ASIMDHP)
  bool arm_fhm = false;      // FMLAL/FMLSL: float16 products added to float32 (HWCAP_ASIMDFHM)
};

// Detected once (thread-safe). Detection requests nothing from the OS.
const ReducedPrecisionFeatures& reduced_precision_features();

// AMX tile data is off by default for every Linux process: the kernel grants it only after
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). request_amx_permission() asks once
// (thread-safe; later calls return the first answer) and is for a kernel set that uses AMX to
// call before it is offered: nothing calls it before then, because the grant makes every signal
// frame of the process carry the 8 KiB tile state (small alternate signal stacks can overflow).
// False, with the reason in *error, when not granted (or amx_bf16 is false).
bool request_amx_permission(std::string* error = nullptr);
// Whether request_amx_permission() was called and granted (does not ask).
bool amx_permission_granted();

}  // namespace ga
