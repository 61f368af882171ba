// Software prefetch hints for the kernels: one cache line at a time, for reading or writing, at a
// locality (3: keep in every cache level; 1: L2 and beyond). A no-op where the compiler has no
// __builtin_prefetch (MSVC); a hint never changes a result.
#pragma once
#include <cstdint>
#include <cstddef>

namespace ga {

constexpr int kCacheLineFloats = 16;  // floats per 64-byte cache line (prefetch loop steps)

template <bool kWrite = false, int kLocality = 3>
inline void prefetch_line(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, kWrite ? 1 : 0, kLocality);
#else
  (void)p;
#endif
}

// Rows a computation will need soon, requested one cache line at a time from inside its inner
// loops (issue_one() every few iterations), so the requests spread over the work and arrive in
// L2 before they are read. Requesting them in one burst instead (hundreds of lines at a block's
// start) fills the core's miss buffers and stalls the loads behind it; measured on a sliding
// window's query blocks, whose query rows, newly admitted keys and output rows come from memory.
// Ranges are served in the order they were added; at most kMaxRanges (others are ignored).
class PrefetchQueue {
 public:
  static constexpr int kMaxRanges = 4;
  static constexpr int64_t kLineBytes = 64;
  // `rows` rows at p, p + stride_bytes, ...: every cache line holding one of a row's first
  // width_bytes bytes (rows need not start on a line).
  void add(const void* p, int64_t stride_bytes, int64_t rows, int64_t width_bytes) {
    if (n_ == kMaxRanges || rows <= 0 || width_bytes <= 0 || p == nullptr) return;
    ranges_[n_++] = {static_cast<const char*>(p), stride_bytes, rows, width_bytes};
    if (n_ == cur_ + 1) enter_row();
  }
  bool empty() const { return cur_ == n_; }
  // Requests the next line, if any is left, for the outer caches (locality 2: prefetcht1 on x86,
  // L2; it is read after much other data has passed through L1). Returns the line's address
  // (nullptr: none left).
  const void* issue_one() {
    if (cur_ == n_) return nullptr;
    const char* line = line_;
    prefetch_line<false, 2>(line);
    line_ += kLineBytes;
    if (line_ >= row_end_) {
      if (++row_ == ranges_[cur_].rows) row_ = 0, ++cur_;
      if (cur_ < n_) enter_row();
    }
    return line;
  }

 private:
  struct Range {
    const char* p;
    int64_t stride, rows, width;
  };
  // line_ = the first line of row row_ of range cur_; row_end_ = the end of its bytes.
  void enter_row() {
    const Range& r = ranges_[cur_];
    const char* row = r.p + row_ * r.stride;
    line_ = row - reinterpret_cast<uintptr_t>(row) % kLineBytes;
    row_end_ = row + r.width;
  }
  Range ranges_[kMaxRanges];
  int n_ = 0, cur_ = 0;
  int64_t row_ = 0;
  const char* line_ = nullptr;
  const char* row_end_ = nullptr;
};

}  // namespace ga
