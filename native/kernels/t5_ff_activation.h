// The feed-forward activation as a dispatched kernel (kernel_list.h): x = act(x) (* gate), the
// same function and the same bits as ff_activation (kernels/t5_elementwise.h). ISAs whose vector
// type computes libm's expf lane for lane (VecAvx512::libm_expf) run gelu_new vectorised; the
// others run ff_activation.
#pragma once
#include <cstdint>

#include "kernels/t5_elementwise.h"

namespace ga {

struct FfActivationParams {
  float* x = nullptr;           // [n], in place
  const float* gate = nullptr;  // [n] or nullptr
  int64_t n = 0;
  FfActivation act = FfActivation::kGeluNew;
};

}  // namespace ga
