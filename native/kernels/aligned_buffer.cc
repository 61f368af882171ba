#include "kernels/aligned_buffer.h"

#include <cstdlib>
#include <new>

namespace ga {

AlignedBuffer::AlignedBuffer(size_t floats) { resize(floats); }
AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_) {
  o.p_ = nullptr;
  o.n_ = 0;
}
AlignedBuffer::~AlignedBuffer() { std::free(p_); }

void AlignedBuffer::resize(size_t floats) {
  std::free(p_);
  p_ = nullptr;
  n_ = 0;
  if (floats == 0) return;
  if (floats > (static_cast<size_t>(-1) - 63) / sizeof(float)) throw std::bad_alloc();
  const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
  p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p_) throw std::bad_alloc();
  n_ = floats;
}

}  // namespace ga
