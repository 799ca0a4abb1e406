#pragma once

#include <filesystem>

namespace greedyhash {

// The exclusive right to write a run folder, held by one training run (--resume
// included) from before its first write to its exit: flock(2) on a lock file in the
// folder, so the kernel releases it when the process ends, however it ends. The file
// names the holder (process id, host, start time) for anyone who finds it taken.
// Readers (eval, predict, export, index) take no lock: every file is replaced
// atomically.
class RunFolderLock {
 public:
  // Takes the lock on `lock_file` (creating the file and its folder) or throws
  // greedyhash::Error at once, naming the process that holds it.
  explicit RunFolderLock(const std::filesystem::path& lock_file);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace greedyhash
