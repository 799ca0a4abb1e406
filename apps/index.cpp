// greedyhash_index: encodes an image collection with a run's checkpoint into a FAISS binary
// index file plus a JSON sidecar.
#include <chrono>
#include <cstdio>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"
#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/collection_index.h"
#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/serialize/sha256.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

// The run's database, an image folder or a list file, encoded by the run's model.
EncodedCollection encode_images_for_index(const ConfigFlags& flags, const std::string& checkpoint,
                                          const std::string& images, const std::string& list) {
  const auto [config, device, files, trained, encode] = open_trained_run(flags, checkpoint);
  EncodeOptions options = encode;
  GreedyHash model = trained.model;
  EncodedCollection collection;
  if (!images.empty()) {
    collection = encode_image_folder(model, images, outside_image_options(config), options);
  } else if (!list.empty()) {
    collection = encode_list_file(model, list, outside_image_options(config), options);
  } else {
    const RunData data = load_run_data(config, files.dir, SplitMode::Load);
    options.transform = data.eval_transform;
    collection = encode_run_database(model, data, options);
  }
  describe_model(collection.manifest, trained, file_sha256_hex(trained.checkpoint), files.dir);
  return collection;
}

// The rows of a feature matrix, encoded by a --features run's hash layer.
EncodedCollection encode_features_for_index(const Config& config, const std::string& checkpoint,
                                            const fs::path& features) {
  const RunFiles files(run_folder(config));
  const fs::path used = checkpoint_of(files, checkpoint);
  FeatureHasherMeta meta;
  FeatureHasher model = load_feature_hasher(used, config.bit, &meta);
  EncodedCollection collection = encode_feature_file(model, features);
  IndexManifest& m = collection.manifest;
  m.bits = static_cast<int>(meta.bits);
  m.checkpoint = fs::absolute(used).lexically_normal().string();
  m.checkpoint_sha256 = file_sha256_hex(used);
  m.checkpoint_epoch = meta.epoch;
  m.run_dir = fs::absolute(files.dir).lexically_normal().string();
  return collection;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Encode an image collection with a trained run's checkpoint into a FAISS binary index:\n"
      "the run's database (default), an image folder (--images; labelled when laid out as\n"
      "FOLDER/<class>/<image>) or a list file (--list; `path 0 1 0 ...` lines, paths relative\n"
      "to the list file). Writes <run>/database.faiss (<run>/<folder name>.faiss, <run>/<list\n"
      "stem>.faiss; or --output) and its sidecar <index>.faiss.json: item paths, labels when\n"
      "known, bits, index type, the checkpoint and its SHA-256. greedyhash_search answers\n"
      "from it; greedyhash_predict --topk uses database.faiss when it matches its checkpoint.\n"
      "\n"
      "Codes whose length is not a multiple of 8 (12 bits) are padded with zero bits to whole\n"
      "bytes (16 bits) in the index and in every query: FAISS stores bytes, and distances are\n"
      "unchanged.\n"
      "\n"
      "Index types: flat (IndexBinaryFlat, exact; the default) scans every code per query.\n"
      "ivf (IndexBinaryIVF) splits the codes into --nlist cells by k-means on the codes and\n"
      "scans only the --nprobe cells nearest a query: faster on millions of codes, approximate.\n"
      "Defaults: nlist = sqrt(N) (at most N / 39), nprobe = nlist / 16. More nprobe: higher\n"
      "recall, slower; docs/PERFORMANCE.md measures both on 1,000,000 codes.\n"
      "greedyhash_search --nprobe overrides nprobe per search.\n"
      "\n"
      "A --features run (embeddings) indexes the rows of a .npy: --features database.npy.",
      "greedyhash_index");
  ConfigFlags flags;
  add_config_flags(app, flags, kIndexApp, {"features"});
  std::string checkpoint;
  std::string images;
  std::string list;
  std::string output;
  std::string index_type = "flat";
  IndexParams params;
  add_checkpoint_flag(app, checkpoint, "to encode with");
  std::string features;
  auto* features_flag = app.add_option(
      "--features", features,
      "a --features run: index the rows of this .npy (N x D float32/float16) instead; labels "
      "from <stem>_labels.npy beside it when present");
  auto* images_flag = app.add_option("--images", images, "index this image folder instead");
  features_flag->excludes(images_flag);
  auto* list_flag = app.add_option("--list", list, "index the images of this list file instead");
  images_flag->excludes(list_flag);
  app.add_option("--output", output, "index file to write (default: in the run folder, see above)");
  app.add_option("--index-type", index_type, "flat (exact, default) or ivf (approximate)")
      ->check(CLI::IsMember({"flat", "ivf"}));
  auto* nlist_flag =
      app.add_option("--nlist", params.nlist, "ivf: number of cells (default sqrt(N))")
          ->check(CLI::PositiveNumber);
  auto* nprobe_flag =
      app.add_option("--nprobe", params.nprobe, "ivf: cells scanned per query (default nlist/16)")
          ->check(CLI::PositiveNumber);

  return run_app("greedyhash_index", app, argc, argv, [&] {
    require_faiss();
    params.type = parse_index_type(index_type);
    if (params.type == IndexType::Flat && (nlist_flag->count() > 0 || nprobe_flag->count() > 0)) {
      throw Error("--nlist and --nprobe apply to --index-type ivf only");
    }
    const Config run_config = resolve_config(flags);
    if (!features.empty() && !list.empty()) throw Error("--features and --list exclude each other");
    if (!run_config.features.empty() && features.empty()) {
      throw Error("this run trains on embeddings; pass --features FILE.npy (e.g. " +
                  (fs::path(run_config.features) / "database.npy").string() + ")");
    }
    const fs::path run_dir = run_folder(run_config);
    const EncodedCollection collection =
        features.empty() ? encode_images_for_index(flags, checkpoint, images, list)
                         : encode_features_for_index(run_config, checkpoint, features);

    const int bits = collection.codes.bits();
    if (params.type == IndexType::Ivf) {
      std::printf("training the IVF quantiser (k-means) on %lld codes\n",
                  static_cast<long long>(collection.codes.size()));
    }
    const auto start = std::chrono::steady_clock::now();
    const BinaryIndex index = BinaryIndex::build(collection.codes, params);
    const double seconds = seconds_since(start);
    const fs::path file =
        output.empty() ? default_index_file(run_dir, collection.manifest) : fs::path(output);
    write_index_files(file, index, collection.manifest);

    std::printf("indexed %lld items as %d-bit codes", static_cast<long long>(index.size()), bits);
    if (padded_bits(bits) != bits) {
      std::printf(" (padded with zero bits to %d in the index and in queries)", padded_bits(bits));
    }
    std::printf("; %s index", index_type_name(index.type()).c_str());
    if (index.type() == IndexType::Ivf) {
      std::printf(" (nlist %lld, nprobe %lld)", static_cast<long long>(index.nlist()),
                  static_cast<long long>(index.nprobe()));
    }
    std::printf(" built in %.2f s\nwrote %s and %s\n", seconds, file.c_str(),
                manifest_path(file).c_str());
    return 0;
  });
}
