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

// Any folder of images (what greedyhash_index --images takes). Laid out as
// FOLDER/<class>/<image> (no images directly in FOLDER, and images directly in every
// sub-folder), it is list_image_folder's listing, labels included. Otherwise it is every
// image file under FOLDER, recursively, sorted by path, without classes (class_names and
// class_ids empty). A missing folder or one without images throws greedyhash::Error.
ImageFolderListing list_image_collection(const std::filesystem::path& folder);

// Lists and decodes one split folder (e.g. ROOT/train). test_offset stays -1.
ImageDataset read_image_folder(const std::filesystem::path& split_dir,
                               const ImageLoadOptions& options = {});

}  // namespace greedyhash
