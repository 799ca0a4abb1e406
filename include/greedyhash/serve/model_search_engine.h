#pragma once

#include <memory>
#include <optional>
#include <string>

#include "greedyhash/data/run_data.h"
#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/serve/search_engine.h"

namespace greedyhash {

// What a model search engine is made of: an index, the model that encoded its collection
// (already checked to be the one, by SHA-256) and how outside images reach that model.
struct ModelSearchParts {
  IndexFiles index;
  TrainedModel trained;
  std::string checkpoint_sha256;
  EncodeOptions encode;         // prepare_encoder's, for the model's device and precision
  OutsideImageOptions outside;  // how an upload is decoded and transformed
  // The run's data, for a run-database index whose items are not image files (CIFAR-10
  // binary records): their images are served from it, as PNG.
  std::optional<RunData> run_data;
};

// Whether an index's items need the run's data to be shown (see ModelSearchParts).
bool items_need_run_data(const IndexManifest& manifest);

// The engine greedyhash_serve runs: an upload is decoded as greedyhash_search decodes an
// --image file, encoded in batches by the model and searched in the FAISS index, so that
// a search answers what greedyhash_search answers for the same image.
std::shared_ptr<SearchEngine> make_model_search_engine(ModelSearchParts parts);

}  // namespace greedyhash
