// Cache-line aligned float scratch, one per thread, so threads never share a line.
// Defined out of line (aligned_buffer.cc, baseline flags) so ISA translation units that use it
// never emit their own copy of its code.
#pragma once
#include <cstddef>

namespace ga {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t floats);
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;  // frees what this held
  ~AlignedBuffer();
  void resize(size_t floats);  // contents undefined; throws std::bad_alloc
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace ga
