// AMX-BF16 tiles (Intel Sapphire Rapids and later): the one place the AMX intrinsics live. Only
// simd/isa_amxbf16.cc includes it (built with -mamx-tile -mamx-bf16), and dispatch offers that set
// only after cpuid, XCR0 and Linux's permission request (dispatch/cpu_features.h) all agree.
//
// Every kernel here uses one configuration: palette 1, all eight tiles 16 rows x 64 bytes (16 x 32
// bfloat16 operands, 16 x 16 float32 results). TDPBF16PS C += A·B takes A as 16 rows of 32
// bfloat16 (pairs along the reduction) and B as 16 rows of 16 pairs ("VNNI": B row kp holds
// (B[2kp][n], B[2kp+1][n]) for n < 16), so a tile product is 16 x 16 x 32 multiply-adds.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "simd/vec_avx512bf16.h"

namespace ga {

struct AmxBf16 {
  static constexpr int kRows = 16;   // rows of every tile
  static constexpr int kPairs = 16;  // bfloat16 pairs per A row = rows of B
  static constexpr int kCols = 16;   // float32 columns of C = pairs per B row

  // Loads the configuration in the calling thread. Tile state is per thread; a kernel configures
  // before its first tile instruction and releases when done (release() returns the thread to
  // the non-AMX state, so context switches stop saving 8 KiB of tiles).
  static void configure() {
    alignas(64) struct {
      uint8_t palette, start_row, reserved[14];
      uint16_t colsb[16];
      uint8_t rows[16];
    } cfg = {};
    cfg.palette = 1;
    for (int t = 0; t < 8; ++t) {
      cfg.colsb[t] = 64;
      cfg.rows[t] = kRows;
    }
    // GCC's _tile_loadconfig declares an 8-byte operand, not the 64 bytes ldtilecfg reads: without
    // this barrier the optimiser may drop the stores above (observed at -O2 in isolation).
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    _tile_loadconfig(&cfg);
  }
  static void release() { _tile_release(); }

  // Tile numbers must be literal in the instruction (GCC's intrinsics paste them into the
  // assembly text), so each template expands its number through a chain of literal cases.
#define GA_AMX_TILE_CASES(T, STMT)    \
  if constexpr (T == 0) STMT(0);      \
  else if constexpr (T == 1) STMT(1); \
  else if constexpr (T == 2) STMT(2); \
  else if constexpr (T == 3) STMT(3); \
  else if constexpr (T == 4) STMT(4); \
  else if constexpr (T == 5) STMT(5); \
  else if constexpr (T == 6) STMT(6); \
  else STMT(7)
  template <int T>
  static inline void zero() {
    static_assert(T >= 0 && T < 8, "tiles 0-7");
#define GA_AMX_ZERO(t) _tile_zero(t)
    GA_AMX_TILE_CASES(T, GA_AMX_ZERO);
#undef GA_AMX_ZERO
  }
  // GCC's _tile_loadd passes only the address (no memory operand, no clobber), so the compiler
  // would not know the tile reads memory: the barrier keeps every store before it (P's pairs, a
  // zero-padded copy) ahead of the load. (_tile_stored has its "memory" clobber.)
  template <int T>
  static inline void load(const void* p, int64_t stride_bytes) {
    static_assert(T >= 0 && T < 8, "tiles 0-7");
    __asm__ volatile("" ::: "memory");
#define GA_AMX_LOAD(t) _tile_loadd(t, p, stride_bytes)
    GA_AMX_TILE_CASES(T, GA_AMX_LOAD);
#undef GA_AMX_LOAD
  }
  template <int T>
  static inline void store(void* p, int64_t stride_bytes) {
    static_assert(T >= 0 && T < 8, "tiles 0-7");
#define GA_AMX_STORE(t) _tile_stored(t, p, stride_bytes)
    GA_AMX_TILE_CASES(T, GA_AMX_STORE);
#undef GA_AMX_STORE
  }
  // C += A·B. The kernels use C in 0-3, A in 4-5, B in 6-7.
  template <int C, int A, int B>
  static inline void dot() {
    static_assert(C >= 0 && C < 4 && (A == 4 || A == 5) && (B == 6 || B == 7), "C 0-3, A 4-5, B 6-7");
#define GA_AMX_DOT_B(b, a, c) _tile_dpbf16ps(c, a, b)
#define GA_AMX_DOT_A(a, c)                     \
  if constexpr (B == 6) GA_AMX_DOT_B(6, a, c); \
  else GA_AMX_DOT_B(7, a, c)
#define GA_AMX_DOT_C(c)   \
  if constexpr (A == 4) { \
    GA_AMX_DOT_A(4, c);   \
  } else {                \
    GA_AMX_DOT_A(5, c);   \
  }
    if constexpr (C == 0) {
      GA_AMX_DOT_C(0)
    } else if constexpr (C == 1) {
      GA_AMX_DOT_C(1)
    } else if constexpr (C == 2) {
      GA_AMX_DOT_C(2)
    } else {
      GA_AMX_DOT_C(3)
    }
#undef GA_AMX_DOT_C
#undef GA_AMX_DOT_A
#undef GA_AMX_DOT_B
  }
#undef GA_AMX_TILE_CASES

