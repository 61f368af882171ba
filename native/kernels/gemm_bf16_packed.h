// C = A · Bᵀ with 16-bit products (bfloat16 or float16) and float32 accumulation, B packed once
// (a model's weights, packed at load) so no call converts or repacks it: the 16-bit counterpart of
// gemm_pack_b + GemmParams::b_packed (kernels/gemm.h). A decode step multiplies one row per beam
// by every weight, so it costs what reading the weights costs; packed 16-bit weights halve that.
//
// Layout (ISA-independent, like gemm_pack_b's, so set_active_isa / the reduced-precision choice
// never needs a repack): K padded to even (Kp, the pad zero), B's rows as pair panels of
// kGemmPack16Width = 16 columns: panel[kp][jj] = (B[j0+jj][2kp], B[j0+jj][2kp+1]), 2 x 16 bits,
// zero past the last row. One panel row (16 pairs, 64 bytes) is exactly one AVX-512 vdpbf16ps
// operand; a narrower vector (NEON BFDOT: 4 pairs) reads a quarter of it, and every kernel's width
// divides 16, so no vector straddles two panels. The emulated kernels (every ISA without native
// 16-bit products, and float16 everywhere) widen a few panels at a time into gemm_pack_b's float
// layout and run the float32 GEMM on them: the same products as gemm_abt_bf16/_fp16 on plain rows.
// Groups as in gemm_pack_b: rows in groups of group_n (an attention weight as H groups of d_kv
// rows), each group starting a new panel, so one product writes head-major outputs through
// GemmParams::c_group_stride.
#pragma once
#include <cstdint>

#include "kernels/gemm.h"

namespace ga {

// Pair columns per packed 16-bit panel.
constexpr int kGemmPack16Width = 16;

struct GemmPacked16Params {
  GemmParams g;                          // A (g.a float32, or a16), C, M/N/K, groups; g.b / g.b_packed unused
  const uint16_t* a16 = nullptr;         // optional A as 16-bit patterns of the kernel's type [M, K], row stride g.lda
  const uint16_t* b16_packed = nullptr;  // B packed by gemm_pack_b16 with the same K and group_n = g.b_group_n
};

// Values (uint16_t) the packed form of an [N, K] matrix in groups of group_n rows (0: N) needs:
// groups * ceil(group_n / 16) panels of Kp * 16; -1 for a bad shape (negative, or N not a multiple of group_n).
int64_t gemm_packed16_size(int64_t N, int64_t K, int64_t group_n);
// Packs b16 [N, K] (row stride ldb, 16-bit patterns of either type) into dst (gemm_packed16_size values).
void gemm_pack_b16(const uint16_t* b16, int64_t N, int64_t K, int64_t ldb, int64_t group_n, uint16_t* dst);
// Index in the packed form of B[j][k].
inline int64_t gemm_packed16_index(int64_t j, int64_t k, int64_t K, int64_t group_n) {
  const int64_t P = kGemmPack16Width, Kp = (K + 1) / 2 * 2, ppg = (group_n + P - 1) / P, jl = j % group_n;
  return ((j / group_n) * ppg + jl / P) * Kp * P + (k / 2) * 2 * P + (jl % P) * 2 + (k & 1);
}

}  // namespace ga
