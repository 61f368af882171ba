# Cross-compiling for 64-bit Arm Linux (glibc) with Debian's g++-aarch64-linux-gnu:
#   apt-get install -y g++-aarch64-linux-gnu qemu-user-static
# Used by scripts/prebuild.js (the linux-arm64 prebuild) and scripts/test-arm64.sh (the native
# kernel tests, run under qemu-aarch64-static with QEMU_LD_PREFIX=/usr/aarch64-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(GA_CROSS_TRIPLE aarch64-linux-gnu CACHE STRING "GNU triple of the cross toolchain")
set(CMAKE_C_COMPILER ${GA_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${GA_CROSS_TRIPLE}-g++)
set(CMAKE_AR ${GA_CROSS_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${GA_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${GA_CROSS_TRIPLE}-strip CACHE FILEPATH "")

# Libraries and headers come from the target sysroot; programs (cmake, node) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${GA_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest / add_test run the target's binaries through qemu when it is installed.
find_program(GA_QEMU_AARCH64 qemu-aarch64-static qemu-aarch64)
if(GA_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${GA_QEMU_AARCH64};-L;/usr/${GA_CROSS_TRIPLE})
endif()
