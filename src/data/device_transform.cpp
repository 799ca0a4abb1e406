#include "greedyhash/data/device_transform.h"

#include <random>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// For each output coordinate: the two source coordinates and their weights, following
// at::upsample_bilinear2d with align_corners = false (half-pixel centres, clamped).
struct Taps {
  std::vector<int64_t> first;
  std::vector<int64_t> second;
  std::vector<float> first_weight;
  std::vector<float> second_weight;
};

Taps make_taps(int64_t in, int64_t out) {
  Taps taps;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    float source = (static_cast<float>(o) + 0.5f) * scale - 0.5f;
    if (source < 0.f) source = 0.f;
    const auto i0 = std::min(static_cast<int64_t>(source), in - 1);
    const float lambda = std::clamp(source - static_cast<float>(i0), 0.f, 1.f);
    taps.first.push_back(i0);
    taps.second.push_back(i0 < in - 1 ? i0 + 1 : i0);
    taps.first_weight.push_back(1.f - lambda);
    taps.second_weight.push_back(lambda);
  }
  return taps;
}

at::Tensor resize_bilinear_cpu(const at::Tensor& images, int64_t height, int64_t width) {
  const auto input = images.contiguous();
  const int64_t planes = input.size(0) * input.size(1);
  const int64_t in_h = input.size(2);
  const int64_t in_w = input.size(3);
  auto output = torch::empty({input.size(0), input.size(1), height, width}, input.options());
  const Taps rows = make_taps(in_h, height);
  const Taps cols = make_taps(in_w, width);
  const float* src = input.data_ptr<float>();
  float* dst = output.data_ptr<float>();
  at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> wide(static_cast<size_t>(in_h * width));  // rows resized in width only
    for (int64_t p = begin; p < end; ++p) {
      const float* in = src + p * in_h * in_w;
      for (int64_t r = 0; r < in_h; ++r) {
        const float* row = in + r * in_w;
        float* out_row = wide.data() + r * width;
        for (int64_t x = 0; x < width; ++x) {
          out_row[x] = row[cols.first[x]] * cols.first_weight[x] +
                       row[cols.second[x]] * cols.second_weight[x];
        }
      }
      float* out = dst + p * height * width;
      for (int64_t y = 0; y < height; ++y) {
        const float* a = wide.data() + rows.first[y] * width;
        const float* b = wide.data() + rows.second[y] * width;
        const float wa = rows.first_weight[y];
        const float wb = rows.second_weight[y];
        float* out_row = out + y * width;
        for (int64_t x = 0; x < width; ++x) out_row[x] = a[x] * wa + b[x] * wb;
      }
    }
  });
  return output;
}

}  // namespace

TransformOptions resize_transform(int64_t size) {
  TransformOptions options;
  options.resize = size;
  return options;
}

TransformOptions crop_transform(int64_t crop, bool training) {
  TransformOptions options;
  options.crop = crop;
  options.random_crop = training;
  options.random_flip = training;
  return options;
}

at::Tensor resize_bilinear(const at::Tensor& images, int64_t height, int64_t width) {
  if (images.dim() != 4 || images.scalar_type() != torch::kFloat) {
    throw std::invalid_argument("resize_bilinear expects float images N x C x H x W");
  }
  if (images.is_cpu()) return resize_bilinear_cpu(images, height, width);
  return at::upsample_bilinear2d(images, {height, width}, /*align_corners=*/false);
}

at::Tensor transform_batch(const at::Tensor& images, const TransformOptions& options,
                           uint64_t random_seed) {
  if (images.dim() != 4 || images.size(1) != 3 || images.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("transform_batch expects uint8 images N x 3 x H x W");
  }
  if (options.resize < 0 || options.crop < 0) {
    throw Error("transform sizes must be >= 0, got resize " + std::to_string(options.resize) +
                " and crop " + std::to_string(options.crop));
  }
  const auto device = images.device();
  std::vector<float> scale(3);
  std::vector<float> shift(3);
  for (size_t c = 0; c < 3; ++c) {
    scale[c] = 1.f / (255.f * options.stddev[c]);
    shift[c] = -options.mean[c] / options.stddev[c];
  }
  const auto scale_t = torch::tensor(scale).view({1, 3, 1, 1}).to(device);
  const auto shift_t = torch::tensor(shift).view({1, 3, 1, 1}).to(device);
  auto x = torch::addcmul(shift_t, images.to(torch::kFloat), scale_t);

  if (options.resize > 0 && (x.size(2) != options.resize || x.size(3) != options.resize)) {
    x = resize_bilinear(x, options.resize, options.resize);
  }
  if (options.crop == 0 && !options.random_flip) return x;

  const int64_t n = x.size(0);
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  const int64_t crop_h = options.crop > 0 ? options.crop : height;
  const int64_t crop_w = options.crop > 0 ? options.crop : width;
  if (crop_h > height || crop_w > width) {
    throw Error("transform crop " + std::to_string(options.crop) + " is larger than the images (" +
                std::to_string(height) + " x " + std::to_string(width) +
                "); expected a crop no larger than the stored or resized size");
  }
  if (!options.random_crop && !options.random_flip) {
    return x.narrow(2, (height - crop_h) / 2, crop_h)
        .narrow(3, (width - crop_w) / 2, crop_w)
        .contiguous();
  }
  // Per-image windows (and mirrored column order) as gather indices: one batched gather
  // per axis instead of a loop over images.
  auto rows = torch::empty({n, crop_h}, torch::kLong);
  auto cols = torch::empty({n, crop_w}, torch::kLong);
  auto* row_data = rows.data_ptr<int64_t>();
  auto* col_data = cols.data_ptr<int64_t>();
  std::mt19937_64 rng(random_seed);
  for (int64_t i = 0; i < n; ++i) {
    int64_t top = (height - crop_h) / 2;
    int64_t left = (width - crop_w) / 2;
    if (options.random_crop) {
      top = static_cast<int64_t>(draw_below(rng, static_cast<uint64_t>(height - crop_h + 1)));
      left = static_cast<int64_t>(draw_below(rng, static_cast<uint64_t>(width - crop_w + 1)));
    }
    const bool flip = options.random_flip && draw_below(rng, 2) == 1;
    for (int64_t r = 0; r < crop_h; ++r) row_data[i * crop_h + r] = top + r;
    for (int64_t c = 0; c < crop_w; ++c) {
      col_data[i * crop_w + c] = flip ? left + crop_w - 1 - c : left + c;
    }
  }
  rows = rows.to(device);
  cols = cols.to(device);
  x = x.gather(2, rows.view({n, 1, crop_h, 1}).expand({n, 3, crop_h, width}));
  return x.gather(3, cols.view({n, 1, 1, crop_w}).expand({n, 3, crop_h, crop_w}));
}

at::Tensor gather_to_device(const at::Tensor& source, const at::Tensor& indices,
                            c10::Device device) {
  if (!device.is_cuda()) return source.index_select(0, indices).to(device);
  auto sizes = source.sizes().vec();
  sizes[0] = indices.size(0);
  auto pinned = torch::empty(sizes, source.options().pinned_memory(true));
  at::index_select_out(pinned, source, 0, indices);
  return pinned.to(device, /*non_blocking=*/true);
}

}  // namespace greedyhash
