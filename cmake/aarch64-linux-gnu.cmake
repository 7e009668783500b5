# aarch64-linux-gnu.cmake - cross-compile hone for 64-bit Arm Linux (the edge build) with Debian's
# gcc-aarch64-linux-gnu. Use with -DHONE_KERNELS_ONLY=ON: the arm64 builds of PCRE2, cJSON,
# libmicrohttpd and libcrypto are not installed, so only core, quant and kernels can be built.
# scripts/test_neon.sh runs the resulting tests under qemu-aarch64 with -L /usr/aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the cross-built tests through qemu-user when it is installed.
find_program(HONE_QEMU_AARCH64 qemu-aarch64)
if(HONE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${HONE_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
