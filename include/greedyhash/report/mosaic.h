#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

enum class TileFrame { Query, Relevant, Irrelevant, Unlabelled };

struct MosaicTile {
  at::Tensor image;     // 3 x H x W uint8 RGB, CPU
  std::string caption;  // drawn under the tile (e.g. "d=3")
  TileFrame frame = TileFrame::Query;
};

// Lays the tiles out left to right (wrapping after `columns`), each scaled to
// tile_side x tile_side and framed blue (query), green (shares a label with the query),
// red (does not) or grey (no labels to tell), with its caption underneath; writes a PNG
// atomically.
// Without OpenCV (GREEDYHASH_WITH_OPENCV=OFF): writes nothing and logs a warning.
void save_mosaic(const std::filesystem::path& path, const std::vector<MosaicTile>& tiles,
                 int tile_side = 96, int columns = 11);

}  // namespace greedyhash
