# Cross-compiling the static release binary for arm64 (scripts/release.sh aarch64).
# Compiler: Debian's g++-aarch64-linux-gnu (its C library and libstdc++ for arm64 come with it, under
# /usr/aarch64-linux-gnu). Libraries: Debian's arm64 -dev packages, downloaded with apt-get and unpacked (not
# installed) by scripts/release.sh into $HAPPY_CROSS_DEPS, laid out like a multiarch system
# (usr/include, usr/include/aarch64-linux-gnu, usr/lib/aarch64-linux-gnu). Why not installed as :arm64 packages:
# see scripts/release.sh.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
if(NOT DEFINED ENV{HAPPY_CROSS_DEPS})
    message(FATAL_ERROR "HAPPY_CROSS_DEPS is not set (scripts/release.sh sets it)")
endif()
set(_deps "$ENV{HAPPY_CROSS_DEPS}")
set(CMAKE_FIND_ROOT_PATH "${_deps}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Ahead of the host's /usr/include, which the cross compiler searches last: the arm64 headers win (OpenSSL's
# configuration.h is per architecture).
set(CMAKE_C_FLAGS_INIT "-isystem ${_deps}/usr/include/aarch64-linux-gnu -isystem ${_deps}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${_deps}/usr/include/aarch64-linux-gnu -isystem ${_deps}/usr/include")
