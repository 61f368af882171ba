// Linked into the shipped prebuilds only (CMake option GA_PORTABLE): keeps their glibc floor at
// 2.34 (Ubuntu 22.04, RHEL 9, Amazon Linux 2023) although they are built on glibc 2.36.
//
// The prebuilds link libstdc++ statically. Its archive member random.o (std::random_device) comes
// along with the string instantiations the addon uses, and on glibc >= 2.36 it references
// arc4random@GLIBC_2.36, so the whole addon would refuse to load on an older glibc. Nothing here
// uses std::random_device; this hidden definition satisfies that reference inside the addon, and
// is correct anyway (getentropy is glibc 2.25).
#include <sys/random.h>

#include <cstdint>
#include <cstdlib>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t v;
  if (getentropy(&v, sizeof v) != 0) std::abort();
  return v;
}
