// The benchmark process's own memory, in MB, as the kernel reports it (Linux).
#pragma once

#include <sys/resource.h>

#include <fstream>
#include <string>

// The most resident memory the process has held so far (getrusage's maximum RSS).
inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: KiB
}

// A field of /proc/self/status in MB ("VmRSS": all resident memory; "RssAnon": without
// file pages mapped in, which the kernel may drop and read again); 0 when it is missing.
inline double status_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return 0.0;
}
