# Finds libmicrohttpd as GREEDYHASH_WITH_MICROHTTPD asks (AUTO, ON or OFF) and sets
# GREEDYHASH_MICROHTTPD to TRUE, with the imported target PkgConfig::MHD, when the build
# uses it.

set(GREEDYHASH_MICROHTTPD FALSE)
if(NOT GREEDYHASH_WITH_MICROHTTPD MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "GREEDYHASH_WITH_MICROHTTPD must be AUTO, ON or OFF, got "
                      "'${GREEDYHASH_WITH_MICROHTTPD}'")
endif()
if(NOT GREEDYHASH_WITH_MICROHTTPD STREQUAL "OFF")
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(MHD QUIET IMPORTED_TARGET libmicrohttpd>=0.9.71)
  endif()
  if(MHD_FOUND)
    set(GREEDYHASH_MICROHTTPD TRUE)
    message(STATUS "libmicrohttpd ${MHD_VERSION}: greedyhash_serve enabled")
  elseif(GREEDYHASH_WITH_MICROHTTPD STREQUAL "ON")
    message(FATAL_ERROR "GREEDYHASH_WITH_MICROHTTPD=ON but libmicrohttpd was not found; install "
                        "libmicrohttpd-dev (Debian 12) or pass -DGREEDYHASH_WITH_MICROHTTPD=OFF")
  else()
    message(STATUS "libmicrohttpd not found: greedyhash_serve is not built "
                   "(install libmicrohttpd-dev, reconfigure)")
  endif()
endif()
