# Header-only stand-ins for the CLI11, nlohmann_json and spdlog packages, from copies of
# their headers in GREEDYHASH_VENDORED_HEADERS. spdlog is used header-only with fmt
# header-only too, so nothing has to be compiled against the host's C++ ABI.

foreach(header CLI/CLI.hpp nlohmann/json.hpp spdlog/spdlog.h fmt/format.h)
  if(NOT EXISTS "${GREEDYHASH_VENDORED_HEADERS}/${header}")
    message(FATAL_ERROR "GREEDYHASH_VENDORED_HEADERS=${GREEDYHASH_VENDORED_HEADERS} has no "
                        "${header}; copy the CLI/, nlohmann/, spdlog/ and fmt/ header folders there")
  endif()
endforeach()

foreach(target CLI11::CLI11 nlohmann_json::nlohmann_json spdlog::spdlog)
  add_library(${target} INTERFACE IMPORTED)
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${GREEDYHASH_VENDORED_HEADERS}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${GREEDYHASH_VENDORED_HEADERS}")
endforeach()
set_target_properties(spdlog::spdlog PROPERTIES
  INTERFACE_COMPILE_DEFINITIONS "SPDLOG_HEADER_ONLY;SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY")
