#include "greedyhash/report/retrieval_results.h"

#include <cstdio>

#include "greedyhash/report/mosaic.h"

namespace greedyhash {

void print_retrieval_results(const std::vector<RetrievalHit>& hits) {
  for (size_t r = 0; r < hits.size(); ++r) {
    const RetrievalHit& hit = hits[r];
    const char* verdict = !hit.relevant ? "" : *hit.relevant ? "match" : "miss";
    std::printf("  %2zu. d=%-3d %-5s %s\n", r + 1, hit.distance, verdict, hit.item.c_str());
  }
}

void save_retrieval_mosaic(const std::filesystem::path& path, const at::Tensor& query_image,
                           const std::vector<RetrievalHit>& hits) {
  std::vector<MosaicTile> tiles{{query_image, "query", TileFrame::Query}};
  for (const RetrievalHit& hit : hits) {
    const TileFrame frame = !hit.relevant   ? TileFrame::Unlabelled
                            : *hit.relevant ? TileFrame::Relevant
                                            : TileFrame::Irrelevant;
    tiles.push_back({hit.image, "d=" + std::to_string(hit.distance), frame});
  }
  save_mosaic(path, tiles);
}

}  // namespace greedyhash