  // C (+)= the sum over `chunks` of A_i·B_i, on AT x BT C tiles (AT, BT <= 2): C tile (a, b) is tile
  // 2a + b, at c + a·16·ldc + b·16 with rows ldc floats apart, zeroed first or loaded (kLoadC),
  // stored at the end. Chunk i's A tile a is 16 rows lda values apart at a + a·16·lda + 32i; its
  // B tile b is at b_at(b, i), rows ldb_bytes apart. Tiles: C 0-3, A 4-5, B 6-7. The kernels'
  // products all have this shape (attention's Q·Kᵀ and P·V, the GEMM's row block x panels).
  template <int AT, int BT, bool kLoadC, class BAt>
  static inline void product(float* c, int64_t ldc, const uint16_t* a, int64_t lda, int64_t chunks, BAt&& b_at,
                             int64_t ldb_bytes) {
    static_assert(AT >= 1 && AT <= 2 && BT >= 1 && BT <= 2, "up to 2 x 2 C tiles");
    const int64_t cb = ldc * 4, ab = lda * 2;
    if constexpr (kLoadC) {
      load<0>(c, cb);
      if constexpr (BT > 1) load<1>(c + kCols, cb);
      if constexpr (AT > 1) load<2>(c + kRows * ldc, cb);
      if constexpr (AT > 1 && BT > 1) load<3>(c + kRows * ldc + kCols, cb);
    } else {
      zero<0>();
      if constexpr (BT > 1) zero<1>();
      if constexpr (AT > 1) zero<2>();
      if constexpr (AT > 1 && BT > 1) zero<3>();
    }
    for (int64_t i = 0; i < chunks; ++i) {
      load<4>(a + i * 2 * kPairs, ab);
      if constexpr (AT > 1) load<5>(a + kRows * lda + i * 2 * kPairs, ab);
      load<6>(b_at(0, i), ldb_bytes);
      if constexpr (BT > 1) load<7>(b_at(1, i), ldb_bytes);
      dot<0, 4, 6>();
      if constexpr (BT > 1) dot<1, 4, 7>();
      if constexpr (AT > 1) dot<2, 5, 6>();
      if constexpr (AT > 1 && BT > 1) dot<3, 5, 7>();
    }
    store<0>(c, cb);
    if constexpr (BT > 1) store<1>(c + kCols, cb);
    if constexpr (AT > 1) store<2>(c + kRows * ldc, cb);
    if constexpr (AT > 1 && BT > 1) store<3>(c + kRows * ldc + kCols, cb);
  }
};

// The AVX512-BF16 vectors the AMX kernels use around their tiles (softmax, conversions, tails):
// a distinct type, so the kernels instantiated for the amxbf16 set get symbols of their own, apart
// from the avx512bf16 set's.
struct VecAmxBf16 : VecAvx512Bf16 {
  static constexpr const char* kName = "amxbf16";
  using Half = Bf16<VecAmxBf16>;
};

}  // namespace ga
