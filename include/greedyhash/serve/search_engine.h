#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace greedyhash {

// What a search service serves: a model that turns an image into a code, and an index of
// codes. An interface, so that the service's request handling can be tested and fuzzed
// without a model (tests/serve, fuzz/).
class SearchEngine {
 public:
  struct Info {
    int bits = 0;
    int64_t items = 0;
    std::string checkpoint_sha256;
    std::string index_sha256;
  };

  // A query decoded and ready to be encoded (the engine's own representation).
  class Query {
   public:
    virtual ~Query() = default;
  };

  struct Result {
    int64_t id = 0;  // the item's position in the index
    int distance = 0;
    std::string path;   // the item as the index lists it (a file, or a data-set record)
    std::string label;  // its class names joined by ","; "" when the index has no labels
  };

  struct Answer {
    std::string code_hex;  // the query's code, BinaryCodes::hex's layout
    std::vector<Result> results;
    double encode_ms = 0;  // the batch's forward pass
    double search_ms = 0;  // the batch's index search
  };

  struct Item {
    std::string content_type;  // image/jpeg or image/png
    std::string bytes;
  };

  virtual ~SearchEngine() = default;

  virtual const Info& info() const = 0;
  // Decodes an upload (a JPEG or PNG already checked by read_image_header); a
  // greedyhash::Error when it cannot. Called from many threads at once.
  virtual std::unique_ptr<Query> prepare(std::string_view image) const = 0;
  // Encodes `queries` as one batch and returns query i's ks[i] nearest items. Called from
  // one thread at a time.
  virtual std::vector<Answer> search(const std::vector<const Query*>& queries,
                                     const std::vector<int64_t>& ks) = 0;
  // The image of item `id`; std::nullopt when the index has no such item. Called from many
  // threads at once.
  virtual std::optional<Item> item(int64_t id) const = 0;
};

}  // namespace greedyhash
