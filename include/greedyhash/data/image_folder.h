#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"

namespace greedyhash {

// The files of one split folder laid out as SPLIT/<class>/<image>.{jpg,jpeg,png}.
struct ImageFolderListing {
  std::vector<std::string> class_names;  // sorted folder names; label = position
  std::vector<std::filesystem::path> files;
  std::vector<int64_t> class_ids;  // one per file
};

// Lists `split_dir`: class ids are the sorted class folder names' positions, and files
// are ordered by (class id, file name). Extensions are matched case-insensitively;
// other files and hidden entries are skipped. A missing folder, no class folders, or a
// class folder without images throws greedyhash::Error naming the folder.
ImageFolderListing list_image_folder(const std::filesystem::path& split_dir);

// Lists and decodes one split folder (e.g. ROOT/train). test_offset stays -1.
ImageDataset read_image_folder(const std::filesystem::path& split_dir,
                               const ImageLoadOptions& options = {});

}  // namespace greedyhash
