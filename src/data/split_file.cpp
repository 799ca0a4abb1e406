#include "greedyhash/data/split_file.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace {

using nlohmann::json;

json encode_runs(const std::vector<int64_t>& sorted) {
  json out = json::array();
  size_t i = 0;
  while (i < sorted.size()) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (j - i + 1 >= 3) {
      out.push_back(json::array({sorted[i], sorted[j]}));
    } else {
      for (size_t k = i; k <= j; ++k) out.push_back(sorted[k]);
    }
    i = j + 1;
  }
  return out;
}

class SplitReader {
 public:
  explicit SplitReader(std::filesystem::path path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("split file " + path_.string() + ": " + what);
  }

  const json& field(const json& object, const char* key) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(std::string("missing key \"") + key + "\"");
    return *it;
  }

  int64_t integer(const json& object, const char* key) const {
    const auto& value = field(object, key);
    if (!value.is_number_integer()) fail(std::string("\"") + key + "\" must be an integer");
    return value.get<int64_t>();
  }

  std::string text(const json& object, const char* key) const {
    const auto& value = field(object, key);
    if (!value.is_string()) fail(std::string("\"") + key + "\" must be a string");
    return value.get<std::string>();
  }

  // Both lists are sorted: one merge pass finds any shared index.
  void check_disjoint(const std::vector<int64_t>& a, const char* a_name,
                      const std::vector<int64_t>& b, const char* b_name) const {
    size_t i = 0;
    size_t j = 0;
    while (i < a.size() && j < b.size()) {
      if (a[i] == b[j]) {
        fail("image " + std::to_string(a[i]) + " is in both " + a_name + " and " + b_name +
             "; expected disjoint lists");
      }
      a[i] < b[j] ? ++i : ++j;
    }
  }

  std::vector<int64_t> runs(const json& object, const char* key, int64_t count) const {
    const auto& list = field(object, key);
    if (!list.is_array()) fail(std::string("\"") + key + "\" must be an array");
    std::vector<int64_t> out;
    const auto append = [&](int64_t index) {
      if (index < 0 || index >= count) {
        fail(std::string("\"") + key + "\" has index " + std::to_string(index) +
             " outside the recorded data set of " + std::to_string(count) + " images");
      }
      if (!out.empty() && index <= out.back()) {
        fail(std::string("\"") + key + "\" is not strictly ascending at index " +
             std::to_string(index));
      }
      out.push_back(index);
    };
    for (const auto& element : list) {
      if (element.is_number_integer()) {
        append(element.get<int64_t>());
      } else if (element.is_array() && element.size() == 2 && element[0].is_number_integer() &&
                 element[1].is_number_integer() &&
                 element[0].get<int64_t>() < element[1].get<int64_t>()) {
        const auto last = element[1].get<int64_t>();
        if (last >= count) append(last);  // reports the out-of-range index
        for (auto i = element[0].get<int64_t>(); i <= last; ++i) append(i);
      } else {
        fail(std::string("\"") + key + "\" must hold indices and [first, last] runs");
      }
    }
    return out;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

void save_split(const std::filesystem::path& path, const Split& split,
                const DatasetFingerprint& fingerprint, const std::string& source_description) {
  check_split_fits(split, fingerprint.count, "split for " + path.string());
  json out;
  out["format"] = "greedyhash-split";
  out["version"] = 2;
  out["protocol"] = split_protocol_name(split.protocol);
  out["seed"] = split.seed;
  out["source"] = source_description;
  out["dataset"] = {{"count", fingerprint.count}, {"checksum", fingerprint.checksum}};
  out["order"] = "ascending dataset index";
  out["sizes"] = {{"query", split.query.size()},
                  {"train", split.train.size()},
                  {"database", split.database.size()},
                  {"validation", split.validation.size()}};
  for (const auto* list : {&split.query, &split.train, &split.database, &split.validation}) {
    if (!std::is_sorted(list->begin(), list->end())) {
      throw std::invalid_argument("save_split: index lists must be sorted ascending");
    }
  }
  out["query"] = encode_runs(split.query);
  out["train"] = encode_runs(split.train);
  out["database"] = encode_runs(split.database);
  out["validation"] = encode_runs(split.validation);
  write_file_atomically(path, out.dump() + "\n");
}

SavedSplit load_split(const std::filesystem::path& path, const DatasetFingerprint& data) {
  const SplitReader reader(path);
  std::ifstream in(path);
  if (!in) {
    throw Error("split file " + path.string() +
                " does not exist or cannot be read; expected the split.json saved with the run");
  }
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception&) {
    reader.fail("not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != "greedyhash-split") {
    reader.fail("not a greedyhash split (expected \"format\": \"greedyhash-split\")");
  }
  // Version 1 files (before validation sets) load with an empty validation list.
  const int64_t version = reader.integer(doc, "version");
  if (version != 1 && version != 2) reader.fail("unsupported version; expected 1 or 2");

  SavedSplit saved;
  try {
    saved.split.protocol = parse_split_protocol(reader.text(doc, "protocol"));
  } catch (const Error& e) {
    reader.fail(e.what());
  }
  const auto& seed = reader.field(doc, "seed");
  if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<int64_t>() >= 0)) {
    reader.fail("\"seed\" must be a non-negative integer");
  }
  saved.split.seed = seed.get<uint64_t>();
  saved.source = reader.text(doc, "source");
  const auto& dataset = reader.field(doc, "dataset");
  saved.fingerprint.count = reader.integer(dataset, "count");
  saved.fingerprint.checksum = reader.text(dataset, "checksum");
  check_fingerprint(path, saved.fingerprint, data);
  const auto& sizes = reader.field(doc, "sizes");

  const auto count = saved.fingerprint.count;
  saved.split.query = reader.runs(doc, "query", count);
  saved.split.train = reader.runs(doc, "train", count);
  saved.split.database = reader.runs(doc, "database", count);
  const auto check_size = [&](const char* key, const std::vector<int64_t>& list) {
    if (reader.integer(sizes, key) != static_cast<int64_t>(list.size())) {
      reader.fail(std::string("\"") + key + "\" has " + std::to_string(list.size()) +
                  " indices but \"sizes\" says " + std::to_string(reader.integer(sizes, key)));
    }
  };
  check_size("query", saved.split.query);
  check_size("train", saved.split.train);
  check_size("database", saved.split.database);
  if (version >= 2) {
    saved.split.validation = reader.runs(doc, "validation", count);
    check_size("validation", saved.split.validation);
  }
  reader.check_disjoint(saved.split.query, "query", saved.split.train, "train");
  reader.check_disjoint(saved.split.validation, "validation", saved.split.query, "query");
  reader.check_disjoint(saved.split.validation, "validation", saved.split.train, "train");
  return saved;
}

void check_fingerprint(const std::filesystem::path& split_file, const DatasetFingerprint& recorded,
                       const DatasetFingerprint& actual) {
  if (recorded == actual) return;
  throw Error("split file " + split_file.string() + " was made for " +
              std::to_string(recorded.count) + " images with checksum " + recorded.checksum +
              ", but the data has " + std::to_string(actual.count) + " images with checksum " +
              actual.checksum + "; use the data the split was made from, or make a new split");
}

Split load_split_for(const std::filesystem::path& path, const ImageDataset& dataset) {
  return load_split(path, fingerprint_dataset(dataset)).split;
}

}  // namespace greedyhash
