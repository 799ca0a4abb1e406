#include "greedyhash/data/image_folder.h"

#include <algorithm>
#include <cctype>

#include "greedyhash/data/dataset_images.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

bool is_hidden(const fs::path& path) {
  return path.filename().string().rfind('.', 0) == 0;
}

bool holds_images(const fs::path& folder) {
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && !is_hidden(entry.path()) && is_image_file(entry.path())) {
      return true;
    }
  }
  return false;
}

// FOLDER/<class>/<image>: no images of its own, and images in each (visible) sub-folder.
bool has_class_layout(const fs::path& folder) {
  if (holds_images(folder)) return false;
  bool any = false;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_directory() || is_hidden(entry.path())) continue;
    if (!holds_images(entry.path())) return false;
    any = true;
  }
  return any;
}

}  // namespace

ImageFolderListing list_image_collection(const fs::path& folder) {
  if (!fs::is_directory(folder)) {
    throw Error("image folder " + folder.string() + " does not exist or is not a folder");
  }
  if (has_class_layout(folder)) return list_image_folder(folder);
  ImageFolderListing listing;
  const auto options = fs::directory_options::skip_permission_denied;
  for (auto it = fs::recursive_directory_iterator(folder, options);
       it != fs::recursive_directory_iterator(); ++it) {
    if (is_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_image_file(it->path())) listing.files.push_back(it->path());
  }
  if (listing.files.empty()) {
    throw Error("image folder " + folder.string() +
                " holds no images; expected .jpg, .jpeg or .png files in it or below it");
  }
  std::sort(listing.files.begin(), listing.files.end());
  return listing;
}

ImageFolderListing list_image_folder(const fs::path& split_dir) {
  if (!fs::is_directory(split_dir)) {
    throw Error("image folder " + split_dir.string() +
                " does not exist; expected one sub-folder of images per class");
  }
  ImageFolderListing listing;
  for (const auto& entry : fs::directory_iterator(split_dir)) {
    if (entry.is_directory() && !is_hidden(entry.path())) {
      listing.class_names.push_back(entry.path().filename().string());
    }
  }
  if (listing.class_names.empty()) {
    throw Error("image folder " + split_dir.string() + " has no class folders; expected " +
                split_dir.string() + "/<class>/<image>.jpg");
  }
  std::sort(listing.class_names.begin(), listing.class_names.end());
  for (size_t c = 0; c < listing.class_names.size(); ++c) {
    const fs::path class_dir = split_dir / listing.class_names[c];
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(class_dir)) {
      if (entry.is_regular_file() && !is_hidden(entry.path()) && is_image_file(entry.path())) {
        names.push_back(entry.path().filename().string());
      }
    }
    if (names.empty()) {
      throw Error("class folder " + class_dir.string() +
                  " has no images; expected .jpg, .jpeg or .png files");
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      listing.files.push_back(class_dir / name);
      listing.class_ids.push_back(static_cast<int64_t>(c));
    }
  }
  return listing;
}

ImageDataset read_image_folder(const fs::path& split_dir, const ImageLoadOptions& options) {
  auto listing = list_image_folder(split_dir);
  ImageDataset dataset;
  attach_images(dataset, listing.files, options);
  dataset.labels =
      one_hot_labels(listing.class_ids, static_cast<int64_t>(listing.class_names.size()));
  dataset.sources.reserve(listing.files.size());
  for (const auto& file : listing.files) dataset.sources.push_back(file.string());
  dataset.class_names = std::move(listing.class_names);
  return dataset;
}

}  // namespace greedyhash
