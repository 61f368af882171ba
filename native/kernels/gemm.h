// C = A · Bᵀ for the layer projections (B is a PyTorch nn.Linear weight, [out, in], so
// y = x · Wᵀ needs no transpose by the caller). Plain C++ description; runs on the active ISA.
//
// Packed B (a model's weights, packed once at load): gemm_pack_b writes B's rows as column
// panels of kGemmPackWidth = 16 columns, panel[k][0..16) = B[j0..j0+16)[k], zero-padded past the
// last row, then gemm_abt reads them through GemmParams::b_packed with no per-call packing. The
// layout is the same under every ISA, so a weight packed once stays valid after set_active_isa:
// every ISA's vector width (1, 4, 8, 16) divides 16, so each vector of a register tile lies in one
// panel and streams it contiguously (AVX2's 16-column tile is one panel, AVX-512's 64 are four,
// NEON's 12 may straddle two). Rows may be packed in groups (an attention weight [H*D, C] as H
// groups of D rows, each starting a new panel) so that one product writes each head's columns to
// its own place in C (the head-major [B, H, N, D] layout) through c_group_stride.
#pragma once
#include <cstdint>

namespace ga {

// Columns per packed panel: the ISA-independent panel width (k stride) of packed B.
constexpr int kGemmPackWidth = 16;

// Row independence: with M >= kGemmRowsAnyM rows (or with b_packed, at any M), each row of C is
// computed by the same register-tile code on the same numbers whatever M, the row's position and
// the thread count (K is blocked the same way for every row). So a product over rows [r0, r1) of A
// gives the same bits as those rows of the product over all of A, as long as both have at least
// this many rows (below it a dot-product kernel with another summation order may run). Callers
// that split a product across work items (a packed batch's sequences) rely on it.
constexpr int64_t kGemmRowsAnyM = 96;

struct GemmParams {
  const float* a = nullptr;  // [M, K], row stride lda
  const float* b = nullptr;  // [N, K], row stride ldb (ignored when b_packed is set)
  float* c = nullptr;        // [M, N], row stride ldc
  int64_t M = 0, N = 0, K = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool accumulate = false;  // C += A·Bᵀ instead of C = A·Bᵀ
  int threads = 1;          // threads this call may use (already leased)
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
  int64_t group_n = 0;   // rows per group (a head's d_kv); 0: N. N must be a multiple of it.
  float* dst = nullptr;  // gemm_pack_b's return value floats, or nullptr to only ask the size
  int threads = 1;
};

// gemm_pack_b (dispatched, kernel_list.h) returns the floats the packed form needs:
// groups * ceil(group_n / 16) panels of K * 16 floats (-1 for a bad shape).

}  // namespace ga
