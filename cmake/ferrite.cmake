# Ferrite CMake toolchain file.
#
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=/path/to/ferrite/cmake/ferrite.cmake
#
# Every executable the project links becomes a bootable Ferrite image (the compilers are Ferrite's
# drivers, bin/ferrite-cc and bin/ferrite-c++: the distribution's gcc/g++ with musl as the C
# library). `ferrite_add_image(target ...)` names the image `target.elf` and sets its defaults.
# With -DFERRITE_TARGET=native the same project builds static musl executables for the host
# instead, which is how the test suite compares Ferrite against Linux.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

get_filename_component(FERRITE_HOME "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(FERRITE_HOME "${FERRITE_HOME}" CACHE PATH "Ferrite repository" FORCE)
set(FERRITE_TARGET "image" CACHE STRING "image (bootable Ferrite images) or native (static musl executables)")
set_property(CACHE FERRITE_TARGET PROPERTY STRINGS image native)

set(CMAKE_C_COMPILER "${FERRITE_HOME}/bin/ferrite-cc")
set(CMAKE_CXX_COMPILER "${FERRITE_HOME}/bin/ferrite-c++")
# The drivers read the mode from the environment too, but CMake's own checks run without ours.
set(CMAKE_C_FLAGS_INIT "--ferrite-target=${FERRITE_TARGET}")
set(CMAKE_CXX_FLAGS_INIT "--ferrite-target=${FERRITE_TARGET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--ferrite-target=${FERRITE_TARGET}")
# Images are static executables; there is no dynamic loader to build shared libraries for.
set_property(GLOBAL PROPERTY TARGET_SUPPORTS_SHARED_LIBS FALSE)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "Ferrite images link statically" FORCE)
# Libraries come from musl's directory, not the host's glibc ones.
set(CMAKE_FIND_ROOT_PATH /usr/lib/x86_64-linux-musl /usr/include/x86_64-linux-musl)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)

# ferrite_add_image(<target> [ROOTFS dir] [CMDLINE "..."] [CPUS n] [MEMORY size])
#   Makes <target> (an add_executable target) a Ferrite image named <target>.elf. ROOTFS packs a
#   folder into the image as its root file system; CMDLINE, CPUS and MEMORY are the defaults
#   `ferrite run` uses (arguments given to `ferrite run ... -- ARGS` are added after CMDLINE).
#   Also adds a `run-<target>` target that boots it.
function(ferrite_add_image target)
  cmake_parse_arguments(PARSE_ARGV 1 FERRITE "" "ROOTFS;CMDLINE;CPUS;MEMORY" "")
  if(FERRITE_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ferrite_add_image(${target}): unknown arguments ${FERRITE_UNPARSED_ARGUMENTS}; "
                        "use ROOTFS dir, CMDLINE \"...\", CPUS n, MEMORY size")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "ferrite_add_image(${target}): no such target; call add_executable(${target} ...) first")
  endif()
  if(NOT FERRITE_TARGET STREQUAL "image")
    return()
  endif()
  set_target_properties(${target} PROPERTIES SUFFIX ".elf")
  # Relink when the kernel or the runtime glue changes: bring them up to date first (cheap when
  # nothing changed), and name them as link dependencies.
  if(NOT TARGET ferrite_kernel)
    add_custom_target(ferrite_kernel
      COMMAND "${FERRITE_HOME}/bin/ferrite" build-kernel
      BYPRODUCTS "${FERRITE_HOME}/target/ferrite/libferrite.o" "${FERRITE_HOME}/target/ferrite/libferrite_rt.a"
      COMMENT "Ferrite kernel")
  endif()
  add_dependencies(${target} ferrite_kernel)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS
    "${FERRITE_HOME}/target/ferrite/libferrite.o" "${FERRITE_HOME}/target/ferrite/libferrite_rt.a")
  target_link_options(${target} PRIVATE "--ferrite-name=${target}")
  if(DEFINED FERRITE_ROOTFS)
    get_filename_component(rootfs "${FERRITE_ROOTFS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT IS_DIRECTORY "${rootfs}")
      message(FATAL_ERROR "ferrite_add_image(${target}): ROOTFS ${rootfs} is not a directory")
    endif()
    target_link_options(${target} PRIVATE "--ferrite-rootfs=${rootfs}")
    # Relink when a file in the root file system changes.
    file(GLOB_RECURSE rootfs_files CONFIGURE_DEPENDS "${rootfs}/*")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${rootfs_files})
  endif()
  if(DEFINED FERRITE_CMDLINE)
    target_link_options(${target} PRIVATE "--ferrite-cmdline=${FERRITE_CMDLINE}")
  endif()
  if(DEFINED FERRITE_CPUS)
    target_link_options(${target} PRIVATE "--ferrite-cpus=${FERRITE_CPUS}")
  endif()
  if(DEFINED FERRITE_MEMORY)
    target_link_options(${target} PRIVATE "--ferrite-memory=${FERRITE_MEMORY}")
  endif()
  add_custom_target(run-${target}
    COMMAND "${FERRITE_HOME}/bin/ferrite" run "$<TARGET_FILE:${target}>"
    DEPENDS ${target}
    USES_TERMINAL
    COMMENT "Booting ${target}.elf")
endfunction()
