#include "greedyhash/report/mosaic.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace {

constexpr int kFrame = 4, kGap = 8, kCaption = 22;

cv::Scalar frame_colour(TileFrame frame) {
  switch (frame) {
    case TileFrame::Relevant:
      return {60, 180, 60};
    case TileFrame::Irrelevant:
      return {40, 40, 220};
    case TileFrame::Unlabelled:
      return {150, 150, 150};
    case TileFrame::Query:
      break;
  }
  return {200, 120, 30};
}

cv::Mat to_bgr(const at::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3 || image.scalar_type() != at::kByte) {
    throw Error("mosaic tiles must be 3 x H x W uint8 images");
  }
  const at::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
              hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

}  // namespace

void save_mosaic(const std::filesystem::path& path, const std::vector<MosaicTile>& tiles,
                 int tile_side, int columns) {
  if (tiles.empty()) throw Error("mosaic " + path.string() + " has no tiles");
  const int n = static_cast<int>(tiles.size());
  const int cols = std::min(columns, n);
  const int rows = (n + cols - 1) / cols;
  const int cell_w = tile_side + 2 * kFrame + kGap;
  const int cell_h = tile_side + 2 * kFrame + kCaption + kGap;
  cv::Mat canvas(rows * cell_h + kGap, cols * cell_w + kGap, CV_8UC3, cv::Scalar(255, 255, 255));

  for (int i = 0; i < n; ++i) {
    const int x = kGap + (i % cols) * cell_w, y = kGap + (i / cols) * cell_h;
    cv::rectangle(canvas, {x, y}, {x + tile_side + 2 * kFrame - 1, y + tile_side + 2 * kFrame - 1},
                  frame_colour(tiles[static_cast<size_t>(i)].frame), cv::FILLED);
    cv::Mat scaled;
    cv::resize(to_bgr(tiles[static_cast<size_t>(i)].image), scaled, {tile_side, tile_side}, 0, 0,
               cv::INTER_NEAREST);
    scaled.copyTo(canvas(cv::Rect(x + kFrame, y + kFrame, tile_side, tile_side)));
    cv::putText(canvas, tiles[static_cast<size_t>(i)].caption,
                {x + 2, y + tile_side + 2 * kFrame + 16}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw Error("cannot encode mosaic " + path.string());
  write_file_atomically(path,
                        std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace greedyhash
