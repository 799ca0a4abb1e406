#include "greedyhash/data/batch_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/streamed_images.h"
#include "greedyhash/error.h"
#include "test_support.h"

namespace greedyhash {
namespace {

// 50 images 3 x 4 x 4 whose pixels all equal the image's index; label = index mod 5.
ImageDataset numbered_dataset() {
  ImageDataset data;
  data.images = torch::arange(50, torch::kLong)
                    .view({50, 1, 1, 1})
                    .expand({50, 3, 4, 4})
                    .to(torch::kUInt8)
                    .contiguous();
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 50; ++i) ids.push_back(i % 5);
  data.labels = one_hot_labels(ids, 5);
  return data;
}

std::vector<int64_t> odd_indices() {
  std::vector<int64_t> out;
  for (int64_t i = 1; i < 50; i += 2) out.push_back(i);
  out.insert(out.end(), {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22});  // 25 + 12 = 37
  return out;
}

BatchLoaderOptions plain_options() {
  BatchLoaderOptions options;
  options.batch_size = 8;
  options.shuffle = true;
  options.seed = 5;
  options.transform.mean = {0.f, 0.f, 0.f};
  options.transform.stddev = {1.f, 1.f, 1.f};
  return options;
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

// All batches of one epoch; checks each batch's images and labels against its indices.
std::vector<std::vector<int64_t>> run_epoch(BatchLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<int64_t>> batches;
  while (auto batch = loader.next()) {
    const auto indices = to_vector(batch->indices);
    for (size_t k = 0; k < indices.size(); ++k) {
      const auto i = indices[k];
      const auto row = static_cast<int64_t>(k);
      EXPECT_TRUE(torch::allclose(batch->images[row],
                                  torch::full({3, 4, 4}, static_cast<float>(i) / 255.f)))
          << "batch row " << k << " does not hold image " << i;
      EXPECT_EQ(batch->labels[row].argmax().item<int64_t>(), i % 5);
    }
    batches.push_back(indices);
  }
  return batches;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(BatchLoader, EpochOrderIsAPureFunctionMatchingTheReference) {
  {
    SCOPED_TRACE("MatchesTheIndependentReference");
    std::ifstream in(std::string(GREEDYHASH_TEST_DATA_DIR) + "/fixtures/seeded_reference.json");
    const auto ref = nlohmann::json::parse(in);
    const auto indices = ref["epoch_indices"].get<std::vector<int64_t>>();
    BatchLoaderOptions options;
    options.shuffle = true;
    options.seed = ref["epoch_seed"].get<uint64_t>();
    const auto& orders = ref["epoch_orders"];
    EXPECT_EQ(epoch_order(indices, options, 0), orders["epoch0"].get<std::vector<int64_t>>());
    EXPECT_EQ(epoch_order(indices, options, 1), orders["epoch1"].get<std::vector<int64_t>>());
    EXPECT_EQ(epoch_order(indices, options, 7), orders["epoch7"].get<std::vector<int64_t>>());
    options.rank = 1;
    options.world_size = 3;
    EXPECT_EQ(epoch_order(indices, options, 2),
              orders["epoch2_rank1_of3"].get<std::vector<int64_t>>());
  }
  {
    SCOPED_TRACE("OrderIsAPureFunctionOfSeedAndEpoch");
    const auto data = numbered_dataset();
    const auto indices = odd_indices();
    BatchLoader a(data, indices, plain_options());
    BatchLoader b(data, indices, plain_options());
    run_epoch(a, 0);
    run_epoch(a, 1);
    run_epoch(a, 2);
    const auto resumed = flatten(run_epoch(b, 3));  // straight to epoch 3, as after a crash
    EXPECT_EQ(flatten(run_epoch(a, 3)), resumed);
    EXPECT_NE(flatten(run_epoch(a, 4)), resumed);
    EXPECT_EQ(resumed, epoch_order(indices, plain_options(), 3));

    auto unshuffled = plain_options();
    unshuffled.shuffle = false;
    BatchLoader eval(data, indices, unshuffled);
    EXPECT_EQ(flatten(run_epoch(eval, 9)), indices);
  }
}

TEST(BatchLoader, CoversEachIndexOnceDropLastAndShards) {
  {
    SCOPED_TRACE("EachIndexExactlyOncePerEpochWithMatchingContents");
    const auto data = numbered_dataset();
    const auto indices = odd_indices();
    BatchLoader loader(data, indices, plain_options());
    EXPECT_EQ(loader.batches_per_epoch(), 5);  // ceil(37 / 8)
    EXPECT_EQ(loader.samples_per_epoch(), 37);
    auto expected = indices;
    std::sort(expected.begin(), expected.end());
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      const auto batches = run_epoch(loader, epoch);
      ASSERT_EQ(batches.size(), 5u);
      EXPECT_EQ(batches.back().size(), 5u);
      auto seen = flatten(batches);
      std::sort(seen.begin(), seen.end());
      EXPECT_EQ(seen, expected);
    }
    // Exhausted epochs stay exhausted.
    EXPECT_FALSE(loader.next().has_value());
  }
  {
    SCOPED_TRACE("DropLast");
    const auto data = numbered_dataset();
    auto options = plain_options();
    options.drop_last = true;
    BatchLoader loader(data, odd_indices(), options);
    EXPECT_EQ(loader.batches_per_epoch(), 4);
    EXPECT_EQ(loader.samples_per_epoch(), 32);
    const auto batches = run_epoch(loader, 0);
    ASSERT_EQ(batches.size(), 4u);
    for (const auto& b : batches) EXPECT_EQ(b.size(), 8u);
  }
  {
    SCOPED_TRACE("ShardsAreDisjointWithEqualBatchCounts");
    const auto data = numbered_dataset();
    const auto indices = odd_indices();  // 37 -> 36 kept, 12 per rank
    std::vector<int64_t> all;
    for (int64_t rank = 0; rank < 3; ++rank) {
      auto options = plain_options();
      options.rank = rank;
      options.world_size = 3;
      BatchLoader loader(data, indices, options);
      EXPECT_EQ(loader.batches_per_epoch(), 2);
      EXPECT_EQ(loader.samples_per_epoch(), 12);
      const auto seen = flatten(run_epoch(loader, 6));
      EXPECT_EQ(seen.size(), 12u);
      all.insert(all.end(), seen.begin(), seen.end());
    }
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "ranks overlap";
    EXPECT_EQ(all.size(), 36u);
    // Together the ranks see the single-process order of that epoch minus its last image.
    auto single = epoch_order(indices, plain_options(), 6);
    single.pop_back();
    std::sort(single.begin(), single.end());
    EXPECT_EQ(all, single);
  }
}

TEST(BatchLoader, PrefetchEqualsSynchronousAndStopsCleanly) {
  {
    SCOPED_TRACE("PrefetchedBatchesEqualSynchronousOnes");
    ImageDataset data;
    data.images = torch::randint(0, 256, {20, 3, 10, 10}, torch::kUInt8);
    data.labels = torch::eye(4, torch::kUInt8).repeat({5, 1});
    std::vector<int64_t> indices(20);
    for (int64_t i = 0; i < 20; ++i) indices[static_cast<size_t>(i)] = i;
    auto options = plain_options();
    options.transform = crop_transform(7, true);
    options.transform.resize = 12;
    auto sync_options = options;
    sync_options.prefetch = 0;
    BatchLoader prefetched(data, indices, options);
    BatchLoader synchronous(data, indices, sync_options);
    prefetched.start_epoch(2);
    synchronous.start_epoch(2);
    int64_t count = 0;
    while (auto a = prefetched.next()) {
      const auto b = synchronous.next();
      ASSERT_TRUE(b.has_value());
      EXPECT_EQ(a->images.size(2), 7);
      EXPECT_EQ(a->images.size(3), 7);
      EXPECT_TRUE(torch::equal(a->images, b->images));
      EXPECT_TRUE(torch::equal(a->indices, b->indices));
      ++count;
    }
    EXPECT_FALSE(synchronous.next().has_value());
    EXPECT_EQ(count, 3);
  }
  {
    SCOPED_TRACE("StopsCleanlyMidEpoch");
    const auto data = numbered_dataset();
    std::vector<int64_t> indices(50);
    for (int64_t i = 0; i < 50; ++i) indices[static_cast<size_t>(i)] = i;
    auto options = plain_options();
    options.batch_size = 2;
    options.prefetch = 1;
    {
      BatchLoader loader(data, indices, options);
      loader.start_epoch(0);
      ASSERT_TRUE(loader.next().has_value());
      loader.start_epoch(1);  // abandons epoch 0 while its producer waits
      ASSERT_TRUE(loader.next().has_value());
    }  // destroyed with the producer blocked on a full queue
    SUCCEED();
  }
}

TEST(BatchLoader, BadInputAndProducerErrors) {
  const auto data = numbered_dataset();
  EXPECT_THROW(BatchLoader(data, {0, 50}, plain_options()), Error);
  auto options = plain_options();
  options.rank = 3;
  options.world_size = 3;
  EXPECT_THROW(BatchLoader(data, {0, 1}, options), Error);
  options = plain_options();
  options.batch_size = 0;
  EXPECT_THROW(BatchLoader(data, {0, 1}, options), Error);

  BatchLoader idle(data, {0, 1}, plain_options());
  EXPECT_THROW(idle.next(), std::logic_error);

  // A transform that cannot apply (crop 8 > 4) fails inside the producer thread; the
  // error reaches the caller of next(), and again on the next call.
  options = plain_options();
  options.transform.crop = 8;
  BatchLoader failing(data, {0, 1, 2}, options);
  failing.start_epoch(0);
  EXPECT_THROW(failing.next(), Error);
  EXPECT_THROW(failing.next(), Error);
}

// `count` PNG files of random 10 x 10 pixels in a fresh folder.
std::vector<std::filesystem::path> random_png_files(const std::string& name, int count) {
  const auto folder = fresh_test_folder(name);
  std::vector<std::filesystem::path> files;
  for (int i = 0; i < count; ++i) {
    const auto pixels = torch::randint(0, 256, {10, 10, 3}, torch::kUInt8);
    const cv::Mat image(10, 10, CV_8UC3, pixels.data_ptr<uint8_t>());
    files.push_back(folder / ("img" + std::to_string(i) + ".png"));
    EXPECT_TRUE(cv::imwrite(files.back().string(), image));
  }
  return files;
}

// The same files held in memory and streamed give the same batches, bit for bit, with
// random crops and flips, whichever number of workers builds them and in what order.
TEST(BatchLoader, StreamedEqualsInMemoryWithAnyWorkerCount) {
  const auto files = random_png_files("loader_streamed", 23);
  ImageDataset in_memory;
  in_memory.images = decode_image_files(files);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 23; ++i) ids.push_back(i % 4);
  in_memory.labels = one_hot_labels(ids, 4);
  ImageDataset streamed;
  auto images = std::make_shared<StreamedImages>();
  images->files = files;
  streamed.streamed = images;
  streamed.labels = in_memory.labels;

  std::vector<int64_t> indices(23);
  for (int64_t i = 0; i < 23; ++i) indices[static_cast<size_t>(i)] = 22 - i;
  auto options = plain_options();
  options.batch_size = 4;
  options.transform = crop_transform(7, true);
  BatchLoader reference(in_memory, indices, options);
  for (const int64_t workers : {1, 3, 8}) {
    for (const int64_t prefetch : {0, 2}) {
      SCOPED_TRACE("workers " + std::to_string(workers) + ", prefetch " + std::to_string(prefetch));
      auto streamed_options = options;
      streamed_options.workers = workers;
      streamed_options.prefetch = prefetch;
      BatchLoader loader(streamed, indices, streamed_options);
      for (const int64_t epoch : {0, 3}) {
        reference.start_epoch(epoch);
        loader.start_epoch(epoch);
        int64_t count = 0;
        while (auto expected = reference.next()) {
          const auto actual = loader.next();
          ASSERT_TRUE(actual.has_value());
          EXPECT_TRUE(torch::equal(actual->indices, expected->indices));
          EXPECT_TRUE(torch::equal(actual->images, expected->images));
          EXPECT_TRUE(torch::equal(actual->labels, expected->labels));
          ++count;
        }
        EXPECT_FALSE(loader.next().has_value());
        EXPECT_EQ(count, 6);
      }
    }
  }
}

// A corrupt file fails the batch that holds it, not the ones before it, and names itself.
TEST(BatchLoader, StreamedFileErrorReachesTheCallerInOrder) {
  auto files = random_png_files("loader_streamed_error", 12);
  std::ofstream(files[9]) << "not an image any more";
  ImageDataset streamed;
  auto images = std::make_shared<StreamedImages>();
  images->files = files;
  streamed.streamed = images;
  streamed.labels = torch::eye(4, torch::kUInt8).repeat({3, 1});
  std::vector<int64_t> indices(12);
  for (int64_t i = 0; i < 12; ++i) indices[static_cast<size_t>(i)] = i;
  auto options = plain_options();
  options.shuffle = false;
  options.batch_size = 3;
  options.workers = 4;
  BatchLoader loader(streamed, indices, options);
  loader.start_epoch(0);
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(loader.next().has_value()) << b;
  expect_error([&] { loader.next(); }, {"img9.png", "cannot decode"});
  EXPECT_THROW(loader.next(), Error);
  loader.start_epoch(1);  // a new epoch starts over, and fails at the same batch
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(loader.next().has_value()) << b;
  EXPECT_THROW(loader.next(), Error);

  auto both = streamed;
  both.images = torch::zeros({12, 3, 10, 10}, torch::kUInt8);
  EXPECT_THROW(BatchLoader(both, indices, options), std::invalid_argument);
  options.transform.resize = 20;
  options.transform.crop = 8;
  expect_error([&] { BatchLoader(streamed, indices, options); }, {"a resize or a crop"});
}

}  // namespace
}  // namespace greedyhash
