// C = A · Bᵀ for the layer projections (B is a PyTorch nn.Linear weight, [out, in], so
// y = x · Wᵀ needs no transpose by the caller). Plain C++ description; runs on the active ISA.
//
// Packed B (a model's weights, packed once at load): gemm_pack_b writes B's rows as column
// panels of kGemmPackWidth columns, panel[k][0..64) = B[j0..j0+64)[k], zero-padded past the last
// row, then gemm_abt reads them through GemmParams::b_packed with no per-call packing. The layout
// is the same under every ISA (64 is a multiple of the scalar, AVX2 and AVX-512 register tiles;
// NEON's 12-column tile runs 5 whole sub-panels and a 4-column one), so a weight packed once stays
// valid after set_active_isa. Rows may be packed in groups (an attention weight [H*D, C] as H
// groups of D rows, each starting a new panel) so that one product writes each head's columns to
// its own place in C (the head-major [B, H, N, D] layout) through c_group_stride.
#pragma once
#include <cstdint>

namespace ga {

// Columns per packed panel: the ISA-independent panel width (k stride) of packed B.
constexpr int kGemmPackWidth = 64;

struct GemmParams {
  const float* a = nullptr;  // [M, K], row stride lda
  const float* b = nullptr;  // [N, K], row stride ldb (ignored when b_packed is set)
  float* c = nullptr;        // [M, N], row stride ldc
  int64_t M = 0, N = 0, K = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool accumulate = false;   // C += A·Bᵀ instead of C = A·Bᵀ
  int threads = 1;           // threads this call may use (already leased)
  // B packed by gemm_pack_b with the same K and group_n = b_group_n; N must be a whole number of
  // groups (all of them: N = groups * b_group_n). Column j of group g (j < b_group_n) of row i is
  // written to c[i * ldc + g * c_group_stride + j].
  const float* b_packed = nullptr;
  int64_t b_group_n = 0;       // 0: N (one group)
  int64_t c_group_stride = 0;  // 0: b_group_n (C's columns in B's row order)
};

struct GemmPackParams {
  const float* b = nullptr;  // [N, K], row stride ldb
  int64_t N = 0, K = 0, ldb = 0;
  int64_t group_n = 0;       // rows per group (a head's d_kv); 0: N. N must be a multiple of it.
  float* dst = nullptr;      // gemm_pack_b's return value floats, or nullptr to only ask the size
  int threads = 1;
};

// gemm_pack_b (dispatched, kernel_list.h) returns the floats the packed form needs:
// groups * ceil(group_n / 64) panels of K * 64 floats, plus kGemmPackSlack zeroed floats that let
// a register tile narrower than 64 load whole vectors past a panel's last sub-panel.
constexpr int64_t kGemmPackSlack = 64;

}  // namespace ga
