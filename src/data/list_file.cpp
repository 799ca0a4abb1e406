#include "greedyhash/data/list_file.h"

#include <torch/types.h>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "greedyhash/data/dataset_images.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

bool parse_integer(const std::string& token, int64_t& value) {
  if (token.empty()) return false;
  size_t used = 0;
  try {
    value = std::stoll(token, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == token.size();
}

}  // namespace

std::vector<ListEntry> parse_list_file(const fs::path& list_file, int64_t num_classes) {
  std::ifstream in(list_file);
  if (!in) {
    throw Error("list file " + list_file.string() +
                " does not exist or cannot be read; expected lines `path/image.jpg 0 1 0 ...`");
  }
  std::vector<ListEntry> entries;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::istringstream tokens(line);
    ListEntry entry;
    if (!(tokens >> entry.path)) continue;
    entry.line = line_number;
    std::vector<std::string> values;
    for (std::string token; tokens >> token;) values.push_back(token);
    const std::string where = list_file.string() + ":" + std::to_string(line_number);
    if (num_classes == 0) {
      if (values.empty()) throw Error(where + ": no label after the image path");
      num_classes = static_cast<int64_t>(values.size());
    }
    const auto width = static_cast<int64_t>(values.size());
    entry.label.assign(static_cast<size_t>(num_classes), 0);
    if (width == 1 && num_classes > 1) {
      int64_t index = 0;
      if (!parse_integer(values[0], index)) {
        throw Error(where + ": label '" + values[0] + "' is not a class index");
      }
      if (index < 0 || index >= num_classes) {
        throw Error(where + ": label index " + std::to_string(index) +
                    " is out of range; expected 0.." + std::to_string(num_classes - 1));
      }
      entry.label[static_cast<size_t>(index)] = 1;
    } else if (width == num_classes) {
      for (int64_t c = 0; c < width; ++c) {
        const auto& value = values[static_cast<size_t>(c)];
        if (value != "0" && value != "1") {
          throw Error(where + ": label value '" + value + "' at position " + std::to_string(c) +
                      " is not 0 or 1");
        }
        entry.label[static_cast<size_t>(c)] = value == "1" ? 1 : 0;
      }
    } else {
      throw Error(where + ": " + std::to_string(width) + " label values; expected " +
                  std::to_string(num_classes) + " (one 0/1 per class) or one class index");
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    throw Error("list file " + list_file.string() +
                " has no entries; expected lines `path/image.jpg 0 1 0 ...`");
  }
  return entries;
}

ListDataset load_list_dataset(const ListDataSpec& spec) {
  if (!fs::is_directory(spec.root)) {
    throw Error("data root " + spec.root.string() +
                " does not exist; expected the folder the list files' paths are relative to");
  }
  const auto train = parse_list_file(spec.train_list, spec.num_classes);
  const auto num_classes = static_cast<int64_t>(train.front().label.size());
  const auto query = parse_list_file(spec.query_list, num_classes);
  const auto database = parse_list_file(spec.database_list, num_classes);

  std::vector<fs::path> files;
  std::vector<const ListEntry*> pooled;
  std::unordered_map<std::string, int64_t> index_of;
  Split split;
  split.protocol = SplitProtocol::Lists;
  const auto add = [&](const std::vector<ListEntry>& entries, const fs::path& list_file,
                       std::vector<int64_t>& out) {
    std::unordered_map<int64_t, int64_t> line_of;  // this list's line of each pooled image
    for (const auto& entry : entries) {
      const std::string where = list_file.string() + ":" + std::to_string(entry.line);
      const auto [it, inserted] = index_of.emplace(entry.path, static_cast<int64_t>(pooled.size()));
      if (inserted) {
        pooled.push_back(&entry);
        files.push_back(spec.root / entry.path);
        std::error_code error;
        if (!fs::is_regular_file(files.back(), error)) {
          throw Error(where + ": image " + files.back().string() +
                      " does not exist; expected image paths relative to " + spec.root.string());
        }
      } else if (pooled[static_cast<size_t>(it->second)]->label != entry.label) {
        throw Error(where + ": gives " + entry.path +
                    " a different label than an earlier list; expected one label per image");
      }
      const auto [seen, first] = line_of.emplace(it->second, entry.line);
      if (!first) {
        throw Error(where + ": lists " + entry.path + " again (first at line " +
                    std::to_string(seen->second) + "); expected each image once per list");
      }
      out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
  };
  add(train, spec.train_list, split.train);
  add(query, spec.query_list, split.query);
  add(database, spec.database_list, split.database);

  ListDataset result;
  for (const auto& file : files) result.dataset.sources.push_back(file.string());
  attach_images(result.dataset, std::move(files), spec.load);
  auto labels = torch::empty({static_cast<int64_t>(pooled.size()), num_classes}, torch::kUInt8);
  auto* out = labels.data_ptr<uint8_t>();
  for (const auto* entry : pooled) {
    std::copy(entry->label.begin(), entry->label.end(), out);
    out += num_classes;
  }
  result.dataset.labels = labels;
  for (int64_t c = 0; c < num_classes; ++c) result.dataset.class_names.push_back(std::to_string(c));
  result.split = std::move(split);
  return result;
}

}  // namespace greedyhash
