#include "runtime/aligned_buffer.h"

#include <cstdlib>
#include <new>

#include "runtime/huge_pages.h"

namespace ga {

AlignedBuffer::AlignedBuffer(size_t floats) { resize(floats); }
AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
  o.p_ = nullptr;
  o.n_ = 0;
}
AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(p_);
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}
AlignedBuffer::~AlignedBuffer() { std::free(p_); }

void AlignedBuffer::resize(size_t floats) {
  std::free(p_);
  p_ = nullptr;
  n_ = 0;
  if (floats == 0) return;
  if (floats > (static_cast<size_t>(-1) - 63) / sizeof(float)) throw std::bad_alloc();
  size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
  size_t align = 64;
#if defined(__linux__)
  // Large buffers (a layer's q, k, v, context: N * H * D floats each) are freshly mapped on every
  // call, and first-touching them 4 KiB at a time cost ~60 ms per 128 MiB here (page faults that
  // also serialise threads on the mm lock). Transparent huge pages make that ~11 ms: align them to
  // 2 MiB and ask for huge pages (a hint; where THP is off it changes nothing).
  constexpr size_t kHuge = size_t{2} << 20;
  const bool huge = bytes >= 2 * kHuge;
  if (huge) {
    align = kHuge;
    bytes = (bytes + kHuge - 1) / kHuge * kHuge;
  }
#endif
  p_ = static_cast<float*>(std::aligned_alloc(align, bytes));
  if (!p_) throw std::bad_alloc();
#if defined(__linux__)
  if (huge) advise_huge_pages(p_, bytes);
#endif
  n_ = floats;
}

}  // namespace ga
