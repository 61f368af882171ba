#include "kernels/gemm_bf16_packed.h"

#include <cstring>

namespace ga {

int64_t gemm_packed16_size(int64_t N, int64_t K, int64_t group_n) {
  if (N < 0 || K < 0 || group_n < 0) return -1;
  const int64_t gn = group_n > 0 ? group_n : N;
  if (gn == 0) return 0;
  if (N % gn != 0) return -1;
  const int64_t P = kGemmPack16Width, Kp = (K + 1) / 2 * 2;
  return (N / gn) * ((gn + P - 1) / P) * Kp * P;
}

void gemm_pack_b16(const uint16_t* b16, int64_t N, int64_t K, int64_t ldb, int64_t group_n, uint16_t* dst) {
  const int64_t size = gemm_packed16_size(N, K, group_n);
  if (size <= 0) return;
  std::memset(dst, 0, static_cast<size_t>(size) * sizeof(uint16_t));  // the row and K pads
  const int64_t gn = group_n > 0 ? group_n : N, P = kGemmPack16Width, Kp = (K + 1) / 2 * 2;
  const int64_t ppg = (gn + P - 1) / P;
  for (int64_t j = 0; j < N; ++j) {
    const int64_t jl = j % gn;
    uint16_t* col = dst + ((j / gn) * ppg + jl / P) * Kp * P + (jl % P) * 2;  // == gemm_packed16_index(j, 0, ..)
    const uint16_t* row = b16 + j * ldb;
    for (int64_t k = 0; k < K; ++k) col[(k >> 1) * 2 * P + (k & 1)] = row[k];
  }
}

}  // namespace ga
