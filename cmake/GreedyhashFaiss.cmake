# Finds FAISS as GREEDYHASH_WITH_FAISS asks (AUTO, ON or OFF) and sets GREEDYHASH_FAISS to
# TRUE when the build uses it.

set(GREEDYHASH_FAISS FALSE)
if(NOT GREEDYHASH_WITH_FAISS MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "GREEDYHASH_WITH_FAISS must be AUTO, ON or OFF, got '${GREEDYHASH_WITH_FAISS}'")
endif()
if(NOT GREEDYHASH_WITH_FAISS STREQUAL "OFF")
  # Debian's faiss-config.cmake links OpenMP::OpenMP_CXX without looking for OpenMP.
  find_package(OpenMP QUIET COMPONENTS CXX)
  find_package(faiss CONFIG QUIET)
  if(faiss_FOUND AND TARGET OpenMP::OpenMP_CXX)
    set(GREEDYHASH_FAISS TRUE)
    message(STATUS "FAISS ${faiss_VERSION}: greedyhash_index and greedyhash_search enabled")
  elseif(GREEDYHASH_WITH_FAISS STREQUAL "ON")
    message(FATAL_ERROR "GREEDYHASH_WITH_FAISS=ON but FAISS (with OpenMP) was not found; "
                        "install libfaiss-dev (Debian 12) or pass -DGREEDYHASH_WITH_FAISS=OFF")
  else()
    message(STATUS "FAISS not found: greedyhash_index and greedyhash_search will say how to "
                   "enable them (install libfaiss-dev, reconfigure)")
  endif()
endif()
