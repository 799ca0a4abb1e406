// greedyhash_search: answers a query image from a FAISS binary index (greedyhash_index)
// without encoding the collection again.
#include <cstdio>
#include <optional>

#include <torch/torch.h>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/query_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"
#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/collection_index.h"
#include "greedyhash/inference/query_image.h"
#include "greedyhash/report/retrieval_results.h"

using namespace greedyhash;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app(
      "Answer a query from a FAISS binary index written by greedyhash_index, without encoding\n"
      "the indexed collection again: the query image (--image, or --pic_id for a test image of\n"
      "the run's data set) is encoded with the checkpoint the index was built with (checked by\n"
      "SHA-256), and its --topk nearest items are printed (rank, Hamming distance, path) and\n"
      "drawn as a mosaic like greedyhash_predict's (green: shares a label with the query, red:\n"
      "not, grey: no labels). Codes of a length that is not a multiple of 8 are padded with\n"
      "zero bits, in the index and in the query alike; distances are unchanged.\n"
      "The run (config, data) is the one recorded in the index's sidecar unless --output-dir,\n"
      "--bit or --config say otherwise.",
      "greedyhash_search");
  ConfigFlags flags;
  add_config_flags(app, flags, kSearchApp);
  std::string index_file;
  QueryFlags query_flags;
  int64_t topk = 10;
  int64_t nprobe = 0;
  std::string mosaic;
  app.add_option("--index", index_file, "index file written by greedyhash_index (.faiss)")
      ->required();
  add_query_flags(app, query_flags);
  app.add_option("--topk", topk, "how many nearest items to retrieve (default 10)")
      ->check(CLI::PositiveNumber);
  app.add_option("--nprobe", nprobe, "ivf indexes: cells to scan (default: the index's)")
      ->check(CLI::PositiveNumber);
  app.add_option("--mosaic", mosaic,
                 "where to write the mosaic (default: <index folder>/<index name>_retrieval_"
                 "<query>.png)");

  return run_app("greedyhash_search", app, argc, argv, [&] {
    require_faiss();
    require_query(query_flags, "search for");
    IndexedRun opened = open_indexed_run(flags, index_file);
    IndexFiles& index = opened.index;
    const IndexManifest& manifest = index.manifest;
    if (nprobe > 0) index.index.set_nprobe(nprobe);
    const auto& [config, device, files, trained, encode] = opened.run;

    // The run's data: for a test image, and for the images of a run-database index.
    std::optional<RunData> data;
    const int64_t pic_id = query_flags.pic_id;
    if (pic_id >= 0 || manifest.collection == "run_database") {
      data = load_run_data(config, files.dir, SplitMode::Load);
    }
    const OutsideImageOptions outside = outside_image_options(config);
    const QueryImage query = pic_id >= 0 ? test_image_query(*data, pic_id)
                                         : image_file_query(query_flags.image, outside);
    GreedyHash model = trained.model;
    const EncodedImages encoded = encode_query(model, query, encode);
    const int64_t predicted = encoded.logits[0].argmax().item<int64_t>();

    // Relevance compares class names: the query's labels, or for an outside image its
    // predicted class, which has a name only where the run's data is at hand.
    std::vector<std::string> query_classes;
    if (data) {
      query_classes = query_class_names(query.label, predicted, data->dataset.class_names);
    }
    const BinaryCodes query_code = BinaryCodes::from_tensor(encoded.codes);
    const SearchHits found = index.index.search(query_code, topk);
    const auto hits =
        index_hits(manifest, found, 0, data ? &*data : nullptr, outside, query_classes);

    std::printf("%s\n", query.name.c_str());
    std::printf("code %s\n", query_code.hex(0).c_str());
    std::printf("%zu nearest of %lld items in %s (%s index, %d-bit codes", hits.size(),
                static_cast<long long>(index.index.size()), index_file.c_str(),
                manifest.index_type.c_str(), manifest.bits);
    if (index.index.type() == IndexType::Ivf) {
      std::printf(", nprobe %lld of %lld cells", static_cast<long long>(index.index.nprobe()),
                  static_cast<long long>(index.index.nlist()));
    }
    std::printf("):\n");
    print_retrieval_results(hits);
    const fs::path index_path(index_file);
    const fs::path mosaic_path =
        !mosaic.empty() ? fs::path(mosaic)
                        : index_path.parent_path() /
                              (index_path.stem().string() + "_retrieval_" + query.tag + ".png");
    if (!hits.empty()) {
      save_retrieval_mosaic(mosaic_path, query.image[0], hits);
      std::printf("wrote %s\n", mosaic_path.c_str());
    }
    return 0;
  });
}
